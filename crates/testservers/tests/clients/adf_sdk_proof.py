#!/usr/bin/env python3
"""Proves adf-testserver against Microsoft's Python SDKs (azure-mgmt-datafactory with
azure-identity's ClientSecretCredential against the server's token endpoint).

Run by run-adf.sh, which starts the server (HTTPS, generated CA) and passes its address.
Gets the IR and its status, a linked service (secret masked), creates a pipeline with an
Execute SSIS Package activity (raw JSON: SDK 10.0.0 serialises the model's type as
`Execution`, which the service refuses), runs it, queries runs with filters and paging,
cancels one, queries activity runs; then the errors (wrong secret, Reader role, unknown
pipeline and run, invalid definitions); a package store whose linked service keeps its
secret in Key Vault, read with azure-keyvault-secrets' SecretClient through Key Vault's
challenge (401 with WWW-Authenticate, then a token for https://vault.azure.net). Ends
with a "N passed, N failed" line.
"""

import argparse
import io
import json
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.datafactory import DataFactoryManagementClient
from azure.mgmt.datafactory import models as m

RESULTS = {"passed": 0, "failed": 0}
MASK = "**********"


def check(name, fn):
    try:
        fn()
        RESULTS["passed"] += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        RESULTS["failed"] += 1
        print(f"FAIL {name}")
        traceback.print_exc()


def expect(fn, exc_type, code=None, status=None):
    try:
        fn()
    except exc_type as e:
        if code is not None:
            got = getattr(getattr(e, "error", None), "code", None)
            assert got == code, f"expected error code {code}, got {got}: {e}"
        if status is not None:
            assert e.status_code == status, f"expected {status}, got {e.status_code}"
        return e
    raise AssertionError(f"expected {exc_type.__name__} ({code})")


