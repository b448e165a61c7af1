//! The HTTP layer: one agent (connections reused), signed requests, retries with
//! jittered exponential backoff on 408/429/500/502/503/504, timeouts and dropped
//! connections.

use super::auth::{self, Auth};
use crate::retry::{retryable, RetryPolicy};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::time::{Duration, SystemTime};
use ureq::http;
use zeroize::Zeroizing;

/// The REST API version we speak: Rename File needs 2021-04-10, and from 2021-06-08 on
/// the SMB properties of Create File/Directory are optional.
pub const API_VERSION: &str = "2023-01-03";

/// What `encode` leaves alone: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment or query value.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Where requests go: `scheme://host[:port]` plus a base path (empty for the service's
/// own host names; `/ACCOUNT` for a path-style endpoint such as a test server's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub origin: String,
    pub base_path: String,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim().trim_end_matches('/');
        let lower = url.to_ascii_lowercase();
        let rest_at = if lower.starts_with("https://") {
            8
        } else if lower.starts_with("http://") {
            7
        } else {
            return Err(format!(
                "the endpoint `{url}` must start with https:// (or http:// for a local test server)"
            ));
        };
        if url.contains(['?', '#']) {
            return Err(format!("the endpoint `{url}` must not carry a query"));
        }
        // Parsed as the HTTP client parses it: a user name before `@` would make the
        // host something else than it looks like.
        match url.parse::<http::Uri>() {
            Ok(uri) if uri.authority().is_some_and(|a| !a.as_str().contains('@')) => {}
            Ok(uri) if uri.authority().is_some() => {
                return Err(format!(
                    "the endpoint `{}` must not carry a user name or password (`@`)",
                    crate::redact::for_display(url)
                ))
            }
            _ => return Err(format!("the endpoint `{url}` is not a URL with a host")),
        }
        let (origin, base_path) = match url[rest_at..].find('/') {
            Some(i) => (&url[..rest_at + i], &url[rest_at + i..]),
            None => (url, ""),
        };
        if origin.len() == rest_at {
            return Err(format!("the endpoint `{url}` has no host"));
        }
        Ok(Self {
            origin: origin.to_string(),
            base_path: base_path.to_string(),
        })
    }

    pub fn is_https(&self) -> bool {
        self.origin.to_ascii_lowercase().starts_with("https://")
    }
}

/// One request: `path` is already encoded and relative to the endpoint (`/share/dir/f`).
pub struct Request<'a> {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<&'a [u8]>,
    /// The longest answer body taken: a longer one is a protocol violation (an endpoint
    /// that ignores the range asked for, or streams a listing without end) and fails
    /// the request instead of filling memory.
    pub max_answer: u64,
}

/// What any answer but a ranged read may hold: a listing page of the 5,000 entries
/// dtutil asks for at most is about 1 MiB; error bodies are a few hundred bytes.
pub const MAX_ANSWER: u64 = 16 << 20;

impl<'a> Request<'a> {
    pub fn new(method: &'static str, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            max_answer: MAX_ANSWER,
        }
    }
    /// A ranged read: the answer may hold at most the `len` bytes asked for.
    pub fn range(mut self, start: usize, len: usize) -> Self {
        let end = start + len.max(1) - 1;
        self.headers
            .push(("x-ms-range", format!("bytes={start}-{end}")));
        self.max_answer = len as u64;
        self
    }
    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }
}

/// A response with its body read.
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// How many attempts it took (a retried request may find its own earlier success).
    pub attempts: u32,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The service's error code: `x-ms-error-code`, else `<Code>` in the body.
    pub fn error_code(&self) -> String {
        if let Some(code) = self.header("x-ms-error-code") {
            return code.to_string();
        }
        super::xml::error_field(&self.body, "Code").unwrap_or_default()
    }

    /// "503 ServerBusy: message" for error messages.
    pub fn error_summary(&self) -> String {
        let code = self.error_code();
        let message = super::xml::error_field(&self.body, "Message")
            .map(|m| m.lines().next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let detail = super::xml::error_field(&self.body, "AuthenticationErrorDetail");
        let mut s = format!("HTTP {}", self.status);
        if !code.is_empty() {
            s.push(' ');
            s.push_str(&code);
        }
        if !message.is_empty() {
            s.push_str(": ");
            s.push_str(&message);
        }
        if let Some(d) = detail {
            // The service's detail for a bad signature names the string it signed,
            // which holds no secret; keep only its first sentence.
            let first = d.split(". ").next().unwrap_or(&d);
            s.push_str(" (");
            s.push_str(first.trim_end_matches('.'));
            s.push(')');
        }
        s
    }
}

pub struct Client {
    agent: ureq::Agent,
    pub endpoint: Endpoint,
    auth: Auth,
    pub policy: RetryPolicy,
}

/// A request that failed without a usable answer, after the retries.
#[derive(Debug)]
pub struct TransportFailure {
    pub message: String,
}

/// The outcome of `execute`: a response (any status), or a transport failure.
pub type Outcome = Result<Response, TransportFailure>;

