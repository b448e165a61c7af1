#!/usr/bin/env python3
"""Proves msdb-testserver with Microsoft's ODBC Driver 18, through mssql-python (PyPI).

Usage: mssql_python_proof.py PORT MODE CAFILE [STRICT_ONLY_PORT]
MODE: trust  - Encrypt=yes;TrustServerCertificate=yes (TDS 7.x, TLS inside PRELOGIN)
      ca     - Encrypt=yes with the test CA trusted (SSL_CERT_FILE), host name checked
      strict - Encrypt=strict (TDS 8.0: TLS first, ALPN tds/8.0), CA trusted, host checked
With STRICT_ONLY_PORT (a server started with --tls-strict-only), Encrypt=yes must be
refused there and Encrypt=strict must work.

mssql-python sends parameterized statements as sp_prepexec (handle OUTPUT), executemany
as sp_prepare + sp_execute, and `{CALL proc(?, ...)}` as sp_prepexecrpc. Its exceptions
carry SQLSTATE and message text but not SQL Server's error number, so the numbers (14307,
14586, 14591, 14593, 18456) are also read from the same driver library directly (ctypes:
SQLDriverConnectW, SQLExecDirectW, SQLGetDiagRecW). Exits non-zero on the first mismatch.
"""
import ctypes
import datetime
import glob
import hashlib
import json
import os
import platform
import sys
import time
import uuid

PORT = int(sys.argv[1])
MODE = sys.argv[2]
CAFILE = sys.argv[3]
STRICT_ONLY_PORT = int(sys.argv[4]) if len(sys.argv) > 4 else None
if MODE not in ("trust", "ca", "strict"):
    sys.exit(f"unknown mode {MODE}")
os.environ["MSSQL_PYTHON_NATIVE_PROVIDER"] = "msodbcsql18"

import mssql_python  # noqa: E402
import mssql_python_odbc  # noqa: E402

ROOT = uuid.UUID(int=0)
MAINT = uuid.UUID("08aa12d5-8f98-4dab-a4fc-980b150a5dc8")
ENCRYPT = {
    "trust": "Encrypt=yes;TrustServerCertificate=yes",
    "ca": "Encrypt=yes",
    "strict": "Encrypt=strict",
}[MODE]
# Certificate checks need the name in the certificate (localhost); `trust` skips them.
HOST = "127.0.0.1" if MODE == "trust" else "localhost"


