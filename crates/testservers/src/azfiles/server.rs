//! The HTTP layer: routing, authorization, fault injection, and the File service's
//! request and response formats.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::net::TcpListener;

use super::auth::{self, AccessNeed, AuthError, Credentials, Level, RequestParts};
use super::faults::{Faults, Rule};
use super::store::{self, Kind, Props, Settings, Store, StoreError};
use super::timefmt;

/// The version we answer with when a request names none.
pub const DEFAULT_VERSION: &str = "2025-11-05";
/// A fixed, plausible permission key (we keep no security descriptors).
const PERMISSION_KEY: &str = "4066528134148476695*1";
/// Bodies above this are refused before they are read.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// SharedKey requests must be dated within this of the server's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Everything the server shares between connections.
pub struct State {
    pub creds: Credentials,
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    pub latency_ms: AtomicU64,
    /// Print one line per request to stderr.
    pub log_requests: AtomicBool,
    stats: Mutex<BTreeMap<String, u64>>,
    requests: AtomicU64,
}

impl State {
    pub fn new(creds: Credentials, latency_ms: u64, rules: Vec<Rule>) -> Self {
        Self {
            creds,
            store: Mutex::new(Store::new()),
            faults: Mutex::new(Faults { rules }),
            latency_ms: AtomicU64::new(latency_ms),
            log_requests: AtomicBool::new(false),
            stats: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
        }
    }
}

/// Accepts connections forever.
pub async fn serve(listener: TcpListener, state: Arc<State>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
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

/// Operations, named as in the REST reference (fault rules and stats use these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListShares,
    CreateShare,
    GetShareProperties,
    DeleteShare,
    CreateDirectory,
    GetDirectoryProperties,
    DeleteDirectory,
    SetDirectoryProperties,
    SetDirectoryMetadata,
    ListDirectoriesAndFiles,
    RenameDirectory,
    CreateFile,
    PutRange,
    GetFile,
    GetFileProperties,
    DeleteFile,
    SetFileProperties,
    SetFileMetadata,
    ListRanges,
    RenameFile,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::ListShares => "ListShares",
            Op::CreateShare => "CreateShare",
            Op::GetShareProperties => "GetShareProperties",
            Op::DeleteShare => "DeleteShare",
            Op::CreateDirectory => "CreateDirectory",
            Op::GetDirectoryProperties => "GetDirectoryProperties",
            Op::DeleteDirectory => "DeleteDirectory",
            Op::SetDirectoryProperties => "SetDirectoryProperties",
            Op::SetDirectoryMetadata => "SetDirectoryMetadata",
            Op::ListDirectoriesAndFiles => "ListDirectoriesAndFiles",
            Op::RenameDirectory => "RenameDirectory",
            Op::CreateFile => "CreateFile",
            Op::PutRange => "PutRange",
            Op::GetFile => "GetFile",
            Op::GetFileProperties => "GetFileProperties",
            Op::DeleteFile => "DeleteFile",
            Op::SetFileProperties => "SetFileProperties",
            Op::SetFileMetadata => "SetFileMetadata",
            Op::ListRanges => "ListRanges",
            Op::RenameFile => "RenameFile",
        }
    }

    /// SAS permission letters (any one suffices) and resource level.
    fn need(self) -> (&'static str, Level) {
        use Op::*;
        match self {
            ListShares => ("l", Level::Service),
            CreateShare => ("cw", Level::Container),
            GetShareProperties => ("r", Level::Container),
            DeleteShare => ("d", Level::Container),
            CreateDirectory | CreateFile => ("cw", Level::Object),
            GetDirectoryProperties | GetFile | GetFileProperties | ListRanges => {
                ("r", Level::Object)
            }
            DeleteDirectory | DeleteFile => ("d", Level::Object),
            ListDirectoriesAndFiles => ("l", Level::Object),
            SetDirectoryProperties
            | SetDirectoryMetadata
            | SetFileProperties
            | SetFileMetadata
            | PutRange
            | RenameDirectory
            | RenameFile => ("w", Level::Object),
        }
    }
}

