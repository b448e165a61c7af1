//! The failure table: bad input gets the right exit code and a message that names the
//! problem; no destination file appears and the source is unchanged.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const CLEAR8: &str = r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:DTSID="{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:ObjectName="Clear"
  DTS:PackageType="5"
  DTS:ProtectionLevel="5">
  <DTS:Property DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers><DTS:ConnectionManager DTS:ObjectName="C"><DTS:ObjectData><DTS:ConnectionManager>
    <DTS:Password DTS:Name="Password" Sensitive="1">hunter2</DTS:Password>
  </DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager></DTS:ConnectionManagers>
</DTS:Executable>
"#;

fn dtutil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dtutil"))
}

struct Case {
    name: &'static str,
    args: Vec<String>,
    exit: i32,
    /// Substrings the error output must contain (case-insensitive).
    message: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
}

struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        w.write("clear.dtsx", CLEAR8.as_bytes());
        let l2 = run_ok(&[
            "/FILE",
            &w.p("clear.dtsx"),
            "/ENCRYPT",
            &format!("FILE;{};2;right", w.p("l2.dtsx")),
        ]);
        drop(l2);
        run_ok(&[
            "/FILE",
            &w.p("clear.dtsx"),
            "/ENCRYPT",
            &format!("FILE;{};3;right", w.p("l3.dtsx")),
        ]);
        let l2 = std::fs::read_to_string(w.path("l2.dtsx")).unwrap();
        // Damaged variants of the level 2 package.
        let cv_start = l2.find("<CipherValue>").unwrap() + "<CipherValue>".len();
        let cv_end = l2.find("</CipherValue>").unwrap();
        let mut truncated = l2.clone();
        truncated.replace_range(cv_start + 8..cv_end, "AAAA");
        w.write("truncated.dtsx", truncated.as_bytes());
        let mut bad_b64 = l2.clone();
        bad_b64.replace_range(cv_start..cv_start + 4, "!!!!");
        w.write("badbase64.dtsx", bad_b64.as_bytes());
        w.write(
            "unknowncipher.dtsx",
            l2.replace("tripledes-cbc", "rot13-cbc").as_bytes(),
        );
        let iv_attr = l2.find(" IV=\"").unwrap() + 5;
        let iv_end = iv_attr + l2[iv_attr..].find('"').unwrap();
        let mut bad_iv = l2.clone();
        bad_iv.replace_range(iv_attr..iv_end, "AAAA");
        w.write("badiv.dtsx", bad_iv.as_bytes());
        w.write("malformed.dtsx", b"<?xml version=\"1.0\"?>\n<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\">\n<a></b>\n</DTS:Executable>");
        w.write("dtd.dtsx", b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\">&e;</DTS:Executable>");
        w.write("bomb.dtsx", b"<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\">&lol9;</DTS:Executable>");
        w.write("utf8.dtsx", b"<DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:ObjectName=\"\xff\xfe\"></DTS:Executable>");
        w.write(
            "midbom.dtsx",
            CLEAR8
                .replace(
                    "<DTS:ConnectionManagers>",
                    "\u{feff}<DTS:ConnectionManagers>",
                )
                .as_bytes(),
        );
        w.write("empty.dtsx", b"");
        w.write(
            "deep.dtsx",
            format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000)).as_bytes(),
        );
        w.write("notpkg.dtsx", b"<?xml version=\"1.0\"?><SSIS:Parameters xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\"/>");
        w.write(
            "twolevels.dtsx",
            CLEAR8
                .replace(
                    "DTS:PackageType=\"5\"",
                    "DTS:PackageType=\"5\" DTS:ProtectionLevel=\"2\"",
                )
                .as_bytes(),
        );
        w.write("twoprops.dtsx", b"<?xml version=\"1.0\"?><DTS:Executable xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:ExecutableType=\"SSIS.Package.2\"><DTS:Property DTS:Name=\"PackageFormatVersion\">3</DTS:Property><DTS:Property DTS:Name=\"ProtectionLevel\">0</DTS:Property><DTS:Property DTS:Name=\"ProtectionLevel\">2</DTS:Property></DTS:Executable>");
        w.write(
            "level9.dtsx",
            CLEAR8
                .replace("DTS:ProtectionLevel=\"5\"", "DTS:ProtectionLevel=\"9\"")
                .as_bytes(),
        );
        w.write("existing.dtsx", b"old content");
        w
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }
    fn out(&self) -> String {
        self.p("out/result.dtsx")
    }
}

