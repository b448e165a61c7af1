//! `dtutil ir` end to end against adf-testserver (issue 15): status, stores, run --wait
//! (pipeline shape and reuse, a failing package), running, stop, and the credentials
//! (static token, client credentials, managed identity, none, a Reader), with no secret
//! in any output.

mod ir_support;

use ir_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

fn ok(o: &std::process::Output) -> (String, String) {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    (out, err)
}

fn no_secrets(o: &std::process::Output) {
    let (out, err) = text(o);
    for s in [
        TOKEN,
        READER,
        SECRET,
        "fixture-key-",
        "fixture-pw-",
        "pkg-pass-sentinel",
    ] {
        assert!(
            !out.contains(s) && !err.contains(s),
            "`{s}` leaked:\n{out}\n{err}"
        );
    }
}

#[test]
fn status_and_stores() {
    let adf = start(|_| {});
    let o = dtutil(&["ir", "status"], &adf.env());
    let (out, _) = ok(&o);
    assert!(out.contains("state:          Started"), "{out}");
    assert!(out.contains("nodes:          2"), "{out}");
    assert!(out.contains("package stores: 2"), "{out}");
    no_secrets(&o);

    let o = dtutil(&["ir", "stores", "--json"], &adf.env());
    let (out, _) = ok(&o);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["name"], "FILES");
    assert_eq!(lines[0]["kind"], "AzureFiles");
    assert_eq!(
        lines[0]["location"],
        r"\\acct.file.core.windows.net\ssis\store"
    );
    assert_eq!(lines[1]["kind"], "SqlMI");
    assert_eq!(lines[1]["location"], "127.0.0.1,1433");
    no_secrets(&o);

    // --ir overrides DTUTIL_IR, in the long form too.
    let long = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DataFactory/factories/{FACTORY}/integrationRuntimes/{IR}");
    let mut env = adf.env();
    env.retain(|(k, _)| k != "DTUTIL_IR");
    ok(&dtutil(&["ir", "status", "--ir", &long], &env));
    let o = dtutil(&["ir", "status"], &env);
    assert_eq!(o.status.code(), Some(6), "{:?}", text(&o));
    assert!(text(&o).1.contains("DTUTIL_IR"));
}

#[test]
fn a_stopped_ir_is_exit_1_and_refuses_runs() {
    let adf = start(|c| c.ir_state = "Stopped".into());
    let o = dtutil(&["ir", "status"], &adf.env());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("state:          Stopped"), "{out}");
    assert!(
        err.contains("Stopped, not Started") && err.contains("would be refused"),
        "{err}"
    );
    let o = dtutil(&["ir", "run", r"FILES\Finance\Load"], &adf.env());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("Stopped"));
    assert!(adf.state.pipelines().is_empty());
}

#[test]
fn missing_things_say_which() {
    let adf = start(|_| {});
    let mut env = adf.env();
    for (k, v) in env.iter_mut() {
        if k == "DTUTIL_IR" {
            *v = format!("{SUB}/{RG}/nofactory/{IR}");
        }
    }
    let o = dtutil(&["ir", "status"], &env);
    assert_eq!(o.status.code(), Some(4));
    assert!(text(&o).1.contains("factory 'nofactory'"), "{:?}", text(&o));
    for (k, v) in env.iter_mut() {
        if k == "DTUTIL_IR" {
            *v = format!("{SUB}/{RG}/{FACTORY}/NoIr");
        }
    }
    let o = dtutil(&["ir", "status"], &env);
    assert_eq!(o.status.code(), Some(4));
    assert!(
        text(&o).1.contains("integration runtime 'NoIr' not found"),
        "{:?}",
        text(&o)
    );
    let o = dtutil(&["ir", "run", r"NOSTORE\Finance\Load"], &adf.env());
    assert_eq!(o.status.code(), Some(4));
    assert!(
        text(&o).1.contains("'NOSTORE' is not a package store"),
        "{:?}",
        text(&o)
    );
    let o = dtutil(
        &["ir", "stop", "00000000-0000-0000-0000-000000000000"],
        &adf.env(),
    );
    assert_eq!(o.status.code(), Some(4), "{:?}", text(&o));
    assert!(text(&o).1.contains("no pipeline run"), "{:?}", text(&o));
}

