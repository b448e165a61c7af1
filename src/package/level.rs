//! SSIS protection levels (SPEC 3): owned here, next to the code that reads and writes
//! them in packages; project files and the command line use the same type.

use serde::Serialize;
use std::fmt;

/// SSIS protection levels (SPEC 3), by their numbers as dtutil takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum ProtectionLevel {
    DontSaveSensitive = 0,
    EncryptSensitiveWithUserKey = 1,
    EncryptSensitiveWithPassword = 2,
    EncryptAllWithPassword = 3,
    EncryptAllWithUserKey = 4,
    ServerStorage = 5,
}

impl ProtectionLevel {
    pub fn from_number(n: u32) -> Option<Self> {
        Some(match n {
            0 => Self::DontSaveSensitive,
            1 => Self::EncryptSensitiveWithUserKey,
            2 => Self::EncryptSensitiveWithPassword,
            3 => Self::EncryptAllWithPassword,
            4 => Self::EncryptAllWithUserKey,
            5 => Self::ServerStorage,
            _ => return None,
        })
    }

    /// Project files (.dtproj) spell the level by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all()
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name))
    }

    pub fn all() -> [Self; 6] {
        [
            Self::DontSaveSensitive,
            Self::EncryptSensitiveWithUserKey,
            Self::EncryptSensitiveWithPassword,
            Self::EncryptAllWithPassword,
            Self::EncryptAllWithUserKey,
            Self::ServerStorage,
        ]
    }

    pub fn number(self) -> u32 {
        self as u32
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::DontSaveSensitive => "DontSaveSensitive",
            Self::EncryptSensitiveWithUserKey => "EncryptSensitiveWithUserKey",
            Self::EncryptSensitiveWithPassword => "EncryptSensitiveWithPassword",
            Self::EncryptAllWithPassword => "EncryptAllWithPassword",
            Self::EncryptAllWithUserKey => "EncryptAllWithUserKey",
            Self::ServerStorage => "ServerStorage",
        }
    }

    /// Levels whose writing needs a password.
    pub fn needs_password(self) -> bool {
        matches!(
            self,
            Self::EncryptSensitiveWithPassword | Self::EncryptAllWithPassword
        )
    }

    /// Levels protected by Windows DPAPI, which cannot be opened or written off Windows.
    pub fn is_user_key(self) -> bool {
        matches!(
            self,
            Self::EncryptSensitiveWithUserKey | Self::EncryptAllWithUserKey
        )
    }
}

impl fmt::Display for ProtectionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.name())
    }
}

/// The scan knows SSIS's names by their prefix `DTS:`, so SSIS's namespace must have no
/// other name: a second prefix for it (`xmlns:Q=`, or the default namespace) would let
/// `Q:ProtectionLevel="5"` say to SSIS what dtutil does not read. Such a package is
/// refused as unreadable.
pub(super) fn check_dts_binding(key: &[u8], value: &[u8]) -> Result<(), String> {
    if key == b"xmlns:DTS" {
        return Ok(());
    }
    let is_dts = if value.contains(&b'&') {
        super::xml::unescape(value) == super::scan::DTS_NS
    } else {
        value == super::scan::DTS_NS.as_bytes()
    };
    if !is_dts {
        return Ok(());
    }
    Err(format!(
        "`{}` gives SSIS's namespace a second name; dtutil reads SSIS's names by the prefix DTS only, so it cannot read this package as SSIS would",
        String::from_utf8_lossy(key)
    ))
}
