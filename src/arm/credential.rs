//! Where tokens come from (issue 15): the first credential configured is used, and its
//! failure is the answer (no silent fall-through to the next):
//! `DTUTIL_ARM_ACCESS_TOKEN`; client credentials (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//! `AZURE_CLIENT_SECRET` at `AZURE_AUTHORITY_HOST`); workload identity
//! (`AZURE_FEDERATED_TOKEN_FILE`); managed identity when `IDENTITY_ENDPOINT` is set or
//! `DTUTIL_ARM_MANAGED_IDENTITY=1` (IMDS at `DTUTIL_IMDS_ENDPOINT`); the Azure CLI when
//! `az` is on the PATH. Tokens and secrets are never printed and are wiped when dropped.
//!
//! A small client rather than Microsoft's `azure_identity` crate: that crate needs Rust
//! 1.88 (this project builds with 1.85), brings its own async HTTP stack and
//! `azure_core`, has no environment credential to match `AZURE_*` variables, and cannot
//! be pointed at a private CA for a test authority; each flow here is one form POST or
//! GET over the agent dtutil already uses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use zeroize::Zeroizing;

use super::http::{form, origin_of, Http};
use crate::error::{Error, Result};

/// The public cloud's ARM scope; another `DTUTIL_ARM_ENDPOINT` gets its own.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
pub const SQL_SCOPE: &str = "https://database.windows.net/.default";
pub const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com";
const IMDS: &str = "http://169.254.169.254";

#[derive(Debug)]
enum Kind {
    Static(Zeroizing<String>),
    ClientSecret {
        authority: String,
        tenant: String,
        client_id: String,
        secret: Zeroizing<String>,
    },
    Workload {
        authority: String,
        tenant: String,
        client_id: String,
        token_file: String,
    },
    /// `IDENTITY_ENDPOINT` (App Service, Functions, Arc) or IMDS.
    Managed {
        endpoint: String,
        header: Option<Zeroizing<String>>,
        client_id: Option<String>,
    },
    AzureCli {
        timeout: Duration,
    },
}

/// How long `az account get-access-token` may take (DTUTIL_AZ_TIMEOUT overrides, in
/// seconds); it can hang on a device-code prompt or a broken proxy.
const AZ_TIMEOUT: Duration = Duration::from_secs(60);
/// A token answer is a few KiB.
const AZ_MAX_OUTPUT: u64 = 1024 * 1024;
/// A federated token (a JWT) is a few KiB.
const MAX_FEDERATED_TOKEN: u64 = 64 * 1024;

/// The scope of ARM tokens: `DTUTIL_ARM_SCOPE`, else the origin of `DTUTIL_ARM_ENDPOINT`
/// followed by `/.default` (as Microsoft's SDKs derive it from a cloud's ARM endpoint:
/// `https://management.chinacloudapi.cn/.default`), else the public cloud's.
pub fn arm_scope(get: &dyn Fn(&str) -> Option<String>) -> String {
    let set = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(scope) = set("DTUTIL_ARM_SCOPE") {
        return scope;
    }
    match set("DTUTIL_ARM_ENDPOINT") {
        Some(endpoint) => format!("{}/.default", origin_of(endpoint.trim_end_matches('/'))),
        None => ARM_SCOPE.to_string(),
    }
}

pub struct Credential {
    kind: Kind,
    arm_scope: String,
    cache: Mutex<HashMap<String, (Zeroizing<String>, Instant)>>,
}

/// What the chain looks for, for the "none configured" message.
const LOOKED_FOR: &str = "DTUTIL_ARM_ACCESS_TOKEN; AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET; AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE; IDENTITY_ENDPOINT (+ IDENTITY_HEADER) or DTUTIL_ARM_MANAGED_IDENTITY=1 for a managed identity; the Azure CLI (`az` on the PATH, signed in with `az login`)";