fn run_ok(args: &[&str]) -> std::process::Output {
    let out = dtutil().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    all.sort();
    all
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn failure_table() {
    let w = World::new();
    std::fs::create_dir(w.path("out")).unwrap();
    let out = w.out();
    let enc = |file: &str, level: &str| -> Vec<String> {
        s(&[
            "/FILE",
            &w.p(file),
            "/ENCRYPT",
            &format!("FILE;{out};{level}"),
        ])
    };
    let dec_enc = |file: &str, pw: &str, level: &str| -> Vec<String> {
        s(&[
            "/FILE",
            &w.p(file),
            "/Decrypt",
            pw,
            "/ENCRYPT",
            &format!("FILE;{out};{level}"),
        ])
    };
    let real = common::real_fixtures();
    let mut cases = vec![
        Case {
            name: "wrong password",
            args: dec_enc("l2.dtsx", "wrong", "0"),
            exit: 5,
            message: vec!["password is wrong"],
            env: vec![],
        },
        Case {
            name: "wrong password, level 3",
            args: dec_enc("l3.dtsx", "Right", "0"),
            exit: 5,
            message: vec!["password is wrong"],
            env: vec![],
        },
        Case {
            name: "password needed",
            args: enc("l2.dtsx", "0"),
            exit: 5,
            message: vec!["/Decrypt"],
            env: vec![],
        },
        Case {
            name: "missing source",
            args: s(&["/FILE", &w.p("nope.dtsx"), "/COPY", &format!("FILE;{out}")]),
            exit: 4,
            message: vec!["does not exist"],
            env: vec![],
        },
        Case {
            name: "missing source, encrypt",
            args: enc("nope.dtsx", "0"),
            exit: 4,
            message: vec!["nope.dtsx"],
            env: vec![],
        },
        Case {
            name: "delete missing",
            args: s(&["/FILE", &w.p("nope.dtsx"), "/DELETE"]),
            exit: 4,
            message: vec!["does not exist"],
            env: vec![],
        },
        Case {
            name: "malformed XML",
            args: enc("malformed.dtsx", "0"),
            exit: 5,
            message: vec!["line 3"],
            env: vec![],
        },
        Case {
            name: "truncated base64",
            args: dec_enc("truncated.dtsx", "right", "0"),
            exit: 5,
            message: vec!["CipherValue"],
            env: vec![],
        },
        Case {
            name: "bad base64",
            args: dec_enc("badbase64.dtsx", "right", "0"),
            exit: 5,
            message: vec!["base64"],
            env: vec![],
        },
        Case {
            name: "unknown cipher URI",
            args: dec_enc("unknowncipher.dtsx", "right", "0"),
            exit: 5,
            message: vec!["rot13"],
            env: vec![],
        },
        Case {
            name: "IV of the wrong size",
            args: dec_enc("badiv.dtsx", "right", "0"),
            exit: 5,
            message: vec!["IV"],
            env: vec![],
        },
        Case {
            name: "DTD and external entity",
            args: enc("dtd.dtsx", "0"),
            exit: 5,
            message: vec!["DTD"],
            env: vec![],
        },
        Case {
            name: "undefined entity (bomb)",
            args: enc("bomb.dtsx", "0"),
            exit: 5,
            message: vec!["entity"],
            env: vec![],
        },
        Case {
            name: "invalid UTF-8",
            args: enc("utf8.dtsx", "0"),
            exit: 5,
            message: vec!["UTF-8"],
            env: vec![],
        },
        Case {
            name: "BOM in the middle",
            args: enc("midbom.dtsx", "0"),
            exit: 5,
            message: vec!["byte order mark"],
            env: vec![],
        },
        Case {
            name: "empty file",
            args: enc("empty.dtsx", "0"),
            exit: 5,
            message: vec!["no root element"],
            env: vec![],
        },
        Case {
            name: "100k-deep nesting",
            args: enc("deep.dtsx", "0"),
            exit: 5,
            message: vec!["deeper"],
            env: vec![],
        },
        Case {
            name: "not a package",
            args: enc("notpkg.dtsx", "0"),
            exit: 5,
            message: vec!["not an SSIS package"],
            env: vec![],
        },
        Case {
            name: "duplicate level attributes",
            args: enc("twolevels.dtsx", "0"),
            exit: 5,
            message: vec!["duplicated attribute"],
            env: vec![],
        },
        Case {
            name: "duplicate level properties",
            args: enc("twoprops.dtsx", "0"),
            exit: 5,
            message: vec!["ProtectionLevel property appears twice"],
            env: vec![],
        },
        Case {
            name: "unknown level in package",
            args: enc("level9.dtsx", "0"),
            exit: 5,
            message: vec!["level 9"],
            env: vec![],
        },
        Case {
            name: "unknown option",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/FROB"]),
            exit: 6,
            message: vec!["/FROB"],
            env: vec![],
        },
        Case {
            name: "missing argument",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/COPY"]),
            exit: 6,
            message: vec!["/COPY"],
            env: vec![],
        },
        Case {
            name: "conflicting sources",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/SQL", "Pkg", "/EXISTS"]),
            exit: 6,
            message: vec!["/SQL"],
            env: vec![],
        },
        Case {
            name: "/DestPassword without /DestUser",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/COPY",
                "SQL;Pkg",
                "/DestPassword",
                "x",
            ]),
            exit: 6,
            message: vec!["/DestUser"],
            env: vec![],
        },
        Case {
            name: "/SourcePassword without /SourceUser",
            args: s(&["/SQL", "Pkg", "/SourcePassword", "x", "/EXISTS"]),
            exit: 6,
            message: vec!["/SourceUser"],
            env: vec![],
        },
        Case {
            name: "level 5 to FILE",
            args: enc("clear.dtsx", "5"),
            exit: 6,
            message: vec!["5"],
            env: vec![],
        },
        Case {
            name: "level 7",
            args: enc("clear.dtsx", "7;pw"),
            exit: 6,
            message: vec!["/ENCRYPT"],
            env: vec![],
        },
        Case {
            name: "level 1 needs DPAPI",
            args: enc("clear.dtsx", "1"),
            exit: 6,
            message: vec!["DPAPI"],
            env: vec![],
        },
        Case {
            name: "level 2 without password",
            args: enc("clear.dtsx", "2"),
            exit: 6,
            message: vec!["password"],
            env: vec![],
        },
        Case {
            name: "/ENCRYPT DTS",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/ENCRYPT",
                "DTS;File System\\x;2;pw",
            ]),
            exit: 6,
            message: vec!["DTS"],
            env: vec![],
        },
        Case {
            name: "glued semicolon",
            args: s(&["/I", "/DTS;MSDB\\x"]),
            exit: 6,
            message: vec!["space"],
            env: vec![],
        },
        Case {
            name: "two actions",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/COPY",
                &format!("FILE;{out}"),
                "/DELETE",
            ]),
            exit: 6,
            message: vec!["/DELETE"],
            env: vec![],
        },
        Case {
            name: "no action",
            args: s(&["/FILE", &w.p("clear.dtsx")]),
            exit: 6,
            message: vec!["action"],
            env: vec![],
        },
        Case {
            name: "/SourceUser with /FILE",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/SourceUser", "sa", "/EXISTS"]),
            exit: 6,
            message: vec!["/SourceUser"],
            env: vec![],
        },
        Case {
            name: "folder action on FILE",
            args: s(&["/FC", "FILE;\\;x"]),
            exit: 6,
            message: vec!["FILE"],
            env: vec![],
        },
        Case {
            name: "unknown location keyword",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/COPY", &format!("DISK;{out}")]),
            exit: 6,
            message: vec!["DISK"],
            env: vec![],
        },
        Case {
            name: "/Dump",
            args: s(&["/Dump", "1234"]),
            exit: 6,
            message: vec!["Windows"],
            env: vec![],
        },
        Case {
            name: "env password not set",
            args: dec_enc("l2.dtsx", "env:DTUTIL_TEST_UNSET_VAR", "0"),
            exit: 6,
            message: vec!["DTUTIL_TEST_UNSET_VAR"],
            env: vec![],
        },
        Case {
            name: "password file missing",
            args: dec_enc("l2.dtsx", "file:/nonexistent/pw.txt", "0"),
            exit: 6,
            message: vec!["/nonexistent/pw.txt"],
            env: vec![],
        },
        Case {
            name: "destination folder missing",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/COPY",
                &format!("FILE;{}", w.p("no/such/dir/x.dtsx")),
            ]),
            exit: 1,
            message: vec!["does not exist"],
            env: vec![],
        },
        Case {
            name: "existing destination, no terminal, no /Q",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/COPY",
                &format!("FILE;{}", w.p("existing.dtsx")),
            ]),
            exit: 1,
            message: vec!["/Q"],
            env: vec![],
        },
        Case {
            name: "move onto itself",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/MOVE",
                &format!("FILE;{}", w.p("clear.dtsx")),
                "/Q",
            ]),
            exit: 1,
            message: vec!["itself"],
            env: vec![],
        },
        Case {
            name: "dry-run still rejects bad command lines",
            args: s(&[
                "/FILE",
                &w.p("clear.dtsx"),
                "/ENCRYPT",
                "FILE;x;9",
                "--dry-run",
            ]),
            exit: 6,
            message: vec!["/ENCRYPT"],
            env: vec![],
        },
        Case {
            name: "SQL destination, integrated auth without a Kerberos ticket",
            args: s(&["/FILE", &w.p("clear.dtsx"), "/COPY", "SQL;Pkg", "/Q"]),
            exit: 1,
            message: vec!["integrated", "no Kerberos ticket", "kinit", "/DestUser"],
            env: vec![("KRB5CCNAME", "FILE:/nonexistent/dtutil-test-ccache")],
        },
    ];
    if let Some(dir) = &real {
        let l4 = dir
            .join("nanda_AllUserKey.EncryptAllWithUserKey.fmt8.dtsx")
            .display()
            .to_string();
        let l1 = dir
            .join("wrox_CH14_Package.EncryptSensitiveWithUserKey.fmt2.dtsx")
            .display()
            .to_string();
        cases.push(Case {
            name: "DPAPI level 4",
            args: s(&["/FILE", &l4, "/ENCRYPT", &format!("FILE;{out};0")]),
            exit: 5,
            message: vec!["EncryptAllWithUserKey"],
            env: vec![],
        });
        cases.push(Case {
            name: "DPAPI level 1 without /Q",
            args: s(&["/FILE", &l1, "/ENCRYPT", &format!("FILE;{out};2;pw")]),
            exit: 1,
            message: vec!["ServerPassword", "ProxyPassword", "--allow-lost-sensitive"],
            env: vec![],
        });
        cases.push(Case {
            name: "wrong password on a real package",
            args: s(&[
                "/FILE",
                &dir.join("ssisbuild_Package_221.EncryptSensitiveWithPassword.fmt6.dtsx")
                    .display()
                    .to_string(),
                "/Decrypt",
                "ssis124",
                "/ENCRYPT",
                &format!("FILE;{out};0"),
            ]),
            exit: 5,
            message: vec!["password is wrong", "Package_221"],
            env: vec![],
        });
    }
    assert!(cases.len() >= 30);

    let real_before = real.as_ref().map(|d| snapshot(d));
    for case in &cases {
        let before = snapshot(w.dir.path());
        let mut cmd = dtutil();
        cmd.args(&case.args).stdin(std::process::Stdio::null());
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert_eq!(
            output.status.code(),
            Some(case.exit),
            "{}: stderr: {stderr}\nstdout: {stdout}",
            case.name
        );
        for m in &case.message {
            assert!(
                stderr.to_lowercase().contains(&m.to_lowercase()),
                "{}: stderr lacks `{m}`: {stderr}",
                case.name
            );
        }
        // dtutil's layout: scripts capture stdout and read the result at line index 4.
        let line4 = stdout.lines().nth(4).unwrap_or_default().to_lowercase();
        assert!(
            line4.starts_with("error: "),
            "{}: no error at stdout line 4: {stdout}",
            case.name
        );
        for m in &case.message {
            assert!(
                stdout.to_lowercase().contains(&m.to_lowercase()),
                "{}: stdout lacks `{m}`: {stdout}",
                case.name
            );
        }
        let results: String = stdout.lines().skip(3).collect();
        assert!(
            !results.contains("hunter2")
                && (!results.contains("right") || case.name.contains("wrong")),
            "{}: a secret reached stdout",
            case.name
        );
        assert!(
            !stderr.contains("right") || case.name.contains("wrong"),
            "{}: a password leaked: {stderr}",
            case.name
        );
        assert!(
            !stderr.contains("hunter2"),
            "{}: a secret value leaked",
            case.name
        );
        assert!(
            !Path::new(&out).exists(),
            "{}: a destination file was written",
            case.name
        );
        assert_eq!(
            snapshot(w.dir.path()),
            before,
            "{}: files changed",
            case.name
        );
    }
    if let (Some(dir), Some(b)) = (&real, real_before) {
        assert_eq!(snapshot(dir), b, "a real fixture changed");
    }
}

