//! Parsers for option values that several commands share: the one protection-level
//! parser ([`protection`]), `--encrypt LEVEL[;PASSWORD]`, `--target-version` and
//! `--algorithm`.

use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use crate::plan::{LocationKind, SecretSpec, SqlConnection};
use crate::store::path as store_path;

/// Why a protection level was refused. Each option words it for its own syntax, and
/// decides for itself whether level 5 fits its destination.
pub(super) enum LevelError {
    /// Not a number 0-5.
    NotALevel,
    /// 1 or 4: needs Windows DPAPI, which is not available here.
    UserKey(ProtectionLevel),
    /// 2 or 3 without a password.
    NeedsPassword(ProtectionLevel),
}

/// The protection-level parser of every command: `level` as typed (`2`), `password`
/// the part given with it (empty is none, read later: `env:NAME`, `file:PATH` or the
/// text).
pub(super) fn protection(
    level: &str,
    password: Option<&str>,
) -> std::result::Result<(ProtectionLevel, Option<SecretSpec>), LevelError> {
    let level = level
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(ProtectionLevel::from_number)
        .ok_or(LevelError::NotALevel)?;
    if level.is_user_key() {
        return Err(LevelError::UserKey(level));
    }
    let password = password.filter(|p| !p.is_empty()).map(SecretSpec::parse);
    if level.needs_password() && password.is_none() {
        return Err(LevelError::NeedsPassword(level));
    }
    Ok((level, password))
}

/// `--encrypt LEVEL[;PASSWORD]` of the subcommands (`project`, `batch`): the level
/// checked (DPAPI levels explained), an empty password taken as none, and a password
/// required where the level needs one. Whether level 5 fits is the caller's call.
pub(super) fn encrypt_spec(spec: &str) -> Result<(ProtectionLevel, Option<SecretSpec>)> {
    let (level, password) = match spec.split_once(';') {
        Some((l, p)) => (l, Some(p)),
        None => (spec, None),
    };
    protection(level, password).map_err(|e| match e {
        // A number is safe to show; anything else may be a password typed where the
        // level goes (`--encrypt Secret` for `--encrypt "2;Secret"`), so it is not shown.
        LevelError::NotALevel if level.len() <= 3 && level.bytes().all(|b| b.is_ascii_digit()) => {
            Error::command_line(format!(
                "--encrypt: `{level}` is not a protection level (0, 2, 3, or 5 for msdb)"
            ))
        }
        LevelError::NotALevel => Error::command_line(
            "--encrypt: the value does not start with a protection level (0, 2, 3, or 5 for msdb); it is not shown, as it may be a password: write --encrypt \"LEVEL;PASSWORD\" (or env:NAME / file:PATH for the password)",
        ),
        LevelError::UserKey(level) => Error::command_line(format!(
            "--encrypt: protection level {level} needs Windows DPAPI (a Windows user's key), which is not available here; use 2 or 3 with a password"
        )),
        LevelError::NeedsPassword(level) => Error::command_line(format!(
            "--encrypt: protection level {level} needs a password: --encrypt \"{};PASSWORD\" (or env:NAME / file:PATH)",
            level.number()
        )),
    })
}

/// A SQL login name (`/SourceUser`, `--source-user`, `--sql-user`): one holding a
/// connection string's secret (`etl;Password=...`, pasted whole) is refused before
/// anything connects, and not shown: the server would echo it in "login failed for
/// user", which lands in logs, as a server name with the same text is refused.
pub(super) fn login_name(option: &str, user: Option<&str>) -> Result<()> {
    match user {
        Some(user) if SqlConnection::login_holds_a_secret(user) => Err(Error::command_line(format!(
            "{option} `{}`: a password or connection-string setting in the login name is not supported (it would show in process lists and logs); give the login alone and its password with the matching password option, as env:NAME or file:PATH",
            SqlConnection::login_shown(user)
        ))),
        _ => Ok(()),
    }
}

/// `--target-version YEAR`: a SQL Server release with an SSIS runtime.
pub(super) fn target_year(value: &str) -> Result<u32> {
    crate::package::target::Runtime::parse(value)
        .map(|r| r.year)
        .ok_or_else(|| {
            Error::command_line(format!(
                "--target-version `{value}` is not a release: use 2012, 2014, 2016, 2017, 2019 or 2022"
            ))
        })
}

/// A number of bytes as `option` takes it: digits, then K, M or G (binary: 1K is
/// 1024; `MB`, `MiB` and lower case too).
pub(super) fn byte_size(option: &str, value: &str) -> Result<u64> {
    let t = value.trim();
    let at = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(at);
    let unit = unit.trim().to_ascii_uppercase();
    let shift = match unit
        .strip_suffix("IB")
        .or(unit.strip_suffix('B'))
        .unwrap_or(&unit)
    {
        "" => Some(0),
        "K" => Some(10),
        "M" => Some(20),
        "G" => Some(30),
        _ => None,
    };
    shift
        .and_then(|shift| digits.parse::<u64>().ok()?.checked_mul(1 << shift))
        .ok_or_else(|| {
            Error::command_line(format!(
                "{option} `{value}` is not a size: give bytes, or a number with K, M or G (256M, 1G)"
            ))
        })
}

/// `--algorithm 3des|aes256`.
pub(super) fn algorithm_name(name: &str) -> Result<Algorithm> {
    Algorithm::parse(name).ok_or_else(|| {
        Error::command_line(format!(
            "--algorithm `{name}` is not known: use 3des or aes256"
        ))
    })
}

/// The store path check of every command line, `store::path`'s (the stores apply it
/// again): `.` and `..` are refused, blanks around them aside, with exit 6; empty names
/// (doubled separators) are skipped. Returns the path's names.
pub(super) fn store_path_names(
    option: &str,
    kind: LocationKind,
    path: &str,
) -> Result<Vec<String>> {
    store_path::split(path).map_err(|e| {
        Error::command_line(format!(
            "{option}: {e} in {} paths (store paths never escape their root)",
            kind.keyword()
        ))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_sizes() {
        let size = |v: &str| super::byte_size("--in-flight-bytes", v).ok();
        assert_eq!(size("1000"), Some(1000));
        assert_eq!(size("64K"), Some(64 << 10));
        assert_eq!(size("256M"), Some(256 << 20));
        assert_eq!(size("2GiB"), Some(2 << 30));
        assert_eq!(size("1 mb"), Some(1 << 20));
        for bad in [
            "",
            "M",
            "1T",
            "-1",
            "1.5G",
            "99999999999999999999",
            "20000000000G",
        ] {
            assert_eq!(size(bad), None, "{bad}");
        }
    }
}
