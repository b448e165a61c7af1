//! The HTTPS layer: routing of ARM, token and managed-identity requests, bearer-token
//! authorization (with a Reader role for `--reader-token`), api-version checks, and the
//! faults (latency, throttling, dropped connections).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::model::{AdfError, Factory};
use super::runs::{self, Query, Run, Timing};
use super::token::{self, Issued, ARM_AUDIENCE};
use super::vault::Vaults;
use super::Config;

pub const API_VERSION: &str = "2018-06-01";
const MAX_BODY: usize = 4 * 1024 * 1024;

pub struct State {
    pub cfg: Config,
    pub factory: Mutex<Factory>,
    pub vaults: Vaults,
    pub runs: Mutex<Vec<Run>>,
    pub issued: Issued,
    /// `https://127.0.0.1:PORT`
    pub base_url: String,
    requests: AtomicU64,
    throttled: AtomicU64,
    /// Run queries answered (for tests).
    pub queries: AtomicU64,
}

impl State {
    pub fn new(cfg: Config, factory: Factory, vaults: Vaults, base_url: String) -> Self {
        Self {
            cfg,
            factory: Mutex::new(factory),
            vaults,
            runs: Mutex::new(Vec::new()),
            issued: Issued::default(),
            base_url,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            queries: AtomicU64::new(0),
        }
    }

    /// Changes an IR's state (for tests: a stopped IR).
    pub fn set_ir_state(&self, ir: &str, state: &str) {
        let mut f = self.factory.lock().unwrap();
        for i in f.irs.iter_mut().filter(|i| i.name.eq_ignore_ascii_case(ir)) {
            i.state = state.to_string();
        }
    }

    /// The stored pipelines' names and properties, secrets unmasked (for tests).
    pub fn pipelines(&self) -> Vec<(String, Value)> {
        let f = self.factory.lock().unwrap();
        f.pipelines
            .values()
            .map(|p| (p.name.clone(), p.properties.clone()))
            .collect()
    }

    /// A pipeline as GET answers it, SecureStrings masked (for tests).
    pub fn pipeline_shown(&self, name: &str) -> Option<Value> {
        let f = self.factory.lock().unwrap();
        f.pipeline(name).ok().map(|p| f.pipeline_json(p))
    }

    /// The status of every run, by id (for tests).
    pub fn run_statuses(&self) -> Vec<(String, String)> {
        let now = SystemTime::now();
        let timing = self.timing();
        self.runs
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.id.clone(), runs::status(r, timing, now).0.to_string()))
            .collect()
    }

    fn timing(&self) -> Timing {
        Timing {
            run: self.cfg.run_time,
        }
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}
impl std::error::Error for DropConnection {}

pub async fn serve(
    listener: TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let Ok(stream) = tls.accept(stream).await else {
                return;
            };
            let svc = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

struct Answer {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    fn empty(status: u16) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl From<AdfError> for Answer {
    fn from(e: AdfError) -> Self {
        let mut a = Answer::json(e.status, e.body());
        a.headers.push(("x-ms-failure-cause", "gateway".into()));
        a
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if state.cfg.fail_after.is_some_and(|limit| n > limit) {
        return Err(DropConnection);
    }
    if state.cfg.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(state.cfg.latency_ms)).await;
    }
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = form_pairs(req.uri().query().unwrap_or(""));
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let authorization = header("authorization");
    let metadata = header("metadata");
    let identity_header = header("x-identity-header");
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(respond(
                AdfError::bad_request("RequestBodyTooLarge", "The request body is too large.")
                    .into(),
            ))
        }
    };
    let q = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let answer = match (method.as_str(), seg.as_slice()) {
        ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            Answer::json(200, token::openid_configuration(&state.base_url, tenant))
        }
        ("GET", ["common", "discovery", "instance"]) => Answer::json(
            200,
            json!({"tenant_discovery_endpoint": format!("{}/common/v2.0/.well-known/openid-configuration", state.base_url),
                   "api-version": "1.1", "metadata": []}),
        ),
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
            let form = form_pairs(&String::from_utf8_lossy(&body));
            let (status, v) =
                token::client_credentials(&state.cfg.clients, &state.issued, tenant, &form);
            Answer::json(status, v)
        }
        ("GET", ["metadata", "identity", "oauth2", "token"]) if state.cfg.managed_identity => {
            if metadata != "true" {
                Answer::json(
                    400,
                    json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
                )
            } else {
                let (s, v) =
                    token::managed_identity(&state.issued, &q("resource").unwrap_or_default());
                Answer::json(s, v)
            }
        }
        ("GET", ["msi", "token"]) if state.cfg.managed_identity => {
            if identity_header.is_empty() {
                Answer::json(
                    401,
                    json!({"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing"}),
                )
            } else {
                let (s, v) =
                    token::managed_identity(&state.issued, &q("resource").unwrap_or_default());
                Answer::json(s, v)
            }
        }
        ("GET", ["secrets", rest @ ..]) => {
            // Key Vault's challenge names the tenant's authority; the first client's.
            let tenant = state
                .cfg
                .clients
                .first()
                .map(|c| c.tenant.as_str())
                .unwrap_or("common");
            let (status, body, challenge) = state.vaults.get(
                &state.issued,
                &format!("{}/{tenant}", state.base_url),
                &state.base_url,
                rest,
                q("api-version").as_deref(),
                &authorization,
            );
            let mut a = Answer::json(status, body);
            if let Some(c) = challenge {
                a.headers.push(("www-authenticate", c));
            }
            a
        }
        (_, ["subscriptions", ..]) => arm(
            &state,
            &method,
            &seg,
            &authorization,
            q("api-version"),
            &query,
            &body,
        ),
        _ => AdfError::new(404, "NotFound", format!("No route for {method} {path}.")).into(),
    };
    if state.cfg.log_requests {
        eprintln!("adf-testserver: {method} {path} -> {}", answer.status);
    }
    Ok(respond(answer))
}

