#!/usr/bin/env python3
"""Encryption mismatches fail clearly, never hang (pytds).

Usage: encryption_mismatch.py PLAIN_PORT TLS_PORT CAFILE
- a client that requires TLS against the server started without --tls;
- a client that cannot encrypt against the server started with --tls.
"""
import sys

import pytds

plain, tls, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def refused(what, **kw):
    try:
        pytds.connect(database="msdb", user="admin", password="adminpw", login_timeout=10, **kw).close()
    except pytds.Error as e:
        print(f"encryption mismatch ({what}): refused: {e}")
        return
    print(f"encryption mismatch FAIL: {what} connected", file=sys.stderr)
    sys.exit(1)


refused("client requires TLS, server has none", server="localhost", port=plain, cafile=ca)
refused("client cannot encrypt, server requires TLS", server="127.0.0.1", port=tls)
print("encryption mismatch OK")
