//! What the stores are configured with, read from the environment once at start-up
//! ([`StoreConfig::from_env`]) and passed to [`super::open`]; no backend reads the
//! process environment itself.
//!
//! Settings are kept as the text they were given and parsed by the backend that uses
//! them, when it opens: a bad `DTUTIL_SQL_CONNECT_TIMEOUT` fails an msdb command, not a
//! FILE copy that never connects.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Variables with these prefixes configure a store (docs/msdb.md, docs/azure-files.md,
/// SPEC 2 for the package store).
const PREFIXES: [&str; 2] = ["DTUTIL_", "AZURE_STORAGE_"];

/// The package store's configuration file, when given.
const ENV_PACKAGE_STORE_FILE: &str = "DTUTIL_STORE_CONFIG";

#[derive(Clone, Default)]
pub struct StoreConfig {
    /// The store variables as given (values may be keys and passwords: wiped on drop,
    /// never shown by `Debug`).
    vars: BTreeMap<String, Zeroizing<String>>,
    /// The package store's `MsDtsSrvr.ini.xml` (`--store-config`, `DTUTIL_STORE_CONFIG`).
    pub package_store_file: Option<PathBuf>,
    /// The per-user package store configuration, read when it exists and no file is given.
    pub default_package_store_file: PathBuf,
    /// The built-in package store's `File System` directory.
    pub default_packages_dir: PathBuf,
    /// The package store's roots given whole (an Azure-SSIS IR's package stores with
    /// `--ir`): used instead of any configuration file.
    pub package_store_roots: Option<super::dts::DtsConfig>,
    /// `DTUTIL_AZURE_RETRIES` / `_RETRY_DELAY_MS` / `_TIMEOUT`, parsed once here for
    /// every Azure client (the Azure Files store, ARM).
    pub azure_retry: crate::retry::RetrySettings,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("package_store_file", &self.package_store_file)
            .field(
                "default_package_store_file",
                &self.default_package_store_file,
            )
            .field("default_packages_dir", &self.default_packages_dir)
            .field("package_store_roots", &self.package_store_roots)
            .field("azure_retry", &self.azure_retry)
            .finish()
    }
}

impl StoreConfig {
    /// Reads the store variables and the platform folders from the process environment.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars_os())
    }

    /// A configuration from the given variables (tests, embedders); the platform
    /// folders are this user's.
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let mut config = Self {
            default_package_store_file: super::dts::default_config_file(),
            default_packages_dir: super::dts::default_packages_dir(),
            ..Self::default()
        };
        for (name, value) in vars {
            let Some(name) = name.to_str() else { continue };
            if !PREFIXES.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            if name == ENV_PACKAGE_STORE_FILE && !value.is_empty() {
                config.package_store_file = Some(PathBuf::from(&value));
            }
            // A value that is not UTF-8 counts as unset, as `std::env::var` has it.
            if let Ok(value) = value.into_string() {
                config.vars.insert(name.to_string(), Zeroizing::new(value));
            }
        }
        config.azure_retry = crate::retry::RetrySettings::from_vars(&|k| config.var(k));
        config
    }

    /// `--store-config`: the package store's configuration file, over the environment's.
    pub fn with_package_store_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.package_store_file = Some(path.into());
        self
    }

    /// The package store's roots, instead of its configuration file (`--ir`).
    pub fn with_package_store_roots(mut self, roots: super::dts::DtsConfig) -> Self {
        self.package_store_roots = Some(roots);
        self
    }

    /// Sets a store variable (a credential found elsewhere than in the environment: an
    /// Azure AD token for an IR's SQL Managed Instance).
    pub fn with_var(mut self, name: &str, value: Zeroizing<String>) -> Self {
        self.vars.insert(name.to_string(), value);
        self
    }

    /// A store variable as given (`None` when unset).
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|v| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn keeps_store_variables_only_and_hides_values() {
        let c = StoreConfig::from_vars(vars(&[
            ("AZURE_STORAGE_KEY", "c2VjcmV0"),
            ("DTUTIL_STORE_CONFIG", "/etc/dtutil/MsDtsSrvr.ini.xml"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(c.var("AZURE_STORAGE_KEY").as_deref(), Some("c2VjcmV0"));
        assert_eq!(c.var("PATH"), None);
        assert_eq!(
            c.package_store_file,
            Some(PathBuf::from("/etc/dtutil/MsDtsSrvr.ini.xml"))
        );
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
        let c = c.with_package_store_file("cfg.xml");
        assert_eq!(c.package_store_file, Some(PathBuf::from("cfg.xml")));
    }
}
