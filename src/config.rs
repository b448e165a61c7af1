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
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self {
            no_progress_bar: std::env::var_os("DTUTIL_NO_PROGRESS").is_some(),
            stores: crate::store::StoreConfig::from_env(),
        }
    }
}