/// Which operation a request is, from its method, query and how deep its path is.
pub fn classify(
    method: &str,
    has_share: bool,
    has_path: bool,
    restype: &str,
    comp: &str,
) -> Option<Op> {
    use Op::*;
    let op = match (has_share, has_path, method, restype, comp) {
        (false, _, "GET", "", "list") => ListShares,
        (true, false, "PUT", "share", "") => CreateShare,
        (true, false, "GET" | "HEAD", "share", "") => GetShareProperties,
        (true, false, "DELETE", "share", "") => DeleteShare,
        (true, _, "PUT", "directory", "") if has_path => CreateDirectory,
        (true, _, "GET" | "HEAD", "directory", "") => GetDirectoryProperties,
        (true, true, "DELETE", "directory", "") => DeleteDirectory,
        (true, _, "PUT", "directory", "properties") => SetDirectoryProperties,
        (true, _, "PUT", "directory", "metadata") => SetDirectoryMetadata,
        (true, _, "GET", "directory", "list") => ListDirectoriesAndFiles,
        (true, true, "PUT", "directory", "rename") => RenameDirectory,
        (true, true, "PUT", "", "") => CreateFile,
        (true, true, "PUT", "", "range") => PutRange,
        (true, true, "GET", "", "") => GetFile,
        (true, true, "HEAD", "", "") => GetFileProperties,
        (true, true, "DELETE", "", "") => DeleteFile,
        (true, true, "PUT", "", "properties") => SetFileProperties,
        (true, true, "PUT", "", "metadata") => SetFileMetadata,
        (true, true, "GET", "", "rangelist") => ListRanges,
        (true, true, "PUT", "", "rename") => RenameFile,
        _ => return None,
    };
    Some(op)
}

/// A response before it becomes a hyper response (easy to assert on).
#[derive(Debug)]
pub struct Out {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Out {
    fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
    fn h(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
    fn xml(mut self, body: String) -> Self {
        self.headers
            .push(("content-type".into(), "application/xml".into()));
        self.body = Bytes::from(body);
        self
    }
}

/// An error answer in the service's format.
#[derive(Debug)]
pub struct Fail {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Extra elements, e.g. `HeaderName`, `AuthenticationErrorDetail`.
    pub extra: Vec<(&'static str, String)>,
}

impl Fail {
    fn new(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.to_string(),
            extra: Vec::new(),
        }
    }
    fn header(name: &str, value: &str) -> Self {
        let mut f = Self::new(
            400,
            "InvalidHeaderValue",
            "The value for one of the HTTP headers is not in the correct format.",
        );
        f.extra.push(("HeaderName", name.to_string()));
        f.extra.push(("HeaderValue", value.to_string()));
        f
    }
    fn missing_header(name: &str) -> Self {
        let mut f = Self::new(
            400,
            "MissingRequiredHeader",
            "An HTTP header that's mandatory for this request is not specified.",
        );
        f.extra.push(("HeaderName", name.to_string()));
        f
    }
    fn query(name: &str, value: &str, reason: &str) -> Self {
        let mut f = Self::new(
            400,
            "OutOfRangeQueryParameterValue",
            "One of the query parameters specified in the request URI is outside the permissible range.",
        );
        f.extra.push(("QueryParameterName", name.to_string()));
        f.extra.push(("QueryParameterValue", value.to_string()));
        f.extra.push(("Reason", reason.to_string()));
        f
    }
}

/// 413 RequestBodyTooLarge, with the service's `MaxLimit` element.
fn too_large() -> Fail {
    let mut f = Fail::new(
        413,
        "RequestBodyTooLarge",
        "The request body is too large and exceeds the maximum permissible limit.",
    );
    f.extra.push(("MaxLimit", store::MAX_RANGE.to_string()));
    f
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        let (s, c, m) = e.describe();
        Fail::new(s, c, m)
    }
}

impl From<AuthError> for Fail {
    fn from(e: AuthError) -> Self {
        let mut f = Fail::new(e.status, e.code, &e.message);
        if let Some(d) = e.detail {
            f.extra.push(("AuthenticationErrorDetail", d));
        }
        f
    }
}

pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn error_out(f: &Fail, request_id: &str, head: bool) -> Out {
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{}\nRequestId:{}\nTime:{}</Message>",
        xml_escape(&f.code),
        xml_escape(&f.message),
        request_id,
        timefmt::iso7(SystemTime::now())
    );
    for (n, v) in &f.extra {
        let _ = write!(body, "<{n}>{}</{n}>", xml_escape(v));
    }
    body.push_str("</Error>");
    let mut out = Out::new(f.status).h("x-ms-error-code", f.code.clone());
    if f.status == 401 {
        out = out.h(
            "www-authenticate",
            "Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize resource_id=https://storage.azure.com",
        );
    }
    if head {
        out
    } else {
        out.xml(body)
    }
}

/// The request, parsed once.
struct Ctx {
    method: String,
    raw_path: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    request_id: String,
    version: String,
    endpoint: String,
    share: Option<String>,
    /// Share-relative path, decoded, without leading slash.
    path: String,
    path_style: bool,
}