/// Review ir F4: a factory that does not exist is named as what is missing by every
/// command (not "integration runtime not found"), and the server's 404 names the
/// factory that was asked for, as ARM does.
#[test]
fn a_missing_factory_is_named_by_every_command() {
    let adf = start(|_| {});
    let missing = format!("{SUB}/{RG}/adf-nope/{IR}");
    for args in [
        &["ir", "status", "--ir", &missing][..],
        &["ir", "stores", "--ir", &missing][..],
        &["ir", "running", "--ir", &missing][..],
    ] {
        let o = dtutil(args, &adf.env());
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{args:?}\n{out}\n{err}");
        assert!(
            err.contains("factory 'adf-nope' (resource group 'rg-ssis'")
                && err.contains("not found (HTTP 404"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("integration runtime"), "{args:?}: {err}");
        assert!(
            err.contains("factories/adf-nope'") && !err.contains(FACTORY),
            "the server names the factory asked for: {err}"
        );
    }
}

#[test]
fn run_wait_builds_the_ssms_pipeline_and_reuses_it() {
    let adf = start(|_| {});
    let mut env = adf.env();
    env.push(("PKG_PW".into(), "pkg-pass-sentinel".into()));
    let args = [
        "ir",
        "run",
        r"FILES\Finance\Load",
        "--wait",
        "--package-password",
        "env:PKG_PW",
        "--param",
        "$Project::Region=EU",
        "--logging-level",
        "Verbose",
    ];
    let o = dtutil(&args, &env);
    let (out, _) = ok(&o);
    no_secrets(&o);
    assert!(out.contains("Succeeded after"), "{out}");
    let pipelines = adf.state.pipelines();
    assert_eq!(pipelines.len(), 1);
    let (name, props) = &pipelines[0];
    let hash = name.strip_prefix("Pipeline_SSMS_Load_").expect(name);
    assert!(
        hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    assert!(out.contains(&format!("pipeline {name}")), "{out}");
    let a = &props["activities"][0];
    assert_eq!(a["name"], "Activity_SSMS_Load");
    assert_eq!(a["type"], "ExecuteSSISPackage");
    let tp = &a["typeProperties"];
    assert_eq!(tp["connectVia"]["referenceName"], IR);
    assert_eq!(tp["connectVia"]["type"], "IntegrationRuntimeReference");
    assert_eq!(tp["packageLocation"]["type"], "PackageStore");
    assert_eq!(tp["packageLocation"]["packagePath"], "FILES/Finance/Load");
    assert_eq!(tp["loggingLevel"], "Verbose");
    assert_eq!(tp["projectParameters"]["Region"]["value"], "EU");
    // The server keeps the secret as a SecureString (it answers it masked).
    assert_eq!(
        tp["packageLocation"]["typeProperties"]["packagePassword"]["type"],
        "SecureString"
    );
    assert_eq!(
        tp["packageLocation"]["typeProperties"]["packagePassword"]["value"],
        "pkg-pass-sentinel"
    );

    // The same settings (another password) reuse the pipeline.
    env.push(("PKG_PW".into(), "another-pass".into()));
    ok(&dtutil(&args, &env));
    assert_eq!(adf.state.pipelines().len(), 1);
    assert_eq!(adf.statuses().len(), 2);

    // JSON: one object per line.
    let o = dtutil(
        &["ir", "run", r"FILES\Finance\Load", "--wait", "--json"],
        &adf.env(),
    );
    let (out, _) = ok(&o);
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["status"], "Succeeded");
}

#[test]
fn a_failing_package_exits_1_with_its_messages() {
    let adf = start(|_| {});
    let o = dtutil(
        &["ir", "run", r"FILES\Finance\Broken", "--wait"],
        &adf.env(),
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("DTS_E_PRIMEOUTPUTFAILED"), "{out}");
    assert!(err.contains("failed") && err.contains("Broken"), "{err}");
}

#[test]
fn running_lists_and_stop_cancels() {
    let adf = start(|c| c.run_time = Duration::from_secs(60));
    let o = dtutil(&["ir", "run", r"FILES\Finance\Load"], &adf.env());
    let (out, _) = ok(&o);
    let run_id = out
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .expect(&out)
        .to_string();
    // Three more, so the listing needs more than one page (page size 2).
    for _ in 0..2 {
        ok(&dtutil(&["ir", "run", r"FILES\Finance\Load"], &adf.env()));
    }
    ok(&dtutil(&["ir", "run", r"MI\Sales\Daily"], &adf.env()));
    let o = dtutil(&["ir", "running", "--json"], &adf.env());
    let (out, _) = ok(&o);
    let runs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 4, "{out}");
    let mine = runs
        .iter()
        .find(|r| r["run_id"] == run_id.as_str())
        .expect(&out);
    assert_eq!(mine["package"], "FILES/Finance/Load");
    assert!(mine["pipeline"]
        .as_str()
        .unwrap()
        .starts_with("Pipeline_SSMS_Load_"));
    assert!(["Queued", "InProgress"].contains(&mine["status"].as_str().unwrap()));

    let o = dtutil(&["ir", "stop", &run_id], &adf.env());
    ok(&o);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = adf
            .statuses()
            .into_iter()
            .find(|(id, _)| *id == run_id)
            .unwrap()
            .1;
        if st == "Cancelled" {
            break;
        }
        assert!(Instant::now() < deadline, "still {st}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = dtutil(&["ir", "stop", &run_id], &adf.env());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("Cancelled"), "{:?}", text(&o));

    // By package: the two other Load runs, not the MI one.
    let o = dtutil(
        &["ir", "stop", "--package", r"FILES\Finance\Load"],
        &adf.env(),
    );
    let (out, _) = ok(&o);
    assert_eq!(out.matches("Cancelling run").count(), 2, "{out}");
    std::thread::sleep(Duration::from_millis(700));
    let o = dtutil(&["ir", "running", "--json"], &adf.env());
    let (out, _) = ok(&o);
    let left: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(left.len(), 1, "{out}");
    assert_eq!(left[0]["package"], "MI/Sales/Daily");
}

#[test]
fn client_credentials_end_to_end_and_a_wrong_secret() {
    let adf = start(|_| {});
    let o = dtutil(&["ir", "status"], &adf.client_env(SECRET));
    ok(&o);
    no_secrets(&o);
    let o = dtutil(&["ir", "status"], &adf.client_env("wrong-secret-sentinel"));
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(
        err.contains("client secret credential") && err.contains("AADSTS7000215"),
        "{err}"
    );
    assert!(!out.contains("wrong-secret-sentinel") && !err.contains("wrong-secret-sentinel"));
}

#[test]
fn managed_identity_through_a_local_imds() {
    let adf = start(|_| {});
    let mut env = adf.base_env();
    env.push(("DTUTIL_ARM_MANAGED_IDENTITY".into(), "1".into()));
    env.push(("DTUTIL_IMDS_ENDPOINT".into(), adf.base()));
    ok(&dtutil(&["ir", "status"], &env));
    let mut env = adf.base_env();
    env.push((
        "IDENTITY_ENDPOINT".into(),
        format!("{}/msi/token", adf.base()),
    ));
    env.push(("IDENTITY_HEADER".into(), "header-sentinel".into()));
    let o = dtutil(&["ir", "status"], &env);
    ok(&o);
    assert!(!text(&o).0.contains("header-sentinel"));
}

#[test]
fn no_credential_lists_what_was_looked_for() {
    let adf = start(|_| {});
    let o = dtutil(&["ir", "status"], &adf.base_env());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    for name in [
        "DTUTIL_ARM_ACCESS_TOKEN",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "DTUTIL_ARM_MANAGED_IDENTITY",
        "az login",
    ] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}

#[test]
fn a_reader_may_look_but_not_run() {
    let adf = start(|_| {});
    let mut env = adf.base_env();
    env.push(("DTUTIL_ARM_ACCESS_TOKEN".into(), READER.into()));
    ok(&dtutil(&["ir", "stores"], &env));
    let o = dtutil(&["ir", "run", r"FILES\Finance\Load"], &env);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("Data Factory Contributor") && err.contains("pipelines/write"),
        "{err}"
    );
    no_secrets(&o);
}