impl Credential {
    /// Picks the first credential configured in the environment.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let authority = set("AZURE_AUTHORITY_HOST")
            .unwrap_or_else(|| PUBLIC_AUTHORITY.into())
            .trim_end_matches('/')
            .to_string();
        let kind = if let Some(t) = set("DTUTIL_ARM_ACCESS_TOKEN") {
            Kind::Static(Zeroizing::new(t.trim().to_string()))
        } else if let Some(secret) = set("AZURE_CLIENT_SECRET") {
            let (tenant, client_id) = tenant_and_client(&set, "AZURE_CLIENT_SECRET")?;
            Kind::ClientSecret {
                authority,
                tenant,
                client_id,
                secret: Zeroizing::new(secret),
            }
        } else if let Some(token_file) = set("AZURE_FEDERATED_TOKEN_FILE") {
            let (tenant, client_id) = tenant_and_client(&set, "AZURE_FEDERATED_TOKEN_FILE")?;
            Kind::Workload {
                authority,
                tenant,
                client_id,
                token_file,
            }
        } else if let Some(endpoint) = set("IDENTITY_ENDPOINT") {
            Kind::Managed {
                endpoint,
                header: set("IDENTITY_HEADER").map(Zeroizing::new),
                client_id: set("AZURE_CLIENT_ID"),
            }
        } else if set("DTUTIL_ARM_MANAGED_IDENTITY").as_deref() == Some("1") {
            let base = set("DTUTIL_IMDS_ENDPOINT").unwrap_or_else(|| IMDS.into());
            Kind::Managed {
                endpoint: format!(
                    "{}/metadata/identity/oauth2/token",
                    base.trim_end_matches('/')
                ),
                header: None,
                client_id: set("AZURE_CLIENT_ID"),
            }
        } else if az_on_path(get) {
            let timeout = match set("DTUTIL_AZ_TIMEOUT") {
                None => AZ_TIMEOUT,
                Some(v) => v.trim().parse().map(Duration::from_secs).map_err(|_| {
                    Error::command_line(format!(
                        "DTUTIL_AZ_TIMEOUT `{v}`: expected a number of seconds"
                    ))
                })?,
            };
            Kind::AzureCli { timeout }
        } else {
            return Err(Error::failure(format!(
                "no Azure credential is configured; dtutil looked for: {LOOKED_FOR}"
            )));
        };
        Ok(Self {
            kind,
            arm_scope: arm_scope(get),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The scope of ARM tokens ([`arm_scope`]).
    pub fn arm_scope(&self) -> &str {
        &self.arm_scope
    }

    /// Names the credential for messages (never its secret).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Static(_) => "the access token in DTUTIL_ARM_ACCESS_TOKEN".into(),
            Kind::ClientSecret {
                authority,
                tenant,
                client_id,
                ..
            } => format!("client secret credential (AZURE_CLIENT_ID {client_id}, tenant {tenant}, authority {authority})"),
            Kind::Workload {
                tenant, client_id, ..
            } => format!("workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID {client_id}, tenant {tenant})"),
            Kind::Managed { endpoint, .. } => {
                format!("managed identity (endpoint {})", origin_of(endpoint))
            }
            Kind::AzureCli { .. } => "the Azure CLI (az account get-access-token)".into(),
        }
    }

    /// Every secret this credential holds (its secret, header, tokens issued so far), to
    /// be redacted from whatever a server answers.
    pub fn known_secrets(&self) -> Vec<Zeroizing<String>> {
        let mut out: Vec<Zeroizing<String>> = (self.cache.lock().unwrap().values())
            .map(|(t, _)| t.clone())
            .collect();
        match &self.kind {
            Kind::Static(t) => out.push(t.clone()),
            Kind::ClientSecret { secret, .. } => out.push(secret.clone()),
            Kind::Managed {
                header: Some(h), ..
            } => out.push(h.clone()),
            _ => {}
        }
        out
    }

    /// A bearer token for `scope` (cached until five minutes before it expires).
    pub fn token(&self, http: &Http, scope: &str) -> Result<Zeroizing<String>> {
        if let Some((t, until)) = self.cache.lock().unwrap().get(scope) {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let (token, lifetime) = self
            .fetch(http, scope)
            .map_err(|e| e.context(format!("getting a token with {}", self.describe())))?;
        let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(300));
        self.cache
            .lock()
            .unwrap()
            .insert(scope.to_string(), (token.clone(), until));
        Ok(token)
    }

