//! Azure Resource Manager for an Azure-SSIS IR's data factory (SPEC 9): the IR's
//! address, a token from the credential chain, JSON calls with retries, and ARM's
//! errors turned into messages that say what is missing (which role, which of factory /
//! IR / pipeline / run).

pub mod credential;
pub mod http;
pub mod keyvault;

use serde_json::Value;

use crate::error::{Error, ExitCode, Result};
use crate::retry::{RetryPolicy, RetrySettings};
use credential::Credential;
use http::Http;

pub const API_VERSION: &str = "2018-06-01";

/// The environment variables the IR commands read (once, at start-up: `config`).
pub const ENV: &[&str] = &[
    "DTUTIL_IR",
    "DTUTIL_ARM_ENDPOINT",
    "DTUTIL_ARM_CA",
    "DTUTIL_ARM_SCOPE",
    "DTUTIL_AZ_TIMEOUT",
    "DTUTIL_ARM_ACCESS_TOKEN",
    "DTUTIL_ARM_MANAGED_IDENTITY",
    "DTUTIL_IMDS_ENDPOINT",
    "DTUTIL_IR_POLL_MS",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "PATH",
];

/// What `encode` leaves alone: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment, query value or form field.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}
const DEFAULT_ENDPOINT: &str = "https://management.azure.com";

/// An Azure-SSIS IR: `/subscriptions/S/resourceGroups/RG/providers/Microsoft.DataFactory/
/// factories/F/integrationRuntimes/IR` or `S/RG/F/IR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrId {
    pub subscription: String,
    pub resource_group: String,
    pub factory: String,
    pub name: String,
}

impl IrId {
    pub fn parse(id: &str) -> Result<Self> {
        let parts: Vec<&str> = id.trim().trim_matches('/').split('/').collect();
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let (s, rg, f, ir) = match lower.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            [_, _, _, _] => (parts[0], parts[1], parts[2], parts[3]),
            ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.datafactory", "factories", _, "integrationruntimes", _] => {
                (parts[1], parts[3], parts[7], parts[9])
            }
            _ => {
                return Err(Error::command_line(format!(
                    "--ir `{id}`: expected /subscriptions/S/resourceGroups/RG/providers/Microsoft.DataFactory/factories/F/integrationRuntimes/IR or S/RG/F/IR"
                )))
            }
        };
        // `.` and `..` would be dot segments, which any URL-normalising hop resolves
        // into another resource; no ARM name is one.
        let ok =
            |x: &str| !x.is_empty() && x != "." && x != ".." && !x.contains(['?', '#', '\\', ' ']);
        if ![s, rg, f, ir].iter().all(|x| ok(x)) {
            return Err(Error::command_line(format!(
                "--ir `{id}`: a part is empty or holds a character ARM names cannot have"
            )));
        }
        Ok(Self {
            subscription: s.into(),
            resource_group: rg.into(),
            factory: f.into(),
            name: ir.into(),
        })
    }

    /// `factory 'F' (resource group 'RG', subscription 'S')`, for messages.
    pub fn factory_text(&self) -> String {
        format!(
            "factory '{}' (resource group '{}', subscription '{}')",
            self.factory, self.resource_group, self.subscription
        )
    }

    pub fn factory_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DataFactory/factories/{}",
            self.subscription, self.resource_group, self.factory
        )
    }
}

pub use crate::store::file::read_small_file;

/// What a request is about, for a 404's message.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Ir,
    LinkedService(&'a str),
    Pipeline(&'a str),
    Run(&'a str),
    Factory,
}

/// Everything the IR commands need from the environment.
pub struct ArmConfig {
    pub endpoint: String,
    pub extra_ca: Option<String>,
}

impl ArmConfig {
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            endpoint: get("DTUTIL_ARM_ENDPOINT")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
                .trim()
                .trim_end_matches('/')
                .to_string(),
            extra_ca: get("DTUTIL_ARM_CA").filter(|v| !v.trim().is_empty()),
        }
    }
}