#[test]
fn throttling_is_retried_after_retry_after() {
    let adf = start(|c| c.throttle = 1);
    let t = Instant::now();
    ok(&dtutil(&["ir", "status"], &adf.env()));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 was not honoured"
    );
}

/// Review ir F11: when throttling outlasts the retries, the error says how many
/// attempts were made.
#[test]
fn throttling_past_the_retries_says_how_many_attempts() {
    let adf = start(|c| c.throttle = 1_000);
    let mut env = adf.env();
    env.push(("DTUTIL_AZURE_RETRIES".into(), "1".into()));
    let o = dtutil(&["ir", "status"], &env);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(
        err.contains("HTTP 429 TooManyRequests") && err.contains("(after 2 attempts)"),
        "{err}"
    );
}

/// `ir run FILES\Finance\Load --wait --timeout 1`.
fn wait_one_second(env: &[(String, String)]) -> std::process::Output {
    let args = [
        "ir",
        "run",
        r"FILES\Finance\Load",
        "--wait",
        "--timeout",
        "1",
    ];
    dtutil(&args, env)
}

#[test]
fn wait_times_out_and_says_how_to_stop() {
    let adf = start(|c| c.run_time = Duration::from_secs(60));
    let o = wait_one_second(&adf.env());
    let (_, err) = text(&o);
    // Its own exit code (3), not a Failed run's (1): the run may still succeed.
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("the run goes on") && err.contains("dtutil ir stop"),
        "{err}"
    );
}

