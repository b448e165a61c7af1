//! Shared by the `dtutil batch` tests: a generated package tree (levels 0, 1, 2, 3),
//! running the binary with the test servers' environment, reading reports, and the
//! decrypted comparison.
#![allow(dead_code)]

use dtutil::crypto::Algorithm;
use dtutil::package::ProtectionLevel;
use dtutil::package::{self, Options, Target};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_dtutil");
/// The password every generated level 2/3 package is saved with.
pub const OLD_PW: &str = "Old-Pa55word";
/// A DPAPI blob as Windows writes it (the well-known header, then opaque bytes).
pub const DPAPI: &str =
    "AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAAv3nT8lAQgEyL6V2bVh0MnQAAAAACAAAAAAAQZgAAAAEAACAAAAB4yZ3K";

/// The folders of the generated tree: the root and three levels.
pub const FOLDERS: &[&str] = &[
    "",
    "Sales",
    "Sales/Daily",
    "Sales/Daily/EU",
    "Finance",
    "Finance/Month End",
    "Finance/Month End/Close",
    "HR",
];

/// One generated package: where it sits and what it was saved as.
#[derive(Debug, Clone)]
pub struct Generated {
    pub folder: String,
    pub name: String,
    pub level: u32,
}

impl Generated {
    pub fn rel(&self) -> PathBuf {
        let mut p = PathBuf::new();
        for f in self.folder.split('/').filter(|s| !s.is_empty()) {
            p.push(f);
        }
        p.push(format!("{}.dtsx", self.name));
        p
    }
}

/// A package at ServerStorage (secrets in the clear), as a template for the others.
pub fn clear_package(i: usize, pad: usize) -> String {
    let mut s = format!(
        r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:refId="Package"
  DTS:CreationName="Microsoft.Package"
  DTS:DTSID="{{{i:08X}-1111-4222-8333-444455556666}}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:LastModifiedProductVersion="15.0.2000.180"
  DTS:ObjectName="Pkg{i:04}"
  DTS:PackageType="5"
  DTS:ProtectionLevel="5"
  DTS:VersionBuild="{i}"
  DTS:VersionGUID="{{{i:08X}-AAAA-4BBB-8CCC-DDDDEEEEFFFF}}">
  <DTS:Property
    DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers>
    <DTS:ConnectionManager
      DTS:refId="Package.ConnectionManagers[DW]"
      DTS:CreationName="OLEDB"
      DTS:ObjectName="DW">
      <DTS:ObjectData>
        <DTS:ConnectionManager
          DTS:ConnectionString="Data Source=dw{i};User ID=etl;Initial Catalog=DW;">
          <DTS:Password
            DTS:Name="Password"
            Sensitive="1">s3cret-{i}</DTS:Password>
        </DTS:ConnectionManager>
      </DTS:ObjectData>
    </DTS:ConnectionManager>
  </DTS:ConnectionManagers>
  <DTS:Variables>
    <DTS:Variable
      DTS:Namespace="User"
      DTS:ObjectName="Query">
      <DTS:VariableValue
        DTS:DataType="8">SELECT * FROM dbo.T{i} WHERE x &gt; 1 "#
    );
    for k in 0..pad {
        s.push_str(&format!("-- line {k} of package {i}\n"));
    }
    s.push_str(
        "</DTS:VariableValue>\n    </DTS:Variable>\n  </DTS:Variables>\n</DTS:Executable>\n",
    );
    s.replace('\n', "\r\n")
}

/// A level 1 package: the password is a DPAPI blob only its Windows user can open.
pub fn user_key_package(i: usize, pad: usize) -> String {
    clear_package(i, pad)
        .replace(
            "  DTS:ProtectionLevel=\"5\"\r\n",
            "  DTS:ProtectionLevel=\"1\"\r\n",
        )
        .replace(
            &format!("Sensitive=\"1\">s3cret-{i}</DTS:Password>"),
            &format!("Sensitive=\"1\"\r\n            Encrypted=\"1\">{DPAPI}</DTS:Password>"),
        )
}

pub fn reprotect(bytes: &[u8], from: Option<&str>, level: u32, to: Option<&str>) -> Vec<u8> {
    package::rewrite(
        bytes,
        &Options {
            decrypt_password: from,
            target: Target::Level {
                level: ProtectionLevel::from_number(level).unwrap(),
                password: to,
            },
            algorithm: Some(Algorithm::TripleDes),
            regenerate_id: false,
            allow_lost_values: true,
        },
    )
    .unwrap()
    .bytes
}

/// The package in the clear (level 5), user-key values blank: what a comparison reads.
pub fn clear(bytes: &[u8], password: Option<&str>) -> Vec<u8> {
    reprotect(bytes, password, 5, None)
}

/// The package for tree position `i`: levels 0, 1, 2, 3 in turn.
pub fn generated_bytes(i: usize, pad: usize) -> (u32, Vec<u8>) {
    let level = (i % 4) as u32;
    let bytes = match level {
        1 => user_key_package(i, pad).into_bytes(),
        0 => reprotect(clear_package(i, pad).as_bytes(), None, 0, None),
        l => reprotect(clear_package(i, pad).as_bytes(), None, l, Some(OLD_PW)),
    };
    (level, bytes)
}

/// Writes `n` packages spread over [`FOLDERS`] under `root`.
pub fn generate_tree(root: &Path, n: usize, pad: usize) -> Vec<Generated> {
    let mut out = Vec::new();
    for i in 0..n {
        let folder = FOLDERS[i % FOLDERS.len()].to_string();
        let (level, bytes) = generated_bytes(i, pad);
        let g = Generated {
            folder,
            name: format!("Pkg{i:04}"),
            level,
        };
        let path = root.join(g.rel());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        out.push(g);
    }
    out
}

/// Runs dtutil with only the given environment for Azure and SQL settings.
pub fn dtutil(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.output().unwrap()
}

/// Runs dtutil in `dir` with `env` added and sends it SIGINT (Ctrl-C) after 1.5 s, while
/// a slowed-down run is still copying. Unix only: std cannot send a console Ctrl-C event
/// to one child on Windows.
#[cfg(unix)]
pub fn interrupted(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let child = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    child.wait_with_output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn read_report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Records of a report with this status (and skip kind, when given).
pub fn with_status<'a>(
    report: &'a serde_json::Value,
    status: &str,
    skip: Option<&str>,
) -> Vec<&'a serde_json::Value> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == status && skip.is_none_or(|s| r["skip"] == s))
        .collect()
}