class StaticToken:
    """Any object with get_token serves as a credential (how a Reader token is sent)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, int(time.time()) + 3600)


def raw(resp, deserialized, headers):
    return resp.http_response.json()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--subscription", required=True)
    ap.add_argument("--rg", required=True)
    ap.add_argument("--factory", required=True)
    ap.add_argument("--ir", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--reader-token", required=True)
    ap.add_argument("--fail-package", required=True)
    ap.add_argument("--vault-secret", required=True)
    a = ap.parse_args()

    cred = ClientSecretCredential(
        a.tenant, a.client_id, a.secret, authority=a.base,
        disable_instance_discovery=True, connection_verify=a.ca,
    )
    client = DataFactoryManagementClient(
        cred, a.subscription, base_url=a.base, connection_verify=a.ca,
        retry_backoff_factor=0.1,
    )
    rg, f, ir = a.rg, a.factory, a.ir

    def token_flow():
        tok = cred.get_token("https://management.azure.com/.default")
        assert tok.token and tok.expires_on > time.time()
        bad = ClientSecretCredential(
            a.tenant, a.client_id, "wrong-secret", authority=a.base,
            disable_instance_discovery=True, connection_verify=a.ca,
        )
        e = expect(lambda: bad.get_token("https://management.azure.com/.default"), ClientAuthenticationError)
        assert "AADSTS7000215" in str(e), str(e)
        assert "wrong-secret" not in str(e)

    check("client-secret credential: token endpoint, wrong secret refused", token_flow)

    def get_ir():
        res = client.integration_runtimes.get(rg, f, ir)
        assert res.name == ir
        assert res.properties.type == "Managed", res.properties.type
        assert res.properties.state == "Started"
        stores = client.integration_runtimes.get(rg, f, ir, cls=raw)["properties"]["typeProperties"]["ssisProperties"]["packageStores"]
        names = sorted(s["name"] for s in stores)
        assert names == ["FILES", "MI", "VAULTED"], names
        assert stores[0]["packageStoreLinkedService"]["type"] == "LinkedServiceReference"
        st = client.integration_runtimes.get_status(rg, f, ir)
        assert st.properties.state == "Started"
        nodes = st.properties.nodes
        assert len(nodes) == 2 and all(n.status == "Available" for n in nodes), nodes

    check("integration runtime: get, package stores, getStatus with nodes", get_ir)

    def linked_service():
        ls = client.linked_services.get(rg, f, "LS_FILES", cls=raw)
        tp = ls["properties"]["typeProperties"]
        assert ls["properties"]["type"] == "AzureFileStorage"
        assert tp["host"].startswith("\\\\proofacct.file.core.windows.net\\pkgs"), tp["host"]
        assert tp["password"] == {"type": "SecureString", "value": MASK}, tp["password"]
        model = client.linked_services.get(rg, f, "LS_MI")
        assert model.properties.type == "AzureSqlMI"
        mi = client.linked_services.get(rg, f, "LS_MI", cls=raw)["properties"]["typeProperties"]
        assert mi["password"]["value"] == MASK

    check("linked service: secrets masked on GET", linked_service)

    def activity(package, store="FILES", name=None):
        return {
            "name": name or f"Activity_SSMS_{package}",
            "type": "ExecuteSSISPackage",
            "typeProperties": {
                "connectVia": {"referenceName": ir, "type": "IntegrationRuntimeReference"},
                "runtime": "x64",
                "loggingLevel": "Basic",
                "packageLocation": {
                    "type": "PackageStore",
                    "packagePath": f"{store}/Finance/{package}",
                    "typeProperties": {"packagePassword": {"type": "SecureString", "value": "pkg-pass-123"}},
                },
                "packageParameters": {
                    "Region": {"value": "EU"},
                    "DbPassword": {"value": {"type": "SecureString", "value": "param-pass-123"}},
                },
                "packageConnectionManagers": {
                    "OLEDB": {"Password": {"value": {"type": "SecureString", "value": "conn-pass-123"}}},
                },
                "propertyOverrides": {
                    "\\Package.Variables[User::Pw].Value": {
                        "value": {"type": "SecureString", "value": "set-pass-123"}, "isSensitive": True},
                },
            },
        }

    def put(name, act):
        body = json.dumps({"properties": {"activities": [act]}}).encode()
        return client.pipelines.create_or_update(rg, f, name, io.BytesIO(body), content_type="application/json")

    def pipeline_raw_json():
        p = put("Pipeline_SSMS_Load", activity("Load"))
        assert p.name == "Pipeline_SSMS_Load"
        got = client.pipelines.get(rg, f, "Pipeline_SSMS_Load", cls=raw)
        act = got["properties"]["activities"][0]
        assert act["type"] == "ExecuteSSISPackage", act["type"]
        assert act["typeProperties"]["packageLocation"]["typeProperties"]["packagePassword"]["value"] == MASK
        tp = act["typeProperties"]
        assert tp["packageParameters"]["Region"]["value"] == "EU"
        # dtutil ir run's sensitive values: SecureStrings nested in each value, masked too.
        assert tp["packageParameters"]["DbPassword"]["value"] == {"type": "SecureString", "value": MASK}
        assert tp["packageConnectionManagers"]["OLEDB"]["Password"]["value"]["value"] == MASK
        assert tp["propertyOverrides"]["\\Package.Variables[User::Pw].Value"]["value"]["value"] == MASK
        for secret in ("pkg-pass-123", "param-pass-123", "conn-pass-123", "set-pass-123"):
            assert secret not in json.dumps(got), secret
        names = [x.name for x in client.pipelines.list_by_factory(rg, f)]
        assert "Pipeline_SSMS_Load" in names, names

    check("pipeline: create Execute SSIS Package (raw JSON), get masked, list", pipeline_raw_json)

    def sdk_model_quirk():
        act = m.ExecuteSSISPackageActivity(
            name="Activity_SSMS_Model",
            connect_via=m.IntegrationRuntimeReference(reference_name=ir, type="IntegrationRuntimeReference"),
            package_location=m.SSISPackageLocation(package_path="FILES/Finance/Model", type="PackageStore"),
        )
        assert act.as_dict()["type"] == "Execution"
        e = expect(lambda: client.pipelines.create_or_update(
            rg, f, "Pipeline_Model", m.PipelineResource(activities=[act])), HttpResponseError, "InvalidActivityType", 400)
        assert "Execution" in e.message
        act.type = "ExecuteSSISPackage"  # the workaround: set the type after construction
        client.pipelines.create_or_update(rg, f, "Pipeline_Model", m.PipelineResource(activities=[act]))

    check("SDK quirk: the model's type 'Execution' is refused; set after construction works", sdk_model_quirk)

    def validation():
        for act, code, text in [
            (activity("Load", store="NOSTORE"), "BadRequest", "NOSTORE"),
            ({**activity("Load"), "typeProperties": {**activity("Load")["typeProperties"], "connectVia": {"referenceName": "NoSuchIr", "type": "IntegrationRuntimeReference"}}}, "ReferencedResourceNotFound", "NoSuchIr"),
            ({**activity("Load"), "type": "ExecuteSsisPackageX"}, "InvalidActivityType", "ExecuteSsisPackageX"),
        ]:
            e = expect(lambda: put("Pipeline_Bad", act), HttpResponseError, code, 400)
            assert text in e.message, e.message
        expect(lambda: client.pipelines.get(rg, f, "Pipeline_Bad"), ResourceNotFoundError, "ResourceNotFound", 404)

    check("pipeline validation: unknown store, unknown IR, wrong type; 404 for a missing pipeline", validation)

    def wait(run_id, timeout=15):
        end = time.time() + timeout
        seen = []
        while time.time() < end:
            r = client.pipeline_runs.get(rg, f, run_id)
            if not seen or seen[-1] != r.status:
                seen.append(r.status)
            if r.status in ("Succeeded", "Failed", "Cancelled"):
                return r, seen
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} still {seen}")

    state = {}

    def run_and_wait():
        run = client.pipelines.create_run(rg, f, "Pipeline_SSMS_Load")
        state["ok_run"] = run.run_id
        r, seen = wait(run.run_id)
        assert r.status == "Succeeded", r.status
        assert "InProgress" in seen, seen
        assert r.pipeline_name == "Pipeline_SSMS_Load" and r.duration_in_ms >= 500
        acts = client.activity_runs.query_by_pipeline_run(rg, f, run.run_id, m.RunFilterParameters(
            last_updated_after=datetime.now(timezone.utc) - timedelta(hours=1),
            last_updated_before=datetime.now(timezone.utc) + timedelta(hours=1)))
        assert len(acts.value) == 1
        ar = acts.value[0]
        assert ar.activity_type == "ExecuteSSISPackage" and ar.status == "Succeeded"
        assert ar.activity_name == "Activity_SSMS_Load"
        assert "pkg-pass-123" not in json.dumps(ar.input)

    check("run: createRun, Queued/InProgress -> Succeeded, activity runs", run_and_wait)

    def failing_run():
        put("Pipeline_SSMS_Broken", activity(a.fail_package))
        run = client.pipelines.create_run(rg, f, "Pipeline_SSMS_Broken")
        r, _ = wait(run.run_id)
        assert r.status == "Failed" and a.fail_package in r.message, r.message
        acts = client.activity_runs.query_by_pipeline_run(rg, f, run.run_id, m.RunFilterParameters(
            last_updated_after=datetime.now(timezone.utc) - timedelta(hours=1),
            last_updated_before=datetime.now(timezone.utc) + timedelta(hours=1),
            filters=[m.RunQueryFilter(operand="ActivityType", operator="Equals", values_property=["ExecuteSSISPackage"])]))
        out = acts.value[0].output
        assert "OperationErrorMessages" in out and a.fail_package in out["OperationErrorMessages"], out
        assert acts.value[0].error["failureType"] == "UserError"

    check("run of a --fail-package package: Failed with OperationErrorMessages", failing_run)

    def cancel():
        run = client.pipelines.create_run(rg, f, "Pipeline_SSMS_Load")
        client.pipeline_runs.cancel(rg, f, run.run_id, is_recursive=True)
        r = client.pipeline_runs.get(rg, f, run.run_id)
        assert r.status in ("Canceling", "Cancelled"), r.status
        r, _ = wait(run.run_id)
        assert r.status == "Cancelled", r.status
        e = expect(lambda: client.pipeline_runs.cancel(rg, f, run.run_id, is_recursive=True), HttpResponseError, "BadRequest", 400)
        assert "Cancelled" in e.message
        expect(lambda: client.pipeline_runs.get(rg, f, "00000000-0000-0000-0000-000000000000"), ResourceNotFoundError, "PipelineRunNotFound", 404)

    check("cancel (recursive): Canceling -> Cancelled; a finished run refused; unknown run 404", cancel)

    def query_paging():
        for _ in range(3):
            client.pipelines.create_run(rg, f, "Pipeline_SSMS_Load")
        now = datetime.now(timezone.utc)
        params = m.RunFilterParameters(
            last_updated_after=now - timedelta(days=3), last_updated_before=now + timedelta(minutes=5),
            filters=[m.RunQueryFilter(operand="PipelineName", operator="Equals", values_property=["Pipeline_SSMS_Load"])],
            order_by=[m.RunQueryOrderBy(order_by="RunStart", order="DESC")])
        runs, pages = [], 0
        while True:
            res = client.pipeline_runs.query_by_factory(rg, f, params)
            pages += 1
            runs += res.value
            if not res.continuation_token:
                break
            params.continuation_token = res.continuation_token
        assert pages >= 3, pages
        assert len(runs) == 5 and len({r.run_id for r in runs}) == 5, [r.run_id for r in runs]
        assert all(r.pipeline_name == "Pipeline_SSMS_Load" for r in runs)
        starts = [r.run_start for r in runs]
        assert starts == sorted(starts, reverse=True)
        active = client.pipeline_runs.query_by_factory(rg, f, m.RunFilterParameters(
            last_updated_after=now - timedelta(days=3), last_updated_before=now + timedelta(minutes=5),
            filters=[m.RunQueryFilter(operand="Status", operator="In", values_property=["Queued", "InProgress", "Canceling"])]))
        assert all(r.status in ("Queued", "InProgress", "Canceling") for r in active.value)
        assert len(active.value) >= 1
        expect(lambda: client.pipeline_runs.query_by_factory(rg, f, m.RunFilterParameters(
            last_updated_after=now - timedelta(days=3), last_updated_before=now,
            filters=[m.RunQueryFilter(operand="PipelineName", operator="Equals", values_property=["a", "b"])])),
            HttpResponseError, "BadRequest", 400)

    check("queryPipelineRuns: filters, order, continuation tokens; Equals with two values refused", query_paging)

    def reader_role():
        reader = DataFactoryManagementClient(StaticToken(a.reader_token), a.subscription, base_url=a.base, connection_verify=a.ca)
        assert reader.integration_runtimes.get(rg, f, ir).name == ir
        e = expect(lambda: reader.pipelines.create_run(rg, f, "Pipeline_SSMS_Load"), HttpResponseError, "AuthorizationFailed", 403)
        assert "pipelines/createrun/action" in e.message
        nobody = DataFactoryManagementClient(StaticToken("not-a-token"), a.subscription, base_url=a.base, connection_verify=a.ca)
        expect(lambda: nobody.integration_runtimes.get(rg, f, ir), ClientAuthenticationError)
        other = DataFactoryManagementClient(cred, a.subscription, base_url=a.base, connection_verify=a.ca)
        expect(lambda: other.integration_runtimes.get(rg, "nofactory", ir), ResourceNotFoundError, "ResourceNotFound", 404)
        expect(lambda: other.integration_runtimes.get(rg, f, "NoIr"), ResourceNotFoundError, "ResourceNotFound", 404)

    check("authorization: Reader may read, not run (403); bad token 401; unknown factory and IR 404", reader_role)

    def key_vault():
        ref = client.linked_services.get(rg, f, "LS_VAULTED", cls=raw)["properties"]["typeProperties"]["password"]
        assert ref["type"] == "AzureKeyVaultSecret" and ref["secretName"] == "files-key", ref
        kv = client.linked_services.get(rg, f, ref["store"]["referenceName"], cls=raw)["properties"]
        assert kv["type"] == "AzureKeyVault", kv
        base = kv["typeProperties"]["baseUrl"]
        # The SDK checks that the challenge's resource (vault.azure.net) is the vault's
        # domain; a loopback vault is not, so that one check is turned off.
        sc = SecretClient(base, cred, connection_verify=a.ca, verify_challenge_resource=False)
        secret = sc.get_secret("files-key")
        assert secret.value == a.vault_secret and secret.name == "files-key", secret.name
        assert secret.properties.enabled
        e = expect(lambda: sc.get_secret("no-such-secret"), ResourceNotFoundError)
        assert "SecretNotFound" in str(e), str(e)
        arm_token = cred.get_token("https://management.azure.com/.default").token
        wrong = SecretClient(base, StaticToken(arm_token), connection_verify=a.ca, verify_challenge_resource=False)
        e = expect(lambda: wrong.get_secret("files-key"), HttpResponseError)
        assert e.status_code == 401 and a.vault_secret not in str(e), str(e)

    check("key vault: a store's secret by reference, read through the challenge; 404; an ARM token refused", key_vault)

    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
