//! `dtutil ir`: the Azure-SSIS IR through Azure Resource Manager (issue 15, SPEC 9):
//! its state, its package stores, running packages on it, listing and stopping runs.

pub mod activity;
pub mod dts;
mod run;
pub mod stores;
mod vault;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::arm::encode;
use crate::arm::{Arm, IrId, Target};
use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::plan::ir::{IrAction, IrPlan, Since, StopTarget};
use crate::plan::OutputMode;
use crate::redact::one_line;

/// The IR to work on: `--ir`, else `DTUTIL_IR`.
pub fn ir_id(flag: Option<&str>, get: &dyn Fn(&str) -> Option<String>) -> Result<IrId> {
    match flag
        .map(str::to_string)
        .or_else(|| get("DTUTIL_IR").filter(|v| !v.trim().is_empty()))
    {
        Some(id) => IrId::parse(&id),
        None => Err(Error::command_line(
            "which IR? give --ir /subscriptions/S/resourceGroups/RG/providers/Microsoft.DataFactory/factories/F/integrationRuntimes/IR (or S/RG/F/IR), or set DTUTIL_IR",
        )),
    }
}

pub fn run(args: &IrPlan, config: &Config, printer: &mut Printer) -> Result<ExitCode> {
    if args.json {
        printer.mode = OutputMode::Json;
    }
    let get = |name: &str| config.arm.get(name);
    let id = ir_id(args.ir.as_deref(), &get)?;
    let arm = Arm::new(id, &get, &config.stores.azure_retry)?;
    match &args.action {
        IrAction::Status => status(&arm, printer),
        IrAction::Stores => list_stores(&arm, printer),
        IrAction::Run(req) => {
            let store_var = |name: &str| config.stores.var(name);
            let package_exists = |ir: &Value| dts::package_exists(&arm, ir, config, &req.package);
            run::run(&arm, req, &get, &store_var, &package_exists, printer)
        }
        IrAction::Running { since } => running(&arm, *since, printer),
        IrAction::Stop(target) => stop(&arm, target, printer),
    }
}

