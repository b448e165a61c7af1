//! `dtutil ir run`: put the pipeline, start a run, and with `--wait` follow it to its
//! end. Ctrl-C stops the waiting, never the run.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::activity::{self, Secrets};
use super::{get_ir, get_run, human, iso, not_started, str_at};
use crate::arm::encode;
use crate::arm::{Arm, Target};
use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::plan::ir::{PackageRef, RunRequest};
use crate::plan::OutputMode;

/// How often `--wait` asks (DTUTIL_IR_POLL_MS overrides, for tests).
fn poll_interval(get: &dyn Fn(&str) -> Option<String>) -> Duration {
    get("DTUTIL_IR_POLL_MS")
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(3))
}

/// The account key for each Azure Files path of the run (the package, its configuration,
/// its log folder), found as the Azure Files store finds it (per-account variables,
/// then the shared ones). The IR opens these paths over SMB, which takes the key.
fn share_keys(
    req: &RunRequest,
    store_var: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Zeroizing<String>)>> {
    use crate::store::azfiles::{Auth, AzPath, Settings};
    use base64::Engine as _;
    let file = match &req.package {
        PackageRef::File(f) => Some(("--file", f)),
        PackageRef::Store(_) => None,
    };
    let paths = file
        .into_iter()
        .chain(req.config.as_ref().map(|c| ("--config", c)))
        .chain(req.log_path.as_ref().map(|l| ("--log-path", l)));
    let mut keys: Vec<(String, Zeroizing<String>)> = Vec::new();
    for (option, path) in paths {
        let Some((account, _)) = activity::azure_files_path(path) else {
            continue;
        };
        if keys.iter().any(|(a, _)| *a == account) {
            continue;
        }
        let why = |e: String| {
            Error::failure(format!(
                "{option} `{path}`: the IR opens it over SMB with the storage account key (passed as the activity's access credential, domain Azure, user {account}, as SSMS does): {e}"
            ))
        };
        let parsed = AzPath::parse(path).map_err(|e| why(e.to_string()))?;
        // Only the credential is wanted here: no request is made, so no retry settings.
        let settings = Settings::from_env(&parsed, store_var, &Default::default())
            .map_err(|e| why(e.to_string()))?;
        match settings.auth {
            Auth::SharedKey { key, .. } => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(key.as_slice());
                keys.push((account, Zeroizing::new(b64)));
            }
            Auth::Sas(_) => {
                return Err(why(format!(
                    "only a SAS token is set for account `{account}`, and SMB takes no SAS; set AZURE_STORAGE_KEY_{} to its key",
                    crate::store::azfiles::account_suffix(&account)
                )))
            }
        }
    }
    Ok(keys)
}

fn describe(package: &PackageRef) -> String {
    match package {
        PackageRef::Store(p) => format!("package `{p}`"),
        PackageRef::File(f) => format!("--file `{f}`"),
    }
}

fn missing_package(package: &PackageRef, ir: &str) -> Error {
    Error::not_found(match package {
        PackageRef::Store(p) => {
            let store = p.split(['\\', '/']).next().unwrap_or("");
            let folder = p.rsplit_once(['\\', '/']).map_or(store, |(f, _)| f);
            format!(
                "package `{p}` does not exist in package store {store} of IR {ir}; nothing was created in the factory (see what the folder holds with: dtutil /FDi 'DTS;{folder}' --ir IR)"
            )
        }
        PackageRef::File(f) => format!(
            "--file `{f}`: the package does not exist on that Azure Files share; nothing was created in the factory"
        ),
    })
}