def fail(msg):
    print(f"mssql-python[{MODE}] FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def conn_str(user, password, port=PORT, encrypt=ENCRYPT):
    return (f"Server=tcp:{HOST},{port};Database=msdb;UID={user};PWD={password};{encrypt}")


def connect(user, password, **kw):
    return mssql_python.connect(conn_str(user, password, **kw), autocommit=True)


# OpenSSL (inside the driver) reads its trust store from SSL_CERT_FILE when it builds a
# context. Before the test CA is trusted, the driver must refuse the server's certificate:
# a driver or environment change that silently trusts everything fails here.
if MODE != "trust":
    try:
        connect("nobody", "x").close()
        fail("the server's certificate was accepted before its CA was trusted")
    except mssql_python.Error as e:
        check("certificate verify failed" in str(e),
              f"untrusted CA: expected 'certificate verify failed', got: {e}")
    os.environ["SSL_CERT_FILE"] = CAFILE


def expect_error(text, fn, what, kind=mssql_python.Error):
    try:
        fn()
    except kind as e:
        check(text in str(e), f"{what}: expected '{text}' in: {e}")
        return str(e)
    fail(f"{what}: expected an error with '{text}', got success")


# --- The driver library itself, for SQL Server's native error numbers ------------------

# The wheel keeps one driver build per machine type (x86_64, arm64 as Debian names it).
_machine = {"aarch64": "arm64", "amd64": "x86_64"}.get(platform.machine().lower(),
                                                        platform.machine().lower())
_lib = glob.glob(os.path.join(os.path.dirname(mssql_python_odbc.__file__),
                              f"libs/linux/debian_ubuntu/{_machine}/lib/libmsodbcsql-18*.so*"))
if not _lib:
    fail(f"mssql_python_odbc ships no libmsodbcsql-18 for Debian/Ubuntu {_machine}")
odbc = ctypes.CDLL(_lib[0])
for f in ("SQLAllocHandle", "SQLSetEnvAttr", "SQLDriverConnectW", "SQLExecDirectW",
          "SQLGetDiagRecW", "SQLDisconnect", "SQLFreeHandle"):
    getattr(odbc, f).restype = ctypes.c_int16
ENV, DBC, STMT = 1, 2, 3


def wide(s):
    b = (s + "\0").encode("utf-16-le")  # the driver's SQLWCHAR is UTF-16
    return ctypes.create_string_buffer(b, len(b))


def diag(htype, h):
    out = []
    for i in range(1, 20):
        state, native = ctypes.create_string_buffer(12), ctypes.c_int32()
        msg, n = ctypes.create_string_buffer(4096), ctypes.c_int16()
        r = odbc.SQLGetDiagRecW(ctypes.c_int16(htype), h, ctypes.c_int16(i), state,
                                ctypes.byref(native), msg, ctypes.c_int16(2000), ctypes.byref(n))
        if r not in (0, 1):
            break
        out.append((native.value, msg.raw[:n.value * 2].decode("utf-16-le")))
    return out


def native_errors(user, password, sql=None):
    """SQL Server error numbers the driver reports for a login (and a batch)."""
    env, dbc = ctypes.c_void_p(), ctypes.c_void_p()
    odbc.SQLAllocHandle(ctypes.c_int16(ENV), None, ctypes.byref(env))
    odbc.SQLSetEnvAttr(env, 200, ctypes.c_void_p(3), 0)  # SQL_ATTR_ODBC_VERSION = 3
    odbc.SQLAllocHandle(ctypes.c_int16(DBC), env, ctypes.byref(dbc))
    n = ctypes.c_int16()
    r = odbc.SQLDriverConnectW(dbc, None, wide(conn_str(user, password)), ctypes.c_int16(-3),
                               None, ctypes.c_int16(0), ctypes.byref(n), ctypes.c_uint16(0))
    if r not in (0, 1):
        return diag(DBC, dbc)
    stmt = ctypes.c_void_p()
    odbc.SQLAllocHandle(ctypes.c_int16(STMT), dbc, ctypes.byref(stmt))
    r = odbc.SQLExecDirectW(stmt, wide(sql), ctypes.c_int32(-3))
    errors = diag(STMT, stmt) if r not in (0, 1, 100) else []
    odbc.SQLFreeHandle(ctypes.c_int16(STMT), stmt)
    odbc.SQLDisconnect(dbc)
    odbc.SQLFreeHandle(ctypes.c_int16(DBC), dbc)
    return errors


def expect_native(number, user, password, sql, what):
    errs = native_errors(user, password, sql)
    check(any(e[0] == number for e in errs), f"{what}: expected SQL Server error {number}, got {errs}")


# --- Login -------------------------------------------------------------------------------

t0 = time.monotonic()
m = expect_error("Login failed for user 'admin'.", lambda: connect("admin", "wrong"),
                 "wrong password", mssql_python.OperationalError)
check("Invalid authorization specification" in m, f"18456 SQLSTATE 28000 text: {m}")
check(time.monotonic() - t0 < 10, "wrong password took too long")
expect_native(18456, "admin", "wrong", None, "wrong password (native)")

conn = connect("admin", "adminpw")
cur = conn.cursor()

# --- Folders: sp_prepexec with parameters -------------------------------------------------

cur.execute("EXEC msdb.dbo.sp_ssis_listfolders @parentfolderid = ?", (ROOT,))
rows = [tuple(r) for r in cur.fetchall()]
check((MAINT, ROOT, "Maintenance Plans") in rows, f"listfolders root: {rows}")
check([d[0] for d in cur.description] == ["folderid", "parentfolderid", "foldername"],
      f"listfolders columns: {cur.description}")

name = f"OdbcProof-{MODE}"
cur.execute("EXEC sp_ssis_addfolder @parentfolderid = ?, @name = ?", (ROOT, name))
m = expect_error("already exists in the specified parent folder",
                 lambda: cur.execute("EXEC sp_ssis_addfolder @parentfolderid = ?, @name = ?",
                                     (ROOT, name.lower())), "addfolder twice")
expect_native(14591, "admin", "adminpw",
              f"EXEC sp_ssis_addfolder @parentfolderid = '{ROOT}', @name = N'{name}'",
              "addfolder twice (native)")

cur.execute("EXEC dbo.sp_ssis_getfolder @name = ?, @parentfolderid = ?", (name, ROOT))
rows = cur.fetchall()
check(len(rows) == 1 and rows[0][1] == name and rows[0][2] == ROOT, f"getfolder: {rows}")
folder = rows[0][0]

# ODBC's procedure-call escape: sp_prepexecrpc, then the same call again.
for _ in range(2):
    cur.execute("{CALL sp_ssis_getfolder (?, ?)}", (name, ROOT))
    rows = cur.fetchall()
    check(len(rows) == 1 and rows[0][0] == folder, f"{{CALL sp_ssis_getfolder}}: {rows}")

# executemany: sp_prepare once, then sp_execute per row.
subs = [f"Sub{i}" for i in range(3)]
cur.executemany("EXEC sp_ssis_addfolder @parentfolderid = ?, @name = ?", [(folder, s) for s in subs])
cur.execute("EXEC sp_ssis_listfolders @parentfolderid = ?", (folder,))
check(sorted(r[2] for r in cur.fetchall()) == subs, "executemany addfolder")

# --- A 5 MiB package, every sp_ssis_putpackage parameter, byte-identical both ways ------

data = os.urandom(5 * 1024 * 1024)
pkg_id, ver_id = uuid.uuid4(), uuid.uuid4()
created = datetime.datetime(2024, 5, 17, 12, 34, 56, 120000)
put_sql = ("EXEC sp_ssis_putpackage @name = ?, @id = ?, @description = ?, @createdate = ?, "
           "@folderid = ?, @packagedata = ?, @packageformat = ?, @packagetype = ?, @vermajor = ?, "
           "@verminor = ?, @verbuild = ?, @vercomments = ?, @verid = ?")
put = ["OdbcPackage", pkg_id, "five MiB of random bytes", created, folder, data, 3, 5, 1, 2, 345,
       None, ver_id]
t0 = time.monotonic()
cur.execute(put_sql, put)
put_s = time.monotonic() - t0

t0 = time.monotonic()
cur.execute("EXEC sp_ssis_getpackage @name = ?, @folderid = ?", ("odbcpackage", folder))
rows = cur.fetchall()
get_s = time.monotonic() - t0
check(len(rows) == 1, f"getpackage rows: {len(rows)}")
got = bytes(rows[0][0])
check(len(got) == len(data), f"getpackage length {len(got)} != {len(data)}")
check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "getpackage bytes differ")

