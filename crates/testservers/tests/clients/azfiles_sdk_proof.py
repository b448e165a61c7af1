#!/usr/bin/env python3
"""Proves azfiles-testserver against Microsoft's Python SDK (azure-storage-file-share).

Run by run-azfiles.sh, which starts the server and passes its endpoint. With SharedKey,
a share SAS and an account SAS (both made by the SDK from the same key): create a
directory, upload 10 MiB (the SDK writes 4 MiB ranges), list, download and compare hashes,
rename, page through a listing, delete. Negative checks: wrong key -> AuthenticationFailed,
missing parent -> ParentNotFound, and more. Ends with a "N passed, N failed" line.
"""

import argparse
import hashlib
import json
import random
import sys
import time
import traceback
import urllib.request
from datetime import datetime, timedelta, timezone

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.fileshare import (
    AccountSasPermissions,
    ResourceTypes,
    ContentSettings,
    FileSasPermissions,
    LinearRetry,
    ShareClient,
    ShareFileClient,
    ShareSasPermissions,
    ShareServiceClient,
    generate_account_sas,
    generate_file_sas,
    generate_share_sas,
)

MiB = 1024 * 1024
RESULTS = {"passed": 0, "failed": 0}
TIMINGS = []


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        RESULTS["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc()


def expect_error(fn, exc_type, code, status=None):
    try:
        fn()
    except exc_type as e:
        got = getattr(e, "error_code", None)
        assert got == code, f"expected error code {code}, got {got}: {e}"
        if status is not None:
            assert e.status_code == status, f"expected status {status}, got {e.status_code}"
        return
    raise AssertionError(f"expected {exc_type.__name__} {code}, got success")


def control(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def round_trip(label, share: ShareClient, size=10 * MiB):
    """The issue's scenario: mkdir, upload, list, download byte-identical, delete."""
    d = share.get_directory_client(f"proof-{label}")
    sub = d.get_subdirectory_client("pkgs")
    data = payload(size, label)
    digest = hashlib.sha256(data).hexdigest()
    f = sub.get_file_client("big.dtsx")

    def mkdirs():
        d.create_directory()
        sub.create_directory()
        assert d.exists() and sub.exists()
        expect_error(d.create_directory, ResourceExistsError, "ResourceAlreadyExists", 409)

    def upload():
        t0 = time.perf_counter()
        f.upload_file(data)
        dt = time.perf_counter() - t0
        TIMINGS.append((label, "upload", size, dt))
        props = f.get_file_properties()
        assert props.size == size, props.size
        assert props.etag and props.last_modified

    def listing():
        names = {(e["name"], e["is_directory"], e.get("size")) for e in sub.list_directories_and_files()}
        assert ("big.dtsx", False, size) in names, names
        top = {e["name"] for e in d.list_directories_and_files()}
        assert top == {"pkgs"}, top

    def download():
        t0 = time.perf_counter()
        got = f.download_file().readall()
        dt = time.perf_counter() - t0
        TIMINGS.append((label, "download", size, dt))
        assert len(got) == size, len(got)
        assert hashlib.sha256(got).hexdigest() == digest, "sha256 differs"
        part = f.download_file(offset=5 * MiB - 3, length=10).readall()
        assert part == data[5 * MiB - 3 : 5 * MiB + 7]

    def rename_and_delete():
        # Without overwrite a rename onto an existing file is refused (dtutil's
        # create-if-absent for a new package); with it the file is replaced.
        taken = sub.get_file_client("taken.dtsx")
        taken.upload_file(b"someone else's package")
        expect_error(lambda: f.rename_file(f"proof-{label}/pkgs/taken.dtsx", overwrite=False),
                     ResourceExistsError, "ResourceAlreadyExists", 409)
        assert f.exists() and taken.download_file().readall() == b"someone else's package"
        taken.delete_file()
        moved = f.rename_file(f"proof-{label}/pkgs/renamed.dtsx")
        assert moved.get_file_properties().size == size
        assert not f.exists()
        expect_error(sub.delete_directory, ResourceExistsError, "DirectoryNotEmpty", 409)
        moved.delete_file()
        assert not moved.exists()
        sub.delete_directory()
        d.delete_directory()
        assert not d.exists()

    check(f"[{label}] create directories (and ResourceAlreadyExists)", mkdirs)
    check(f"[{label}] upload {size // MiB} MiB", upload)
    check(f"[{label}] list", listing)
    check(f"[{label}] download byte-identical (sha256), ranged read", download)
    check(f"[{label}] rename (no overwrite: ResourceAlreadyExists), DirectoryNotEmpty, delete", rename_and_delete)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT/ACCOUNT")
    ap.add_argument("--control", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--account", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--share", required=True, help="a share the server created at startup")
    a = ap.parse_args()

    key_cred = {"account_name": a.account, "account_key": a.key}
    svc = ShareServiceClient(a.endpoint, credential=key_cred)
    share = svc.get_share_client(a.share)

    # --- SharedKey
    def shares():
        svc.create_share("created-by-sdk")
        names = {s.name for s in svc.list_shares()}
        assert {a.share, "created-by-sdk"} <= names, names
        expect_error(lambda: svc.create_share("created-by-sdk"), ResourceExistsError, "ShareAlreadyExists", 409)
        svc.delete_share("created-by-sdk")
        expect_error(
            svc.get_share_client("created-by-sdk").get_share_properties,
            ResourceNotFoundError,
            "ShareNotFound",
            404,
        )

    check("[sharedkey] create, list, delete shares (ShareAlreadyExists, ShareNotFound)", shares)
    round_trip("sharedkey", share)

    # --- SAS made by the SDK from the same key
    expiry = datetime.now(timezone.utc) + timedelta(hours=1)
    share_sas = generate_share_sas(
        a.account,
        a.share,
        a.key,
        permission=ShareSasPermissions(read=True, create=True, write=True, delete=True, list=True),
        expiry=expiry,
    )
    round_trip("share-sas", ShareClient(a.endpoint, a.share, credential=share_sas))
    account_sas = generate_account_sas(
        a.account,
        a.key,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True),
        expiry=expiry,
    )
    round_trip("account-sas", ShareClient(a.endpoint, a.share, credential=account_sas))

    # --- Negative checks
    def wrong_key():
        bad = ShareClient(a.endpoint, a.share, credential={"account_name": a.account, "account_key": "AAAA" + a.key[4:]})
        expect_error(bad.get_directory_client("x").create_directory, ClientAuthenticationError, "AuthenticationFailed", 403)

    def wrong_key_sas():
        bad_sas = generate_share_sas(
            a.account, a.share, "AAAA" + a.key[4:], permission=ShareSasPermissions(read=True, list=True), expiry=expiry
        )
        c = ShareClient(a.endpoint, a.share, credential=bad_sas)
        expect_error(lambda: list(c.list_directories_and_files()), ClientAuthenticationError, "AuthenticationFailed", 403)

    def expired_sas():
        old = generate_share_sas(
            a.account,
            a.share,
            a.key,
            permission=ShareSasPermissions(read=True, list=True),
            expiry=datetime.now(timezone.utc) - timedelta(minutes=5),
        )
        c = ShareClient(a.endpoint, a.share, credential=old)
        expect_error(lambda: list(c.list_directories_and_files()), ClientAuthenticationError, "AuthenticationFailed", 403)

    def read_only_sas():
        ro = generate_share_sas(a.account, a.share, a.key, permission=ShareSasPermissions(read=True, list=True), expiry=expiry)
        c = ShareClient(a.endpoint, a.share, credential=ro)
        list(c.list_directories_and_files())
        expect_error(
            c.get_directory_client("ro").create_directory,
            HttpResponseError,
            "AuthorizationPermissionMismatch",
            403,
        )

    def parent_not_found():
        expect_error(
            share.get_directory_client("no/such/parent").create_directory, ResourceNotFoundError, "ParentNotFound", 404
        )
        expect_error(
            lambda: share.get_file_client("missing-dir/p.dtsx").upload_file(b"x"),
            ResourceNotFoundError,
            "ParentNotFound",
            404,
        )

    def not_found():
        expect_error(share.get_file_client("nope.dtsx").download_file, ResourceNotFoundError, "ResourceNotFound", 404)
        expect_error(share.get_directory_client("nope").delete_directory, ResourceNotFoundError, "ResourceNotFound", 404)
        assert not share.get_file_client("nope.dtsx").exists()

    def invalid_range():
        f = share.get_file_client("small.bin")
        f.create_file(10)
        expect_error(lambda: f.upload_range(b"0123456789", offset=5, length=10), HttpResponseError, "InvalidRange", 416)
        f.delete_file()

    def paging():
        d = share.get_directory_client("paging")
        d.create_directory()
        names = [f"p{i:02}.dtsx" for i in range(7)]
        for n in names:
            d.get_file_client(n).upload_file(n.encode())
        pages = list(d.list_directories_and_files(results_per_page=3).by_page())
        got = [[e["name"] for e in p] for p in pages]
        assert got == [names[0:3], names[3:6], names[6:7]], got
        pre = [e["name"] for e in d.list_directories_and_files(name_starts_with="p0")]
        assert pre == names, pre
        for n in names:
            d.get_file_client(n).delete_file()
        d.delete_directory()

    def fast_retries(total=3):
        # The SDK's default storage retry waits 15 s and more between tries.
        policy = LinearRetry(backoff=0.1, random_jitter_range=0, retry_total=total)
        return ShareClient(a.endpoint, a.share, credential=key_cred, retry_policy=policy)

    def retried_503():
        # One injected 503 ServerBusy on the 2nd range write: the SDK retries; the file is whole.
        control(a.control, "DELETE", "/_control/faults")
        control(a.control, "POST", "/_control/faults", {"op": "PutRange", "nth": 2, "status": 503})
        data = payload(9 * MiB, "retry")
        f = fast_retries().get_file_client("retried.bin")
        f.upload_file(data)
        rules = control(a.control, "GET", "/_control/faults")
        assert rules[0]["fired"] == 1 and rules[0]["seen"] >= 4, rules
        assert hashlib.sha256(f.download_file().readall()).digest() == hashlib.sha256(data).digest()
        control(a.control, "DELETE", "/_control/faults")
        f.delete_file()

    def dropped_connection():
        control(a.control, "POST", "/_control/faults", {"action": "drop", "op": "GetFileProperties"})
        f = fast_retries().get_file_client("dropped.bin")
        f.upload_file(b"abc")
        assert f.get_file_properties().size == 3  # first attempt dropped, retried
        control(a.control, "DELETE", "/_control/faults")
        f.delete_file()

    def failure_outlasts_retries():
        control(a.control, "POST", "/_control/faults", {"op": "CreateDirectory", "always": True})
        c = fast_retries(total=2)
        expect_error(c.get_directory_client("never").create_directory, HttpResponseError, "ServerBusy", 503)
        rules = control(a.control, "GET", "/_control/faults")
        assert rules[0]["fired"] == 3, rules  # 1 try + 2 retries
        control(a.control, "DELETE", "/_control/faults")

    def connection_string():
        cs = (
            f"DefaultEndpointsProtocol=http;AccountName={a.account};AccountKey={a.key};"
            f"FileEndpoint={a.endpoint}"
        )
        c = ShareServiceClient.from_connection_string(cs).get_share_client(a.share)
        f = c.get_file_client("cs.dtsx")
        f.upload_file(b"<DTS:Executable/>", metadata={"origin": "proof"},
                      content_settings=ContentSettings(content_type="text/xml"))
        p = f.get_file_properties()
        assert p.metadata == {"origin": "proof"}, p.metadata
        assert p.content_settings.content_type == "text/xml", p.content_settings
        assert f.download_file().readall() == b"<DTS:Executable/>"
        f.delete_file()

    def file_sas():
        f = share.get_file_client("sas-file.bin")
        f.upload_file(b"file sas")
        tok = generate_file_sas(a.account, a.share, ["sas-file.bin"], a.key,
                                permission=FileSasPermissions(read=True), expiry=expiry)
        ro = ShareFileClient(a.endpoint, a.share, "sas-file.bin", credential=tok)
        assert ro.download_file().readall() == b"file sas"
        expect_error(ro.delete_file, HttpResponseError, "AuthorizationPermissionMismatch", 403)
        other = ShareFileClient(a.endpoint, a.share, "other.bin", credential=tok)
        expect_error(other.download_file, ClientAuthenticationError, "AuthenticationFailed", 403)
        f.delete_file()

    def empty_and_parallel():
        e = share.get_file_client("empty.dtsx")
        e.upload_file(b"")
        assert e.download_file().readall() == b""
        assert e.get_file_properties().size == 0
        e.delete_file()
        data = payload(13 * MiB + 5, "parallel")
        f = share.get_file_client("parallel.bin")
        f.upload_file(data, max_concurrency=4)
        got = f.download_file(max_concurrency=4).readall()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        f.delete_file()

    def range_too_large():
        f = share.get_file_client("toolarge.bin")
        f.create_file(8 * MiB)
        expect_error(lambda: f.upload_range(b"x" * (4 * MiB + 1), offset=0, length=4 * MiB + 1),
                     HttpResponseError, "RequestBodyTooLarge", 413)
        f.upload_range(b"x" * (4 * MiB), offset=0, length=4 * MiB)
        f.delete_file()

    def odd_names_and_extended_listing():
        d = share.get_directory_client("Folder With Spaces & Ümlauts")
        d.create_directory()
        name = "Load Sales (2019) #1 + 50%.dtsx"
        f = d.get_file_client(name)
        f.upload_file(b"odd")
        assert d.get_file_client(name.upper()).download_file().readall() == b"odd"  # case-insensitive
        items = list(d.list_directories_and_files(
            include=["timestamps", "Etag", "Attributes", "PermissionKey"], include_extended_info=True))
        assert [i["name"] for i in items] == [name], items
        it = items[0]
        assert it["size"] == 3 and it["file_id"] and it["last_write_time"] and it["etag"], it
        assert "Archive" in str(it["file_attributes"]), it["file_attributes"]
        sas_c = ShareClient(a.endpoint, a.share, credential=share_sas)
        got = sas_c.get_directory_client("Folder With Spaces & Ümlauts").get_file_client(name).download_file().readall()
        assert got == b"odd"
        moved = f.rename_file("Folder With Spaces & Ümlauts/Renamed ü #2.dtsx")
        assert moved.download_file().readall() == b"odd"
        moved.delete_file()
        d.delete_directory()

    check("names with spaces, unicode, &, %, +, #; extended listing", odd_names_and_extended_listing)
    check("connection string with FileEndpoint, metadata and content type", connection_string)
    check("file SAS (generate_file_sas): read ok, delete refused, other file refused", file_sas)
    check("empty file; 13 MiB with max_concurrency=4", empty_and_parallel)
    check("range over 4 MiB -> 413 RequestBodyTooLarge", range_too_large)
    check("wrong key (SharedKey) -> 403 AuthenticationFailed", wrong_key)
    check("wrong key (SAS) -> 403 AuthenticationFailed", wrong_key_sas)
    check("expired SAS -> 403 AuthenticationFailed", expired_sas)
    check("read-only SAS write -> 403 AuthorizationPermissionMismatch", read_only_sas)
    check("missing parent -> 404 ParentNotFound (directory and file)", parent_not_found)
    check("missing file/directory -> 404 ResourceNotFound", not_found)
    check("range past end of file -> 416 InvalidRange", invalid_range)
    check("listing pages (maxresults/NextMarker) and prefix", paging)
    check("injected 503 on one range is retried, file whole", retried_503)
    check("dropped connection is retried", dropped_connection)
    check("failure that outlasts the retries surfaces 503 ServerBusy", failure_outlasts_retries)

    for label, what, size, dt in TIMINGS:
        print(f"timing: [{label}] {what} {size // MiB} MiB in {dt:.3f} s ({size / MiB / dt:.1f} MiB/s)")
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
