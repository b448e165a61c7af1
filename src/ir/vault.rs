//! Linked-service secrets kept in Key Vault, for `--ir`: the package store's linked
//! service names an `AzureKeyVault` linked service (its `baseUrl`) and a secret; dtutil
//! reads the secret with the same credential it uses for ARM and hands it to the store
//! as the credential variable for that store alone (`AZURE_STORAGE_KEY_<ACCOUNT>` and
//! its kin for Azure Files, a SQL login for a managed instance).

use serde_json::Value;
use zeroize::Zeroizing;

use super::stores::{conn_field, describe, KeyVaultSecret, PackageStore, StoreKind};
use crate::arm::{encode, keyvault, Arm, Target};
use crate::error::{Error, Result};
use crate::store::azfiles::account_suffix;

/// What a store's Key Vault secret gives: store variables, and where the store is when
/// only the secret said so (a connection string kept in Key Vault).
pub struct Resolved {
    pub vars: Vec<(String, Zeroizing<String>)>,
    pub kind: StoreKind,
}

/// Reads the secret `kv` of `store` from its vault.
pub fn read(arm: &Arm, store: &PackageStore, kv: &KeyVaultSecret) -> Result<Zeroizing<String>> {
    let ls = arm.call(
        "GET",
        &format!("/linkedservices/{}", encode(&kv.linked_service)),
        None,
        Target::LinkedService(&kv.linked_service),
    )?;
    let kind = ls
        .pointer("/properties/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let what = format!(
        "the {} of package store {}'s linked service {}",
        kv.property, store.name, store.linked_service
    );
    if kind != "AzureKeyVault" {
        return Err(Error::failure(format!(
            "{what} is kept in linked service {}, which is {}, not an AzureKeyVault linked service",
            kv.linked_service,
            if kind.is_empty() { "untyped" } else { kind }
        )));
    }
    let Some(base) = ls
        .pointer("/properties/typeProperties/baseUrl")
        .and_then(Value::as_str)
        .filter(|b| !b.trim().is_empty())
    else {
        return Err(Error::failure(format!(
            "Key Vault linked service {} has no literal baseUrl (a parameterized one is not supported); {what} cannot be read",
            kv.linked_service
        )));
    };
    keyvault::secret(
        &arm.http,
        &arm.credential,
        base.trim(),
        &kv.secret_name,
        kv.secret_version.as_deref(),
        &what,
    )
}

/// The account of `\\ACCOUNT.file.<suffix>\SHARE`.
pub fn unc_account(unc: &str) -> Option<String> {
    let host = unc.trim_start_matches('\\').split('\\').next()?;
    host.split_once('.').map(|(a, _)| a.to_ascii_lowercase())
}