/// Review ir F6: `--timeout` is kept to within a poll interval even when the interval is
/// longer than the timeout (the default is 3 s): the last look is at the deadline.
#[test]
fn wait_timeout_is_not_rounded_up_to_the_poll_interval() {
    let adf = start(|c| c.run_time = Duration::from_secs(60));
    let mut env = adf.env();
    env.push(("DTUTIL_IR_POLL_MS".into(), "8000".into()));
    let t = Instant::now();
    let o = wait_one_second(&env);
    let took = t.elapsed();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("(--timeout)"), "{err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "took {took:?} for --timeout 1 with an 8 s poll interval"
    );
}

/// Ctrl-C while waiting stops the waiting, not the run: exit 130 (128 + SIGINT), not a
/// Failed run's 1.
#[cfg(unix)] // sends SIGINT
#[test]
fn ctrl_c_while_waiting_is_exit_130() {
    let adf = start(|c| c.run_time = Duration::from_secs(60));
    let child = command(&["ir", "run", r"FILES\Finance\Load", "--wait"], &adf.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while adf.statuses().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends SIGINT to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped waiting (Ctrl-C)"), "{err}");
}

#[test]
fn run_file_on_azure_files_passes_the_account_key_as_access_credential() {
    let adf = start(|_| {});
    const KEY: &str = "c2hhcmUta2V5LXNlbnRpbmVsLTRkN2I=";
    let mut env = adf.env();
    env.push(("AZURE_STORAGE_KEY_ACCT".into(), KEY.into()));
    let file = r"\\acct.file.core.windows.net\ssis\Finance\Load.dtsx";
    let o = dtutil(&["ir", "run", "--file", file, "--wait"], &env);
    ok(&o);
    let (out, err) = text(&o);
    assert!(!out.contains(KEY) && !err.contains(KEY), "{out}{err}");
    let pipelines = adf.state.pipelines();
    let (name, props) = &pipelines[0];
    assert!(name.starts_with("Pipeline_SSMS_Load_"), "{name}");
    let loc = &props["activities"][0]["typeProperties"]["packageLocation"];
    assert_eq!(loc["type"], "File");
    assert_eq!(loc["packagePath"], file);
    // As SSMS and ADF's docs have it: domain Azure, the account, its key (SecureString).
    let cred = &loc["typeProperties"]["accessCredential"];
    assert_eq!(cred["domain"], "Azure");
    assert_eq!(cred["userName"], "acct");
    assert_eq!(cred["password"]["type"], "SecureString");
    assert_eq!(cred["password"]["value"], KEY);

    // The shared variables work as for the store; a SAS cannot open SMB: exit 1, why.
    let mut shared = adf.env();
    shared.push(("AZURE_STORAGE_KEY".into(), KEY.into()));
    ok(&dtutil(&["ir", "run", "--file", file], &shared));
    let mut sas = adf.env();
    sas.push((
        "AZURE_STORAGE_SAS_TOKEN".into(),
        "sv=2022-11-02&sig=c2lnbmF0dXJl".into(),
    ));
    let o = dtutil(&["ir", "run", "--file", file], &sas);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (_, err) = text(&o);
    assert!(
        err.contains("SMB takes no SAS")
            && err.contains("AZURE_STORAGE_KEY_ACCT")
            && !err.contains("c2lnbmF0dXJl"),
        "{err}"
    );
    let o = dtutil(&["ir", "run", "--file", file], &adf.env());
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    assert!(
        text(&o)
            .1
            .contains("no credentials for Azure Files account `acct`"),
        "{:?}",
        text(&o)
    );
    // A file share that is not Azure Files: the IR uses its own access.
    ok(&dtutil(
        &["ir", "run", "--file", r"\\fileserver\ssis\Daily.dtsx"],
        &adf.env(),
    ));
    let daily = adf
        .state
        .pipelines()
        .into_iter()
        .find(|(n, _)| n.starts_with("Pipeline_SSMS_Daily_"))
        .unwrap();
    assert!(
        daily.1["activities"][0]["typeProperties"]["packageLocation"]
            .get("typeProperties")
            .is_none()
    );
}

#[test]
fn every_run_option_reaches_the_activity() {
    let adf = start(|_| {});
    let mut env = adf.env();
    env.push(("EXEC_PW".into(), "exec-pass-sentinel".into()));
    let o = dtutil(
        &[
            "ir",
            "run",
            r"FILES\Finance\Load",
            "--config",
            r"\\fileserver\cfg\Load.dtsConfig",
            "--param",
            "Batch=7",
            "--set",
            r"\Package.Variables[User::Mode].Value=Full",
            "--connection",
            "Src.ConnectionString=Data Source=db1;",
            "--runtime",
            "x86",
            "--logging-level",
            "Performance",
            "--log-path",
            r"\\fileserver\logs",
            "--execution-user",
            r"CORP\svc-ssis",
            "--execution-password",
            "env:EXEC_PW",
            "--wait",
            "--timeout",
            "30",
        ],
        &env,
    );
    ok(&o);
    let (out, err) = text(&o);
    assert!(!out.contains("exec-pass-sentinel") && !err.contains("exec-pass-sentinel"));
    let tp = adf.state.pipelines()[0].1["activities"][0]["typeProperties"].clone();
    assert_eq!(tp["runtime"], "x86");
    assert_eq!(tp["loggingLevel"], "Performance");
    assert_eq!(
        tp["packageLocation"]["typeProperties"]["configurationPath"],
        r"\\fileserver\cfg\Load.dtsConfig"
    );
    assert_eq!(tp["packageParameters"]["Batch"]["value"], "7");
    assert_eq!(
        tp["propertyOverrides"][r"\Package.Variables[User::Mode].Value"]["value"],
        "Full"
    );
    assert_eq!(
        tp["packageConnectionManagers"]["Src"]["ConnectionString"]["value"],
        "Data Source=db1;"
    );
    assert_eq!(tp["logLocation"]["logPath"], r"\\fileserver\logs");
    assert_eq!(tp["executionCredential"]["domain"], "CORP");
    assert_eq!(tp["executionCredential"]["userName"], "svc-ssis");
    assert_eq!(
        tp["executionCredential"]["password"],
        serde_json::json!({"type": "SecureString", "value": "exec-pass-sentinel"})
    );
}

#[test]
fn running_since_limits_the_window() {
    let adf = start(|c| c.run_time = Duration::from_secs(60));
    ok(&dtutil(&["ir", "run", r"FILES\Finance\Load"], &adf.env()));
    let (out, _) = ok(&dtutil(
        &["ir", "running", "--since", "1h", "--json"],
        &adf.env(),
    ));
    assert_eq!(out.lines().count(), 1, "{out}");
    let o = dtutil(&["ir", "running", "--since", "3w"], &adf.env());
    assert_eq!(o.status.code(), Some(6), "{:?}", text(&o));
}

#[test]
fn workload_identity_end_to_end() {
    let adf = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    // The server plays the federation: an assertion equal to the client's secret passes.
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let mut env = adf.base_env();
    env.extend([
        ("AZURE_TENANT_ID".to_string(), TENANT.to_string()),
        ("AZURE_CLIENT_ID".into(), CLIENT.into()),
        (
            "AZURE_FEDERATED_TOKEN_FILE".into(),
            file.display().to_string(),
        ),
        ("AZURE_AUTHORITY_HOST".into(), adf.base()),
    ]);
    let o = dtutil(&["ir", "status"], &env);
    ok(&o);
    no_secrets(&o);
    std::fs::write(&file, "not-the-assertion").unwrap();
    let o = dtutil(&["ir", "status"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("workload identity"), "{:?}", text(&o));
}

/// The Azure CLI is asked for a token when nothing else is configured and `az` is on
/// the PATH (a stand-in that prints what `az account get-access-token` prints).
#[cfg(unix)]
#[test]
fn azure_cli_end_to_end() {
    use std::os::unix::fs::PermissionsExt as _;
    let adf = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\n[ \"$1 $2 $3 $4\" = \"account get-access-token --resource {}/\" ] || {{ echo \"ERROR: unexpected $*\" >&2; exit 2; }}\necho '{{\"accessToken\": \"{TOKEN}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}}'\n",
            adf.base()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |path: &str| {
        let mut c = std::process::Command::new(BIN);
        c.args(["ir", "status"]);
        for k in [
            "DTUTIL_ARM_ACCESS_TOKEN",
            "AZURE_CLIENT_SECRET",
            "AZURE_FEDERATED_TOKEN_FILE",
            "IDENTITY_ENDPOINT",
            "DTUTIL_ARM_MANAGED_IDENTITY",
        ] {
            c.env_remove(k);
        }
        c.envs(adf.base_env()).env("PATH", path);
        c.output().unwrap()
    };
    let o = run(&format!("{}:/bin:/usr/bin", dir.path().display()));
    ok(&o);
    no_secrets(&o);
    // An `az` that is not signed in: its first error line, and the advice.
    std::fs::write(
        &az,
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    )
    .unwrap();
    let o = run(&format!("{}:/bin:/usr/bin", dir.path().display()));
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(
        err.contains("Azure CLI") && err.contains("az login"),
        "{err}"
    );
}

#[test]
fn sensitive_values_are_securestrings_the_factory_never_shows() {
    let adf = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("param.pw");
    std::fs::write(&pw_file, "param-pass-sentinel\n").unwrap();
    let mut env = adf.env();
    env.push(("PKG_PW".into(), "conn-pass-sentinel".into()));
    env.push(("SET_PW".into(), "set-pass-sentinel".into()));
    let param = format!("DbPassword=file:{}", pw_file.display());
    let o = dtutil(
        &[
            "ir",
            "run",
            r"FILES\Finance\Load",
            "--connection",
            "OLEDB.Password=env:PKG_PW",
            "--connection",
            "Src.ConnectionString=Data Source=db1;Password=cs-pass-sentinel;",
            "--connection",
            "Src.ServerName=db1",
            "--param-sensitive",
            &param,
            "--param",
            "Batch=env:NOT_READ",
            "--set-sensitive",
            r"\Package.Variables[User::Pw].Value=env:SET_PW",
        ],
        &env,
    );
    ok(&o);
    no_secrets(&o);
    let (out, err) = text(&o);
    for s in ["conn-pass", "cs-pass", "param-pass", "set-pass"] {
        assert!(!out.contains(s) && !err.contains(s), "{s}:\n{out}\n{err}");
    }
    let (name, props) = adf.state.pipelines()[0].clone();
    let tp = &props["activities"][0]["typeProperties"];
    let secure = |v: &str| serde_json::json!({"type": "SecureString", "value": v});
    assert_eq!(
        tp["packageConnectionManagers"]["OLEDB"]["Password"]["value"],
        secure("conn-pass-sentinel")
    );
    assert_eq!(
        tp["packageConnectionManagers"]["Src"]["ConnectionString"]["value"],
        secure("Data Source=db1;Password=cs-pass-sentinel;")
    );
    assert_eq!(
        tp["packageConnectionManagers"]["Src"]["ServerName"]["value"],
        "db1"
    );
    assert_eq!(
        tp["packageParameters"]["DbPassword"]["value"],
        secure("param-pass-sentinel"),
        "a file's one trailing newline is not part of the value"
    );
    assert_eq!(tp["packageParameters"]["Batch"]["value"], "env:NOT_READ");
    let o = &tp["propertyOverrides"][r"\Package.Variables[User::Pw].Value"];
    assert_eq!(o["value"], secure("set-pass-sentinel"));
    assert_eq!(o["isSensitive"], true);
    // What anyone who may read the factory gets back: the masks, never the values.
    let shown = adf.state.pipeline_shown(&name).unwrap().to_string();
    assert!(!shown.contains("-pass-sentinel"), "{shown}");
    assert_eq!(
        shown.matches(testservers::adf::model::MASK).count(),
        4,
        "{shown}"
    );
}

#[test]
fn endless_run_paging_is_an_error_not_a_hang() {
    use testservers::adf::HostilePaging;
    for (mode, says, max_queries) in [
        (HostilePaging::RepeatToken, "returned before", 2),
        (HostilePaging::Endless, "after 200 pages", 200),
    ] {
        let adf = start(|c| c.hostile_paging = Some(mode));
        for args in [
            &["ir", "running"][..],
            &["ir", "stop", "--package", r"FILES\Finance\Load"][..],
        ] {
            let before = adf.state.queries.load(std::sync::atomic::Ordering::SeqCst);
            let t = Instant::now();
            let o = dtutil(args, &adf.env());
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(1), "{mode:?} {args:?}\n{out}\n{err}");
            assert!(err.contains(says), "{mode:?}: {err}");
            assert!(
                !err.contains("same-token") && !err.contains("endless-"),
                "{err}"
            );
            let queries = adf.state.queries.load(std::sync::atomic::Ordering::SeqCst) - before;
            assert_eq!(queries, max_queries, "{mode:?}");
            assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
        }
    }
}

#[test]
fn a_server_can_neither_echo_a_secret_nor_forge_lines() {
    let adf = start(|c| c.hostile_errors = true);
    for env in [adf.env(), adf.client_env(SECRET)] {
        for json in [false, true] {
            let mut args = vec!["ir", "status"];
            if json {
                args.push("--json");
            }
            let o = dtutil(&args, &env);
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
            no_secrets(&o);
            assert!(err.contains("<redacted>"), "{err}");
            for text in [&out, &err] {
                assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
                assert!(
                    !text
                        .lines()
                        .any(|l| l.starts_with("The operation completed")
                            || l.starts_with("ForgedCode")),
                    "a server's text began a line:\n{text}"
                );
            }
        }
    }
}

#[test]
fn the_token_scope_follows_the_arm_endpoint() {
    let adf = start(|_| {});
    // The server is ARM at its own address, as a sovereign cloud is at its endpoint.
    let o = dtutil(&["ir", "status"], &adf.client_env(SECRET));
    ok(&o);
    let own = adf.base().to_ascii_lowercase();
    assert!(
        adf.state.issued.audiences().contains(&own),
        "{:?}",
        adf.state.issued.audiences()
    );
    // DTUTIL_ARM_SCOPE names another audience, which this ARM refuses as Azure does.
    let mut env = adf.client_env(SECRET);
    env.push((
        "DTUTIL_ARM_SCOPE".into(),
        "https://management.chinacloudapi.cn/.default".into(),
    ));
    let o = dtutil(&["ir", "status"], &env);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("InvalidAuthenticationTokenAudience"), "{err}");
    assert!(adf
        .state
        .issued
        .audiences()
        .contains(&"https://management.chinacloudapi.cn".to_string()));
}

#[test]
fn ca_and_federated_token_files_are_bounded() {
    let adf = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 2 * 1024 * 1024]).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for (path, says) in [
        ("/dev/zero".to_string(), "not a regular file"),
        (fifo.display().to_string(), "not a regular file"),
        (big.display().to_string(), "larger than 1048576 bytes"),
    ] {
        let t = Instant::now();
        let mut env = adf.env();
        env.retain(|(k, _)| k != "DTUTIL_ARM_CA");
        env.push(("DTUTIL_ARM_CA".into(), path.clone()));
        let o = dtutil(&["ir", "status"], &env);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{path}: {err}");
        assert!(err.contains("DTUTIL_ARM_CA") && err.contains(says), "{err}");
        assert!(t.elapsed() < Duration::from_secs(20));

        let mut env = adf.base_env();
        env.extend([
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_CLIENT_ID".into(), CLIENT.into()),
            ("AZURE_AUTHORITY_HOST".into(), adf.base()),
            ("AZURE_FEDERATED_TOKEN_FILE".into(), path.clone()),
        ]);
        let o = dtutil(&["ir", "status"], &env);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{path}: {err}");
        let says = if says.starts_with("larger") {
            "larger than 65536 bytes"
        } else {
            says
        };
        assert!(
            err.contains("AZURE_FEDERATED_TOKEN_FILE") && err.contains(says),
            "{err}"
        );
        assert!(t.elapsed() < Duration::from_secs(40));
    }
}

