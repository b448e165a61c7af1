//! `--ir` (or `DTUTIL_IR`) for the package store (`/DTS`, batch `dts:`): its top-level
//! folders are the IR's package stores instead of an `MsDtsSrvr.ini.xml` file's roots.
//! An Azure Files store becomes a share root, an Azure SQL MI store an msdb root. The
//! linked services' secrets come back masked from ARM, so the stores' credentials come
//! from the environment as for any root; a secret the linked service keeps in Key Vault
//! is read from there with the same credential (unless the environment names a
//! credential for that store); for a managed instance without a SQL login, an Azure AD
//! token for it is asked of the same credential.

use zeroize::Zeroizing;

use super::stores::{self, StoreKind};
use super::{get_ir, ir_id, vault};
use crate::arm::credential::SQL_SCOPE;
use crate::arm::Arm;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::azfiles::account_suffix;
use crate::store::dts::{DtsConfig, Root, RootKind};
use crate::store::StoreConfig;

/// Whether an IR is named (`--ir`, else `DTUTIL_IR`).
pub fn wanted(flag: Option<&str>, config: &Config) -> bool {
    flag.is_some()
        || config
            .arm
            .get("DTUTIL_IR")
            .is_some_and(|v| !v.trim().is_empty())
}

/// The store configuration with the IR's package stores as the package store's roots.
pub fn store_config(flag: Option<&str>, config: &Config) -> Result<StoreConfig> {
    let get = |name: &str| config.arm.get(name);
    let arm = Arm::new(ir_id(flag, &get)?, &get, &config.stores.azure_retry)?;
    let ir = get_ir(&arm)?;
    let mut list = stores::list(&arm, &ir)?;
    let mut vault_vars: Vec<(String, Zeroizing<String>)> = Vec::new();
    for s in &mut list {
        let Some(kv) = s.key_vault_secret.clone() else {
            continue;
        };
        let named = |var: &str| {
            config.stores.var(var).is_some_and(|v| !v.trim().is_empty())
                || vault_vars.iter().any(|(n, _)| n == var)
        };
        let env_gives = match &s.kind {
            StoreKind::AzureFiles { unc } => vault::unc_account(unc).is_some_and(|account| {
                let suffix = account_suffix(&account);
                [
                    "AZURE_STORAGE_CONNECTION_STRING",
                    "AZURE_STORAGE_KEY",
                    "AZURE_STORAGE_SAS_TOKEN",
                ]
                .iter()
                .any(|v| named(&format!("{v}_{suffix}")))
                    || config
                        .stores
                        .var("AZURE_STORAGE_ACCOUNT")
                        .is_some_and(|a| a.trim().eq_ignore_ascii_case(&account))
            }),
            StoreKind::SqlMi { .. } => {
                named("DTUTIL_STORE_SQL_USER") || named("DTUTIL_SQL_ACCESS_TOKEN")
            }
            StoreKind::Other { .. } => false,
        };
        if env_gives {
            continue;
        }
        let secret = vault::read(&arm, s, &kv)?;
        let resolved = vault::resolve(s, &kv, secret)?;
        s.kind = resolved.kind;
        let fresh: Vec<_> = resolved
            .vars
            .into_iter()
            .filter(|(name, _)| !named(name))
            .collect();
        vault_vars.extend(fresh);
    }
    let mut roots = Vec::new();
    for s in &list {
        let kind = match &s.kind {
            StoreKind::AzureFiles { unc } => RootKind::FileSystem {
                store_path: unc.clone(),
            },
            StoreKind::SqlMi { server } => RootKind::Sql {
                server: server.clone(),
            },
            StoreKind::Other { what } => {
                return Err(Error::failure(format!(
                    "package store {} of IR {} is {what} (linked service {}); dtutil reads Azure Files and Azure SQL Managed Instance stores",
                    s.name, arm.ir.name, s.linked_service
                )))
            }
        };
        roots.push(Root {
            name: s.name.clone(),
            kind,
        });
    }
    let origin = format!(
        "the package stores of Azure-SSIS IR {} (factory {})",
        arm.ir.name, arm.ir.factory
    );
    if roots.is_empty() {
        return Err(Error::failure(format!(
            "{origin}: the IR has no package stores"
        )));
    }
    let mut stores_config = config.stores.clone().with_package_store_roots(DtsConfig {
        roots,
        origin,
        builtin: false,
    });
    for (name, value) in vault_vars {
        stores_config = stores_config.with_var(&name, value);
    }
    let has_mi = list
        .iter()
        .any(|s| matches!(s.kind, StoreKind::SqlMi { .. }));
    let has_login = stores_config.var("DTUTIL_STORE_SQL_USER").is_some()
        || stores_config.var("DTUTIL_SQL_ACCESS_TOKEN").is_some();
    if has_mi && !has_login {
        // Without a SQL login the managed instance takes an Azure AD token; a credential
        // that cannot give one (an ARM-only token) leaves the msdb root to say what it
        // needs when it is used.
        if let Ok(token) = arm.credential.token(&arm.http, SQL_SCOPE) {
            stores_config = stores_config
                .with_var("DTUTIL_SQL_ACCESS_TOKEN", Zeroizing::new(token.to_string()));
        }
    }
    Ok(stores_config)
}
