#!/usr/bin/env python3
"""Proves msdb-testserver with python-tds (pytds), a TDS client not written here.

Usage: pytds_proof.py PORT [CAFILE]
With CAFILE the connection is TLS (pytds then verifies the server certificate against the
CA and the host name 'localhost'). Exits non-zero with a message on the first mismatch.
"""
import datetime
import hashlib
import json
import os
import sys
import time
import uuid

import pytds

PORT = int(sys.argv[1])
CAFILE = sys.argv[2] if len(sys.argv) > 2 else None
ROOT = uuid.UUID(int=0)
MAINT = uuid.UUID("08aa12d5-8f98-4dab-a4fc-980b150a5dc8")
MODE = "tls" if CAFILE else "plain"


def fail(msg):
    print(f"pytds[{MODE}] FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def connect(user, password, **kw):
    args = dict(server="localhost" if CAFILE else "127.0.0.1", port=PORT, user=user,
                password=password, database="msdb", login_timeout=10, timeout=30)
    if CAFILE:
        args.update(cafile=CAFILE, validate_host=True)
    args.update(kw)
    return pytds.connect(**args)


def expect_error(number, fn, what):
    try:
        fn()
    except pytds.Error as e:
        got = getattr(e, "msg_no", None) or getattr(e, "number", None)
        check(got == number, f"{what}: expected error {number}, got {got}: {e}")
        return str(e)
    fail(f"{what}: expected error {number}, got success")


# 18456 for a wrong password, and the connection is refused (no hang).
t0 = time.monotonic()
msg = expect_error(18456, lambda: connect("admin", "wrong"), "wrong password")
check("Login failed for user 'admin'." in msg, f"18456 message: {msg}")
check(time.monotonic() - t0 < 5, "wrong password took too long")

# autocommit off (pytds' default) exercises the transaction-manager requests too.
conn = connect("admin", "adminpw")
cur = conn.cursor()

cur.callproc("msdb.dbo.sp_ssis_listfolders", {"@parentfolderid": ROOT})
rows = cur.fetchall()
check((MAINT, ROOT, "Maintenance Plans") in [tuple(r) for r in rows], f"listfolders root: {rows}")
check([d[0] for d in cur.description] == ["folderid", "parentfolderid", "foldername"],
      f"listfolders columns: {cur.description}")

cur.callproc("sp_ssis_addfolder", {"@parentfolderid": ROOT, "@name": "ProofFolder"})
expect_error(14591, lambda: cur.callproc("dbo.sp_ssis_addfolder", {"@parentfolderid": ROOT, "@name": "prooffolder"}),
             "addfolder twice")

# sp_executesql (cursor.execute with parameters) calling a procedure.
cur.execute("EXEC msdb.dbo.sp_ssis_getfolder @name = %(n)s, @parentfolderid = %(p)s", {"n": "ProofFolder", "p": ROOT})
rows = cur.fetchall()
check(len(rows) == 1 and rows[0][1] == "ProofFolder" and rows[0][2] == ROOT, f"getfolder: {rows}")
folder = rows[0][0]

data = os.urandom(5 * 1024 * 1024)
pkg_id, ver_id = uuid.uuid4(), uuid.uuid4()
created = datetime.datetime(2024, 5, 17, 12, 34, 56, 120000)
put = {
    "@name": "ProofPackage", "@id": pkg_id, "@description": "five MiB of random bytes",
    "@createdate": created, "@folderid": folder, "@packagedata": pytds.Binary(data),
    "@packageformat": 3, "@packagetype": 5, "@vermajor": 1, "@verminor": 2, "@verbuild": 345,
    "@vercomments": None, "@verid": ver_id,
}
t0 = time.monotonic()
cur.callproc("sp_ssis_putpackage", put)
put_s = time.monotonic() - t0

t0 = time.monotonic()
cur.callproc("sp_ssis_getpackage", {"@name": "proofpackage", "@folderid": folder})
rows = cur.fetchall()
get_s = time.monotonic() - t0
check(len(rows) == 1, f"getpackage rows: {len(rows)}")
got = bytes(rows[0][0])
check(len(got) == len(data), f"getpackage length {len(got)} != {len(data)}")
check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "getpackage bytes differ")

cur.callproc("sp_ssis_listpackages", {"@folderid": folder})
rows = cur.fetchall()
check(len(rows) == 1, f"listpackages: {len(rows)} rows")
r = rows[0]
check(r[0] == "ProofPackage" and r[1] == pkg_id and r[2] == "five MiB of random bytes", f"listpackages row: {r[:3]}")
check(r[3] == datetime.datetime(2024, 5, 17, 12, 34, 56, 120000), f"createdate {r[3]}")
check(r[4] == folder and r[5] == len(data) and tuple(r[6:9]) == (1, 2, 345) and r[9] is None and r[10] == ver_id,
      f"listpackages row: {r}")

cur.callproc("sp_ssis_checkexists", {"@name": "ProofPackage", "@folderid": folder})
check(cur.fetchall() == [(1,)], "checkexists on an existing package")
cur.callproc("sp_ssis_checkexists", {"@name": "Missing", "@folderid": folder})
check(cur.fetchall() == [], "checkexists on a missing package")
cur.callproc("sp_ssis_getpackage", {"@name": "Missing", "@folderid": folder})
check(cur.fetchall() == [], "getpackage on a missing package")

# Plain SELECT on the table, with a parameter (sp_executesql) and a literal.
cur.execute("SELECT name, packageformat, isencrypted, DATALENGTH(packagedata) AS n FROM msdb.dbo.sysssispackages "
            "WHERE folderid = %s", (folder,))
