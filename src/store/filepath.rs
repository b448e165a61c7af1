//! FILE paths as Windows scripts write them, resolved before any store opens them:
//! `\` separates parts on every OS, `.\` and `..\` are relative, a drive letter maps
//! through `DTUTIL_DRIVE_<LETTER>` (a local folder or an Azure Files share path), and a
//! UNC path names an Azure Files share or nothing this platform can open.

use super::azfiles::is_azure_files_path;
use super::StoreConfig;
use std::path::PathBuf;

/// The variable that maps a drive letter.
pub fn drive_variable(letter: char) -> String {
    format!("DTUTIL_DRIVE_{}", letter.to_ascii_uppercase())
}

/// The path a FILE path names on this machine: an Azure Files path (kept as given, its
/// own store reads it), or a local path with native separators. `Err` is a
/// command-line error (exit 6): an unmapped drive letter, a UNC path that is not Azure
/// Files, or `..` above a drive's root.
pub fn resolve_file_path(path: &str, config: &StoreConfig) -> Result<String, String> {
    if is_azure_files_path(path) || cfg!(windows) {
        return Ok(path.to_string());
    }
    if path.starts_with("\\\\") || path.starts_with("//") {
        return Err(format!(
            "FILE path `{path}` is a UNC path to a Windows share, which this platform cannot open; mount the share and give its local path, or map a drive letter to it with {} (a local folder or an Azure Files share `\\\\ACCOUNT.file.core.windows.net\\SHARE`)",
            drive_variable('Z')
        ));
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        let letter = bytes[0] as char;
        refuse_drive_relative(path, letter)?;
        let variable = drive_variable(letter);
        let root = config.var(&variable).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            format!(
                "FILE path `{path}` is on drive {}:, which is not mapped here; set {variable} to the local folder (or the Azure Files share path `\\\\ACCOUNT.file.core.windows.net\\SHARE`) that stands for it",
                letter.to_ascii_uppercase()
            )
        })?;
        check_drive_root(letter, &variable, &root)?;
        let parts = below_root(&path[2..]).ok_or_else(|| {
            format!(
                "FILE path `{path}`: `..` would leave drive {}:",
                letter.to_ascii_uppercase()
            )
        })?;
        return Ok(if is_azure_files_path(&root) {
            super::path::join_all(&root, parts.iter().map(String::as_str))
        } else {
            let mut local = PathBuf::from(root);
            local.extend(&parts);
            local.display().to_string()
        });
    }
    Ok(path.replace('\\', "/"))
}

/// `C:name` with no separator after the colon is, here, almost surely a Windows path
/// whose backslashes an unquoted bash argument ate (`C:\\myPackages\\new.dtsx` arrives
/// as `C:myPackagesnew.dtsx`); cmd's per-drive current folder does not exist here, so
/// taking it from the drive's root wrote a misnamed package (review user3 F11).
fn refuse_drive_relative(path: &str, letter: char) -> Result<(), String> {
    let rest = &path[2..];
    if rest.is_empty() || rest.starts_with(['\\', '/']) {
        return Ok(());
    }
    let drive = letter.to_ascii_uppercase();
    Err(format!(
        "FILE path `{path}` has no `\\` after `{drive}:`: the shell probably removed the backslashes of an unquoted Windows path (bash reads C:\\myPackages\\new.dtsx as C:myPackagesnew.dtsx); quote the path in single quotes, as in '{drive}:\\Folder\\Package.dtsx' (a path relative to a drive's current folder has no meaning here); nothing was done"
    ))
}

/// A drive's mapping must be something this platform opens: an Azure Files share or a
/// local folder. `net use Z: \\fileserver\share` copied over as the value, or another
/// drive letter, would otherwise be taken as a relative folder named with backslashes
/// (review user F16).
fn check_drive_root(letter: char, variable: &str, root: &str) -> Result<(), String> {
    if is_azure_files_path(root) {
        return Ok(());
    }
    let drive = letter.to_ascii_uppercase();
    if root.starts_with("\\\\") || root.starts_with("//") {
        return Err(format!(
            "{variable} maps drive {drive}: to a UNC path of a Windows share, which this platform cannot open; mount the share (for example with mount -t cifs) and set {variable} to the mount point, or to an Azure Files share path `\\\\ACCOUNT.file.core.windows.net\\SHARE`"
        ));
    }
    let bytes = root.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(format!(
            "{variable} maps drive {drive}: to another drive path; set it to the local folder that stands for the drive (for example /mnt/{}) or an Azure Files share path",
            drive.to_ascii_lowercase()
        ));
    }
    Ok(())
}

