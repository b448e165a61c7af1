#!/usr/bin/env python3
"""Proves msdb-testserver with FreeTDS `tsql`, a TDS client not written here.

Usage: tsql_proof.py PORT [CAFILE]
With CAFILE, FreeTDS is configured with `encryption = require` and `ca file = CAFILE`, so
it verifies the server certificate (and a wrong CA must make the connection fail).

tsql sends SQL batches only (no RPC parameters), so the 5 MiB package goes in as a
`0x...` literal in `EXEC sp_ssis_putpackage ...` and comes back as the `image` column of
`sp_ssis_getpackage`, which tsql prints in hex: that proves FreeTDS decodes the image
column (TEXTPTR form) byte for byte. Each step is its own tsql run so that errors
(printed on stderr) belong to one step. `text size` is set high in our freetds.conf:
FreeTDS sends `SET TEXTSIZE` when it is configured, and the server truncates image data
to it as SQL Server does (Debian's stock freetds.conf leaves it unset).
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

PORT = int(sys.argv[1])
CAFILE = sys.argv[2] if len(sys.argv) > 2 else None
MODE = "tls" if CAFILE else "plain"
ROOT = "00000000-0000-0000-0000-000000000000"

tmp = tempfile.mkdtemp(prefix="msdb-tsql-")


def conf(cafile):
    path = os.path.join(tmp, "freetds.conf")
    enc = f"\tencryption = require\n\tca file = {cafile}\n" if cafile else "\tencryption = off\n"
    with open(path, "w") as f:
        f.write(f"[global]\n\ttext size = 2147483647\n[msdbtest]\n\thost = localhost\n\tport = {PORT}\n"
                f"\ttds version = 7.4\n{enc}")
    return path


CONF = conf(CAFILE)


def fail(msg):
    print(f"tsql[{MODE}] FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def tsql(sql, user="admin", password="adminpw", conf_path=CONF):
    env = dict(os.environ, FREETDSCONF=conf_path)
    env.pop("TDSVER", None)
    p = subprocess.run(["tsql", "-S", "msdbtest", "-U", user, "-P", password, "-o", "q"],
                       input=(sql + "\ngo\n").encode(), capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def rows(out):
    """Result rows as lists of fields (tsql prints a header line, then tab-separated rows)."""
    lines = out.splitlines()
    # The header line comes first, even when empty (unnamed columns).
    return [l.split("\t") for l in lines[1:] if l.strip() != ""]


def ok(sql, **kw):
    rc, out, err = tsql(sql, **kw)
    check(rc == 0 and "Msg " not in err, f"{sql[:80]!r}: rc={rc} stderr={err[:500]}")
    return out


def expect_msg(number, sql, what, **kw):
    rc, out, err = tsql(sql, **kw)
    check(f"Msg {number} " in err, f"{what}: expected Msg {number}, got rc={rc} stderr={err[:500]}")
    return err


# Wrong password: 18456 and the connection fails.
err = expect_msg(18456, "select 1", "wrong password", password="wrong")
check("Login failed for user 'admin'." in err, f"18456 text: {err}")

if CAFILE:
    # A CA that did not sign the server certificate: FreeTDS must refuse the server.
    wrong = conf("/etc/ssl/certs/ca-certificates.crt" if os.path.exists("/etc/ssl/certs/ca-certificates.crt") else os.devnull)
    rc, out, err = tsql("select 1", conf_path=wrong)
    check(rc != 0 and "Msg 18456" not in err and "msdb-testserver" not in out,
          f"wrong CA was accepted: rc={rc} out={out[:200]}")
    CONF = conf(CAFILE)

out = ok(f"EXEC msdb.dbo.sp_ssis_listfolders @parentfolderid='{ROOT}'")
check(["08AA12D5-8F98-4DAB-A4FC-980B150A5DC8", ROOT, "Maintenance Plans"] in rows(out), f"listfolders: {out}")

folder = str(uuid.uuid4()).upper()
ok(f"EXEC sp_ssis_addfolder @parentfolderid='{ROOT}', @name=N'TsqlFolder', @folderid='{folder}'")
err = expect_msg(14591, f"EXEC sp_ssis_addfolder '{ROOT}', N'tsqlfolder'", "addfolder twice")
check("SSIS folder 'tsqlfolder' already exists in the specified parent folder." in err, err)
out = ok(f"EXEC dbo.sp_ssis_getfolder N'TsqlFolder', '{ROOT}'")
check(rows(out) == [[folder, "TsqlFolder", ROOT, ""]], f"getfolder: {out}")

data = os.urandom(5 * 1024 * 1024)
t0 = time.monotonic()
ok(f"EXEC sp_ssis_putpackage @name=N'TsqlPackage', @id='{uuid.uuid4()}', @description=N'from tsql', "
   f"@createdate='2024-05-17T12:34:56.123', @folderid='{folder}', @packagedata=0x{data.hex()}, "
   f"@packageformat=3, @packagetype=0, @vermajor=1, @verminor=0, @verbuild=7, @vercomments=NULL, "
   f"@verid='{uuid.uuid4()}'")
put_s = time.monotonic() - t0

t0 = time.monotonic()
out = ok(f"EXEC sp_ssis_getpackage N'tsqlpackage', '{folder}'")
get_s = time.monotonic() - t0
r = rows(out)
check(len(r) == 1, f"getpackage: {len(r)} rows")
h = r[0][0].strip()
h = h[2:] if h.lower().startswith("0x") else h
got = bytes.fromhex(h)
check(len(got) == len(data), f"getpackage length {len(got)} != {len(data)}")
check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "getpackage bytes differ")

out = ok(f"EXEC sp_ssis_listpackages '{folder}'")
r = rows(out)
check(len(r) == 1 and r[0][0] == "TsqlPackage" and r[0][5] == str(len(data)) and r[0][8] == "7",
      f"listpackages: {out[:500]}")
out = ok(f"EXEC sp_ssis_checkexists N'TsqlPackage', '{folder}'")
check(rows(out) == [["1"]], f"checkexists: {out}")
out = ok(f"SELECT name, DATALENGTH(packagedata) FROM msdb.dbo.sysssispackages WHERE folderid = '{folder}'")
check(rows(out) == [["TsqlPackage", str(len(data))]], f"select: {out}")

# Roles and folder rules.
err = expect_msg(14307, f"EXEC sp_ssis_deletepackage N'TsqlPackage', '{folder}'", "operator delete",
                 user="op", password="oppw")
check("Access to Integration Services package 'TsqlPackage' is denied." in err, err)
expect_msg(14593, f"EXEC sp_ssis_deletefolder '{folder}'", "deletefolder non-empty")
expect_msg(14307, f"EXEC sp_ssis_deletefolder '{ROOT}'", "deletefolder root")
ok(f"EXEC sp_ssis_deletepackage N'TsqlPackage', '{folder}'")
ok(f"EXEC sp_ssis_deletefolder '{folder}'")
out = ok(f"SELECT * FROM sysssispackagefolders WHERE folderid = '{folder}'")
check(rows(out) == [], f"folder still there: {out}")
err = expect_msg(50000, "UPDATE msdb.dbo.sysssispackages SET name = 'x'", "unsupported SQL")
check("does not support the UPDATE statement" in err, err)

print(json.dumps({"client": "tsql", "mode": MODE, "bytes": len(data),
                  "put_ms": round(put_s * 1000, 1), "get_ms": round(get_s * 1000, 1)}))
print(f"tsql[{MODE}] OK")
