//! Pipeline runs: the state machine (Queued -> InProgress -> Succeeded | Failed, or
//! Canceling -> Cancelled), their activity runs, and run queries with filters, ordering
//! and continuation tokens. Pure: the clock is passed in.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::model::{masked, AdfError, Factory};
use crate::azfiles::timefmt;

#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub pipeline: String,
    pub parameters: Value,
    pub start: SystemTime,
    /// The pipeline's activities when the run was created.
    pub activities: Vec<Value>,
    /// Why the run fails at its end (a `--fail-package`, a stopped IR), if it does.
    pub failure: Option<String>,
    pub cancel_requested: Option<SystemTime>,
    pub activity_run_ids: Vec<String>,
}

/// How long runs take.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub run: Duration,
}

impl Timing {
    fn queued(&self) -> Duration {
        self.run / 4
    }
    fn canceling(&self) -> Duration {
        (self.run / 4).min(Duration::from_millis(500))
    }
}

/// A run's status at `now`, the time of its last change, and its end (if it ended).
pub fn status(
    run: &Run,
    t: Timing,
    now: SystemTime,
) -> (&'static str, SystemTime, Option<SystemTime>) {
    if let Some(c) = run.cancel_requested {
        let end = c + t.canceling();
        return if now >= end {
            ("Cancelled", end, Some(end))
        } else {
            ("Canceling", c, None)
        };
    }
    let in_progress = run.start + t.queued();
    let end = run.start + t.run;
    if now < in_progress {
        ("Queued", run.start, None)
    } else if now < end {
        ("InProgress", in_progress, None)
    } else if run.failure.is_some() {
        ("Failed", end, Some(end))
    } else {
        ("Succeeded", end, Some(end))
    }
}

pub fn is_final(status: &str) -> bool {
    matches!(status, "Succeeded" | "Failed" | "Cancelled")
}

fn ms_between(a: SystemTime, b: SystemTime) -> u64 {
    b.duration_since(a).unwrap_or_default().as_millis() as u64
}

pub fn run_json(f: &Factory, run: &Run, t: Timing, now: SystemTime) -> Value {
    let (st, updated, end) = status(run, t, now);
    let message = match st {
        "Failed" => format!(
            "Operation on target {} failed: {}",
            activity_name(run),
            run.failure.clone().unwrap_or_default()
        ),
        "Cancelled" => "The pipeline run was cancelled by the user.".into(),
        _ => String::new(),
    };
    json!({
        "id": format!("{}/pipelineruns/{}", f.id.id(), run.id),
        "runId": run.id,
        "debugRunId": null,
        "runGroupId": run.id,
        "pipelineName": run.pipeline,
        "parameters": run.parameters,
        "invokedBy": {"id": "00000000000000000000000000000000", "name": "Manual", "invokedByType": "Manual"},
        "runStart": timefmt::iso7(run.start),
        "runEnd": end.map(timefmt::iso7),
        "durationInMs": end.map(|e| ms_between(run.start, e)),
        "status": st,
        "message": message,
        "lastUpdated": timefmt::iso7(updated),
        "annotations": [],
        "runDimension": {},
        "isLatest": true,
    })
}