#[cfg(unix)] // the stand-in az is a shell script made executable
#[test]
fn a_hung_or_chatty_az_is_stopped() {
    use std::os::unix::fs::PermissionsExt as _;
    let adf = start(|_| {});
    let dir = tempfile::tempdir().unwrap();
    let az = dir.path().join("az");
    for (script, says) in [
        ("exec /bin/sleep 3600", "no answer in 2 s"),
        ("exec /bin/cat /dev/zero", "more than 1048576 bytes"),
    ] {
        std::fs::write(&az, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut env = adf.base_env();
        env.push(("PATH".into(), dir.path().display().to_string()));
        env.push(("DTUTIL_AZ_TIMEOUT".into(), "2".into()));
        let t = Instant::now();
        let o = dtutil(&["ir", "status"], &env);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("Azure CLI") && err.contains(says), "{err}");
        assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    }
}

#[test]
fn running_and_stop_on_a_missing_ir_are_exit_4() {
    let adf = start(|_| {});
    let missing = format!("{SUB}/{RG}/{FACTORY}/NoSuchIr");
    for args in [
        &["ir", "running", "--ir", &missing][..],
        &["ir", "running", "--json", "--ir", &missing][..],
        &[
            "ir",
            "stop",
            "--package",
            r"FILES\Finance\Load",
            "--ir",
            &missing,
        ][..],
    ] {
        let o = dtutil(args, &adf.env());
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{args:?}\n{out}\n{err}");
        assert!(
            err.contains("integration runtime 'NoSuchIr' not found"),
            "{err}"
        );
    }
}

