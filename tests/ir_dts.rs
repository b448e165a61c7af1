//! `--ir` for the package store (issue 15): `/DTS` and batch `dts:` roots are an
//! Azure-SSIS IR's package stores, read through ARM (adf-testserver), behind which the
//! azfiles and msdb test servers hold the packages.

mod azfiles_support;
mod ir_support;
#[path = "msdb/support.rs"]
mod msdb_support;

use ir_support::*;
use std::path::Path;

struct World {
    adf: Adf,
    azure: azfiles_support::Server,
    _msdb: msdb_support::TestServer,
    dir: tempfile::TempDir,
}

fn world() -> World {
    let azure = azfiles_support::start(&["ssis"]);
    let msdb = msdb_support::TestServer::start(false, &["sa:Sa-Secret1"]);
    let server = msdb.server();
    let adf = start(|c| {
        c.stores = vec![
            ("FILES".into(), "azurefiles:acct:ssis".into()),
            ("MI".into(), format!("sqlmi:{server}")),
        ];
    });
    let dir = tempfile::tempdir().unwrap();
    // At level 0: the fixture's ServerStorage (level 5) would not leave an msdb root
    // for a file system root unless re-protected (DTS_E_SERVERSTORAGEDISALLOWED).
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.dtsx"),
        sample.replacen("ProtectionLevel=\"5\"", "ProtectionLevel=\"0\"", 1),
    )
    .unwrap();
    World {
        adf,
        azure,
        _msdb: msdb,
        dir,
    }
}

impl World {
    /// ARM with a token, Azure Files with its key, msdb with a SQL login; no IR unless
    /// `--ir` is given.
    fn env(&self) -> Vec<(String, String)> {
        let mut e = self.adf.env();
        e.retain(|(k, _)| k != "DTUTIL_IR");
        e.extend(self.azure.env());
        e.extend([
            ("DTUTIL_SQL_ENCRYPT".to_string(), "off".to_string()),
            ("DTUTIL_STORE_SQL_USER".into(), "sa".into()),
            ("DTUTIL_STORE_SQL_PASSWORD".into(), "Sa-Secret1".into()),
        ]);
        e
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = std::process::Command::new(BIN);
        c.current_dir(self.dir.path()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") || k.starts_with("IDENTITY_") {
                c.env_remove(k);
            }
        }
        c.env("PATH", "/nonexistent-dtutil-test-path");
        c.envs(self.env());
        c.output().unwrap()
    }

    /// A copy into store FILES (folder Finance, package Load), which lands in the share
    /// behind it.
    fn store_finance_load(&self, ir: &str) {
        self.ok(&["/FC", "DTS;FILES;Finance", "--ir", ir]);
        self.ok(&[
            "/FILE",
            "p.dtsx",
            "/COPY",
            r"DTS;FILES\Finance\Load",
            "--ir",
            ir,
        ]);
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }
}