cur.execute("EXEC sp_ssis_listpackages @folderid = ?", (folder,))
rows = cur.fetchall()
check(len(rows) == 1, f"listpackages: {len(rows)} rows")
r = rows[0]
check(r[0] == "OdbcPackage" and r[1] == pkg_id and r[2] == "five MiB of random bytes",
      f"listpackages row: {tuple(r)[:3]}")
check(r[3] == created, f"createdate {r[3]}")
check(r[4] == folder and r[5] == len(data) and tuple(r[6:9]) == (1, 2, 345) and r[9] is None
      and r[10] == ver_id, f"listpackages row: {tuple(r)[3:]}")

cur.execute("EXEC sp_ssis_checkexists @name = ?, @folderid = ?", ("OdbcPackage", folder))
check([tuple(x) for x in cur.fetchall()] == [(1,)], "checkexists on an existing package")
cur.execute("EXEC sp_ssis_checkexists @name = ?, @folderid = ?", ("Missing", folder))
check(cur.fetchall() == [], "checkexists on a missing package")
cur.execute("EXEC sp_ssis_getpackage @name = ?, @folderid = ?", ("Missing", folder))
check(cur.fetchall() == [], "getpackage on a missing package")

cur.execute("SELECT name, packageformat, DATALENGTH(packagedata) AS n FROM msdb.dbo.sysssispackages "
            "WHERE folderid = ?", (folder,))