pub fn run(
    arm: &Arm,
    req: &RunRequest,
    get: &dyn Fn(&str) -> Option<String>,
    store_var: &dyn Fn(&str) -> Option<String>,
    package_exists: &dyn Fn(&Value) -> Result<Option<bool>>,
    printer: &mut Printer,
) -> Result<ExitCode> {
    let mut secrets = Secrets {
        share_keys: share_keys(req, store_var)?,
        package_password: secrets::resolve_opt(
            req.package_password.as_ref(),
            "--package-password",
        )?,
        execution_password: secrets::resolve_opt(
            req.execution_password.as_ref(),
            "--execution-password",
        )?,
        ..Secrets::default()
    };
    secrets.resolve_values(req)?;
    let ir = get_ir(arm)?;
    let state = str_at(&ir, "/properties/state");
    if state != "Started" {
        return Err(not_started(&arm.ir.name, state));
    }
    if let PackageRef::Store(p) = &req.package {
        let store = p.split(['\\', '/']).next().unwrap_or("");
        let known = super::stores::store_refs(&ir);
        if !known.iter().any(|(n, _)| n.eq_ignore_ascii_case(store)) {
            let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::not_found(format!(
                "package `{p}`: '{store}' is not a package store of IR {} (its stores: {})",
                arm.ir.name,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let (pipeline, _activity, body) = activity::pipeline(req, &arm.ir.name, &secrets)?;
    // Checked once the path is known to be well formed. SSMS offers only packages that exist; a typo here would otherwise leave a pipeline
    // in the factory and a run that fails minutes later, after the IR's nodes start.
    match package_exists(&ir) {
        Ok(Some(false)) => return Err(missing_package(&req.package, &arm.ir.name)),
        Ok(_) => {}
        Err(e) => printer.warn(&crate::redact::one_line(&format!(
            "could not check that {} exists ({}); starting the run, the IR reads it with its own access",
            describe(&req.package),
            e.message
        ))),
    }
    let path = format!("/pipelines/{}", encode(&pipeline));
    arm.call("PUT", &path, Some(&body), Target::Pipeline(&pipeline))?;
    drop(body);
    let created = arm.call(
        "POST",
        &format!("{path}/createRun"),
        Some(&json!({})),
        Target::Pipeline(&pipeline),
    )?;
    let run_id = str_at(&created, "/runId").to_string();
    if run_id.is_empty() {
        return Err(Error::failure("ARM started a run but returned no runId"));
    }
    printer.json(&json!({"pipeline": pipeline, "run_id": run_id, "status": "Queued"}));
    printer.line(&format!("pipeline {pipeline}"));
    printer.line(&format!("run {}", crate::redact::one_line(&run_id)));
    if !req.wait {
        return Ok(ExitCode::Success);
    }
    let timeout = req.timeout_secs.map(Duration::from_secs);
    wait(arm, &run_id, timeout, poll_interval(get), printer)
}

fn wait(
    arm: &Arm,
    run_id: &str,
    timeout: Option<Duration>,
    poll: Duration,
    printer: &mut Printer,
) -> Result<ExitCode> {
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        // Fails only when a handler is already set; waiting then ends by timeout only.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let spinner =
        (printer.mode == OutputMode::Text && std::io::stderr().is_terminal()).then(|| {
            let s = indicatif::ProgressBar::new_spinner();
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
    let started = Instant::now();
    let mut last = String::new();
    let ir = format!(
        "{}/{}/{}/{}",
        arm.ir.subscription, arm.ir.resource_group, arm.ir.factory, arm.ir.name
    );
    let stop_hint = format!("stop it with: dtutil ir stop {run_id} --ir {ir}");
    loop {
        let run = get_run(arm, run_id)?;
        let status = str_at(&run, "/status").to_string();
        if status != last {
            if let Some(s) = &spinner {
                s.suspend(|| ());
            }
            printer.json(&json!({"run_id": run_id, "status": status, "at": iso(std::time::SystemTime::now())}));
            printer.line(&format!(
                "{} after {}",
                crate::redact::one_line(&status),
                human(started.elapsed())
            ));
            last = status.clone();
        }
        if let Some(s) = &spinner {
            s.set_message(format!(
                "run {run_id}: {status} ({})",
                human(started.elapsed())
            ));
        }
        match status.as_str() {
            "Succeeded" => {
                if let Some(s) = spinner {
                    s.finish_and_clear();
                }
                return Ok(ExitCode::Success);
            }
            "Failed" | "Cancelled" => {
                if let Some(s) = spinner {
                    s.finish_and_clear();
                }
                let messages = failure_messages(arm, run_id, &run);
                for m in &messages {
                    printer.line(&format!("  {}", crate::redact::one_line(m)));
                }
                printer.json(&json!({"run_id": run_id, "status": status, "messages": messages}));
                return Err(Error::failure(format!(
                    "run {run_id} {}{}",
                    if status == "Failed" {
                        "failed"
                    } else {
                        "was cancelled"
                    },
                    messages
                        .first()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )));
            }
            _ => {}
        }
        let deadline = timeout.map(|t| started + t);
        if deadline.is_some_and(|d| Instant::now() >= d) {
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            return Err(Error::new(
                ExitCode::WaitTimedOut,
                format!(
                    "run {run_id} is still {status} after {} (--timeout); stopped waiting, the run goes on ({stop_hint})",
                    human(started.elapsed())
                ),
            ));
        }
        // The last look is at the deadline itself, not a whole poll interval later.
        let next = Instant::now() + poll;
        let until = deadline.map_or(next, |d| d.min(next));
        while Instant::now() < until {
            if interrupted.load(Ordering::SeqCst) {
                if let Some(s) = spinner {
                    s.finish_and_clear();
                }
                return Err(Error::new(
                    ExitCode::Interrupted,
                    format!("stopped waiting (Ctrl-C); run {run_id} goes on ({stop_hint})"),
                ));
            }
            std::thread::sleep(
                Duration::from_millis(50)
                    .min(poll)
                    .min(until.saturating_duration_since(Instant::now())),
            );
        }
    }
}

/// The activity runs' `OperationErrorMessages` and error messages, else the run's.
fn failure_messages(arm: &Arm, run_id: &str, run: &Value) -> Vec<String> {
    let now = std::time::SystemTime::now();
    let body = json!({
        "lastUpdatedAfter": iso(now - Duration::from_secs(40 * 24 * 3600)),
        "lastUpdatedBefore": iso(now + Duration::from_secs(300)),
    });
    let path = format!("/pipelineruns/{}/queryActivityruns", encode(run_id));
    let mut out = Vec::new();
    if let Ok(v) = arm.call("POST", &path, Some(&body), Target::Run(run_id)) {
        for a in v
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ops = str_at(a, "/output/OperationErrorMessages");
            for line in ops.lines().map(str::trim).filter(|l| !l.is_empty()) {
                out.push(line.to_string());
            }
            let msg = str_at(a, "/error/message");
            if ops.is_empty() && !msg.is_empty() {
                out.push(format!("{}: {msg}", str_at(a, "/activityName")));
            }
        }
    }
    if out.is_empty() {
        let m = str_at(run, "/message");
        if !m.is_empty() {
            out.push(m.to_string());
        }
    }
    out
}
