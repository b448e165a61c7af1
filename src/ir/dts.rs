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
use crate::plan::ir::PackageRef;
use crate::store::azfiles::account_suffix;
use crate::store::dts::{DtsConfig, Root, RootAccess, RootKind};
use crate::store::{SqlCredentials, Store as _, StoreConfig};

/// Whether the environment names a credential for this store (then its Key Vault
/// secret is left unread).
fn env_gives(kind: &StoreKind, env: &StoreConfig) -> bool {
    let named = |var: &str| env.var(var).is_some_and(|v| !v.trim().is_empty());
    match kind {
        StoreKind::AzureFiles { unc } => vault::unc_account(unc).is_some_and(|account| {
            let suffix = account_suffix(&account);
            [
                "AZURE_STORAGE_CONNECTION_STRING",
                "AZURE_STORAGE_KEY",
                "AZURE_STORAGE_SAS_TOKEN",
            ]
            .iter()
            .any(|v| named(&format!("{v}_{suffix}")))
                || env
                    .var("AZURE_STORAGE_ACCOUNT")
                    .is_some_and(|a| a.trim().eq_ignore_ascii_case(&account))
        }),
        StoreKind::SqlMi { .. } => {
            named("DTUTIL_STORE_SQL_USER") || named("DTUTIL_SQL_ACCESS_TOKEN")
        }
        StoreKind::Other { .. } => false,
    }
}

/// Why a store whose Key Vault secret could not be read cannot be used: `why` names
/// the secret and the vault (never a value); the fix is to let the credential read it,
/// or to give the store's credential in the environment instead.
fn unreadable(store: &stores::PackageStore, why: &str) -> String {
    let instead = match &store.kind {
        StoreKind::AzureFiles { unc } => match vault::unc_account(unc) {
            Some(account) => format!(
                "AZURE_STORAGE_KEY_{0} (or AZURE_STORAGE_SAS_TOKEN_{0})",
                account_suffix(&account)
            ),
            None => "AZURE_STORAGE_KEY_<ACCOUNT>".into(),
        },
        StoreKind::SqlMi { .. } => "DTUTIL_STORE_SQL_USER and DTUTIL_STORE_SQL_PASSWORD".into(),
        StoreKind::Other { .. } => "its credential".into(),
    };
    format!(
        "package store {} cannot be used: its linked service {} keeps its credential in Key Vault, which could not be read: {why}. Let the credential dtutil signs in with read that secret, or set {instead} in the environment for this store; the other package stores are not affected",
        store.name, store.linked_service
    )
}

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
    store_config_of(&arm, &ir, config)
}

/// Whether the package a run names is there, read as `/DTS ... /EXISTS` (or
/// `/FILE ... /EXISTS` for an Azure Files path) reads it. `None` when dtutil cannot
/// tell (another file share, which the IR reaches with its own access) and `Err` when
/// the store could not be read (no credential here, unreachable): the IR's own
/// credentials may still reach it.
pub fn package_exists(
    arm: &Arm,
    ir: &serde_json::Value,
    config: &Config,
    package: &PackageRef,
) -> Result<Option<bool>> {
    let store_error = |e: crate::store::StoreError| Error::failure(e.to_string());
    match package {
        PackageRef::Store(path) => {
            let stores = store_config_of(arm, ir, config)?;
            let store = crate::store::dts::open(&SqlCredentials::default(), &stores)
                .map_err(store_error)?;
            store.exists(path).map(Some).map_err(store_error)
        }
        PackageRef::File(path) if super::activity::azure_files_path(path).is_some() => {
            let store = crate::store::azfiles::open(path, &config.stores).map_err(store_error)?;
            store.exists(path).map(Some).map_err(store_error)
        }
        PackageRef::File(_) => Ok(None),
    }
}

/// [`store_config`] for an IR already read.
fn store_config_of(arm: &Arm, ir: &serde_json::Value, config: &Config) -> Result<StoreConfig> {
    let list = stores::list(arm, ir)?;
    let mut roots = Vec::new();
    for mut s in list {
        let mut access = RootAccess::default();
        if let Some(kv) = s.key_vault_secret.clone() {
            if !env_gives(&s.kind, &config.stores) {
                // Read now, but a failure is this store's alone: said by the commands
                // that use it, while the other stores work.
                match vault::read(arm, &s, &kv).and_then(|secret| vault::resolve(&s, &kv, secret)) {
                    Ok(resolved) => {
                        s.kind = resolved.kind;
                        access.vars = resolved.vars;
                    }
                    Err(e) => access.unavailable = Some(unreadable(&s, &e.to_string())),
                }
            }
        }
        let kind = match &s.kind {
            StoreKind::AzureFiles { unc } => RootKind::FileSystem {
                store_path: unc.clone(),
            },
            StoreKind::SqlMi { server } => RootKind::Sql {
                server: server.clone(),
            },
            // Only the unreadable secret would have said where the store is: never
            // opened (`unavailable` is said first), so any kind serves.
            StoreKind::Other { .. } if access.unavailable.is_some() => RootKind::FileSystem {
                store_path: String::new(),
            },
            StoreKind::Other { what } => {
                return Err(Error::failure(format!(
                    "package store {} of IR {} is {what} (linked service {}); dtutil reads Azure Files and Azure SQL Managed Instance stores",
                    s.name, arm.ir.name, s.linked_service
                )))
            }
        };
        roots.push((
            Root {
                name: s.name.clone(),
                kind,
                access,
            },
            matches!(s.kind, StoreKind::SqlMi { .. }),
        ));
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
    // A managed instance without a SQL login of its own (or in the environment) takes
    // an Azure AD token; a credential that cannot give one (an ARM-only token) leaves
    // the msdb root to say what it needs when it is used.
    let env_login = config.stores.var("DTUTIL_STORE_SQL_USER").is_some()
        || config.stores.var("DTUTIL_SQL_ACCESS_TOKEN").is_some();
    let wants_token = !env_login
        && roots.iter().any(|(root, is_mi)| {
            *is_mi
                && root.access.unavailable.is_none()
                && !root
                    .access
                    .vars
                    .iter()
                    .any(|(name, _)| name == "DTUTIL_STORE_SQL_USER")
        });
    let mut stores_config = config.stores.clone().with_package_store_roots(DtsConfig {
        roots: roots.into_iter().map(|(root, _)| root).collect(),
        origin,
        builtin: false,
    });
    if wants_token {
        if let Ok(token) = arm.credential.token(&arm.http, SQL_SCOPE) {
            stores_config = stores_config
                .with_var("DTUTIL_SQL_ACCESS_TOKEN", Zeroizing::new(token.to_string()));
        }
    }
    Ok(stores_config)
}