impl Ctx {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Splits a raw request path into (share, share-relative path) after removing the account
/// segment in path-style addressing. `None` if a path-style request names another account.
fn split_path(raw_path: &str, account: &str, path_style: bool) -> Option<(Option<String>, String)> {
    let mut segs = raw_path.split('/').filter(|s| !s.is_empty()).map(decode);
    if path_style && segs.next()? != account {
        return None;
    }
    let share = segs.next();
    let rest: Vec<String> = segs.collect();
    Some((share, rest.join("/")))
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let request_id = format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        n as u32,
        (n >> 32) as u16,
        std::process::id()
    );
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let version = headers
        .iter()
        .find(|(n, _)| n == "x-ms-version")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| DEFAULT_VERSION.to_string());
    let host = headers
        .iter()
        .find(|(n, _)| n == "host")
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();

    if raw_path == "/_control" || raw_path.starts_with("/_control/") {
        let body = read_body(req.into_body()).await.unwrap_or_default();
        return Ok(finish(
            control(&state, &method, &raw_path, &body),
            &request_id,
            &version,
            &headers,
        ));
    }

    let latency = state.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let account = state.creds.account.clone();
    let path_style = !host.starts_with(&format!("{account}."));
    let endpoint = if path_style {
        format!("http://{host}/{account}/")
    } else {
        format!("http://{host}/")
    };
    let head = method == "HEAD";
    let Some((share, path)) = split_path(&raw_path, &account, path_style) else {
        let f = Fail::new(
            400,
            "InvalidUri",
            &format!("The requested URI does not represent any resource on the server: this test server hosts account '{account}' only."),
        );
        return Ok(finish(
            error_out(&f, &request_id, head),
            &request_id,
            &version,
            &headers,
        ));
    };
    let ctx = Ctx {
        method,
        raw_path,
        headers,
        query,
        request_id,
        version,
        endpoint,
        share,
        path,
        path_style,
    };

    let restype = ctx.q("restype").unwrap_or("").to_string();
    let comp = ctx.q("comp").unwrap_or("").to_string();
    let op = classify(
        &ctx.method,
        ctx.share.is_some(),
        !ctx.path.is_empty(),
        &restype,
        &comp,
    );

    // Bodies far above any legal size are refused unread (the connection then closes);
    // up to MAX_BODY they are read, so a client gets a proper 413 from Put Range.
    if let Some(len) = ctx
        .header("content-length")
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > MAX_BODY as u64 {
            let f = too_large();
            return Ok(finish(
                error_out(&f, &ctx.request_id, head),
                &ctx.request_id,
                &ctx.version,
                &ctx.headers,
            ));
        }
    }
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            let f = too_large();
            return Ok(finish(
                error_out(&f, &ctx.request_id, head),
                &ctx.request_id,
                &ctx.version,
                &ctx.headers,
            ));
        }
    };

    let result = async {
        let op = op.ok_or_else(|| {
            Fail::new(
                400,
                "UnsupportedHttpVerb",
                "The resource doesn't support specified Http Verb (or this test server does not implement the operation).",
            )
        })?;
        authorize(&state, &ctx, op)?;
        count(&state, op.name());
        let outcome = state
            .faults
            .lock()
            .unwrap()
            .check(&ctx.method, op.name(), &ctx.path);
        if outcome.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(outcome.delay_ms)).await;
        }
        if outcome.drop {
            return Err(None);
        }
        if let Some((status, code)) = outcome.fail {
            let msg = match status {
                503 => "The server is currently unable to receive requests. Please retry your request.",
                500 => "Server encountered an internal error. Please try again after some time.",
                _ => "Injected fault.",
            };
            return Err(Some(Fail::new(status, &code, msg)));
        }
        dispatch(&state, &ctx, op, &body).map_err(Some)
    }
    .await;
    let out = match result {
        Ok(o) => o,
        Err(None) => {
            log(&state, &ctx, op, "dropped");
            return Err(DropConnection);
        }
        Err(Some(f)) => error_out(&f, &ctx.request_id, head),
    };
    let code = out
        .headers
        .iter()
        .find(|(n, _)| n == "x-ms-error-code")
        .map(|(_, v)| format!(" {v}"))
        .unwrap_or_default();
    log(&state, &ctx, op, &format!("{}{code}", out.status));
    Ok(finish(out, &ctx.request_id, &ctx.version, &ctx.headers))
}

fn log(state: &State, ctx: &Ctx, op: Option<Op>, outcome: &str) {
    if state.log_requests.load(Ordering::Relaxed) {
        eprintln!(
            "azfiles-testserver: {} {} [{}] share={:?} path={:?} -> {outcome}",
            ctx.method,
            ctx.raw_path,
            op.map_or("?", Op::name),
            ctx.share.as_deref().unwrap_or(""),
            ctx.path
        );
    }
}

async fn read_body(body: Incoming) -> Result<Bytes, ()> {
    Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|_| ())
}

fn count(state: &State, name: &str) {
    *state
        .stats
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default() += 1;
}