/// `store::path` is the one check of store paths: `.` and `..` (blanks around them
/// aside) are command-line errors (exit 6) in every form a store path takes, dtutil's
/// switches and `batch`'s `dts:` / `SQL:` / `sql://` locations alike, before anything
/// connects or is written.
#[test]
fn dot_segments_in_store_paths_exit_6_in_every_form() {
    let w = World::new();
    let src = w.p("clear.dtsx");
    let out_dir = w.path("batch-out");
    let out = out_dir.display().to_string();
    for dot in ["..", ".. ", " ..", " .. ", ".", " . "] {
        let forms: Vec<Vec<String>> = vec![
            s(&["/FDi", &format!("DTS;File System\\{dot}\\x")]),
            s(&["/FDi", &format!("DTS;File System\\{dot}")]),
            s(&["/SQL", &format!("F\\{dot}\\G"), "/EX"]),
            s(&["/DTS", &format!("MSDB/{dot}/G"), "/EX"]),
            s(&["/FILE", &src, "/COPY", &format!("SQL;F\\{dot}\\x")]),
            s(&[
                "/FILE",
                &src,
                "/COPY",
                &format!("DTS;File System\\{dot}\\x"),
            ]),
            s(&["/FC", &format!("SQL;{dot};x")]),
            s(&["/FC", &format!("SQL;F;{dot}")]),
            s(&["/FDe", &format!("DTS;File System;{dot}")]),
            s(&[
                "batch",
                "--from",
                &format!("dts:File System\\{dot}\\x"),
                "--to",
                &out,
            ]),
            s(&[
                "batch",
                "--from",
                &format!("sql://h/F/{dot}/x"),
                "--to",
                &out,
            ]),
            s(&["batch", "--from", &format!("SQL:F\\{dot}"), "--to", &out]),
            s(&[
                "batch",
                "--from",
                &w.p("."),
                "--to",
                &format!("dts:File System\\{dot}"),
            ]),
            s(&[
                "batch",
                "--from",
                &w.p("."),
                "--to",
                &format!("sql://h/{dot}"),
            ]),
        ];
        for args in forms {
            let output = dtutil()
                .args(&args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(6), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("`{}`", dot.trim())) && stderr.contains("never escape"),
                "{args:?}: the message names neither the segment nor the rule: {stderr}"
            );
            assert!(!out_dir.exists(), "{args:?} wrote something");
        }
    }
}