    fn fetch(&self, http: &Http, scope: &str) -> Result<(Zeroizing<String>, Duration)> {
        match &self.kind {
            Kind::Static(t) => {
                if scope != self.arm_scope {
                    return Err(Error::failure(format!(
                        "DTUTIL_ARM_ACCESS_TOKEN is a token for ARM only; {scope} needs another credential"
                    )));
                }
                Ok((t.clone(), Duration::from_secs(3600)))
            }
            Kind::ClientSecret {
                authority,
                tenant,
                client_id,
                secret,
            } => {
                let body = form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", scope),
                ]);
                token_post(http, authority, tenant, &body, &[secret])
            }
            Kind::Workload {
                authority,
                tenant,
                client_id,
                token_file,
            } => {
                let raw =
                    crate::arm::read_small_file(token_file, MAX_FEDERATED_TOKEN).map_err(|e| {
                        Error::failure(format!(
                            "cannot read AZURE_FEDERATED_TOKEN_FILE `{token_file}`: {e}"
                        ))
                    })?;
                let assertion = Zeroizing::new(
                    std::str::from_utf8(&raw)
                        .map_err(|_| {
                            Error::failure(format!(
                                "AZURE_FEDERATED_TOKEN_FILE `{token_file}` is not text (a JWT)"
                            ))
                        })?
                        .trim()
                        .to_string(),
                );
                let body = form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                    ("scope", scope),
                ]);
                token_post(http, authority, tenant, &body, &[&assertion])
            }
            Kind::Managed {
                endpoint,
                header,
                client_id,
            } => {
                let resource = scope.strip_suffix(".default").unwrap_or(scope);
                let enc = crate::arm::encode;
                let (version, hdr): (&str, Vec<(&str, &str)>) = match header {
                    Some(h) => ("2019-08-01", vec![("X-IDENTITY-HEADER", h.as_str())]),
                    None if endpoint.contains("/metadata/identity/") => {
                        ("2018-02-01", vec![("Metadata", "true")])
                    }
                    None => ("2019-08-01", vec![]),
                };
                let mut url = format!(
                    "{endpoint}?api-version={version}&resource={}",
                    enc(resource)
                );
                if let Some(id) = client_id {
                    url.push_str(&format!("&client_id={}", enc(id)));
                }
                let answer = http.send("GET", &url, &hdr, None)?;
                let known: Vec<&str> = header.iter().map(|h| h.as_str()).collect();
                token_from(answer.status, &answer.json(), &origin_of(endpoint), &known)
                    .map_err(|e| answer.noting_retries(e))
            }
            Kind::AzureCli { timeout } => az_token(scope, *timeout),
        }
    }
}

fn tenant_and_client(set: &dyn Fn(&str) -> Option<String>, by: &str) -> Result<(String, String)> {
    match (set("AZURE_TENANT_ID"), set("AZURE_CLIENT_ID")) {
        (Some(t), Some(c)) => Ok((t.trim().to_string(), c.trim().to_string())),
        (t, _) => Err(Error::failure(format!(
            "{by} is set but {} is not: set both AZURE_TENANT_ID and AZURE_CLIENT_ID",
            if t.is_none() {
                "AZURE_TENANT_ID"
            } else {
                "AZURE_CLIENT_ID"
            }
        ))),
    }
}

fn token_post(
    http: &Http,
    authority: &str,
    tenant: &str,
    body: &str,
    known: &[&str],
) -> Result<(Zeroizing<String>, Duration)> {
    let url = format!(
        "{authority}/{}/oauth2/v2.0/token",
        crate::arm::encode(tenant)
    );
    let answer = http.send(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(body.as_bytes()),
    )?;
    token_from(answer.status, &answer.json(), authority, known)
        .map_err(|e| answer.noting_retries(e))
}

/// `access_token` and `expires_in` (a number or a string), or the authority's error
/// (with `known` secrets redacted).
fn token_from(
    status: u16,
    v: &Value,
    from: &str,
    known: &[&str],
) -> Result<(Zeroizing<String>, Duration)> {
    if let Some(t) = v.get("access_token").and_then(Value::as_str) {
        if (200..300).contains(&status) {
            let secs = match v.get("expires_in") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            }
            .unwrap_or(3600);
            return Ok((Zeroizing::new(t.to_string()), Duration::from_secs(secs)));
        }
    }
    let error = v.get("error").and_then(Value::as_str).unwrap_or("");
    let description = v
        .get("error_description")
        .and_then(Value::as_str)
        .map(|d| d.split(" Trace ID:").next().unwrap_or(d).trim().to_string())
        .unwrap_or_default();
    let shown = |t: &str| crate::redact::server_text(t, known);
    Err(Error::failure(format!(
        "{from} answered HTTP {status} {}: {}",
        shown(error),
        shown(&description)
    )))
}

fn az_on_path(get: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(path) = get("PATH") else {
        return false;
    };
    let names: &[&str] = if cfg!(windows) {
        &["az.cmd", "az.exe", "az"]
    } else {
        &["az"]
    };
    std::env::split_paths(&path).any(|d| names.iter().any(|n| d.join(n).is_file()))
}

