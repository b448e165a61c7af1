//! What the process environment says, read once at start-up (`app`) and passed down:
//! nothing below reads a setting from the environment on its own. (Passwords given as
//! `env:NAME` are the exception by design: they are read only when used, see
//! [`crate::ops::secrets`].)

/// Settings from the environment.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `DTUTIL_NO_PROGRESS` set (to anything): `batch` prints progress lines, never a bar.
    pub no_progress_bar: bool,
    /// What the stores are opened with (their variables, the platform folders).
    pub stores: crate::store::StoreConfig,
    /// What the Azure-SSIS IR commands read ([`crate::arm::ENV`]): the IR, ARM's
    /// endpoint and CA, the credential chain's variables.
    pub arm: ArmEnv,
}

/// The variables of [`crate::arm::ENV`] that are set. Some hold secrets, so `Debug`
/// shows only their names.
#[derive(Clone, Default)]
pub struct ArmEnv(Vec<(String, zeroize::Zeroizing<String>)>);

impl ArmEnv {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k, zeroize::Zeroizing::new(v)))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl std::fmt::Debug for ArmEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self {
            no_progress_bar: std::env::var_os("DTUTIL_NO_PROGRESS").is_some(),
            stores: crate::store::StoreConfig::from_env(),
            arm: ArmEnv::from_pairs(
                crate::arm::ENV
                    .iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))),
            ),
        }
    }
}