pub struct Arm {
    pub ir: IrId,
    pub http: Http,
    pub credential: Credential,
    endpoint: String,
}

impl Arm {
    /// `retry`: the user's `DTUTIL_AZURE_*` settings, read with the store variables.
    pub fn new(
        ir: IrId,
        get: &dyn Fn(&str) -> Option<String>,
        retry: &RetrySettings,
    ) -> Result<Self> {
        let cfg = ArmConfig::from_env(get);
        if !cfg.endpoint.starts_with("https://") {
            return Err(Error::command_line(format!(
                "DTUTIL_ARM_ENDPOINT `{}` must start with https:// (bearer tokens travel only over TLS)",
                cfg.endpoint
            )));
        }
        let policy = retry
            .policy(RetryPolicy::ARM)
            .map_err(Error::command_line)?;
        Ok(Self {
            http: Http::new(cfg.extra_ca.as_deref(), policy)?,
            credential: Credential::from_env(get)?,
            endpoint: cfg.endpoint,
            ir,
        })
    }

    /// `method` on `FACTORY/rest` (`rest` may be empty or start with `/`; names in it
    /// must already be percent-encoded).
    pub fn call(
        &self,
        method: &str,
        rest: &str,
        body: Option<&Value>,
        target: Target<'_>,
    ) -> Result<Value> {
        let sep = if rest.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{}{rest}{sep}api-version={API_VERSION}",
            self.endpoint,
            self.ir.factory_path()
        );
        let token = self
            .credential
            .token(&self.http, self.credential.arm_scope())?;
        let bearer = zeroize::Zeroizing::new(format!("Bearer {}", token.as_str()));
        let bytes = body.map(|b| b.to_string().into_bytes());
        let mut headers = vec![("Authorization", bearer.as_str())];
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let answer = self.http.send(method, &url, &headers, bytes.as_deref())?;
        if answer.ok() {
            return Ok(answer.json());
        }
        Err(answer.noting_retries(self.explain(answer.status, &answer.json(), method, target)))
    }

    fn explain(&self, status: u16, body: &Value, method: &str, target: Target<'_>) -> Error {
        let code = body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("");
        let known = self.credential.known_secrets();
        let known: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
        let (code, message) = (
            crate::redact::server_text(code, &known),
            crate::redact::server_text(message, &known),
        );
        let (code, message) = (code.as_str(), message.as_str());
        let arm = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status} {code}: {message}")
        };
        let ir = &self.ir;
        let f = ir.factory_text();
        match status {
            401 => Error::failure(format!(
                "ARM refused the token from {} ({arm}); check that the credential belongs to the factory's tenant",
                self.credential.describe()
            )),
            403 => {
                let action = message
                    .split("perform action '")
                    .nth(1)
                    .and_then(|r| r.split('\'').next())
                    .unwrap_or("");
                let role = if method == "GET" || action.ends_with("/read") {
                    "Reader (or Data Factory Contributor)"
                } else {
                    "Data Factory Contributor"
                };
                Error::failure(format!(
                    "{} may not do this on {f}: it needs the {role} role on the factory{} ({arm})",
                    self.credential.describe(),
                    if action.is_empty() { String::new() } else { format!(" for `{action}`") }
                ))
            }
            404 => {
                let what = missing(ir, code, message, target);
                Error::new(ExitCode::PackageNotFound, format!("{what} ({arm})"))
            }
            _ => Error::failure(format!("ARM answered {arm}")),
        }
    }
}