fn az_token(scope: &str, timeout: Duration) -> Result<(Zeroizing<String>, Duration)> {
    use std::io::Read as _;
    use std::process::Stdio;
    let resource = scope.strip_suffix(".default").unwrap_or(scope);
    let program = if cfg!(windows) { "az.cmd" } else { "az" };
    let mut child = std::process::Command::new(program)
        .args([
            "account",
            "get-access-token",
            "--resource",
            resource,
            "--output",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::failure(format!("cannot run az: {e}")))?;
    // Each stream is read on its own thread, at most AZ_MAX_OUTPUT + 1 bytes, so a
    // chatty az cannot fill memory nor a silent one block the other stream.
    let reader = |stream: Option<Box<dyn std::io::Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Zeroizing::new(Vec::new());
            if let Some(s) = stream {
                let _ = s.take(AZ_MAX_OUTPUT + 1).read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    };
    let stdout = reader(child.stdout.take().map(|s| Box::new(s) as _));
    let stderr = reader(child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = std::time::Instant::now() + timeout;
    let mut out = None;
    let status = loop {
        if out.is_none() {
            out = stdout.try_recv().ok();
        }
        if out.as_ref().is_some_and(|o| o.len() as u64 > AZ_MAX_OUTPUT) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::failure(format!(
                "az account get-access-token printed more than {AZ_MAX_OUTPUT} bytes; stopped it (is `az` on the PATH the Azure CLI?)"
            )));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::failure(format!(
                    "az account get-access-token gave no answer in {} s; stopped it (it may be waiting for a sign-in: run `az login`; DTUTIL_AZ_TIMEOUT sets the limit in seconds)",
                    timeout.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Error::failure(format!("waiting for az: {e}"))),
        }
    };
    // az has ended; a process it left behind may still hold its streams open.
    let rest = deadline
        .saturating_duration_since(std::time::Instant::now())
        .max(Duration::from_secs(1));
    let out = match out {
        Some(o) => o,
        None => stdout.recv_timeout(rest).unwrap_or_default(),
    };
    if out.len() as u64 > AZ_MAX_OUTPUT {
        return Err(Error::failure(format!(
            "az account get-access-token printed more than {AZ_MAX_OUTPUT} bytes (is `az` on the PATH the Azure CLI?)"
        )));
    }
    if !status.success() {
        let err = stderr
            .recv_timeout(Duration::from_secs(1))
            .unwrap_or_default();
        let err = String::from_utf8_lossy(&err);
        let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(Error::failure(format!(
            "az account get-access-token failed: {} (sign in with `az login`)",
            crate::redact::server_text(first, &[])
        )));
    }
    let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    let token = v
        .get("accessToken")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::failure("az account get-access-token printed no accessToken"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let left = v
        .get("expires_on")
        .and_then(Value::as_u64)
        .map(|e| e.saturating_sub(now))
        .unwrap_or(600);
    Ok((Zeroizing::new(token.to_string()), Duration::from_secs(left)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn first_configured_wins() {
        let c = Credential::from_env(&env(&[
            ("DTUTIL_ARM_ACCESS_TOKEN", "tok"),
            ("AZURE_CLIENT_SECRET", "s"),
        ]))
        .unwrap();
        assert!(matches!(c.kind, Kind::Static(_)));
        let c = Credential::from_env(&env(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s3cret"),
        ]))
        .unwrap();
        assert!(c.describe().contains("client secret credential"));
        assert!(!c.describe().contains("s3cret"));
        let e = Credential::from_env(&env(&[("AZURE_CLIENT_SECRET", "s")]))
            .err()
            .unwrap();
        assert!(e.message.contains("AZURE_TENANT_ID"), "{e}");
        let c = Credential::from_env(&env(&[
            ("DTUTIL_ARM_MANAGED_IDENTITY", "1"),
            ("DTUTIL_IMDS_ENDPOINT", "https://127.0.0.1:9"),
        ]))
        .unwrap();
        assert!(c.describe().contains("127.0.0.1:9"));
        let e = Credential::from_env(&env(&[])).err().unwrap();
        assert!(e.message.contains("AZURE_CLIENT_SECRET") && e.message.contains("az login"));
    }

    #[test]
    fn token_answers() {
        let ok = serde_json::json!({"access_token": "t", "expires_in": "60"});
        assert_eq!(
            token_from(200, &ok, "x", &[]).unwrap().1,
            Duration::from_secs(60)
        );
        let bad = serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided. Trace ID: 1"});
        let e = token_from(401, &bad, "https://a", &[]).unwrap_err();
        assert_eq!(
            e.message,
            "https://a answered HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided."
        );
    }
}
