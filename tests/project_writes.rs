//! `dtutil project` writes a project all or nothing, and `--out` replaces nothing unasked
//! (review: adversary F11, F12). A project half re-protected opens with no single
//! password (SSDT checks one against every file), so a write that fails part-way must
//! leave every file as it was; `--out` names a new destination, as `/COPY` without `/Q`.

mod common;

use common::{build_password_project, dir_snapshot, shown};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn dtutil(args: &[&str], file_size_limit: Option<u64>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    // RLIMIT_FSIZE is Unix's; the tests that set a limit are Unix only.
    #[cfg(not(unix))]
    assert!(file_size_limit.is_none(), "a file size limit needs Unix");
    #[cfg(unix)]
    if let Some(limit) = file_size_limit {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; the argument is a valid rlimit.
        unsafe {
            cmd.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                libc::setrlimit(libc::RLIMIT_FSIZE, &l);
                Ok(())
            });
        }
    }
    cmd.output().unwrap()
}

/// Adversary F11 with `ulimit -f` instead of a full tmpfs: the small files fit, the
/// package (118 KB) does not. Nothing may be replaced, and the same command then works.
#[cfg(unix)]
#[test]
fn a_write_that_fails_part_way_leaves_every_project_file_as_it_was() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    build_password_project(&real, &proj);
    let before = dir_snapshot(&proj);
    let p = proj.to_str().unwrap();
    let args = [
        "project",
        p,
        "--decrypt",
        "ssis123",
        "--encrypt",
        "2;pass:NEWPW",
    ];
    let out = dtutil(&args, Some(4096));
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(shown(&out).contains("nothing written"), "{}", shown(&out));
    assert_eq!(dir_snapshot(&proj), before, "a project file was replaced");
    // The very command works once there is room.
    let out = dtutil(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = dtutil(&["project", p, "--decrypt", "NEWPW"], None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}

/// SIGXFSZ does not kill dtutil mid-write (adversary F8): exit 1, no temporary file.
#[cfg(unix)]
#[test]
fn a_file_size_limit_is_a_clean_failure() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let len = std::fs::metadata(&src).unwrap().len();
    let dst = dir.path().join("copy.dtsx");
    let out = dtutil(
        &[
            "/FILE",
            src.to_str().unwrap(),
            "/COPY",
            &format!("FILE;{}", dst.display()),
        ],
        Some(len / 2),
    );
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a temporary file was left"
    );
}

/// Adversary F12: an existing .ispac or existing files in the out folder are kept
/// unless --overwrite says otherwise.
#[test]
fn out_replaces_nothing_without_overwrite() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    build_password_project(&real, &proj);
    let outdir = dir.path().join("outdir");
    std::fs::create_dir(&outdir).unwrap();
    std::fs::write(outdir.join("Project.params"), b"mine").unwrap();
    let p = proj.to_str().unwrap();
    let o = outdir.to_str().unwrap();
    let base = [
        "project",
        p,
        "--decrypt",
        "ssis123",
        "--encrypt",
        "2;pass:N",
        "--out",
        o,
    ];
    let out = dtutil(&base, None);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert!(
        shown(&out).contains("Project.params") && shown(&out).contains("--overwrite"),
        "{}",
        shown(&out)
    );
    assert_eq!(
        dir_snapshot(&outdir),
        [("Project.params".into(), b"mine".to_vec())]
    );
    let mut with = base.to_vec();
    with.push("--overwrite");
    let out = dtutil(&with, None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_ne!(
        std::fs::read(outdir.join("Project.params")).unwrap(),
        b"mine"
    );

    // An .ispac: a second project's file under the --out name is kept.
    let ispac = dir.path().join("p.ispac");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&ispac).unwrap());
        let dtproj = String::from_utf8(
            std::fs::read(
                real.join("ssisbuild_SampleSSISProject.EncryptSensitiveWithPassword.dtproj"),
            )
            .unwrap(),
        )
        .unwrap();
        let a = dtproj.find("<SSIS:Project ").unwrap();
        let b = dtproj.find("</SSIS:Project>").unwrap() + "</SSIS:Project>".len();
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("@Project.manifest", opts).unwrap();
        w.write_all(&dtproj.as_bytes()[a..b]).unwrap();
        for (name, from) in [
            (
                "Project.params",
                "ssisbuild_Project.EncryptSensitiveWithPassword.params",
            ),
            (
                "Package%20221.dtsx",
                "ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx",
            ),
        ] {
            w.start_file(name, opts).unwrap();
            w.write_all(&std::fs::read(real.join(from)).unwrap())
                .unwrap();
        }
        w.finish().unwrap();
    }
    let precious = dir.path().join("precious.ispac");
    std::fs::write(&precious, b"another project").unwrap();
    let i = ispac.to_str().unwrap();
    let pr = precious.to_str().unwrap();
    let base = [
        "project",
        i,
        "--decrypt",
        "ssis123",
        "--encrypt",
        "2;pass:N",
        "--out",
        pr,
    ];
    let out = dtutil(&base, None);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&out));
    assert_eq!(std::fs::read(&precious).unwrap(), b"another project");
    let mut with = base.to_vec();
    with.push("--overwrite");
    let out = dtutil(&with, None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_ne!(std::fs::read(&precious).unwrap(), b"another project");
}

/// Adversary2 F2: a rename that fails after some files were replaced (here an immutable
/// file, `chattr +i`: root only, so the test skips elsewhere) puts the replaced files
/// back; the project still opens with its one old password and the same command then
/// works.
#[cfg(target_os = "linux")]
#[test]
fn a_rename_that_fails_part_way_rolls_the_project_back() {
    let Some(real) = common::real_fixtures() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    build_password_project(&real, &proj);
    let locked = proj.join("db-01 msdb.conmgr");
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&locked)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !chattr("+i") {
        eprintln!("SKIPPED: chattr +i needs root and a file system that has it");
        return;
    }
    let before = dir_snapshot(&proj);
    let p = proj.to_str().unwrap();
    let args = ["project", p, "--decrypt", "ssis123", "--encrypt", "2;NEWPW"];
    let out = dtutil(&args, None);
    assert!(chattr("-i"));
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("already replaced were put back: every project file is as it was"),
        "{text}"
    );
    assert_eq!(
        dir_snapshot(&proj),
        before,
        "every file as it was, no temporary file"
    );
    let out = dtutil(&["project", p, "--decrypt", "ssis123"], None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let out = dtutil(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}