#[test]
fn dts_roots_are_the_irs_package_stores() {
    let w = world();
    let id = w.adf.ir_id();
    let ir = id.as_str();
    // The roots: both stores.
    let out = w.ok(&["/FDi", r"DTS;\", "--ir", ir]);
    assert!(out.contains("FILES") && out.contains("MI"), "{out}");

    // A copy into store FILES lands in the share behind it.
    w.store_finance_load(ir);
    let out = w.ok(&[
        "/FILE",
        r"\\acct.file.core.windows.net\ssis\Finance\Load.dtsx",
        "/EXISTS",
    ]);
    assert!(out.contains("The specified package exists."), "{out}");
    let out = w.ok(&["/DTS", r"FILES\Finance\Load", "/EXISTS", "--ir", ir]);
    assert!(out.contains("The specified package exists."), "{out}");
    let out = w.ok(&["/FDi", r"DTS;FILES\Finance", "--ir", ir]);
    assert!(out.contains("Load"), "{out}");

    // Store MI is msdb on the managed instance (the msdb test server here).
    w.ok(&[
        "/DTS",
        r"FILES\Finance\Load",
        "/COPY",
        r"DTS;MI\Load",
        "--ir",
        ir,
    ]);
    let out = w.ok(&["/DTS", r"MI\Load", "/EXISTS", "--ir", ir]);
    assert!(out.contains("The specified package exists."), "{out}");

    // DTUTIL_IR does the same as --ir; /MOVE and /DELETE between the stores.
    let mut env_ir = w.env();
    env_ir.push(("DTUTIL_IR".into(), id.clone()));
    let o = std::process::Command::new(BIN)
        .current_dir(w.dir.path())
        .args(["/DTS", r"MI\Load", "/MOVE", r"DTS;FILES\Finance\Moved"])
        .env("PATH", "/nonexistent-dtutil-test-path")
        .envs(env_ir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    w.ok(&["/DTS", r"FILES\Finance\Moved", "/DELETE", "--ir", ir]);
    let o = w.run(&["/DTS", r"MI\Load", "/EXISTS", "--ir", ir]);
    assert!(
        text(&o).0.contains("The specified package does not exist."),
        "{:?}",
        text(&o)
    );

    // An unknown store names the IR's stores.
    let o = w.run(&["/FILE", "p.dtsx", "/COPY", r"DTS;NOPE\x", "--ir", ir]);
    assert_ne!(o.status.code(), Some(0));
    let (_, err) = text(&o);
    assert!(
        err.contains("NOPE") && err.contains("Azure-SSIS IR SsisIr"),
        "{err}"
    );

    // The package just copied runs on the IR from its store.
    let o = dtutil(
        &["ir", "run", r"FILES\Finance\Load", "--wait"],
        &w.adf.env(),
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
}

#[test]
fn batch_dts_with_ir() {
    let w = world();
    let id = w.adf.ir_id();
    let src = w.dir.path().join("tree");
    std::fs::create_dir_all(src.join("Sub")).unwrap();
    std::fs::copy(w.dir.path().join("p.dtsx"), src.join("A.dtsx")).unwrap();
    std::fs::copy(w.dir.path().join("p.dtsx"), src.join("Sub/B.dtsx")).unwrap();
    let out = w.ok(&[
        "batch",
        "--from",
        src.to_str().unwrap(),
        "--to",
        r"dts:FILES\Batch",
        "--ir",
        &id,
    ]);
    assert!(out.contains('2'), "{out}");
    let out = w.ok(&[
        "/FILE",
        r"\\acct.file.core.windows.net\ssis\Batch\Sub\B.dtsx",
        "/EXISTS",
    ]);
    assert!(out.contains("The specified package exists."), "{out}");
}

/// A package path that is in none of the IR's stores is caught before anything is put
/// in the factory (exit 4, as `/EXISTS` would say), in an Azure Files store, an msdb
/// store and for `--file` on Azure Files; one that is there still runs.
#[test]
fn ir_run_of_a_missing_package_creates_nothing() {
    let w = world();
    let id = w.adf.ir_id();
    let ir = id.as_str();
    w.store_finance_load(ir);
    for (args, named) in [
        (
            vec!["ir", "run", r"FILES\Finance\Nope", "--ir", ir],
            r"FILES\Finance\Nope",
        ),
        (
            vec!["ir", "run", r"MI\NopeMI", "--ir", ir, "--wait"],
            r"MI\NopeMI",
        ),
        (
            vec![
                "ir",
                "run",
                "--file",
                r"\\acct.file.core.windows.net\ssis\Finance\Missing.dtsx",
                "--ir",
                ir,
            ],
            "Missing.dtsx",
        ),
    ] {
        let o = w.run(&args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(4), "{args:?}\n{out}\n{err}");
        assert!(
            err.contains(named)
                && err.contains("does not exist")
                && err.contains("nothing was created"),
            "{err}"
        );
        assert!(!out.contains("pipeline"), "{out}");
    }
    assert!(
        w.adf.state.pipelines().is_empty(),
        "nothing put in the factory"
    );
    assert!(w.adf.statuses().is_empty(), "no run started");

    let out = w.ok(&["ir", "run", r"FILES\Finance\Load", "--ir", ir, "--wait"]);
    assert!(out.contains("Succeeded"), "{out}");
    let out = w.ok(&[
        "ir",
        "run",
        "--file",
        r"\\acct.file.core.windows.net\ssis\Finance\Load.dtsx",
        "--ir",
        ir,
    ]);
    assert!(out.contains("pipeline"), "{out}");
}