fn finish(
    out: Out,
    request_id: &str,
    version: &str,
    req_headers: &[(String, String)],
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(out.body));
    *resp.status_mut() =
        StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    let mut put = |n: &str, v: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            h.append(n, v);
        }
    };
    put("x-ms-request-id", request_id);
    put("x-ms-version", version);
    put("date", &timefmt::rfc1123(SystemTime::now()));
    put(
        "server",
        "Windows-Azure-File/1.0 Microsoft-HTTPAPI/2.0 (azfiles-testserver)",
    );
    if let Some((_, v)) = req_headers
        .iter()
        .find(|(n, _)| n == "x-ms-client-request-id")
    {
        put("x-ms-client-request-id", v);
    }
    for (n, v) in &out.headers {
        put(n, v);
    }
    resp
}

// ---------------------------------------------------------------------------------------
// Authorization

fn authorize(state: &State, ctx: &Ctx, op: Op) -> Result<(), Fail> {
    let (any_of, level) = op.need();
    if let Some(authz) = ctx.header("authorization") {
        let parts = RequestParts {
            method: &ctx.method,
            raw_path: &ctx.raw_path,
            headers: &ctx.headers,
            query: &ctx.query,
        };
        auth::verify_shared_key(&state.creds, &parts, authz)?;
        if ctx.header("x-ms-version").is_none() {
            return Err(Fail::missing_header("x-ms-version"));
        }
        let date = ctx
            .header("x-ms-date")
            .or_else(|| ctx.header("date"))
            .unwrap_or("");
        match httpdate::parse_http_date(date) {
            Ok(t) => {
                let now = SystemTime::now();
                let skew = now
                    .duration_since(t)
                    .or_else(|_| t.duration_since(now))
                    .unwrap_or_default();
                if skew > MAX_SKEW {
                    return Err(AuthError {
                        status: 403,
                        code: "AuthenticationFailed",
                        message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.".into(),
                        detail: Some(format!("Request date header too old: '{date}'")),
                    }
                    .into());
                }
            }
            Err(_) => return Err(Fail::header("x-ms-date", date)),
        }
        return Ok(());
    }
    if auth::has_sas(&ctx.query) {
        let need = AccessNeed {
            any_of,
            level,
            share: ctx.share.as_deref(),
            path: &ctx.path,
        };
        auth::verify_sas(&state.creds, &ctx.query, &need, SystemTime::now(), false)?;
        return Ok(());
    }
    Err(AuthError::missing().into())
}

// ---------------------------------------------------------------------------------------
// Operations

