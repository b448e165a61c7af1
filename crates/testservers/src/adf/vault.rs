//! Azure Key Vault's secrets API (`GET {vault}/secrets/{name}[/{version}]?api-version=7.x`)
//! for the secrets a linked service keeps in Key Vault: each vault is served under
//! `/vaults/{name}` of this server, which is its linked service's `baseUrl`. Bearer
//! tokens must be issued for Key Vault's audience, as the service checks.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::token::Issued;

pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// A vault's secrets by lower-case name: (name, value).
type Secrets = BTreeMap<String, (String, String)>;

/// Vaults by lower-case name: (name, secrets).
#[derive(Default, Debug, Clone)]
pub struct Vaults {
    vaults: BTreeMap<String, (String, Secrets)>,
}

/// `VAULT/NAME=VALUE` (a `--secret` flag).
pub fn parse_secret(spec: &str) -> Result<(String, String, String), String> {
    let bad = || {
        format!(
            "--secret `{}`: expected VAULT/NAME=VALUE",
            spec.split('=').next().unwrap_or("")
        )
    };
    let (path, value) = spec.split_once('=').ok_or_else(bad)?;
    let (vault, name) = path.split_once('/').ok_or_else(bad)?;
    if vault.is_empty() || name.is_empty() || value.is_empty() {
        return Err(bad());
    }
    Ok((vault.into(), name.into(), value.into()))
}

impl Vaults {
    pub fn add(&mut self, vault: &str, name: &str, value: &str) {
        self.vaults
            .entry(vault.to_ascii_lowercase())
            .or_insert_with(|| (vault.to_string(), BTreeMap::new()))
            .1
            .insert(name.to_ascii_lowercase(), (name.into(), value.into()));
    }

    /// The vaults' names, as given.
    pub fn names(&self) -> Vec<String> {
        self.vaults.values().map(|(n, _)| n.clone()).collect()
    }

    /// Answers `GET /vaults/{vault}/secrets/{name}[/{version}]` (`path` is `[vault,
    /// name, version?]`): `(status, body, WWW-Authenticate)`.
    pub fn get(
        &self,
        issued: &Issued,
        challenge_authority: &str,
        base_url: &str,
        path: &[&str],
        api_version: Option<&str>,
        authorization: &str,
    ) -> (u16, Value, Option<String>) {
        let (vault, rest) = path
            .split_first()
            .map(|(v, r)| (*v, r))
            .unwrap_or(("", &[]));
        let error = |status: u16, code: &str, message: String| {
            (
                status,
                json!({"error": {"code": code, "message": message}}),
                None,
            )
        };
        let challenge = Some(format!(
            "Bearer authorization=\"{challenge_authority}\", resource=\"{VAULT_AUDIENCE}\""
        ));
        let Some((vname, secrets)) = self.vaults.get(&vault.to_ascii_lowercase()) else {
            return error(
                404,
                "VaultNotFound",
                format!("No key vault named '{vault}' is served here."),
            );
        };
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or("");
        if token.is_empty() {
            let (s, b, _) = error(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.".into(),
            );
            return (s, b, challenge);
        }
        match issued.audience_of(token) {
            Some(aud) if aud == VAULT_AUDIENCE => {}
            Some(aud) => {
                let (s, b, _) = error(
                    401,
                    "Unauthorized",
                    format!("AKV10022: Invalid audience. Expected {VAULT_AUDIENCE}, found: {aud}."),
                );
                return (s, b, challenge);
            }
            None => {
                let (s, b, _) = error(
                    401,
                    "Unauthorized",
                    "AKV10032: Invalid issuer or token.".into(),
                );
                return (s, b, challenge);
            }
        }
        match api_version {
            Some(v) if v.starts_with("7.") => {}
            Some(v) => {
                return error(
                    400,
                    "BadParameter",
                    format!("The specified version ({v}) is not recognized. Consider using the latest supported version (7.4)."),
                )
            }
            None => {
                return error(
                    400,
                    "BadParameter",
                    "The request URI contains an invalid API version: api-version is required."
                        .into(),
                )
            }
        }
        let (name, version) = match rest {
            [name] => (*name, None),
            [name, version] => (*name, Some(*version)),
            _ => {
                return error(
                    400,
                    "BadParameter",
                    "Method GET is not supported here.".into(),
                )
            }
        };
        let Some((name, value)) = secrets.get(&name.to_ascii_lowercase()) else {
            return error(
                404,
                "SecretNotFound",
                format!("A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"),
            );
        };
        const VERSION: &str = "00000000000000000000000000000001";
        if version.is_some_and(|v| v != VERSION) {
            return error(
                404,
                "SecretNotFound",
                format!(
                    "A secret with (name/id) {name}/{} was not found in this key vault.",
                    version.unwrap_or("")
                ),
            );
        }
        (
            200,
            json!({
                "value": value,
                "id": format!("{base_url}/vaults/{vname}/secrets/{name}/{VERSION}"),
                "attributes": {"enabled": true, "created": 1764547200, "updated": 1764547200, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
                "tags": {}
            }),
            None,
        )
    }
}