#[test]
fn run_file_refuses_a_path_the_ir_cannot_open() {
    let adf = start(|_| {});
    for path in ["/tmp/Load.dtsx", "relative.dtsx", r"C:\pkgs\Load.dtsx"] {
        let o = dtutil(&["ir", "run", "--file", path], &adf.env());
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(6), "{path}\n{out}\n{err}");
        assert!(
            err.contains("UNC path") && err.contains("not uploaded"),
            "{err}"
        );
    }
    assert!(adf.state.pipelines().is_empty(), "nothing created");
}

#[test]
fn each_ir_subcommand_has_its_own_help() {
    for (args, usage, option) in [
        (
            &["ir", "run", "--help"][..],
            "dtutil ir run",
            "--param-sensitive",
        ),
        (&["ir", "help", "run"][..], "dtutil ir run", "--wait"),
        (&["ir", "stop", "-h"][..], "dtutil ir stop", "--package"),
        (
            &["ir", "running", "--help"][..],
            "dtutil ir running",
            "--since",
        ),
    ] {
        let o = dtutil(args, &[]);
        let (out, err) = ok(&o);
        assert!(
            out.contains(&format!("Usage: {usage}")) && out.contains(option),
            "{args:?}:\n{out}\n{err}"
        );
        assert!(
            !out.contains("Error") && err.is_empty(),
            "{args:?}:\n{out}\n{err}"
        );
    }
}