impl Client {
    pub fn new(endpoint: Endpoint, auth: Auth, policy: RetryPolicy) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .timeout_connect(Some(policy.connect_timeout))
            .max_redirects(0)
            .user_agent(format!("dtutil/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            endpoint,
            auth,
            policy,
        }
    }

    /// The full URL of an encoded path, with the SAS if that is how we authorize
    /// (for `x-ms-file-rename-source`).
    pub fn url_of(&self, path: &str) -> Zeroizing<String> {
        let mut url = format!(
            "{}{}{}",
            self.endpoint.origin, self.endpoint.base_path, path
        );
        if let Auth::Sas(sas) = &self.auth {
            url.push('?');
            url.push_str(sas);
        }
        Zeroizing::new(url)
    }

    /// Sends a request, retrying transport failures and retryable statuses. Returns the
    /// last response (whatever its status) or the last transport failure.
    pub fn execute(&self, req: &Request<'_>) -> Outcome {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt > self.policy.retries;
            match self.once(req) {
                Ok(mut resp) => {
                    if retryable(resp.status) && !last {
                        let after = resp
                            .header("retry-after")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs);
                        std::thread::sleep(self.policy.delay(attempt, after));
                        continue;
                    }
                    resp.attempts = attempt;
                    return Ok(resp);
                }
                Err(e) => {
                    if !last && transient(&e) {
                        std::thread::sleep(self.policy.delay(attempt, None));
                        continue;
                    }
                    let tries = if attempt == 1 {
                        String::new()
                    } else {
                        format!(" (after {attempt} attempts)")
                    };
                    return Err(TransportFailure {
                        message: format!("{}{tries}", describe_transport(&e, &self.endpoint)),
                    });
                }
            }
        }
    }

    fn once(&self, req: &Request<'_>) -> Result<Response, ureq::Error> {
        let path = format!("{}{}", self.endpoint.base_path, req.path);
        let mut query_string = String::new();
        for (name, value) in &req.query {
            query_string.push(if query_string.is_empty() { '?' } else { '&' });
            query_string.push_str(name);
            query_string.push('=');
            query_string.push_str(&encode(value));
        }
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        headers.push(("x-ms-version".into(), API_VERSION.into()));
        headers.push((
            "x-ms-date".into(),
            httpdate::fmt_http_date(SystemTime::now()),
        ));
        if let Some(body) = req.body {
            headers.push(("content-length".into(), body.len().to_string()));
        }
        let mut url = Zeroizing::new(format!("{}{path}{query_string}", self.endpoint.origin));
        let mut authorization = None;
        match &self.auth {
            Auth::SharedKey { account, key } => {
                let query: Vec<(String, String)> = req
                    .query
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.clone()))
                    .collect();
                let sts = auth::string_to_sign(req.method, &headers, account, &path, &query);
                authorization = Some(format!("SharedKey {account}:{}", auth::sign(key, &sts)));
            }
            Auth::Sas(sas) => {
                url.push(if query_string.is_empty() { '?' } else { '&' });
                url.push_str(sas);
            }
        }
        let mut builder = http::Request::builder()
            .method(req.method)
            .uri(url.as_str());
        for (name, value) in &headers {
            if name != "content-length" {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        if let Some(a) = authorization {
            builder = builder.header("authorization", a);
        }
        let response = match req.body {
            Some(body) => self.agent.run(builder.body(body)?)?,
            None if req.method == "PUT" => self.agent.run(builder.body(&[][..])?)?,
            None => self.agent.run(builder.body(())?)?,
        };
        let (parts, mut body) = response.into_parts();
        let bytes = if req.method == "HEAD" {
            Vec::new()
        } else {
            body.with_config().limit(req.max_answer).read_to_vec()?
        };
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
            attempts: 1,
        })
    }
}

fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

fn describe_transport(e: &ureq::Error, endpoint: &Endpoint) -> String {
    match e {
        ureq::Error::Timeout(t) => format!(
            "no answer from {} in time ({t:?} timeout; DTUTIL_AZURE_TIMEOUT sets the limit in seconds)",
            endpoint.origin
        ),
        ureq::Error::HostNotFound => format!(
            "the host of {} was not found (check the account name and the endpoint)",
            endpoint.origin
        ),
        ureq::Error::ConnectionFailed => format!("cannot connect to {}", endpoint.origin),
        ureq::Error::BodyExceedsLimit(limit) => format!(
            "{} answered with more than the {limit} bytes asked for or allowed (a protocol violation: the endpoint ignores the range or sends an endless answer); refused",
            endpoint.origin
        ),
        ureq::Error::Io(io) => format!("connection to {} failed: {io}", endpoint.origin),
        other => format!("request to {} failed: {other}", endpoint.origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8080/acct/").unwrap();
        assert_eq!(e.origin, "http://127.0.0.1:8080");
        assert_eq!(e.base_path, "/acct");
        assert!(!e.is_https());
        let e = Endpoint::parse("https://a.file.core.windows.net").unwrap();
        assert_eq!(e.base_path, "");
        assert!(e.is_https());
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("https://").is_err());
    }

    #[test]
    fn encodes_segments() {
        assert_eq!(encode("a b&c+d/ä~"), "a%20b%26c%2Bd%2F%C3%A4~");
    }
}