fn settings(ctx: &Ctx, with_metadata: bool) -> Settings {
    let g = |n: &str| ctx.header(n).map(str::to_string);
    let metadata: Vec<(String, String)> = ctx
        .headers
        .iter()
        .filter_map(|(n, v)| {
            n.strip_prefix("x-ms-meta-")
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    Settings {
        attributes: g("x-ms-file-attributes"),
        creation_time: g("x-ms-file-creation-time"),
        last_write_time: g("x-ms-file-last-write-time"),
        change_time: g("x-ms-file-change-time"),
        content_type: g("x-ms-content-type"),
        content_encoding: g("x-ms-content-encoding"),
        content_language: g("x-ms-content-language"),
        cache_control: g("x-ms-cache-control"),
        content_disposition: g("x-ms-content-disposition"),
        content_md5: g("x-ms-content-md5"),
        metadata: (with_metadata || !metadata.is_empty()).then_some(metadata),
    }
}

fn smb_headers(mut out: Out, p: &Props) -> Out {
    out = out
        .h("etag", p.etag.clone())
        .h(
            "last-modified",
            timefmt::rfc1123(p.last_modified.unwrap_or(SystemTime::UNIX_EPOCH)),
        )
        .h("x-ms-file-permission-key", PERMISSION_KEY)
        .h("x-ms-file-attributes", p.attributes.clone())
        .h("x-ms-file-creation-time", p.creation_time.clone())
        .h("x-ms-file-last-write-time", p.last_write_time.clone())
        .h("x-ms-file-change-time", p.change_time.clone())
        .h("x-ms-file-id", p.id.to_string())
        .h("x-ms-file-parent-id", p.parent_id.to_string());
    for (k, v) in &p.metadata {
        out = out.h(&format!("x-ms-meta-{k}"), v.clone());
    }
    out
}

fn content_headers(mut out: Out, p: &Props) -> Out {
    out = out.h(
        "content-type",
        p.content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
    );
    for (n, v) in [
        ("content-encoding", &p.content_encoding),
        ("content-language", &p.content_language),
        ("cache-control", &p.cache_control),
        ("content-disposition", &p.content_disposition),
    ] {
        if let Some(v) = v {
            out = out.h(n, v.clone());
        }
    }
    out
}

fn parse_bool(ctx: &Ctx, name: &str) -> Result<bool, Fail> {
    match ctx.header(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(Fail::header(name, v)),
    }
}

/// `bytes=a-b` or (when `open_end`) `bytes=a-`.
pub fn parse_range(v: &str, open_end: bool) -> Option<(u64, Option<u64>)> {
    let r = v.trim().strip_prefix("bytes=")?;
    let (a, b) = r.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b = b.trim();
    if b.is_empty() {
        return open_end.then_some((a, None));
    }
    let b: u64 = b.parse().ok()?;
    (b >= a).then_some((a, Some(b)))
}

fn range_header(ctx: &Ctx) -> Option<(&'static str, &str)> {
    ctx.header("x-ms-range")
        .map(|v| ("x-ms-range", v))
        .or_else(|| ctx.header("range").map(|v| ("range", v)))
}

fn share_name(ctx: &Ctx) -> &str {
    ctx.share.as_deref().unwrap_or("")
}

fn dispatch(state: &State, ctx: &Ctx, op: Op, body: &Bytes) -> Result<Out, Fail> {
    let now = SystemTime::now();
    let share = share_name(ctx);
    let mut st = state.store.lock().unwrap();
    let out = match op {
        Op::ListShares => {
            let mut x = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}\"><Shares>",
                xml_escape(&ctx.endpoint)
            );
            let prefix = ctx.q("prefix").unwrap_or("");
            for s in st.shares().filter(|s| s.name.starts_with(prefix)) {
                let _ = write!(
                    x,
                    "<Share><Name>{}</Name><Properties><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Quota>{}</Quota></Properties></Share>",
                    xml_escape(&s.name),
                    timefmt::rfc1123(s.last_modified),
                    xml_escape(&s.etag),
                    s.quota_gib
                );
            }
            x.push_str("</Shares><NextMarker /></EnumerationResults>");
            Out::new(200).xml(x)
        }
        Op::CreateShare => {
            let quota = match ctx.header("x-ms-share-quota") {
                Some(v) => Some(
                    v.parse::<u64>()
                        .map_err(|_| Fail::header("x-ms-share-quota", v))?,
                ),
                None => None,
            };
            let s = st.create_share(share, quota, now)?;
            Out::new(201)
                .h("etag", s.etag.clone())
                .h("last-modified", timefmt::rfc1123(s.last_modified))
        }
        Op::GetShareProperties => {
            let s = st.share(share)?;
            let mut out = Out::new(200)
                .h("etag", s.etag.clone())
                .h("last-modified", timefmt::rfc1123(s.last_modified))
                .h("x-ms-share-quota", s.quota_gib.to_string())
                .h("x-ms-access-tier", "TransactionOptimized")
                .h("x-ms-enabled-protocols", "SMB");
            for (k, v) in &s.metadata {
                out = out.h(&format!("x-ms-meta-{k}"), v.clone());
            }
            out
        }
        Op::DeleteShare => {
            st.delete_share(share)?;
            Out::new(202)
        }
        Op::CreateDirectory => {
            let p = st.create_directory(share, &ctx.path, &settings(ctx, true), now)?;
            smb_headers(Out::new(201), &p).h("x-ms-request-server-encrypted", "true")
        }
        Op::GetDirectoryProperties => {
            let p = st.directory(share, &ctx.path)?;
            smb_headers(Out::new(200), p).h("x-ms-server-encrypted", "true")
        }
        Op::DeleteDirectory => {
            st.delete_directory(share, &ctx.path)?;
            Out::new(202)
        }
        Op::SetDirectoryProperties | Op::SetDirectoryMetadata => {
            let s = settings(ctx, op == Op::SetDirectoryMetadata);
            let p = st.set_properties(share, &ctx.path, Kind::Directory, None, &s, now)?;
            smb_headers(Out::new(200), &p).h("x-ms-request-server-encrypted", "true")
        }
        Op::ListDirectoriesAndFiles => list(&st, ctx, share)?,
        Op::CreateFile => {
            match ctx.header("x-ms-type") {
                None => return Err(Fail::missing_header("x-ms-type")),
                Some(t) if !t.eq_ignore_ascii_case("file") => {
                    return Err(Fail::header("x-ms-type", t))
                }
                _ => {}
            }
            let len = match ctx.header("x-ms-content-length") {
                None => return Err(Fail::missing_header("x-ms-content-length")),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= store::MAX_FILE)
                    .ok_or_else(|| Fail::header("x-ms-content-length", v))?,
            };
            let p = st.create_file(share, &ctx.path, len, &settings(ctx, true), now)?;
            smb_headers(Out::new(201), &p).h("x-ms-request-server-encrypted", "true")
        }
        Op::PutRange => put_range(&mut st, ctx, share, body, now)?,
        Op::GetFile | Op::GetFileProperties => {
            get_file(&st, ctx, share, op == Op::GetFileProperties)?
        }
        Op::DeleteFile => {
            st.delete_file(share, &ctx.path)?;
            Out::new(202)
        }
        Op::SetFileProperties | Op::SetFileMetadata => {
            let size = match (op, ctx.header("x-ms-content-length")) {
                (Op::SetFileProperties, Some(v)) => Some(
                    v.parse::<u64>()
                        .map_err(|_| Fail::header("x-ms-content-length", v))?,
                ),
                _ => None,
            };
            let s = settings(ctx, op == Op::SetFileMetadata);
            let p = st.set_properties(share, &ctx.path, Kind::File, size, &s, now)?;
            smb_headers(Out::new(200), &p).h("x-ms-request-server-encrypted", "true")
        }
        Op::ListRanges => {
            let e = st.file(share, &ctx.path)?;
            let size = e.data.len() as u64;
            let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><Ranges>");
            if size > 0 {
                let _ = write!(x, "<Range><Start>0</Start><End>{}</End></Range>", size - 1);
            }
            x.push_str("</Ranges>");
            Out::new(200)
                .h("etag", e.props.etag.clone())
                .h(
                    "last-modified",
                    timefmt::rfc1123(e.props.last_modified.unwrap_or(now)),
                )
                .h("x-ms-content-length", size.to_string())
                .xml(x)
        }
        Op::RenameFile | Op::RenameDirectory => {
            let src_header = ctx
                .header("x-ms-file-rename-source")
                .ok_or_else(|| Fail::missing_header("x-ms-file-rename-source"))?;
            let src = rename_source(ctx, &state.creds.account, src_header)
                .ok_or_else(|| Fail::header("x-ms-file-rename-source", src_header))?;
            let replace = parse_bool(ctx, "x-ms-file-rename-replace-if-exists")?;
            let kind = if op == Op::RenameFile {
                Kind::File
            } else {
                Kind::Directory
            };
            let p = st.rename(share, &src, &ctx.path, kind, replace, now)?;
            smb_headers(Out::new(200), &p).h("x-ms-request-server-encrypted", "true")
        }
    };
    Ok(out)
}

