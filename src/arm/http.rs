//! JSON over HTTPS for ARM, the token authorities and Key Vault: one ureq agent (the
//! stack the Azure Files store uses), an extra trusted CA from `DTUTIL_ARM_CA`, and
//! retries with jittered backoff on 408/429/5xx and transport failures, honouring
//! `Retry-After`.

use std::time::Duration;

use serde_json::Value;
use ureq::http;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::retry::{retryable, RetryPolicy};

/// An answer: status and body (JSON when it parses).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// Requests made for it (1 when the first answer was kept).
    pub attempts: u32,
}

impl Answer {
    /// `error` noting how many attempts were made, when the answer ended retries (a
    /// 429 or 5xx answered to every one).
    pub fn noting_retries(&self, mut error: Error) -> Error {
        error.message.push_str(&after_attempts(self.attempts));
        error
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Http {
    agent: ureq::Agent,
    policy: RetryPolicy,
}

impl Http {
    /// `extra_ca`: PEM certificates trusted besides the system's roots.
    pub fn new(extra_ca: Option<&str>, policy: RetryPolicy) -> Result<Self> {
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(policy.timeout))
            .timeout_connect(Some(policy.connect_timeout))
            .max_redirects(0)
            .user_agent(format!("dtutil/{}", env!("CARGO_PKG_VERSION")));
        if let Some(path) = extra_ca {
            // A CA bundle of a few hundred certificates is well under 1 MiB.
            let pem = super::read_small_file(path, 1024 * 1024)
                .map_err(|e| Error::failure(format!("DTUTIL_ARM_CA: cannot read `{path}`: {e}")))?;
            let mut roots: Vec<Certificate<'static>> = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                    roots.push(c);
                }
            }
            if roots.is_empty() {
                return Err(Error::failure(format!(
                    "DTUTIL_ARM_CA: `{path}` holds no PEM certificate"
                )));
            }
            // The extra CA is added to the system's roots, not put in their place.
            for der in rustls_native_certs::load_native_certs().certs {
                roots.push(Certificate::from_der(der.as_ref()).to_owned());
            }
            builder = builder.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&roots))
                    .build(),
            );
        }
        Ok(Self {
            agent: ureq::Agent::new_with_config(builder.build()),
            policy,
        })
    }

    /// Sends a request, retrying transient failures; any status is returned.
    /// `headers` may hold a bearer token: it never appears in an error.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Answer> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt > self.policy.retries;
            match self.once(method, url, headers, body) {
                Ok((mut answer, retry_after)) => {
                    if retryable(answer.status) && !last {
                        std::thread::sleep(self.policy.delay(attempt, retry_after));
                        continue;
                    }
                    answer.attempts = attempt;
                    return Ok(answer);
                }
                Err(e) => {
                    let transient = matches!(
                        e,
                        ureq::Error::Io(_)
                            | ureq::Error::Timeout(_)
                            | ureq::Error::ConnectionFailed
                            | ureq::Error::Protocol(_)
                    );
                    if transient && !last {
                        std::thread::sleep(self.policy.delay(attempt, None));
                        continue;
                    }
                    let origin = origin_of(url);
                    let tries = after_attempts(attempt);
                    let why = match &e {
                        ureq::Error::Timeout(_) => "no answer in time (DTUTIL_AZURE_TIMEOUT sets the limit in seconds)".to_string(),
                        ureq::Error::HostNotFound => "host not found".to_string(),
                        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => format!("TLS failed: {e} (a private CA can be trusted with DTUTIL_ARM_CA=PEM file)"),
                        other => other.to_string(),
                    };
                    return Err(Error::failure(format!("{origin}: {why}{tries}")));
                }
            }
        }
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::result::Result<(Answer, Option<Duration>), ureq::Error> {
        let mut b = http::Request::builder().method(method).uri(url);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let response = match body {
            Some(body) => self.agent.run(b.body(body)?)?,
            None if method == "POST" || method == "PUT" => self.agent.run(b.body(&[][..])?)?,
            None => self.agent.run(b.body(())?)?,
        };
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let (parts, mut body) = response.into_parts();
        let bytes = body.with_config().limit(64 * 1024 * 1024).read_to_vec()?;
        Ok((
            Answer {
                status: parts.status.as_u16(),
                body: bytes,
                attempts: 1,
            },
            retry_after,
        ))
    }
}

/// ` (after N attempts)` when a request was retried; nothing for one attempt.
fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// `https://host[:port]` of a URL, for messages (never a path or query: they may carry
/// a SAS or a token).
pub fn origin_of(url: &str) -> String {
    let rest_at = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[rest_at..].find('/') {
        Some(i) => url[..rest_at + i].to_string(),
        None => url.to_string(),
    }
}

/// `application/x-www-form-urlencoded` body; values are wiped when dropped.
pub fn form(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::new());
    for (k, v) in pairs {
        if !s.is_empty() {
            s.push('&');
        }
        s.push_str(&super::encode(k));
        s.push('=');
        s.push_str(&super::encode(v));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_hide_paths() {
        assert_eq!(
            origin_of("https://login.example/t/oauth2/v2.0/token?x=1"),
            "https://login.example"
        );
        assert_eq!(origin_of("https://h:1"), "https://h:1");
        assert_eq!(&*form(&[("a", "b c"), ("d", "e&f")]), "a=b%20c&d=e%26f");
    }
}