fn activity_name(run: &Run) -> String {
    run.activities
        .first()
        .and_then(|a| a.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("activity")
        .to_string()
}

pub fn activity_runs_json(run: &Run, t: Timing, now: SystemTime) -> Vec<Value> {
    let (st, updated, end) = status(run, t, now);
    let started = run.start + t.queued();
    run.activities
        .iter()
        .zip(&run.activity_run_ids)
        .filter(|_| st != "Queued")
        .map(|(a, id)| {
            let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
            let a_status = match st {
                "Canceling" => "InProgress",
                other => other,
            };
            let mut output = json!({});
            let mut error = json!({"errorCode": "", "message": "", "failureType": "", "target": a.get("name")});
            if kind == "ExecuteSSISPackage" {
                output = json!({"SsisDBOperationId": 4711, "SsisDBOperationGuid": id});
                if st == "Failed" {
                    let msg = run.failure.clone().unwrap_or_default();
                    output["OperationErrorMessages"] = json!(format!("{}: Error: {msg}\r\n", timefmt::iso7(started)));
                    error = json!({"errorCode": "2203", "message": msg, "failureType": "UserError", "target": a.get("name")});
                }
            }
            json!({
                "activityRunId": id,
                "activityName": a.get("name"),
                "activityType": kind,
                "pipelineName": run.pipeline,
                "pipelineRunId": run.id,
                "status": a_status,
                "activityRunStart": timefmt::iso7(started),
                "activityRunEnd": end.map(timefmt::iso7),
                "durationInMs": end.map(|e| ms_between(started, e)),
                "input": masked(a.get("typeProperties").unwrap_or(&Value::Null)),
                "output": output,
                "error": error,
                "linkedServiceName": "",
                "retryAttempt": null,
                "userProperties": {},
                "iterationHash": "",
                "lastUpdated": timefmt::iso7(updated),
            })
        })
        .collect()
}

/// The name of the package an Execute SSIS Package activity runs (last path segment,
/// without `.dtsx`).
pub fn package_of(activity: &Value) -> Option<String> {
    let path = activity
        .pointer("/typeProperties/packageLocation/packagePath")?
        .as_str()?;
    let last = path.rsplit(['/', '\\']).next()?;
    let name = last
        .strip_suffix(".dtsx")
        .or_else(|| last.strip_suffix(".DTSX"))
        .unwrap_or(last);
    Some(name.to_string())
}

/// A parsed run query (pipeline runs or activity runs).
pub struct Query {
    after: SystemTime,
    before: SystemTime,
    filters: Vec<(String, String, Vec<String>)>,
    order: Option<(String, bool)>,
    offset: usize,
    fingerprint: String,
}

impl Query {
    pub fn parse(body: &Value, operands: &[&str]) -> Result<Self, AdfError> {
        let bad = |m: String| AdfError::bad_request("BadRequest", m);
        let time = |key: &str| -> Result<SystemTime, AdfError> {
            let s = body
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("The request body must carry '{key}' (ISO 8601).")))?;
            let s = s.strip_suffix("+00:00").unwrap_or(s);
            timefmt::parse_iso(s)
                .ok_or_else(|| bad(format!("'{key}' is not an ISO 8601 time: '{s}'.")))
        };
        let after = time("lastUpdatedAfter")?;
        let before = time("lastUpdatedBefore")?;
        let mut filters = Vec::new();
        for f in body
            .get("filters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let operand = f.get("operand").and_then(Value::as_str).unwrap_or_default();
            let operator = f
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !operands.contains(&operand) {
                return Err(bad(format!("Filter operand '{operand}' is not supported.")));
            }
            if !["Equals", "NotEquals", "In", "NotIn"].contains(&operator) {
                return Err(bad(format!(
                    "Filter operator '{operator}' is not supported."
                )));
            }
            let values: Vec<String> = f
                .get("values")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            if values.is_empty() {
                return Err(bad(format!("Filter on '{operand}' has no values.")));
            }
            if matches!(operator, "Equals" | "NotEquals") && values.len() != 1 {
                return Err(bad(format!(
                    "Filter operand '{operand}' does not support an array of values with operator '{operator}'. Make sure to provide only one."
                )));
            }
            filters.push((operand.to_string(), operator.to_string(), values));
        }
        let order = match body
            .get("orderBy")
            .and_then(Value::as_array)
            .and_then(|o| o.first())
        {
            Some(o) => {
                let field = o.get("orderBy").and_then(Value::as_str).unwrap_or_default();
                let desc = o.get("order").and_then(Value::as_str) == Some("DESC");
                Some((field.to_string(), desc))
            }
            None => None,
        };
        let mut canonical = body.clone();
        if let Some(m) = canonical.as_object_mut() {
            m.remove("continuationToken");
        }
        let fingerprint = hex8(canonical.to_string().as_bytes());
        let offset = match body.get("continuationToken").and_then(Value::as_str) {
            None | Some("") => 0,
            Some(token) => decode_token(token, &fingerprint)
                .ok_or_else(|| bad("The continuation token is not valid for this query.".into()))?,
        };
        Ok(Self {
            after,
            before,
            filters,
            order,
            offset,
            fingerprint,
        })
    }

    /// Filters, orders and pages `items` (JSON runs): `(page, continuation token)`.
    pub fn apply(&self, items: Vec<Value>, page_size: usize) -> (Vec<Value>, Option<String>) {
        let field_of = |operand: &str| match operand {
            "PipelineName" => "pipelineName",
            "Status" => "status",
            "RunStart" => "runStart",
            "RunEnd" => "runEnd",
            "RunGroupId" => "runGroupId",
            "ActivityName" => "activityName",
            "ActivityType" => "activityType",
            "ActivityRunStart" => "activityRunStart",
            "ActivityRunEnd" => "activityRunEnd",
            _ => "",
        };
        let text = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut kept: Vec<Value> = items
            .into_iter()
            .filter(|v| {
                let updated =
                    timefmt::parse_iso(&text(v, "lastUpdated")).unwrap_or(SystemTime::UNIX_EPOCH);
                updated >= self.after && updated <= self.before
            })
            .filter(|v| {
                self.filters.iter().all(|(operand, operator, values)| {
                    if operand == "LatestOnly" {
                        return true;
                    }
                    let have = text(v, field_of(operand));
                    let hit = values.iter().any(|x| x.eq_ignore_ascii_case(&have));
                    matches!(operator.as_str(), "Equals" | "In") == hit
                })
            })
            .collect();
        let (key, desc) = match &self.order {
            Some((f, d)) => (field_of(f), *d),
            None => ("runStart", false),
        };
        let key = if key.is_empty() { "runStart" } else { key };
        kept.sort_by_key(|v| text(v, key));
        if desc {
            kept.reverse();
        }
        let rest: Vec<Value> = kept.into_iter().skip(self.offset).collect();
        let more = rest.len() > page_size;
        let page: Vec<Value> = rest.into_iter().take(page_size).collect();
        let token = more.then(|| encode_token(self.offset + page_size, &self.fingerprint));
        (page, token)
    }
}