fn respond(a: Answer) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(a.status)
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .header("cache-control", "no-cache");
    for (n, v) in &a.headers {
        b = b.header(*n, v.as_str());
    }
    let body = match a.body {
        Some(v) => {
            b = b.header("content-type", "application/json; charset=utf-8");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    b.body(Full::new(body)).expect("response")
}

fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |x: &str| {
                percent_decode_str(&x.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

/// Reader, or Contributor (may write).
fn authorize(state: &State, authorization: &str) -> Result<bool, Answer> {
    let challenge = |err: &str| {
        (
            "www-authenticate",
            format!("Bearer authorization_uri=\"{}/common/oauth2/authorize\", error=\"{err}\", error_description=\"The access token is missing or invalid\"", state.base_url),
        )
    };
    let Some(token) = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
    else {
        let mut a: Answer = AdfError::new(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
        .into();
        a.headers.push(challenge("invalid_token"));
        return Err(a);
    };
    let token = token.trim();
    if state.cfg.tokens.iter().any(|t| t == token) {
        return Ok(true);
    }
    if state.cfg.reader_tokens.iter().any(|t| t == token) {
        return Ok(false);
    }
    match state.issued.audience_of(token) {
        // This server is ARM at its own address, as a sovereign cloud's ARM is at its
        // own endpoint and takes tokens for it; the public cloud's audience is taken too.
        Some(aud) if aud == ARM_AUDIENCE || aud == token::audience(&state.base_url) => Ok(true),
        Some(aud) => {
            let own = &state.base_url;
            let mut a: Answer = AdfError::new(401, "InvalidAuthenticationTokenAudience", format!("The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{own}/','https://management.azure.com/'.")).into();
            a.headers.push(challenge("invalid_token"));
            Err(a)
        }
        None => {
            let mut a: Answer = AdfError::new(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            )
            .into();
            a.headers.push(challenge("invalid_token"));
            Err(a)
        }
    }
}

fn arm(
    state: &State,
    method: &str,
    seg: &[&str],
    authorization: &str,
    api_version: Option<String>,
    query: &[(String, String)],
    body: &[u8],
) -> Answer {
    let may_write = match authorize(state, authorization) {
        Ok(w) => w,
        Err(a) => return a,
    };
    if state.cfg.hostile_errors {
        // A hostile or broken ARM: echoes the caller's token and tries to forge lines.
        let token = authorization
            .strip_prefix("Bearer ")
            .unwrap_or(authorization);
        return AdfError::bad_request(
            "Bad\u{1b}[2J\nForgedCode",
            format!("your token is {token}\r\nThe operation completed successfully.\n\u{1b}]0;pwned\u{7}"),
        )
        .into();
    }
    if state.throttled.fetch_add(1, Ordering::Relaxed) < state.cfg.throttle {
        let mut a: Answer = AdfError::new(
            429,
            "TooManyRequests",
            "The request was throttled; retry after the time in Retry-After.",
        )
        .into();
        a.headers.push(("retry-after", "1".into()));
        return a;
    }
    match api_version.as_deref() {
        None => return AdfError::bad_request("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.").into(),
        Some(API_VERSION) => {}
        Some(v) => return AdfError::bad_request("NoRegisteredProviderFound", format!("No registered resource provider found for location 'eastus' and API version '{v}' for type 'factories'. The supported api-versions are '2017-09-01-preview, 2018-06-01'.")).into(),
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return AdfError::bad_request(
                    "InvalidRequestContent",
                    format!(
                        "The request content was invalid and could not be deserialized: '{e}'."
                    ),
                )
                .into()
            }
        }
    };
    let mut f = state.factory.lock().unwrap();
    let id = f.id.clone();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let rest = match seg {
        ["subscriptions", s, ..] if !eq(s, &id.subscription) => {
            return AdfError::new(
                404,
                "SubscriptionNotFound",
                format!("The subscription '{s}' could not be found."),
            )
            .into()
        }
        ["subscriptions", _, "resourceGroups", rg, ..] if !eq(rg, &id.resource_group) => {
            return AdfError::new(
                404,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            )
            .into()
        }
        ["subscriptions", _, "resourceGroups", _, "providers", p, "factories", name, rest @ ..]
            if eq(p, "Microsoft.DataFactory") =>
        {
            if !eq(name, &id.name) {
                return id.not_found(name).into();
            }
            rest
        }
        _ => {
            return AdfError::new(
                404,
                "InvalidResourceType",
                "The resource type could not be found in the namespace.",
            )
            .into()
        }
    };
    let deny = |action: &str, scope: String| -> Answer {
        AdfError::new(403, "AuthorizationFailed", format!("The client '00000000-0000-0000-0000-00000000read' with object id '00000000-0000-0000-0000-00000000read' does not have authorization to perform action 'Microsoft.DataFactory/factories/{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.")).into()
    };
    let timing = state.timing();
    let now = SystemTime::now();
    let lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    let page = state.cfg.page_size;
    match (method, lower.as_slice()) {
        ("GET", []) => Answer::json(
            200,
            json!({"id": id.id(), "name": id.name, "type": "Microsoft.DataFactory/factories", "location": "eastus", "properties": {"provisioningState": "Succeeded", "createTime": "2026-12-01T00:00:00Z", "version": "2018-06-01"}}),
        ),
        ("GET", ["integrationruntimes"]) => {
            let list: Vec<Value> = f.irs.iter().map(|i| f.ir_json(i)).collect();
            Answer::json(200, json!({"value": list}))
        }
        ("GET", ["integrationruntimes", _]) => match f.ir(rest[1]) {
            Ok(ir) => Answer::json(200, f.ir_json(ir)),
            Err(e) => e.into(),
        },
        ("POST", ["integrationruntimes", _, "getstatus"]) => match f.ir(rest[1]) {
            Ok(ir) => Answer::json(200, f.ir_status_json(ir)),
            Err(e) => e.into(),
        },
        ("GET", ["linkedservices"]) => {
            let names: Vec<String> = f.linked_services.keys().cloned().collect();
            let list: Vec<Value> = names
                .iter()
                .filter_map(|n| f.linked_service_json(n).ok())
                .collect();
            Answer::json(200, json!({"value": list}))
        }
        ("GET", ["linkedservices", _]) => match f.linked_service_json(rest[1]) {
            Ok(v) => Answer::json(200, v),
            Err(e) => e.into(),
        },
        ("GET", ["pipelines"]) => {
            let list: Vec<Value> = f.pipelines.values().map(|p| f.pipeline_json(p)).collect();
            Answer::json(200, json!({"value": list}))
        }
        ("GET", ["pipelines", _]) => match f.pipeline(rest[1]) {
            Ok(p) => Answer::json(200, f.pipeline_json(p)),
            Err(e) => e.into(),
        },
        ("PUT", ["pipelines", _]) => {
            if !may_write {
                return deny(
                    "pipelines/write",
                    format!("{}/pipelines/{}", id.id(), rest[1]),
                );
            }
            match f.put_pipeline(rest[1], &body) {
                Ok(p) => {
                    let p = p.clone();
                    Answer::json(200, f.pipeline_json(&p))
                }
                Err(e) => e.into(),
            }
        }
        ("DELETE", ["pipelines", _]) => {
            if !may_write {
                return deny(
                    "pipelines/delete",
                    format!("{}/pipelines/{}", id.id(), rest[1]),
                );
            }
            Answer::empty(if f.delete_pipeline(rest[1]) { 200 } else { 204 })
        }
        ("POST", ["pipelines", _, "createrun"]) => {
            if !may_write {
                return deny(
                    "pipelines/createrun/action",
                    format!("{}/pipelines/{}", id.id(), rest[1]),
                );
            }
            let p = match f.pipeline(rest[1]) {
                Ok(p) => p.clone(),
                Err(e) => return e.into(),
            };
            if let Some(r) = query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("referencePipelineRunId"))
            {
                if !state.runs.lock().unwrap().iter().any(|x| x.id == r.1) {
                    return AdfError::bad_request(
                        "ReferencedPipelineRunNotValid",
                        format!("Referenced pipeline run id {} is not a valid run id.", r.1),
                    )
                    .into();
                }
            }
            let activities: Vec<Value> = p
                .properties
                .get("activities")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let failure = activities.iter().find_map(|a| run_failure(&f, state, a));
            let run = Run {
                id: uuid::Uuid::new_v4().to_string(),
                pipeline: p.name.clone(),
                parameters: if body.is_object() {
                    body.clone()
                } else {
                    json!({})
                },
                start: now,
                activity_run_ids: activities
                    .iter()
                    .map(|_| uuid::Uuid::new_v4().to_string())
                    .collect(),
                activities,
                failure,
                cancel_requested: None,
            };
            let run_id = run.id.clone();
            state.runs.lock().unwrap().push(run);
            Answer::json(200, json!({"runId": run_id}))
        }
        ("POST", ["querypipelineruns"]) if state.cfg.hostile_paging.is_some() => {
            let n = state.queries.fetch_add(1, Ordering::SeqCst);
            let token = match state.cfg.hostile_paging {
                Some(super::HostilePaging::Endless) => format!("endless-{n}"),
                _ => "same-token".to_string(),
            };
            Answer::json(200, json!({"value": [], "continuationToken": token}))
        }
        ("POST", ["querypipelineruns"]) => {
            state.queries.fetch_add(1, Ordering::SeqCst);
            let q = match Query::parse(
                &body,
                &[
                    "PipelineName",
                    "Status",
                    "RunStart",
                    "RunEnd",
                    "RunGroupId",
                    "LatestOnly",
                ],
            ) {
                Ok(q) => q,
                Err(e) => return e.into(),
            };
            let items: Vec<Value> = state
                .runs
                .lock()
                .unwrap()
                .iter()
                .map(|r| runs::run_json(&f, r, timing, now))
                .collect();
            let (value, token) = q.apply(items, page);
            Answer::json(200, json!({"value": value, "continuationToken": token}))
        }
        ("GET", ["pipelineruns", _]) => {
            let list = state.runs.lock().unwrap();
            match list.iter().find(|r| r.id.eq_ignore_ascii_case(rest[1])) {
                Some(r) => Answer::json(200, runs::run_json(&f, r, timing, now)),
                None => run_not_found(rest[1]),
            }
        }
        ("POST", ["pipelineruns", _, "cancel"]) => {
            if !may_write {
                return deny(
                    "pipelineruns/cancel/action",
                    format!("{}/pipelineruns/{}", id.id(), rest[1]),
                );
            }
            let mut list = state.runs.lock().unwrap();
            let Some(r) = list.iter_mut().find(|r| r.id.eq_ignore_ascii_case(rest[1])) else {
                return run_not_found(rest[1]);
            };
            let st = runs::status(r, timing, now).0;
            if runs::is_final(st) {
                return AdfError::bad_request(
                    "BadRequest",
                    format!(
                        "Pipeline run {} cannot be cancelled: its status is already {st}.",
                        r.id
                    ),
                )
                .into();
            }
            r.cancel_requested.get_or_insert(now);
            Answer::empty(200)
        }
        ("POST", ["pipelineruns", _, "queryactivityruns"]) => {
            let q = match Query::parse(
                &body,
                &[
                    "ActivityName",
                    "ActivityType",
                    "Status",
                    "ActivityRunStart",
                    "ActivityRunEnd",
                ],
            ) {
                Ok(q) => q,
                Err(e) => return e.into(),
            };
            let list = state.runs.lock().unwrap();
            let Some(r) = list.iter().find(|r| r.id.eq_ignore_ascii_case(rest[1])) else {
                return run_not_found(rest[1]);
            };
            let (value, token) = q.apply(runs::activity_runs_json(r, timing, now), page);
            Answer::json(200, json!({"value": value, "continuationToken": token}))
        }
        _ => AdfError::new(
            404,
            "NotFound",
            format!("No route for {method} {}.", rest.join("/")),
        )
        .into(),
    }
}

fn run_not_found(id: &str) -> Answer {
    AdfError::new(
        404,
        "PipelineRunNotFound",
        format!("Pipeline run '{id}' was not found."),
    )
    .into()
}

/// Why a run of this activity will fail: a `--fail-package`, or an IR that is not Started.
fn run_failure(f: &Factory, state: &State, activity: &Value) -> Option<String> {
    if activity.get("type").and_then(Value::as_str) != Some("ExecuteSSISPackage") {
        return None;
    }
    let ir = activity
        .pointer("/typeProperties/connectVia/referenceName")
        .and_then(Value::as_str)
        .and_then(|n| f.ir(n).ok());
    if let Some(ir) = ir.filter(|i| i.state != "Started") {
        return Some(format!(
            "The integration runtime '{}' is {}; start it before running packages.",
            ir.name, ir.state
        ));
    }
    let package = runs::package_of(activity)?;
    state
        .cfg
        .fail_packages
        .iter()
        .any(|p| p.eq_ignore_ascii_case(&package))
        .then(|| format!("{package}: Executing the package failed (the test server was asked to fail it with --fail-package). The package's task 'Load' failed: DTS_E_PRIMEOUTPUTFAILED."))
}