/// The share-relative path of a rename source: a URL or an absolute path, possibly with
/// a SAS query, in the same share as the destination.
fn rename_source(ctx: &Ctx, account: &str, v: &str) -> Option<String> {
    let v = v.trim();
    let no_scheme = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .map(|r| r.find('/').map(|i| &r[i..]).unwrap_or("/"));
    let path = no_scheme.unwrap_or(v);
    let path = path.split('?').next().unwrap_or("");
    let (share, rest) = split_path(path, account, ctx.path_style)?;
    if share.as_deref() != ctx.share.as_deref() || rest.is_empty() {
        return None;
    }
    Some(rest)
}

fn put_range(
    st: &mut Store,
    ctx: &Ctx,
    share: &str,
    body: &Bytes,
    now: SystemTime,
) -> Result<Out, Fail> {
    let (hname, hval) = range_header(ctx).ok_or_else(|| Fail::missing_header("x-ms-range"))?;
    let (start, end) = match parse_range(hval, false) {
        Some((a, Some(b))) => (a, b),
        _ => return Err(Fail::header(hname, hval)),
    };
    let span = end - start + 1;
    let write = ctx
        .header("x-ms-write")
        .ok_or_else(|| Fail::missing_header("x-ms-write"))?
        .to_ascii_lowercase();
    let p = match write.as_str() {
        "update" => {
            if span > store::MAX_RANGE || body.len() as u64 > store::MAX_RANGE {
                return Err(too_large());
            }
            if body.len() as u64 != span {
                return Err(Fail::header("Content-Length", &body.len().to_string()));
            }
            st.put_range(share, &ctx.path, start, Some(body), 0, now)?
        }
        "clear" => {
            if !body.is_empty() {
                return Err(Fail::header("Content-Length", &body.len().to_string()));
            }
            st.put_range(share, &ctx.path, start, None, span, now)?
        }
        _ => return Err(Fail::header("x-ms-write", &write)),
    };
    Ok(Out::new(201)
        .h("etag", p.etag.clone())
        .h(
            "last-modified",
            timefmt::rfc1123(p.last_modified.unwrap_or(now)),
        )
        .h("x-ms-request-server-encrypted", "true")
        .h("x-ms-file-last-write-time", p.last_write_time))
}