/// What a 404 says is missing. ARM names the missing resource itself: a factory that
/// does not exist is `ResourceNotFound` on `.../factories/NAME'` (or
/// `ParentResourceNotFound` for a request below it), whatever the request was for; only
/// when the factory is not what is missing does `target` say which child it was.
fn missing(ir: &IrId, code: &str, message: &str, target: Target<'_>) -> String {
    let f = ir.factory_text();
    let lower = message.to_ascii_lowercase();
    let factory_named = format!("factories/{}'", ir.factory.to_ascii_lowercase());
    match code {
        "SubscriptionNotFound" => format!("subscription '{}' not found", ir.subscription),
        "ResourceGroupNotFound" => format!(
            "resource group '{}' not found in subscription '{}'",
            ir.resource_group, ir.subscription
        ),
        "ParentResourceNotFound" => format!("{f} not found"),
        _ if lower.contains(&factory_named) => format!("{f} not found"),
        _ => match target {
            Target::Factory => format!("{f} not found"),
            Target::Ir => format!("integration runtime '{}' not found in {f}", ir.name),
            Target::LinkedService(n) => format!("linked service '{n}' not found in {f}"),
            Target::Pipeline(n) => format!("pipeline '{n}' not found in {f}"),
            Target::Run(r) => format!("no pipeline run '{r}' in {f}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ir_ids() {
        let long = IrId::parse("/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f/integrationRuntimes/ir").unwrap();
        let short = IrId::parse("s/rg/f/ir").unwrap();
        assert_eq!(long, short);
        assert_eq!(
            short.factory_path(),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DataFactory/factories/f"
        );
        assert!(IrId::parse("s/rg/f").is_err());
        assert!(IrId::parse("s/rg//ir").is_err());
        assert_eq!(IrId::parse("a/b").unwrap_err().exit, ExitCode::CommandLine);
        for dots in [
            "s/../f/ir",
            "s/rg/f/..",
            "s/rg/f/.",
            "./rg/f/ir",
            "s/rg/../ir",
        ] {
            let e = IrId::parse(dots).unwrap_err();
            assert_eq!(e.exit, ExitCode::CommandLine, "{dots}");
        }
    }

    /// Issue 15 / review ir F4: the factory is named when it is what is missing,
    /// whichever child the request was for, and ARM's spelling of it may differ in case.
    #[test]
    fn a_missing_factory_is_named_not_its_child() {
        let ir = IrId::parse("s/rg/ADF-Nope/SsisIr").unwrap();
        let gone = "The Resource 'Microsoft.DataFactory/factories/adf-nope' under resource group 'rg' was not found.";
        for target in [Target::Ir, Target::Pipeline("p"), Target::Run("r")] {
            let what = missing(&ir, "ResourceNotFound", gone, target);
            assert!(what.starts_with("factory 'ADF-Nope'"), "{what}");
            let parent = missing(
                &ir,
                "ParentResourceNotFound",
                "Parent resource not found",
                target,
            );
            assert!(parent.starts_with("factory 'ADF-Nope'"), "{parent}");
        }
        let child = "The Resource 'Microsoft.DataFactory/factories/ADF-Nope/integrationRuntimes/SsisIr' under resource group 'rg' was not found.";
        let what = missing(&ir, "ResourceNotFound", child, Target::Ir);
        assert!(
            what.starts_with("integration runtime 'SsisIr' not found in factory 'ADF-Nope'"),
            "{what}"
        );
    }

    /// The retry settings come in read (with the store variables); a bad one is a
    /// command-line error naming the variable, as before they were shared.
    #[test]
    fn bad_retry_settings_are_a_command_line_error() {
        let bad = RetrySettings::from_vars(&|k| {
            (k == "DTUTIL_AZURE_RETRY_DELAY_MS").then(|| "soon".to_string())
        });
        let e = Arm::new(IrId::parse("s/rg/f/ir").unwrap(), &|_| None, &bad)
            .err()
            .unwrap();
        assert_eq!(e.exit, ExitCode::CommandLine);
        assert!(
            e.message.contains("DTUTIL_AZURE_RETRY_DELAY_MS"),
            "{}",
            e.message
        );
    }
}
