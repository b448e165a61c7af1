//! Review user2 F7: `dtutil project` on a project saved with SSDT's default protection
//! (EncryptSensitiveWithUserKey, level 1). Its user-key values cannot be opened off
//! Windows; the refusal names the option that writes them blank in this command
//! (`--allow-lost-sensitive`, as `batch` and `/ENCRYPT ... /Q` take it), and that option
//! re-protects the whole project to 2 or 3, naming every value written blank.

mod common;

use common::{dtutil_clean, shown};
use dtutil::package::ProtectionLevel;
use dtutil::project::{file, Kind, ProjectError};
use std::path::Path;

fn user_key_project(real: &Path, into: &Path) {
    for (from, to) in [
        (
            "wrox_ProSSIS_Ch15.EncryptSensitiveWithUserKey.dtproj",
            "ProSSIS_Ch15.dtproj",
        ),
        (
            "wrox_WebServiceTask.EncryptSensitiveWithUserKey.fmt6.dtsx",
            "WebServiceTask.dtsx",
        ),
    ] {
        std::fs::write(into.join(to), std::fs::read(real.join(from)).unwrap()).unwrap();
    }
}

#[test]
fn a_user_key_project_is_re_protected_with_allow_lost_sensitive() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path().join("W");
    std::fs::create_dir(&w).unwrap();
    user_key_project(&real, &w);
    let before = std::fs::read(w.join("WebServiceTask.dtsx")).unwrap();

    let refused = dtutil_clean(tmp.path(), &[], &["project", "W", "--encrypt", "2;pw"]);
    let text = shown(&refused);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Add --allow-lost-sensitive to write it anyway"),
        "{text}"
    );
    // Advice this command takes: not dtutil's /Q, which `project` does not know.
    assert!(!text.contains("/Q"), "{text}");
    assert_eq!(
        std::fs::read(w.join("WebServiceTask.dtsx")).unwrap(),
        before
    );

    let done = dtutil_clean(
        tmp.path(),
        &[],
        &[
            "project",
            "W",
            "--encrypt",
            "2;pw",
            "--allow-lost-sensitive",
        ],
    );
    let text = shown(&done);
    assert_eq!(done.status.code(), Some(0), "{text}");
    assert!(
        text.contains("`WebServiceTask\\HTTP Connection Manager\\ServerPassword` was protected with a Windows user key and is written blank"),
        "{text}"
    );
    let after = std::fs::read(w.join("WebServiceTask.dtsx")).unwrap();
    let info = dtutil::package::inspect(&after, Some("pw")).unwrap();
    assert_eq!(info.protection_level, Some(2));
    assert_eq!(info.user_key, Some(0));
    // The whole project opens with the one password.
    let check = dtutil_clean(tmp.path(), &[], &["project", "W", "--decrypt", "pw"]);
    assert_eq!(check.status.code(), Some(0), "{}", shown(&check));

    let help = dtutil_clean(tmp.path(), &[], &["project", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--allow-lost-sensitive"));
}

/// A project file holding a stored user-key value: refused at a password level (the
/// message names the option), written blank with the option.
#[test]
fn a_user_key_value_in_a_project_file_is_written_blank_when_allowed() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let params = std::fs::read(real.join("wwi_Project.DontSaveSensitive.params")).unwrap();
    let t = String::from_utf8(params).unwrap().replacen(
        "SSIS:Sensitive=\"1\"></SSIS:Property>",
        "SSIS:Sensitive=\"1\">AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAA</SSIS:Property>",
        1,
    );
    let two = ProtectionLevel::EncryptSensitiveWithPassword;
    let e = file::reprotect(t.as_bytes(), Kind::Params, None, two, Some("x")).unwrap_err();
    assert!(matches!(e, ProjectError::UserKey(_)), "{e}");
    assert!(e.to_string().contains("--allow-lost-sensitive"), "{e}");
    for level in [two, ProtectionLevel::EncryptAllWithPassword] {
        let r =
            file::reprotect_allowing_lost(t.as_bytes(), Kind::Params, None, level, Some("x"), true)
                .unwrap();
        assert_eq!(r.lost_values.len(), 1);
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(!text.contains("AQAAANCMnd8"), "{text}");
        let opened = file::open(&r.bytes, Kind::Params, Some("x")).unwrap();
        assert_eq!(opened.level, level);
    }
}