fn get_file(st: &Store, ctx: &Ctx, share: &str, head: bool) -> Result<Out, Fail> {
    let e = st.file(share, &ctx.path)?;
    let size = e.data.len() as u64;
    let range = match range_header(ctx) {
        Some((n, v)) if !head => Some(parse_range(v, true).ok_or_else(|| Fail::header(n, v))?),
        _ => None,
    };
    let (status, start, end) = match range {
        None => (200, 0, size),
        Some((a, b)) => {
            if a >= size {
                let (s, c, m) = StoreError::InvalidRange.describe();
                let mut f = Fail::new(s, c, m);
                f.extra.clear();
                return Err(f);
            }
            let b = b.map_or(size - 1, |b| b.min(size - 1));
            (206, a, b + 1)
        }
    };
    let mut out = Out::new(status)
        .h("content-length", (end - start).to_string())
        .h("accept-ranges", "bytes")
        .h("x-ms-type", "File")
        .h("x-ms-server-encrypted", "true")
        .h("x-ms-lease-state", "available")
        .h("x-ms-lease-status", "unlocked");
    out = content_headers(out, &e.props);
    out = smb_headers(out, &e.props);
    if status == 206 {
        out = out.h(
            "content-range",
            format!("bytes {}-{}/{}", start, end - 1, size),
        );
    } else if let Some(md5) = &e.props.content_md5 {
        out = out.h("content-md5", md5.clone());
    }
    if !head {
        out.body = Bytes::copy_from_slice(&e.data[start as usize..end as usize]);
    }
    Ok(out)
}

fn list(st: &Store, ctx: &Ctx, share: &str) -> Result<Out, Fail> {
    let max = match ctx.q("maxresults") {
        None => store::MAX_RESULTS,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n.min(store::MAX_RESULTS),
            _ => {
                return Err(Fail::query(
                    "maxresults",
                    v,
                    "maxresults must be between 1 and 5000",
                ))
            }
        },
    };
    let prefix = ctx.q("prefix").filter(|p| !p.is_empty());
    let marker = ctx.q("marker").filter(|m| !m.is_empty());
    let listing = st.list(share, &ctx.path, prefix, marker, max)?;
    let include: Vec<String> = ctx
        .q("include")
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let has = |w: &str| include.iter().any(|i| i == w);
    let extended = ctx
        .header("x-ms-file-extended-info")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || !include.iter().all(|i| i.is_empty());
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}\" ShareName=\"{}\" DirectoryPath=\"{}\">",
        xml_escape(&ctx.endpoint),
        xml_escape(share),
        xml_escape(&ctx.path)
    );
    let _ = write!(x, "<Prefix>{}</Prefix>", xml_escape(prefix.unwrap_or("")));
    if let Some(m) = marker {
        let _ = write!(x, "<Marker>{}</Marker>", xml_escape(m));
    }
    if let Some(m) = ctx.q("maxresults") {
        let _ = write!(x, "<MaxResults>{}</MaxResults>", xml_escape(m));
    }
    if extended {
        let _ = write!(x, "<DirectoryId>{}</DirectoryId>", listing.directory_id);
    }
    x.push_str("<Entries>");
    for e in &listing.entries {
        let tag = match e.kind {
            Kind::Directory => "Directory",
            Kind::File => "File",
        };
        let _ = write!(x, "<{tag}>");
        if extended {
            let _ = write!(x, "<FileId>{}</FileId>", e.props.id);
        }
        let _ = write!(x, "<Name>{}</Name><Properties>", xml_escape(&e.name));
        if e.kind == Kind::File {
            let _ = write!(x, "<Content-Length>{}</Content-Length>", e.size);
        }
        if has("timestamps") {
            let _ = write!(
                x,
                "<CreationTime>{}</CreationTime><LastAccessTime>{}</LastAccessTime><LastWriteTime>{}</LastWriteTime><ChangeTime>{}</ChangeTime><Last-Modified>{}</Last-Modified>",
                e.props.creation_time,
                e.props.last_write_time,
                e.props.last_write_time,
                e.props.change_time,
                timefmt::rfc1123(e.props.last_modified.unwrap_or(SystemTime::UNIX_EPOCH))
            );
        }
        if has("etag") {
            let _ = write!(x, "<Etag>{}</Etag>", xml_escape(&e.props.etag));
        }
        x.push_str("</Properties>");
        if has("attributes") {
            let _ = write!(
                x,
                "<Attributes>{}</Attributes>",
                xml_escape(&e.props.attributes)
            );
        }
        if has("permissionkey") {
            let _ = write!(x, "<PermissionKey>{PERMISSION_KEY}</PermissionKey>");
        }
        let _ = write!(x, "</{tag}>");
    }
    x.push_str("</Entries>");
    match &listing.next_marker {
        Some(m) => {
            let _ = write!(x, "<NextMarker>{}</NextMarker>", xml_escape(m));
        }
        None => x.push_str("<NextMarker />"),
    }
    x.push_str("</EnumerationResults>");
    Ok(Out::new(200).xml(x))
}

// ---------------------------------------------------------------------------------------
// Control endpoint (no authorization: a test fixture on loopback)