/// The names below a drive's root (`\a\.\b\..\c` gives `a`, `c`); `None` when `..`
/// climbs above it.
fn below_root(rest: &str) -> Option<Vec<String>> {
    let mut parts: Vec<String> = Vec::new();
    for name in rest.split(['\\', '/']) {
        match name {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(name.to_string()),
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn config(pairs: &[(&str, &str)]) -> StoreConfig {
        StoreConfig::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
    }

    #[test]
    fn backslashes_dots_and_drive_letters() {
        let c = config(&[
            ("DTUTIL_DRIVE_Z", "/mnt/z"),
            ("DTUTIL_DRIVE_Y", r"\\acct.file.core.windows.net\share\base"),
        ]);
        let r = |p: &str| resolve_file_path(p, &c);
        assert_eq!(r(r".\Pkg.dtsx").unwrap(), "./Pkg.dtsx");
        assert_eq!(r(r"..\up\Pkg.dtsx").unwrap(), "../up/Pkg.dtsx");
        assert_eq!(r("/abs/p.dtsx").unwrap(), "/abs/p.dtsx");
        assert_eq!(r(r"Z:\pkgs\a.dtsx").unwrap(), "/mnt/z/pkgs/a.dtsx");
        assert_eq!(r(r"z:\pkgs\.\x\..\a.dtsx").unwrap(), "/mnt/z/pkgs/a.dtsx");
        // Review user3 F11: no drive-relative paths (the shell ate the backslashes).
        assert!(r("Z:a.dtsx").unwrap_err().contains("quote the path"));
        assert_eq!(r("Z:/a.dtsx").unwrap(), "/mnt/z/a.dtsx");
        assert_eq!(
            r(r"Y:\F\a.dtsx").unwrap(),
            r"\\acct.file.core.windows.net\share\base\F\a.dtsx"
        );
        let az = r"\\acct.file.core.windows.net\share\p.dtsx";
        assert_eq!(r(az).unwrap(), az);
        assert!(r(r"C:\x.dtsx").unwrap_err().contains("DTUTIL_DRIVE_C"));
        assert!(r(r"\\fs02\sqlbackup$\x.dtsx").unwrap_err().contains("UNC"));
        assert!(r(r"Z:\..\x.dtsx").unwrap_err().contains("leave drive Z:"));
        assert!(config(&[("DTUTIL_DRIVE_Z", "")])
            .var("DTUTIL_DRIVE_Z")
            .is_some());
        assert!(resolve_file_path(r"Z:\a", &config(&[("DTUTIL_DRIVE_Z", "")])).is_err());
    }

    /// Review user F16: what `net use Z:` shows is not a folder name.
    #[test]
    fn a_drive_mapped_to_a_windows_share_or_drive_is_refused() {
        for (value, says) in [
            (r"\\fs02\share", "UNC path"),
            ("//fs02/share", "UNC path"),
            (r"Z:\", "another drive path"),
            (r"C:\pkgs", "another drive path"),
        ] {
            let e =
                resolve_file_path(r"Z:\x.dtsx", &config(&[("DTUTIL_DRIVE_Z", value)])).unwrap_err();
            assert!(e.contains("DTUTIL_DRIVE_Z maps drive Z:"), "{e}");
            assert!(e.contains(says), "{e}");
        }
        let e = resolve_file_path(
            r"Z:\x.dtsx",
            &config(&[("DTUTIL_DRIVE_Z", r"\\fs02\share")]),
        )
        .unwrap_err();
        assert!(e.contains("mount point"), "{e}");
        for azure in [
            r"\\acct.file.core.windows.net\share\sub\",
            "//acct.file.core.windows.net/share",
        ] {
            let c = config(&[("DTUTIL_DRIVE_Z", azure)]);
            assert!(resolve_file_path(r"Z:\x.dtsx", &c).is_ok(), "{azure}");
        }
    }
}