/// The store variables `secret` (the value of `kv.property`) stands for.
pub fn resolve(
    store: &PackageStore,
    kv: &KeyVaultSecret,
    secret: Zeroizing<String>,
) -> Result<Resolved> {
    let kind = match (&store.kind, kv.property) {
        // Only the secret says where the store is: describe it again with it.
        (StoreKind::Other { .. }, "connectionString" | "sasUri") => {
            let mut props = store.properties.clone();
            props["typeProperties"][kv.property] = Value::String(secret.to_string());
            let kind = describe(&store.name, &store.linked_service, &props).kind;
            if let Value::String(s) = props["typeProperties"][kv.property].take() {
                drop(Zeroizing::new(s));
            }
            kind
        }
        (k, _) => k.clone(),
    };
    let tp = store
        .properties
        .get("typeProperties")
        .unwrap_or(&Value::Null);
    let unplaced = || {
        Error::failure(format!(
            "package store {} (linked service {}) keeps its {} in Key Vault, but dtutil cannot tell from it where the store is",
            store.name, store.linked_service, kv.property
        ))
    };
    let vars = match &kind {
        StoreKind::AzureFiles { unc } => {
            let suffix = account_suffix(&unc_account(unc).ok_or_else(unplaced)?);
            let var = match kv.property {
                "password" | "accountKey" => "AZURE_STORAGE_KEY",
                "sasToken" | "sasUri" => "AZURE_STORAGE_SAS_TOKEN",
                _ => "AZURE_STORAGE_CONNECTION_STRING",
            };
            let value = if kv.property == "sasUri" {
                Zeroizing::new(
                    secret
                        .split_once('?')
                        .map(|(_, q)| q)
                        .unwrap_or("")
                        .to_string(),
                )
            } else {
                secret
            };
            vec![(format!("{var}_{suffix}"), value)]
        }
        StoreKind::SqlMi { .. } => {
            let (user, password) = if kv.property == "connectionString" {
                (
                    conn_field(&secret, &["User ID", "UID", "User"]),
                    conn_field(&secret, &["Password", "PWD"]).map(Zeroizing::new),
                )
            } else {
                let user = tp
                    .get("userName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        let conn = tp.get("connectionString")?.as_str()?;
                        conn_field(conn, &["User ID", "UID", "User"])
                    });
                (user, Some(secret))
            };
            match (user, password) {
                (Some(u), Some(p)) if !u.trim().is_empty() => vec![
                    ("DTUTIL_STORE_SQL_USER".to_string(), Zeroizing::new(u)),
                    ("DTUTIL_STORE_SQL_PASSWORD".to_string(), p),
                ],
                _ => {
                    return Err(Error::failure(format!(
                        "package store {} (linked service {}) keeps its {} in Key Vault but names no SQL login (userName) with it; set DTUTIL_STORE_SQL_USER and DTUTIL_STORE_SQL_PASSWORD",
                        store.name, store.linked_service, kv.property
                    )))
                }
            }
        }
        StoreKind::Other { .. } => return Err(unplaced()),
    };
    Ok(Resolved { vars, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(property: &'static str) -> KeyVaultSecret {
        KeyVaultSecret {
            linked_service: "LS_KV".into(),
            secret_name: "s".into(),
            secret_version: None,
            property,
        }
    }

    #[test]
    fn secrets_become_the_stores_own_variables() {
        let files = describe(
            "F",
            "LS_F",
            &json!({"type": "AzureFileStorage", "typeProperties": {"host": r"\\Contoso1.file.core.windows.net\pkgs"}}),
        );
        let r = resolve(&files, &kv("password"), Zeroizing::new("a2V5".into())).unwrap();
        assert_eq!(r.vars[0].0, "AZURE_STORAGE_KEY_CONTOSO1");
        let r = resolve(
            &files,
            &kv("sasUri"),
            Zeroizing::new("https://contoso1.file.core.windows.net/pkgs?sv=1&sig=x".into()),
        )
        .unwrap();
        assert_eq!(
            (r.vars[0].0.as_str(), r.vars[0].1.as_str()),
            ("AZURE_STORAGE_SAS_TOKEN_CONTOSO1", "sv=1&sig=x")
        );
        // A connection string in Key Vault is what places the store.
        let cs = describe(
            "F",
            "LS_F",
            &json!({"type": "AzureFileStorage", "typeProperties": {"fileShare": "pkgs",
                "connectionString": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "LS_KV"}, "secretName": "s"}}}),
        );
        assert_eq!(cs.kind_name(), "Other");
        let r = resolve(
            &cs,
            &kv("connectionString"),
            Zeroizing::new(
                "DefaultEndpointsProtocol=https;AccountName=acct9;AccountKey=a2V5".into(),
            ),
        )
        .unwrap();
        assert_eq!(
            r.kind,
            StoreKind::AzureFiles {
                unc: r"\\acct9.file.core.windows.net\pkgs".into()
            }
        );
        assert_eq!(r.vars[0].0, "AZURE_STORAGE_CONNECTION_STRING_ACCT9");
        let mi = describe(
            "MI",
            "LS_MI",
            &json!({"type": "AzureSqlMI", "typeProperties": {"connectionString": "Data Source=mi,1433;User ID=ssisadmin;", "userName": "ssisadmin"}}),
        );
        let r = resolve(&mi, &kv("password"), Zeroizing::new("pw".into())).unwrap();
        assert_eq!(r.vars[0].1.as_str(), "ssisadmin");
        assert_eq!(r.vars[1].0, "DTUTIL_STORE_SQL_PASSWORD");
        let anon = describe(
            "MI",
            "LS_MI",
            &json!({"type": "AzureSqlMI", "typeProperties": {"connectionString": "Data Source=mi,1433;"}}),
        );
        assert!(resolve(&anon, &kv("password"), Zeroizing::new("pw".into())).is_err());
    }
}
