//! Secrets audit: the CLI scenarios (FILE, msdb, Azure Files, project files, dry runs,
//! help, failures) run with sentinel passwords, keys and sensitive values. No sentinel may
//! appear in stdout, stderr, `--json` output, `--dry-run` plans, or any file left in the
//! work and temp folders, except where the user asked for the value in the clear
//! (the level 5 source itself). The Azure-SSIS IR commands run with sentinel ARM tokens,
//! client secrets and package passwords too.

mod azfiles_support;
mod harden;
mod ir_support;

use base64::Engine as _;
use harden::dtutil_path;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIT: &str = "S3NT1NEL-LITERAL-pw";
const ENV: &str = "S3NT1NEL-ENVIRONMENT-pw";
const FILE: &str = "S3NT1NEL-FILE-pw";
const WRONG: &str = "S3NT1NEL-WRONG-pw";
const SQL: &str = "S3NT1NEL-SQL-login";
const SQL_WRONG: &str = "S3NT1NEL-SQL-wrong";
const VALUE: &str = "S3NT1NEL-VALUE-in-package";
const PARAM: &str = "S3NT1NEL-PARAM-in-package";
const PROJECT_VALUE: &str = "S3NT1NEL-PROJECT-value";
const AZ_KEY_RAW: &[u8] = b"S3NT1NEL-AZURE-KEY-0123456789abcdef0123456789abcdef";

fn az_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(AZ_KEY_RAW)
}

fn sentinels() -> Vec<String> {
    vec![
        LIT.into(),
        ENV.into(),
        FILE.into(),
        WRONG.into(),
        SQL.into(),
        SQL_WRONG.into(),
        VALUE.into(),
        PARAM.into(),
        PROJECT_VALUE.into(),
        az_key(),
        String::from_utf8_lossy(AZ_KEY_RAW).into_owned(),
        // Any part of one, as a fragment would also leak it.
        "S3NT1NEL".into(),
    ]
}

/// A package at level 5 with a sensitive connection password and a sensitive parameter.
fn source_package() -> String {
    format!(
        r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:DTSID="{{6F1D2C3B-7A48-4E1B-9C62-0D3F5A7B8C91}}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:ObjectName="Audit"
  DTS:PackageType="5"
  DTS:ProtectionLevel="5">
  <DTS:Property DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers><DTS:ConnectionManager DTS:ObjectName="C"><DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString="Data Source=db;User ID=u;">
    <DTS:Password DTS:Name="Password" Sensitive="1">{VALUE}</DTS:Password>
  </DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager></DTS:ConnectionManagers>
  <DTS:PackageParameters>
    <DTS:PackageParameter DTS:ObjectName="Key" DTS:DataType="8" DTS:Sensitive="True">
      <DTS:Property DTS:Name="ParameterValue">{PARAM}</DTS:Property>
    </DTS:PackageParameter>
  </DTS:PackageParameters>
</DTS:Executable>
"#
    )
}

struct Audit {
    work: tempfile::TempDir,
    tmp: PathBuf,
    /// Every output captured, with the command that made it.
    outputs: Vec<(String, String)>,
    /// Files that legitimately hold the clear values (the user's level 5 sources).
    clear_files: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl Audit {
    fn new() -> Self {
        let work = tempfile::tempdir().unwrap();
        let tmp = work.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::create_dir(work.path().join("out")).unwrap();
        let a = Audit {
            tmp,
            outputs: Vec::new(),
            clear_files: Vec::new(),
            env: vec![("AUDIT_PW".into(), ENV.into())],
            work,
        };
        std::fs::write(a.p("pw.txt"), format!("{FILE}\n")).unwrap();
        a
    }
    fn p(&self, name: &str) -> String {
        self.work.path().join(name).display().to_string()
    }
    fn clear_source(&mut self, name: &str) -> String {
        std::fs::write(self.p(name), source_package()).unwrap();
        self.clear_files.push(self.work.path().join(name));
        self.p(name)
    }
    /// Runs dtutil (text, then `--json`), keeping every byte it printed.
    fn run(&mut self, args: &[&str], extra_env: &[(String, String)]) -> Vec<i32> {
        let mut codes = Vec::new();
        let json_ok = !matches!(args.first(), Some(&"inspect") | Some(&"project"));
        for json in [false, true] {
            if json && !json_ok {
                // Subcommands take --json after the name.
                let mut a: Vec<&str> = args.to_vec();
                a.insert(1, "--json");
                codes.push(self.once(&a, extra_env));
                continue;
            }
            let mut a: Vec<&str> = args.to_vec();
            if json {
                a.push("--json");
            }
            codes.push(self.once(&a, extra_env));
        }
        codes
    }
    fn once(&mut self, args: &[&str], extra_env: &[(String, String)]) -> i32 {
        let start = Instant::now();
        let out = Command::new(dtutil_path())
            .args(args)
            .current_dir(self.work.path())
            .env("TMPDIR", &self.tmp)
            .env("RUST_BACKTRACE", "1")
            .envs(self.env.iter().cloned())
            .envs(extra_env.iter().cloned())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(60));
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.outputs.push((format!("dtutil {args:?}"), text));
        out.status.code().unwrap_or(-1)
    }
    /// The audit proper: outputs and every file left behind.
    fn check(&self) {
        let sentinels = sentinels();
        let mut leaks = Vec::new();
        for (cmd, text) in &self.outputs {
            for s in &sentinels {
                if text.contains(s.as_str()) {
                    leaks.push(format!("`{s}` in the output of {cmd}:\n{text}"));
                }
            }
        }
        for file in walk(self.work.path()) {
            if self.clear_files.contains(&file) || file.ends_with("pw.txt") {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for s in &sentinels {
                if text.contains(s.as_str()) {
                    leaks.push(format!("`{s}` in the file {}", file.display()));
                }
            }
        }
        assert!(
            leaks.is_empty(),
            "{} leaks:\n{}",
            leaks.len(),
            leaks.join("\n\n")
        );
        assert!(
            std::fs::read_dir(&self.tmp).unwrap().next().is_none(),
            "dtutil left files in TMPDIR"
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push(p);
            }
        }
    }
    all
}

