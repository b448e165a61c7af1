//! Azure Key Vault's secrets API (`GET {vault}/secrets/{name}[/{version}]?api-version=7.x`)
//! for the secrets a linked service keeps in Key Vault: one vault, served at this
//! server's root (its linked service's `baseUrl`), since Microsoft's SDK reads a secret's
//! id as `https://HOST/secrets/NAME/VERSION`. Bearer tokens must be issued for Key
//! Vault's audience, as the service checks.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::token::Issued;

pub const VAULT_AUDIENCE: &str = "https://vault.azure.net";

/// The secrets API's versions (as azure-keyvault-secrets 4.12 lists them).
const API_VERSIONS: &[&str] = &[
    "2026-04-01",
    "2025-07-01",
    "7.6",
    "7.5",
    "7.4",
    "7.3",
    "7.2",
    "7.1",
    "7.0",
    "2016-10-01",
];

/// A vault's secrets by lower-case name: (name, value).
type Secrets = BTreeMap<String, (String, String)>;

/// The vault: its name and secrets.
#[derive(Default, Debug, Clone)]
pub struct Vaults {
    vault: Option<(String, Secrets)>,
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
    pub fn add(&mut self, vault: &str, name: &str, value: &str) -> Result<(), String> {
        let (vname, secrets) = self
            .vault
            .get_or_insert_with(|| (vault.to_string(), BTreeMap::new()));
        if !vname.eq_ignore_ascii_case(vault) {
            return Err(format!(
                "--secret {vault}/{name}: this server holds one Key Vault (`{vname}`), served at its root"
            ));
        }
        secrets.insert(name.to_ascii_lowercase(), (name.into(), value.into()));
        Ok(())
    }

    /// The vault's name, when there is one.
    pub fn names(&self) -> Vec<String> {
        self.vault.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Answers `GET /secrets/{name}[/{version}]` (`path` is `[name, version?]`):
    /// `(status, body, WWW-Authenticate)`.
    pub fn get(
        &self,
        issued: &Issued,
        challenge_authority: &str,
        base_url: &str,
        path: &[&str],
        api_version: Option<&str>,
        authorization: &str,
    ) -> (u16, Value, Option<String>) {
        let rest = path;
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
        let Some((_, secrets)) = &self.vault else {
            return error(404, "NotFound", "No Key Vault is served here.".into());
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
            Some(v) if API_VERSIONS.contains(&v) => {}
            Some(v) => {
                return error(
                    400,
                    "BadParameter",
                    format!("The specified version ({v}) is not recognized. Consider using the latest supported version ({}).", API_VERSIONS[0]),
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
                "id": format!("{base_url}/secrets/{name}/{VERSION}"),
                "attributes": {"enabled": true, "created": 1764547200, "updated": 1764547200, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
                "tags": {}
            }),
            None,
        )
    }
}
