//! Two `dtutil project` runs on one project at once: the second is refused (exit 1,
//! nothing written) instead of interleaving its renames with the first's and leaving
//! files with two passwords (review adversary2 F9).

mod common;

use common::{build_password_project, dir_snapshot, dtutil_clean as run, shown};

#[test]
fn a_project_being_rewritten_is_refused_to_a_second_writer() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("pr");
    build_password_project(&real, &project);
    let before = dir_snapshot(&project);
    let encrypt = [
        "project",
        "pr",
        "--decrypt",
        "ssis123",
        "--encrypt",
        "2;pass:PWA",
    ];

    // Another run holds the project (as a run in progress does).
    let held = std::fs::File::open(&project).unwrap();
    fs4::FileExt::try_lock(&held).unwrap();
    for args in [encrypt.to_vec(), {
        let mut a = encrypt.to_vec();
        a[1] = "pr/SampleSSISProject.dtproj";
        a
    }] {
        let out = run(dir.path(), &[], &args);
        assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
        assert!(
            shown(&out).contains("another dtutil project run"),
            "{}",
            shown(&out)
        );
        assert_eq!(dir_snapshot(&project), before, "nothing written");
    }
    // Checking (no --encrypt) and a dry run write nothing and need no lock.
    let out = run(dir.path(), &[], &["project", "pr", "--decrypt", "ssis123"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    // Unlocked explicitly: a child another test forks meanwhile holds a copy of the
    // handle until its exec, which would keep a lock that is only dropped.
    fs4::FileExt::unlock(&held).unwrap();
    drop(held);
    let out = run(dir.path(), &[], &encrypt);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

#[test]
fn two_runs_at_once_leave_one_password() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_dtutil");
    for trial in 0..4 {
        let project = dir.path().join(format!("pr{trial}"));
        build_password_project(&real, &project);
        let name = project.to_str().unwrap();
        let spawn = |password: &str| {
            std::process::Command::new(bin)
                .args(["project", name, "--decrypt", "ssis123", "--encrypt"])
                .arg(format!("2;pass:{password}"))
                .stdin(std::process::Stdio::null())
                .output()
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| spawn("PWA").unwrap());
            let b = s.spawn(|| spawn("PWB").unwrap());
            (a.join().unwrap(), b.join().unwrap())
        });
        // Whichever runs wrote, the project opens with one password.
        let opens = |password: &str| {
            run(dir.path(), &[], &["project", name, "--decrypt", password])
                .status
                .success()
        };
        assert!(
            opens("PWA") || opens("PWB"),
            "trial {trial}: mixed passwords\n{}\n{}",
            shown(&a),
            shown(&b)
        );
        assert!(a.status.success() || b.status.success());
    }
}

#[test]
fn an_ispac_being_rewritten_is_refused_to_a_second_writer() {
    // The lock is taken before the .ispac is read: its content does not matter here.
    let dir = tempfile::tempdir().unwrap();
    let ispac = dir.path().join("p.ispac");
    std::fs::write(&ispac, b"PK\x03\x04 held by another run").unwrap();
    let before = std::fs::read(&ispac).unwrap();
    let held = std::fs::File::open(&ispac).unwrap();
    fs4::FileExt::try_lock(&held).unwrap();
    let out = run(
        dir.path(),
        &[],
        &["project", "p.ispac", "--encrypt", "2;pass:PWA"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        shown(&out).contains("another dtutil project run"),
        "{}",
        shown(&out)
    );
    assert_eq!(std::fs::read(&ispac).unwrap(), before);
}