fn start_azure() -> std::net::SocketAddr {
    azfiles_support::start_account("acct", &az_key(), &["pkgs"]).addr
}

fn start_msdb() -> String {
    harden::start_msdb_without_tls(&format!("sa:{SQL}"))
}

#[test]
fn no_secret_reaches_any_output_or_leftover_file() {
    let mut a = Audit::new();
    let src = a.clear_source("src.dtsx");
    let out = |n: &str| format!("out/{n}");
    let file_pw = format!("file:{}", a.p("pw.txt"));

    // FILE: every level, every way of giving a password, text and JSON, dry runs.
    for (target, name) in [
        (format!("FILE;{};2;{LIT}", out("l2.dtsx")), "l2"),
        (format!("FILE;{};3;env:AUDIT_PW", out("l3.dtsx")), "l3"),
        (format!("FILE;{};2;{file_pw}", out("l2f.dtsx")), "l2f"),
        (format!("FILE;{};0", out("l0.dtsx")), "l0"),
    ] {
        for dry in [true, false] {
            let mut args = vec!["/FILE", &src, "/Q", "/ENCRYPT", &target];
            if dry {
                args.push("--dry-run");
            }
            let codes = a.run(&args, &[]);
            assert!(codes.iter().all(|&c| c == 0), "{name}: {codes:?}");
        }
    }
    let l2 = out("l2.dtsx");
    let l3 = out("l3.dtsx");
    // Decrypt and re-encrypt, with the right password and with wrong ones.
    let re = format!("FILE;{};3;{LIT}", out("re.dtsx"));
    for (pkg, pw, ok) in [
        (&l2, LIT.to_string(), true),
        (&l3, "env:AUDIT_PW".to_string(), true),
        (&l2, WRONG.to_string(), false),
        (&l3, WRONG.to_string(), false),
        (&l3, "env:AUDIT_MISSING".to_string(), false),
        (&l3, format!("file:{}", a.p("no-such-file")), false),
    ] {
        let codes = a.run(&["/FILE", pkg, "/Decrypt", &pw, "/Q", "/ENCRYPT", &re], &[]);
        assert_eq!(codes.iter().all(|&c| c == 0), ok, "{pkg} {codes:?}");
        let codes = a.run(
            &[
                "/FILE",
                pkg,
                "/Decrypt",
                &pw,
                "/Q",
                "/COPY",
                &format!("FILE;{}", out("copy.dtsx")),
            ],
            &[],
        );
        assert!(!ok || codes.iter().all(|&c| c == 0), "{codes:?}");
    }
    a.run(
        &[
            "/FILE",
            &l2,
            "/Q",
            "/ENCRYPT",
            &format!("FILE;{};0", out("z.dtsx")),
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &l3,
            "/Q",
            "/ENCRYPT",
            &format!("FILE;{};0", out("z.dtsx")),
        ],
        &[],
    );
    // Command-line errors that echo what was typed.
    a.run(
        &[
            "/FILE",
            &src,
            "/ENCRYPT",
            &format!("FILE;{};0;{LIT}", out("x.dtsx")),
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &src,
            "/ENCRYPT",
            &format!("FILE;{};7;{LIT}", out("x.dtsx")),
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &src,
            "/ENCRYPT",
            &format!("FILE;{};2;{LIT};extra", out("x.dtsx")),
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &src,
            "/ENCRYPT",
            &format!("FILE;{};2;{LIT}", out("x.dtsx")),
            "/Decrypt",
            LIT,
            "/Bogus",
            LIT,
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &src,
            "/DestPassword",
            LIT,
            "/COPY",
            &format!("FILE;{}", out("x.dtsx")),
        ],
        &[],
    );
    a.run(&["/FILE", &src, "/Decrypt"], &[]);
    a.run(
        &[
            "/FILE",
            &src,
            "/Decrypt",
            LIT,
            "/ENCRYPT",
            &format!("FILE;/no/such/dir/x.dtsx;2;{LIT}"),
        ],
        &[],
    );
    a.run(
        &[
            "/FILE",
            &src,
            "/ENCRYPT",
            &format!("FILE;{};1;{LIT}", out("x.dtsx")),
        ],
        &[],
    );
    a.run(&["/H", "Encrypt"], &[]);
    a.run(&["/?"], &[]);
    // inspect never prints values.
    for pkg in [&src, &l2, &l3] {
        a.run(&["inspect", "--password", LIT, pkg], &[]);
        a.run(&["inspect", "--password", "env:AUDIT_PW", pkg], &[]);
        a.run(&["inspect", pkg], &[]);
    }

    // msdb: SQL logins as literal, env and file passwords; a failed login.
    let server = start_msdb();
    let sql_env = vec![
        ("DTUTIL_SQL_ENCRYPT".to_string(), "off".to_string()),
        ("AUDIT_SQL".to_string(), SQL.to_string()),
    ];
    for (pw, ok) in [(SQL, true), ("env:AUDIT_SQL", true), (SQL_WRONG, false)] {
        let codes = a.run(
            &[
                "/FILE",
                &l2,
                "/Decrypt",
                LIT,
                "/Q",
                "/ENCRYPT",
                &format!("SQL;audit;2;{LIT}"),
                "/DestServer",
                &server,
                "/DestUser",
                "sa",
                "/DestPassword",
                pw,
            ],
            &sql_env,
        );
        assert_eq!(codes.iter().all(|&c| c == 0), ok, "msdb {pw}: {codes:?}");
        a.run(
            &[
                "/SQL",
                "audit",
                "/SourceServer",
                &server,
                "/SourceUser",
                "sa",
                "/SourcePassword",
                pw,
                "/Decrypt",
                LIT,
                "/Q",
                "/ENCRYPT",
                &format!("FILE;{};0", out("from-sql.dtsx")),
            ],
            &sql_env,
        );
        a.run(
            &[
                "/SQL",
                "audit",
                "/SourceServer",
                &server,
                "/SourceUser",
                "sa",
                "/SourcePassword",
                pw,
                "/EXISTS",
            ],
            &sql_env,
        );
        a.run(
            &[
                "/SQL",
                "audit",
                "/SourceServer",
                &server,
                "/SourceUser",
                "sa",
                "/SourcePassword",
                pw,
                "--dry-run",
                "/Q",
                "/MOVE",
                &format!("FILE;{}", out("m.dtsx")),
            ],
            &sql_env,
        );
    }

    // Azure Files: the account key from the environment; a wrong key.
    let az = start_azure();
    let unc = r"\\acct.file.core.windows.net\pkgs\audit.dtsx";
    for key in [
        az_key(),
        base64::engine::general_purpose::STANDARD.encode(b"S3NT1NEL-wrong-key-0123456789"),
    ] {
        let env = vec![
            ("AZURE_STORAGE_ACCOUNT".to_string(), "acct".to_string()),
            ("AZURE_STORAGE_KEY".to_string(), key),
            (
                "DTUTIL_AZURE_FILES_ENDPOINT".to_string(),
                format!("http://{az}/acct"),
            ),
            ("DTUTIL_AZURE_RETRY_DELAY_MS".to_string(), "5".to_string()),
        ];
        a.run(
            &[
                "/FILE",
                &l2,
                "/Decrypt",
                LIT,
                "/Q",
                "/ENCRYPT",
                &format!("FILE;{unc};3;{LIT}"),
            ],
            &env,
        );
        a.run(
            &[
                "/FILE",
                unc,
                "/Decrypt",
                LIT,
                "/Q",
                "/ENCRYPT",
                &format!("FILE;{};2;env:AUDIT_PW", out("from-az.dtsx")),
            ],
            &env,
        );
        a.run(
            &[
                "/FILE",
                unc,
                "/Q",
                "/MOVE",
                &format!("FILE;{}", out("moved.dtsx")),
            ],
            &env,
        );
        // A connection string holding the key.
        let cs = vec![
            ("AZURE_STORAGE_CONNECTION_STRING".to_string(), format!("DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={};FileEndpoint=http://{az}/acct", env[1].1)),
            ("DTUTIL_AZURE_FILES_ENDPOINT".to_string(), format!("http://{az}/acct")),
        ];
        a.run(&["/FILE", &l2, "/Q", "/COPY", &format!("FILE;{unc}")], &cs);
    }

    // Project files: a connection manager with a sensitive value, re-protected.
    let proj = a.work.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    std::fs::write(proj.join("Db.conmgr"), format!("<?xml version=\"1.0\"?>\n<DTS:ConnectionManager xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:ObjectName=\"Db\">\n  <DTS:ObjectData>\n    <DTS:ConnectionManager DTS:ConnectionString=\"Data Source=a;\">\n      <DTS:Password DTS:Name=\"Password\" Sensitive=\"1\">{PROJECT_VALUE}</DTS:Password>\n    </DTS:ConnectionManager>\n  </DTS:ObjectData>\n</DTS:ConnectionManager>")).unwrap();
    std::fs::write(proj.join("Audit.dtproj"), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Project>\n  <DeploymentModel>Project</DeploymentModel>\n  <DeploymentModelSpecificContent>\n    <Manifest>\n      <SSIS:Project SSIS:ProtectionLevel=\"DontSaveSensitive\" xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\">\n        <SSIS:ConnectionManagers>\n          <SSIS:ConnectionManager SSIS:Name=\"Db.conmgr\" />\n        </SSIS:ConnectionManagers>\n      </SSIS:Project>\n    </Manifest>\n  </DeploymentModelSpecificContent>\n</Project>").unwrap();
    a.clear_files.push(proj.join("Db.conmgr"));
    let p = proj.display().to_string();
    let p2 = a.p("proj2");
    let p3 = a.p("proj3");
    a.run(
        &[
            "project",
            &p,
            "--encrypt",
            &format!("2;{LIT}"),
            "--out",
            &p2,
        ],
        &[],
    );
    a.run(
        &[
            "project",
            &p2,
            "--decrypt",
            LIT,
            "--encrypt",
            "3;env:AUDIT_PW",
            "--out",
            &p3,
        ],
        &[],
    );
    a.run(
        &[
            "project",
            &p3,
            "--decrypt",
            WRONG,
            "--encrypt",
            "0",
            "--dry-run",
        ],
        &[],
    );
    a.run(&["project", &p3, "--decrypt", "env:AUDIT_PW"], &[]);
    a.run(
        &["inspect", "--password", WRONG, &format!("{p3}/Db.conmgr")],
        &[],
    );
    a.check();
    eprintln!("secrets audit: {} runs, 0 sentinels found", a.outputs.len());
    // The audit itself catches a leak: a clear copy (the user asked for it, but it is
    // not on the allowed list) must fail the check.
    a.run(
        &[
            "/FILE",
            &src,
            "/COPY",
            &format!("FILE;{}", out("clear-copy.dtsx")),
        ],
        &[],
    );
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.check()));
    assert!(
        caught.is_err(),
        "the audit missed a clear copy of the sentinel value"
    );
}