fn json_out(status: u16, v: serde_json::Value) -> Out {
    let mut o = Out::new(status).h("content-type", "application/json");
    o.body = Bytes::from(v.to_string());
    o
}

fn control(state: &State, method: &str, path: &str, body: &[u8]) -> Out {
    let bad = |m: String| json_out(400, serde_json::json!({ "error": m }));
    match (method, path.trim_end_matches('/')) {
        ("GET", "/_control/faults") => {
            let f = state.faults.lock().unwrap();
            json_out(200, serde_json::to_value(&f.rules).unwrap_or_default())
        }
        ("POST", "/_control/faults") => {
            let parsed: Result<Vec<Rule>, _> =
                match serde_json::from_slice::<serde_json::Value>(body) {
                    Ok(v @ serde_json::Value::Array(_)) => serde_json::from_value(v),
                    Ok(v) => serde_json::from_value::<Rule>(v).map(|r| vec![r]),
                    Err(e) => Err(e),
                };
            match parsed {
                Ok(rules) => {
                    if let Some(e) = rules.iter().find_map(|r| r.validate().err()) {
                        return bad(e);
                    }
                    let mut f = state.faults.lock().unwrap();
                    f.rules.extend(rules);
                    json_out(201, serde_json::to_value(&f.rules).unwrap_or_default())
                }
                Err(e) => bad(format!("bad fault rule: {e}")),
            }
        }
        ("DELETE", "/_control/faults") => {
            state.faults.lock().unwrap().rules.clear();
            json_out(200, serde_json::json!([]))
        }
        ("PUT", "/_control/latency") => {
            match serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("ms").and_then(|m| m.as_u64()))
            {
                Some(ms) => {
                    state.latency_ms.store(ms, Ordering::Relaxed);
                    json_out(200, serde_json::json!({ "ms": ms }))
                }
                None => bad("expected {\"ms\": N}".into()),
            }
        }
        ("GET", "/_control/stats") => {
            let s = state.stats.lock().unwrap();
            json_out(
                200,
                serde_json::json!({
                    "requests": state.requests.load(Ordering::Relaxed),
                    "ops": *s,
                }),
            )
        }
        ("DELETE", "/_control/stats") => {
            state.stats.lock().unwrap().clear();
            json_out(200, serde_json::json!({}))
        }
        ("GET", "/_control/health") => json_out(200, serde_json::json!({ "ok": true })),
        _ => json_out(
            404,
            serde_json::json!({ "error": format!("no control endpoint {method} {path}") }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_ops() {
        assert_eq!(
            classify("PUT", true, false, "share", ""),
            Some(Op::CreateShare)
        );
        assert_eq!(
            classify("PUT", true, true, "directory", ""),
            Some(Op::CreateDirectory)
        );
        assert_eq!(classify("PUT", true, false, "directory", ""), None);
        assert_eq!(
            classify("GET", true, false, "directory", "list"),
            Some(Op::ListDirectoriesAndFiles)
        );
        assert_eq!(classify("PUT", true, true, "", "range"), Some(Op::PutRange));
        assert_eq!(
            classify("HEAD", true, true, "", ""),
            Some(Op::GetFileProperties)
        );
        assert_eq!(
            classify("PUT", true, true, "", "rename"),
            Some(Op::RenameFile)
        );
        assert_eq!(
            classify("GET", false, false, "", "list"),
            Some(Op::ListShares)
        );
        assert_eq!(classify("POST", true, true, "", ""), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-1023", false), Some((0, Some(1023))));
        assert_eq!(parse_range("bytes=5-", true), Some((5, None)));
        assert_eq!(parse_range("bytes=5-", false), None);
        assert_eq!(parse_range("bytes=9-3", false), None);
        assert_eq!(parse_range("items=0-1", false), None);
    }

    #[test]
    fn paths() {
        assert_eq!(
            split_path("/acct/share/dir%20a/f.dtsx", "acct", true),
            Some((Some("share".into()), "dir a/f.dtsx".into()))
        );
        assert_eq!(split_path("/other/share", "acct", true), None);
        assert_eq!(
            split_path("/share/d", "acct", false),
            Some((Some("share".into()), "d".into()))
        );
        assert_eq!(
            split_path("/acct", "acct", true),
            Some((None, String::new()))
        );
    }

    #[test]
    fn error_body_format() {
        let f = Fail::from(StoreError::ParentNotFound);
        let out = error_out(&f, "rid", false);
        assert_eq!(out.status, 404);
        let body = std::str::from_utf8(&out.body).unwrap();
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ParentNotFound</Code><Message>The specified parent path does not exist.\nRequestId:rid\nTime:"));
        assert!(out
            .headers
            .contains(&("x-ms-error-code".into(), "ParentNotFound".into())));
        assert!(error_out(&f, "rid", true).body.is_empty());
    }
}