fn hex8(data: &[u8]) -> String {
    Sha256::digest(data)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn encode_token(offset: usize, fingerprint: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!("{{\"o\":{offset},\"q\":\"{fingerprint}\"}}"))
}

fn decode_token(token: &str, fingerprint: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    (v.get("q")?.as_str()? == fingerprint).then_some(())?;
    Some(v.get("o")?.as_u64()? as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(failure: Option<&str>) -> Run {
        Run {
            id: "r1".into(),
            pipeline: "P".into(),
            parameters: json!({}),
            start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
            activities: vec![json!({"name": "A", "type": "ExecuteSSISPackage",
                "typeProperties": {"packageLocation": {"packagePath": "FILES/Fin/Load"}}})],
            failure: failure.map(str::to_string),
            cancel_requested: None,
            activity_run_ids: vec!["a1".into()],
        }
    }

    #[test]
    fn runs_move_through_their_states() {
        let t = Timing {
            run: Duration::from_secs(2),
        };
        let r = run(None);
        let at = |ms| r.start + Duration::from_millis(ms);
        assert_eq!(status(&r, t, at(100)).0, "Queued");
        assert_eq!(status(&r, t, at(1000)).0, "InProgress");
        assert_eq!(status(&r, t, at(2000)).0, "Succeeded");
        assert_eq!(status(&run(Some("boom")), t, at(2500)).0, "Failed");
        let mut c = run(None);
        c.cancel_requested = Some(at(1000));
        assert_eq!(status(&c, t, at(1100)).0, "Canceling");
        assert_eq!(status(&c, t, at(1600)).0, "Cancelled");
        assert_eq!(package_of(&r.activities[0]).as_deref(), Some("Load"));
    }

    #[test]
    fn queries_filter_and_page() {
        let items: Vec<Value> = (0..5)
            .map(|i| {
                json!({"runId": i.to_string(), "pipelineName": if i % 2 == 0 {"A"} else {"B"},
                "status": "InProgress", "runStart": format!("2026-01-01T00:00:0{i}Z"),
                "lastUpdated": "2026-01-01T00:00:10Z"})
            })
            .collect();
        let body = json!({"lastUpdatedAfter": "2026-01-01T00:00:00Z", "lastUpdatedBefore": "2026-01-02T00:00:00Z",
            "filters": [{"operand": "PipelineName", "operator": "Equals", "values": ["a"]}]});
        let q = Query::parse(&body, &["PipelineName", "Status"]).unwrap();
        let (page, token) = q.apply(items.clone(), 2);
        assert_eq!(page.len(), 2);
        let mut next = body.clone();
        next["continuationToken"] = json!(token.unwrap());
        let (page, token) = Query::parse(&next, &["PipelineName"])
            .unwrap()
            .apply(items.clone(), 2);
        assert_eq!((page.len(), token), (1, None));
        let mut other = body.clone();
        other["filters"][0]["values"] = json!(["B"]);
        other["continuationToken"] = next["continuationToken"].clone();
        assert!(Query::parse(&other, &["PipelineName"]).is_err());
        let bad = json!({"lastUpdatedAfter": "2026-01-01T00:00:00Z"});
        assert!(Query::parse(&bad, &[]).is_err());
    }
}