pub fn get_ir(arm: &Arm) -> Result<Value> {
    let path = format!("/integrationRuntimes/{}", encode(&arm.ir.name));
    arm.call("GET", &path, None, Target::Ir)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn status(arm: &Arm, printer: &mut Printer) -> Result<ExitCode> {
    let ir = get_ir(arm)?;
    let path = format!("/integrationRuntimes/{}/getStatus", encode(&arm.ir.name));
    let st = arm.call("POST", &path, None, Target::Ir)?;
    let state = str_at(&st, "/properties/state").to_string();
    let nodes: Vec<(String, String)> = st
        .pointer("/properties/typeProperties/nodes")
        .and_then(Value::as_array)
        .map(|n| {
            n.iter()
                .map(|x| {
                    (
                        str_at(x, "/nodeId").to_string(),
                        str_at(x, "/status").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ssis = "/properties/typeProperties/ssisProperties";
    let edition = str_at(&ir, &format!("{ssis}/edition")).to_string();
    let license = str_at(&ir, &format!("{ssis}/licenseType")).to_string();
    let node_size =
        str_at(&ir, "/properties/typeProperties/computeProperties/nodeSize").to_string();
    let store_count = stores::store_refs(&ir).len();
    let kind = str_at(&ir, "/properties/type");
    printer.json(&json!({
        "ir": arm.ir.name, "factory": arm.ir.factory, "type": kind, "state": state,
        "nodes": nodes.iter().map(|(id, s)| json!({"id": id, "status": s})).collect::<Vec<_>>(),
        "edition": edition, "license": license, "node_size": node_size,
        "package_stores": store_count,
    }));
    printer.line(&format!(
        "Azure-SSIS IR {} in factory {} (resource group {}, subscription {})",
        arm.ir.name, arm.ir.factory, arm.ir.resource_group, arm.ir.subscription
    ));
    printer.line(&format!("  state:          {}", one_line(&state)));
    let node_list = if nodes.is_empty() {
        "none running".to_string()
    } else {
        nodes
            .iter()
            .map(|(id, s)| format!("{} {}", one_line(id), one_line(s)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    printer.line(&format!("  nodes:          {} ({node_list})", nodes.len()));
    if !edition.is_empty() || !node_size.is_empty() {
        printer.line(&format!(
            "  edition:        {}{}{}",
            one_line(&edition),
            if license.is_empty() {
                String::new()
            } else {
                format!(", license {}", one_line(&license))
            },
            if node_size.is_empty() {
                String::new()
            } else {
                format!(", node size {}", one_line(&node_size))
            }
        ));
    }
    printer.line(&format!("  package stores: {store_count}"));
    if kind != "Managed" {
        return Err(Error::failure(format!(
            "integration runtime '{}' is a {kind} IR, not an Azure-SSIS IR",
            arm.ir.name
        )));
    }
    if state != "Started" {
        return Err(not_started(&arm.ir.name, &state));
    }
    Ok(ExitCode::Success)
}

pub fn not_started(ir: &str, state: &str) -> Error {
    Error::failure(format!(
        "the Azure-SSIS IR '{ir}' is {state}, not Started: package runs would be refused until it is started (Azure portal, or `az datafactory integration-runtime start`)"
    ))
}

fn list_stores(arm: &Arm, printer: &mut Printer) -> Result<ExitCode> {
    let ir = get_ir(arm)?;
    let list = stores::list(arm, &ir)?;
    if list.is_empty() {
        printer.line(&format!("IR {} has no package stores.", arm.ir.name));
    }
    for s in &list {
        printer.json(&json!({
            "name": s.name, "linked_service": s.linked_service, "kind": s.kind_name(),
            "location": s.location(),
            "key_vault_secret": s.key_vault_secret.as_ref().map(|k| json!({"linked_service": k.linked_service, "secret_name": k.secret_name, "property": k.property})),
        }));
        let vault = s
            .key_vault_secret
            .as_ref()
            .map(|k| {
                format!(
                    "  ({} in Key Vault: secret {} of {})",
                    one_line(k.property),
                    one_line(&k.secret_name),
                    one_line(&k.linked_service)
                )
            })
            .unwrap_or_default();
        printer.line(&format!(
            "{}  linked service {}  {}  {}{vault}",
            one_line(&s.name),
            one_line(&s.linked_service),
            one_line(s.kind_name()),
            one_line(s.location())
        ));
    }
    Ok(ExitCode::Success)
}

/// ISO 8601 UTC with milliseconds.
pub fn iso(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

pub fn parse_iso(s: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

/// `1h 02m 03s`, `4m 05s`, `6.1s`
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m {:02}s", s / 3600, (s / 60) % 60, s % 60),
    }
}

/// A run on this IR that has not ended.
struct Active {
    run: Value,
    package: String,
}

/// ADF answers up to 100 runs a page: 200 pages are more runs than a factory may have
/// going at once, so more means ARM (or a proxy) is paging without end.
const MAX_PAGES: usize = 200;
/// The whole listing, however many pages and pipelines it takes.
const MAX_LISTING: Duration = Duration::from_secs(300);

/// Runs that are Queued, InProgress or Canceling, updated within `since`, whose
/// pipeline's Execute SSIS Package activity connects via this IR. Bounded: a repeated
/// continuation token, more than [`MAX_PAGES`] pages or [`MAX_LISTING`] are errors.
fn active_runs(arm: &Arm, since: Since) -> Result<Vec<Active>> {
    let now = SystemTime::now();
    let mut body = json!({
        "lastUpdatedAfter": iso(now - Duration::from_secs(since.seconds)),
        "lastUpdatedBefore": iso(now + Duration::from_secs(300)),
        "filters": [{"operand": "Status", "operator": "In", "values": ["Queued", "InProgress", "Canceling"]}],
        "orderBy": [{"orderBy": "RunStart", "order": "DESC"}],
    });
    let mut pipelines: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::new();
    let mut tokens_seen = std::collections::HashSet::new();
    let started = std::time::Instant::now();
    let over_time = || {
        (started.elapsed() > MAX_LISTING).then(|| {
            Error::failure(format!(
                "listing the runs of factory '{}' took more than {}: stopped (ARM is too slow, or a proxy is misbehaving); try a shorter --since",
                arm.ir.factory,
                human(MAX_LISTING)
            ))
        })
    };
    for page_number in 1.. {
        if page_number > MAX_PAGES {
            return Err(Error::failure(format!(
                "ARM's run query of factory '{}' still had more after {MAX_PAGES} pages: stopped, as no factory has that many runs going (ARM or a proxy is paging without end); try a shorter --since",
                arm.ir.factory
            )));
        }
        if let Some(e) = over_time() {
            return Err(e);
        }
        let page = arm.call("POST", "/queryPipelineRuns", Some(&body), Target::Factory)?;
        for run in page
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = str_at(run, "/pipelineName").to_string();
            if !pipelines.contains_key(&name) {
                if let Some(e) = over_time() {
                    return Err(e);
                }
                let path = format!("/pipelines/{}", encode(&name));
                // A pipeline deleted since its run started has nothing to tell.
                let package = match arm.call("GET", &path, None, Target::Pipeline(&name)) {
                    Ok(p) => p
                        .pointer("/properties/activities")
                        .and_then(Value::as_array)
                        .and_then(|acts| {
                            acts.iter()
                                .find_map(|a| activity::package_on_ir(a, &arm.ir.name))
                        }),
                    Err(e) if e.exit == ExitCode::PackageNotFound => None,
                    Err(e) => return Err(e),
                };
                pipelines.insert(name.clone(), package);
            }
            if let Some(package) = &pipelines[&name] {
                out.push(Active {
                    run: run.clone(),
                    package: package.clone(),
                });
            }
        }
        match page.get("continuationToken").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {
                if !tokens_seen.insert(t.to_string()) {
                    return Err(Error::failure(format!(
                        "ARM's run query of factory '{}' returned a continuation token it had returned before (page {page_number}): stopped, as the listing would never end (ARM or a proxy is misbehaving)",
                        arm.ir.factory
                    )));
                }
                body["continuationToken"] = json!(t)
            }
            _ => break,
        }
    }
    Ok(out)
}

fn running(arm: &Arm, since: Since, printer: &mut Printer) -> Result<ExitCode> {
    // A misspelt IR must be exit 4 as in `ir status`, never look like an idle one.
    get_ir(arm)?;
    let list = active_runs(arm, since)?;
    let now = SystemTime::now();
    if list.is_empty() {
        printer.line(&format!(
            "No package runs are queued, in progress or canceling on IR {}.",
            arm.ir.name
        ));
    }
    for a in &list {
        let start = str_at(&a.run, "/runStart");
        let elapsed = parse_iso(start)
            .and_then(|s| now.duration_since(s).ok())
            .unwrap_or_default();
        let run_id = str_at(&a.run, "/runId");
        let status = str_at(&a.run, "/status");
        let pipeline = str_at(&a.run, "/pipelineName");
        printer.json(&json!({
            "run_id": run_id, "package": a.package, "pipeline": pipeline, "start": start,
            "duration_ms": elapsed.as_millis() as u64, "status": status,
        }));
        printer.line(&format!(
            "{}  {:<10}  {}  {}  started {}  running {}",
            one_line(run_id),
            one_line(status),
            one_line(&a.package.replace('/', "\\")),
            one_line(pipeline),
            one_line(start),
            human(elapsed)
        ));
    }
    Ok(ExitCode::Success)
}

fn stop(arm: &Arm, target: &StopTarget, printer: &mut Printer) -> Result<ExitCode> {
    match target {
        StopTarget::Run(id) => {
            let run = get_run(arm, id)?;
            let status = str_at(&run, "/status").to_string();
            if matches!(status.as_str(), "Succeeded" | "Failed" | "Cancelled") {
                return Err(Error::failure(format!(
                    "run {id} has already ended: {status}; nothing to stop"
                )));
            }
            cancel(arm, id)?;
            report_cancel(printer, id, str_at(&run, "/pipelineName"));
            Ok(ExitCode::Success)
        }
        StopTarget::Package(p) => {
            let (path, _, _) =
                activity::package_path(&crate::plan::ir::PackageRef::Store(p.clone()))?;
            get_ir(arm)?;
            let matching: Vec<Active> = active_runs(arm, Since::DEFAULT)?
                .into_iter()
                .filter(|a| a.package.eq_ignore_ascii_case(&path))
                .filter(|a| str_at(&a.run, "/status") != "Canceling")
                .collect();
            if matching.is_empty() {
                printer.line(&format!("No running runs of {p} on IR {}.", arm.ir.name));
            }
            for a in &matching {
                let id = str_at(&a.run, "/runId");
                cancel(arm, id)?;
                report_cancel(printer, id, str_at(&a.run, "/pipelineName"));
            }
            Ok(ExitCode::Success)
        }
    }
}

fn report_cancel(printer: &mut Printer, id: &str, pipeline: &str) {
    printer.json(&json!({"run_id": id, "pipeline": pipeline, "status": "Canceling"}));
    printer.line(&format!(
        "Cancelling run {} of {} (and the runs it started).",
        one_line(id),
        one_line(pipeline)
    ));
}

pub fn get_run(arm: &Arm, id: &str) -> Result<Value> {
    arm.call(
        "GET",
        &format!("/pipelineruns/{}", encode(id)),
        None,
        Target::Run(id),
    )
}

fn cancel(arm: &Arm, id: &str) -> Result<()> {
    let path = format!("/pipelineruns/{}/cancel?isRecursive=true", encode(id));
    arm.call("POST", &path, None, Target::Run(id)).map(|_| ())
}