/// `--help`, `/?` and `/H` on password options point to env: and file:.
#[test]
fn help_recommends_env_and_file() {
    for args in [
        vec!["/?"],
        vec!["/H", "Decrypt"],
        vec!["/H", "Encrypt"],
        vec!["/H", "DestPassword"],
        vec!["/H", "SourcePassword"],
    ] {
        let out = Command::new(dtutil_path()).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("env:") && text.contains("file:"),
            "dtutil {args:?}:\n{text}"
        );
    }
}

/// The Azure-SSIS IR commands (issue 15): ARM tokens, client secrets, package and
/// execution passwords, and the linked services' secrets never reach an output.
#[test]
fn ir_commands_leak_no_arm_secret() {
    const ARM_TOKEN: &str = "S3NT1NEL-ARM-token";
    const CLIENT_SECRET: &str = "S3NT1NEL-CLIENT-secret";
    let adf = ir_support::start(|c| {
        c.tokens = vec![ARM_TOKEN.into()];
        c.reader_tokens = vec![format!("{ARM_TOKEN}-reader")];
        c.clients = vec![ir_support::ClientApp::parse(&format!(
            "{}:{}:{CLIENT_SECRET}",
            ir_support::TENANT,
            ir_support::CLIENT
        ))
        .unwrap()];
        // Store FILES keeps its account key in Key Vault.
        c.secrets = vec![("kv".into(), "files-key".into(), az_key())];
        c.store_secrets = vec![("FILES".into(), "kv".into(), "files-key".into())];
    });
    let mut a = Audit::new();
    let mut token_env = adf.base_env();
    token_env.push(("DTUTIL_ARM_ACCESS_TOKEN".into(), ARM_TOKEN.into()));
    let client_env = |secret: &str| {
        let mut e = adf.base_env();
        e.extend([
            (
                "AZURE_TENANT_ID".to_string(),
                ir_support::TENANT.to_string(),
            ),
            ("AZURE_CLIENT_ID".into(), ir_support::CLIENT.into()),
            ("AZURE_CLIENT_SECRET".into(), secret.into()),
            ("AZURE_AUTHORITY_HOST".into(), adf.base()),
        ]);
        e
    };
    let mut reader_env = adf.base_env();
    reader_env.push((
        "DTUTIL_ARM_ACCESS_TOKEN".into(),
        format!("{ARM_TOKEN}-reader"),
    ));
    let file_pw = format!("file:{}", a.p("pw.txt"));
    a.run(&["ir", "status"], &token_env);
    a.run(&["ir", "stores"], &client_env(CLIENT_SECRET));
    a.run(&["ir", "status"], &client_env(WRONG));
    let run = [
        "ir",
        "run",
        r"FILES\Finance\Load",
        "--package-password",
        LIT,
        "--execution-user",
        r"CORP\svc",
        "--execution-password",
        "env:AUDIT_PW",
        "--wait",
    ];
    a.run(&run, &token_env);
    a.run(&run, &reader_env);
    a.run(
        &[
            "ir",
            "run",
            r"FILES\Finance\Broken",
            "--package-password",
            &file_pw,
            "--wait",
        ],
        &client_env(CLIENT_SECRET),
    );
    a.run(
        &[
            "ir",
            "run",
            r"FILES\Finance\Load",
            "--package-password",
            "env:AUDIT_PW",
        ],
        &token_env,
    );
    a.run(&["ir", "running"], &token_env);
    a.run(
        &["ir", "stop", "--package", r"FILES\Finance\Load"],
        &token_env,
    );
    a.run(
        &["ir", "stop", "00000000-0000-0000-0000-000000000000"],
        &token_env,
    );
    // A package on Azure Files: the account key travels as the access credential.
    let mut key_env = token_env.clone();
    key_env.push(("AZURE_STORAGE_KEY_ACCT".into(), az_key()));
    let on_share = r"\\acct.file.core.windows.net\ssis\Finance\Load.dtsx";
    a.run(&["ir", "run", "--file", on_share, "--wait"], &key_env);
    let mut sas_env = token_env.clone();
    sas_env.push((
        "AZURE_STORAGE_SAS_TOKEN".into(),
        format!("sv=2022-11-02&sig={LIT}"),
    ));
    a.run(&["ir", "run", "--file", on_share], &sas_env);
    // The key read from Key Vault, then used against a share that does not answer.
    let mut vault_env = client_env(CLIENT_SECRET);
    vault_env.extend([
        (
            "DTUTIL_AZURE_FILES_ENDPOINT".to_string(),
            "http://127.0.0.1:1/acct".to_string(),
        ),
        ("DTUTIL_AZURE_RETRIES".into(), "0".into()),
    ]);
    a.run(&["ir", "stores"], &vault_env);
    a.run(&["/DTS", r"FILES\Finance\Load", "/EXISTS"], &vault_env);
    for (cmd, text) in &a.outputs {
        for s in ["fixture-key-", "fixture-pw-", ARM_TOKEN, CLIENT_SECRET] {
            assert!(!text.contains(s), "`{s}` in the output of {cmd}:\n{text}");
        }
    }
    a.check();
    // The server was given the passwords (as SecureStrings): the audit saw real runs.
    let pipelines = adf.state.pipelines();
    assert!(pipelines.iter().any(|(_, p)| p.to_string().contains(LIT)));
    assert!(pipelines
        .iter()
        .any(|(_, p)| p.to_string().contains(&az_key())));
    assert!(
        a.outputs
            .iter()
            .any(|(cmd, text)| cmd.contains("/EXISTS") && text.contains("127.0.0.1:1")),
        "the vault's key was not used: {:?}",
        a.outputs.last()
    );
    eprintln!(
        "secrets audit (ir): {} runs, 0 sentinels found",
        a.outputs.len()
    );
}