check(cur.fetchall() == [("ProofPackage", 3, False, len(data))], "SELECT from sysssispackages")
conn.commit()

# Roles: an operator reads but may not write; a limited user may not overwrite another's package.
op = connect("op", "oppw", autocommit=True)
ocur = op.cursor()
ocur.callproc("sp_ssis_getpackage", {"@name": "ProofPackage", "@folderid": folder})
check(hashlib.sha256(bytes(ocur.fetchall()[0][0])).digest() == hashlib.sha256(data).digest(), "operator read")
m = expect_error(14307, lambda: ocur.callproc("sp_ssis_putpackage", dict(put, **{"@packagedata": pytds.Binary(b"x")})),
                 "operator overwrite")
check("Access to Integration Services package 'ProofPackage' is denied." in m, f"14307 text: {m}")
op.close()
ltd = connect("ltd", "ltdpw", autocommit=True)
lcur = ltd.cursor()
expect_error(14307, lambda: lcur.callproc("sp_ssis_deletepackage", {"@name": "ProofPackage", "@folderid": folder}),
             "ltduser deleting another's package")
ltd.close()

# Folder rules: not empty (14593), root refused (14307), then clean up.
expect_error(14593, lambda: cur.callproc("sp_ssis_deletefolder", {"@folderid": folder}), "deletefolder non-empty")
expect_error(14307, lambda: cur.callproc("sp_ssis_deletefolder", {"@folderid": ROOT}), "deletefolder root")
cur.callproc("sp_ssis_deletepackage", {"@name": "ProofPackage", "@folderid": folder})
cur.callproc("sp_ssis_renamefolder", {"@folderid": folder, "@name": "Renamed"})
cur.execute("SELECT foldername FROM msdb.dbo.sysssispackagefolders WHERE folderid = %s", (folder,))
check(cur.fetchall() == [("Renamed",)], "renamefolder")
cur.callproc("sp_ssis_deletefolder", {"@folderid": folder})
cur.execute("SELECT * FROM sysssispackagefolders WHERE folderid = %s", (folder,))
check(cur.fetchall() == [], "deletefolder")

# Return status and OUTPUT parameters (RETURNSTATUS and RETURNVALUE tokens).
cur.callproc("sp_ssis_checkexists", {"@name": "Renamed", "@folderid": ROOT})
cur.fetchall()
check(cur.get_proc_return_status() == 0, f"return status of a procedure that succeeded: {cur.get_proc_return_status()}")
# A statement that assigns nothing leaves an OUTPUT parameter as it came (ordinal 2).
out = cur.callproc("sp_executesql", {"@stmt": "SET NOCOUNT ON", "@params": "@n int OUTPUT",
                                     "@n": pytds.output(value=41, param_type=int)})
check(out[2] == 41, f"OUTPUT parameter of sp_executesql: {out}")
check(cur.get_proc_return_status() == 0, "sp_executesql return status")
m = expect_error(8162, lambda: cur.callproc("sp_ssis_getfolder", {"@name": pytds.output(value="x", param_type=str),
                                                                 "@parentfolderid": ROOT}),
                 "OUTPUT on a parameter msdb declares as input")
check('The formal parameter "@name" was not declared as an OUTPUT parameter' in m, f"8162 text: {m}")

# Session application locks (sp_getapplock / sp_releaseapplock, what dtutil takes to
# create a new package): one session holds a resource; another is told -1 at once
# (@LockTimeout = 0); releasing a lock not held is error 1223; a session's locks go
# when it disconnects.
def getlock(c, resource):
    k = c.cursor()
    k.callproc("sp_getapplock", {"@Resource": resource, "@LockMode": "Exclusive",
                                 "@LockOwner": "Session", "@LockTimeout": 0})
    return k.get_proc_return_status()


other = connect("admin", "adminpw")
check(getlock(conn, "proof lock") == 0, "sp_getapplock on a free resource")
check(getlock(other, "proof lock") == -1, "sp_getapplock held by another session")
expect_error(1223, lambda: other.cursor().callproc(
    "sp_releaseapplock", {"@Resource": "proof lock", "@LockOwner": "Session"}),
    "sp_releaseapplock of a lock not held")
def release(c, resource):
    k = c.cursor()
    k.callproc("sp_releaseapplock", {"@Resource": resource, "@LockOwner": "Session"})
    return k.get_proc_return_status()


check(release(conn, "proof lock") == 0, "sp_releaseapplock by its holder")
check(getlock(other, "proof lock") == 0, "sp_getapplock once released")
other.close()
for _ in range(100):  # the server sees the disconnect a moment later
    if getlock(conn, "proof lock") == 0:
        break
    time.sleep(0.02)
else:
    fail("a session's locks go when it disconnects")
check(release(conn, "proof lock") == 0, "sp_releaseapplock after the other session left")
cur = conn.cursor()

# Honest refusal of SQL this fixture does not implement.
m = expect_error(50000, lambda: cur.execute("DELETE FROM msdb.dbo.sysssispackages"), "unsupported SQL")
check("does not support the DELETE statement" in m, f"unsupported message: {m}")
conn.commit()
conn.close()

print(json.dumps({"client": "pytds", "mode": MODE, "bytes": len(data),
                  "put_ms": round(put_s * 1000, 1), "get_ms": round(get_s * 1000, 1)}))
print(f"pytds[{MODE}] OK")
