//! Azure Key Vault secrets (`GET {vault}/secrets/{name}?api-version=7.4`) for linked
//! services that keep their secret there: the token comes from the same credential as
//! ARM's (scope: the vault's cloud), over the same agent (so `DTUTIL_ARM_CA` is trusted
//! here too). A secret's value is wiped when dropped and never appears in a message.

use serde_json::Value;
use zeroize::{Zeroize as _, Zeroizing};

use super::credential::{Credential, VAULT_SCOPE};
use super::http::Http;
use crate::error::{Error, Result};

pub const API_VERSION: &str = "7.4";

/// Key Vault's DNS suffixes per cloud (public, China, US Government, Germany) and the
/// managed HSM's: a vault URL elsewhere would be handed a Key Vault token, so it is
/// refused (a loopback address is allowed, for test servers).
const VAULT_SUFFIXES: &[&str] = &[
    "vault.azure.net",
    "vault.azure.cn",
    "vault.usgovcloudapi.net",
    "vault.microsoftazure.de",
    "managedhsm.azure.net",
];

/// The token scope for a vault at `base_url`, or why dtutil will not send it a token.
pub fn scope_for(base_url: &str) -> Result<String> {
    let Some(rest) = base_url.strip_prefix("https://") else {
        return Err(Error::failure(format!(
            "Key Vault `{base_url}`: the vault's URL must start with https:// (a token travels only over TLS)"
        )));
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    }
    .to_ascii_lowercase();
    if let Some(suffix) = VAULT_SUFFIXES
        .iter()
        .find(|s| host.ends_with(&format!(".{s}")))
    {
        return Ok(format!("https://{suffix}/.default"));
    }
    if crate::warnings::is_loopback_host(&host) {
        return Ok(VAULT_SCOPE.to_string());
    }
    Err(Error::failure(format!(
        "Key Vault `{base_url}`: `{host}` is not a Key Vault host (*.{}), so dtutil sends it no token",
        VAULT_SUFFIXES.join(", *.")
    )))
}

/// The value of secret `name` (its `version`, else the current one) in the vault at
/// `base_url`. `what` says what the secret is for, in messages.
pub fn secret(
    http: &Http,
    credential: &Credential,
    base_url: &str,
    name: &str,
    version: Option<&str>,
    what: &str,
) -> Result<Zeroizing<String>> {
    let scope = scope_for(base_url)?;
    let base = base_url.trim_end_matches('/');
    let mut url = format!("{base}/secrets/{}", super::encode(name));
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        url.push('/');
        url.push_str(&super::encode(v));
    }
    url.push_str(&format!("?api-version={API_VERSION}"));
    let token = credential
        .token(http, &scope)
        .map_err(|e| e.context(format!("reading {what} from Key Vault {base}")))?;
    let bearer = Zeroizing::new(format!("Bearer {}", token.as_str()));
    let mut answer = http.send("GET", &url, &[("Authorization", bearer.as_str())], None)?;
    let mut v = answer.json();
    answer.body.zeroize();
    if answer.ok() {
        if let Value::String(s) = v["value"].take() {
            return Ok(Zeroizing::new(s));
        }
        return Err(Error::failure(format!(
            "Key Vault {base} answered secret `{name}` ({what}) without a value"
        )));
    }
    let code = v
        .pointer("/error/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = v
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    let known = credential.known_secrets();
    let known: Vec<&str> = known.iter().map(|k| k.as_str()).collect();
    let (code, message) = (
        crate::redact::server_text(code, &known),
        crate::redact::server_text(message, &known),
    );
    let kv = if code.is_empty() {
        format!("HTTP {}", answer.status)
    } else {
        format!("HTTP {} {code}: {message}", answer.status)
    };
    Err(answer.noting_retries(Error::failure(match answer.status {
        401 => format!(
            "Key Vault {base} refused the token from {} for secret `{name}` ({what}) ({kv})",
            credential.describe()
        ),
        403 => format!(
            "{} may not read secret `{name}` ({what}) in Key Vault {base}: it needs the Key Vault Secrets User role on the vault, or a Get permission for secrets in its access policies ({kv})",
            credential.describe()
        ),
        404 => format!("Key Vault {base} has no secret `{name}` ({what}) ({kv})"),
        _ => format!("Key Vault {base} answered {kv} for secret `{name}` ({what})"),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_cloud_and_other_hosts_get_no_token() {
        assert_eq!(
            scope_for("https://kv1.vault.azure.net/").unwrap(),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            scope_for("https://kv1.vault.azure.cn").unwrap(),
            "https://vault.azure.cn/.default"
        );
        assert_eq!(
            scope_for("https://127.0.0.1:8443/vaults/kv/").unwrap(),
            VAULT_SCOPE
        );
        let e = scope_for("https://evil.example.com/").unwrap_err();
        assert!(e.message.contains("not a Key Vault host"), "{e}");
        assert!(scope_for("https://kv.vault.azure.net.evil.example/").is_err());
        assert!(scope_for("http://kv1.vault.azure.net/").is_err());
        assert_eq!(scope_for("https://[::1]:1/v/").unwrap(), VAULT_SCOPE);
    }
}
