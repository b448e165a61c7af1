//! `inspect --password` with a wrong password is exit 5 for every file that holds
//! encrypted values, packages and project files alike (review user3 F4), so a CI step
//! that checks a project's password before deploying fails on any of them.

mod common;

use common::{dtutil_clean, password_of, real_fixtures, shown};

#[test]
fn a_wrong_password_is_exit_5_for_packages_and_project_files() {
    let Some(real) = real_fixtures() else { return };
    for name in [
        "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx",
        "ssisbuild_Project.EncryptSensitiveWithPassword.params",
        "ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj",
        "ssisbuild_db-01_msdb.EncryptSensitiveWithPassword.conmgr",
    ] {
        let path = real.join(name);
        let path = path.to_str().unwrap();
        let right = password_of(std::path::Path::new(path)).unwrap();
        let o = dtutil_clean(
            &real,
            &[],
            &["inspect", "--password", right.trim_end(), path],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", shown(&o));
        for json in [false, true] {
            let mut args = vec!["inspect", "--password", "wrong-Pw-7", path];
            if json {
                args.insert(1, "--json");
            }
            let o = dtutil_clean(&real, &[], &args);
            let text = shown(&o);
            assert_eq!(o.status.code(), Some(5), "{name}: {text}");
            assert!(
                text.contains(
                    "the --password is wrong (the encrypted data does not decrypt to XML)"
                ) && !text.contains("wrong-Pw-7"),
                "{name}: {text}"
            );
        }
    }
}