check([tuple(x) for x in cur.fetchall()] == [("OdbcPackage", 3, len(data))], "SELECT sysssispackages")

# --- Roles: 14307 (operator writes), 14586 (limited user reads another's package) ------

op = connect("op", "oppw")
ocur = op.cursor()
ocur.execute("EXEC sp_ssis_getpackage @name = ?, @folderid = ?", ("OdbcPackage", folder))
check(hashlib.sha256(bytes(ocur.fetchall()[0][0])).digest() == hashlib.sha256(data).digest(),
      "operator read")
expect_error("Access to Integration Services package 'OdbcPackage' is denied.",
             lambda: ocur.execute(put_sql, put[:5] + [b"x"] + put[6:]), "operator overwrite")
op.close()
expect_native(14307, "op", "oppw",
              f"EXEC sp_ssis_deletepackage @name = N'OdbcPackage', @folderid = '{folder}'",
              "operator delete (native)")
ltd = connect("ltd", "ltdpw")
expect_error("Only the owner of DTS Package 'OdbcPackage' or a member of the sysadmin role",
             lambda: ltd.cursor().execute("EXEC sp_ssis_getpackage @name = ?, @folderid = ?",
                                          ("OdbcPackage", folder)), "ltduser reading another's package")
ltd.close()
expect_native(14586, "ltd", "ltdpw",
              f"EXEC sp_ssis_getpackage @name = N'OdbcPackage', @folderid = '{folder}'",
              "ltduser read (native)")

# --- Folder rules: not empty (14593), rename, delete ------------------------------------

expect_error("contains packages and/or other folders",
             lambda: cur.execute("EXEC sp_ssis_deletefolder @folderid = ?", (folder,)),
             "deletefolder non-empty")
expect_native(14593, "admin", "adminpw", f"EXEC sp_ssis_deletefolder @folderid = '{folder}'",
              "deletefolder non-empty (native)")
cur.execute("EXEC sp_ssis_deletepackage @name = ?, @folderid = ?", ("OdbcPackage", folder))
cur.execute("EXEC sp_ssis_listfolders @parentfolderid = ?", (folder,))
for sub in cur.fetchall():
    cur.execute("EXEC sp_ssis_deletefolder @folderid = ?", (sub[0],))
cur.execute("EXEC sp_ssis_renamefolder @folderid = ?, @name = ?", (folder, name + "-renamed"))
cur.execute("SELECT foldername FROM msdb.dbo.sysssispackagefolders WHERE folderid = ?", (folder,))
check([tuple(x) for x in cur.fetchall()] == [(name + "-renamed",)], "renamefolder")
cur.execute("EXEC sp_ssis_deletefolder @folderid = ?", (folder,))
cur.execute("SELECT * FROM sysssispackagefolders WHERE folderid = ?", (folder,))
check(cur.fetchall() == [], "deletefolder")

# Honest refusal of SQL this fixture does not implement.
expect_error("does not support the DELETE statement",
             lambda: cur.execute("DELETE FROM msdb.dbo.sysssispackages WHERE name = ?", ("x",)),
             "unsupported SQL")
conn.close()

# --- A server that accepts TDS 8.0 only ----------------------------------------------------

if STRICT_ONLY_PORT:
    expect_error("handshakes before login",
                 lambda: mssql_python.connect(conn_str("admin", "adminpw", port=STRICT_ONLY_PORT,
                                                       encrypt="Encrypt=yes")),
                 "Encrypt=yes against --tls-strict-only", mssql_python.OperationalError)
    c = mssql_python.connect(conn_str("admin", "adminpw", port=STRICT_ONLY_PORT,
                                      encrypt="Encrypt=strict"))
    c.cursor().execute("EXEC sp_ssis_listfolders")
    c.close()

print(json.dumps({"client": "mssql-python (ODBC Driver 18)", "mode": MODE, "bytes": len(data),
                  "put_ms": round(put_s * 1000, 1), "get_ms": round(get_s * 1000, 1)}))
print(f"mssql-python[{MODE}] OK")
