//! Shared by the Azure-SSIS IR tests: an in-process adf-testserver (HTTPS, its CA in a
//! temporary file) and the environment that points dtutil at it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

pub use testservers::adf::{token::ClientApp, Config, State};

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";
pub const RG: &str = "rg-ssis";
pub const FACTORY: &str = "adf-ssis";
pub const IR: &str = "SsisIr";
pub const TOKEN: &str = "arm-token-sentinel-7f3a";
pub const READER: &str = "reader-token-sentinel-2b9c";
pub const TENANT: &str = "tenant-ssis";
pub const CLIENT: &str = "app-ssis";
pub const SECRET: &str = "client-secret-sentinel-8d1e";
pub const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

pub struct Adf {
    pub addr: std::net::SocketAddr,
    pub ca: PathBuf,
    pub state: Arc<State>,
    _dir: tempfile::TempDir,
}

/// A server with the IR, a FILES (Azure Files) and an MI (SQL MI) store; `tweak` may
/// change the configuration first.
pub fn start(tweak: impl FnOnce(&mut Config)) -> Adf {
    let mut cfg = Config {
        tokens: vec![TOKEN.into()],
        reader_tokens: vec![READER.into()],
        clients: vec![ClientApp::parse(&format!("{TENANT}:{CLIENT}:{SECRET}")).unwrap()],
        factory: format!("{SUB}/{RG}/{FACTORY}"),
        irs: vec![IR.into()],
        stores: vec![
            ("FILES".into(), "azurefiles:acct:ssis:store".into()),
            ("MI".into(), "sqlmi:127.0.0.1,1433".into()),
        ],
        run_time: Duration::from_millis(600),
        fail_packages: vec!["Broken".into()],
        page_size: 2,
        managed_identity: true,
        log_requests: std::env::var_os("ADF_LOG").is_some(),
        ..Config::default()
    };
    tweak(&mut cfg);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let running = testservers::adf::spawn(&cfg).await.unwrap();
            tx.send(running).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let running = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("adf-ca.pem");
    std::fs::write(&ca, &running.ca_pem).unwrap();
    Adf {
        addr: running.addr,
        ca,
        state: running.state,
        _dir: dir,
    }
}

impl Adf {
    pub fn base(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn ir_id(&self) -> String {
        format!("{SUB}/{RG}/{FACTORY}/{IR}")
    }

    /// The endpoint, CA, IR and fast polling; no credential.
    pub fn base_env(&self) -> Vec<(String, String)> {
        vec![
            ("DTUTIL_ARM_ENDPOINT".into(), self.base()),
            ("DTUTIL_ARM_CA".into(), self.ca.display().to_string()),
            ("DTUTIL_IR".into(), self.ir_id()),
            ("DTUTIL_IR_POLL_MS".into(), "50".into()),
            ("DTUTIL_AZURE_RETRY_DELAY_MS".into(), "5".into()),
        ]
    }

    /// With the static token.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut e = self.base_env();
        e.push(("DTUTIL_ARM_ACCESS_TOKEN".into(), TOKEN.into()));
        e
    }

    /// With client credentials at this server's token endpoint.
    pub fn client_env(&self, secret: &str) -> Vec<(String, String)> {
        let mut e = self.base_env();
        e.extend([
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_CLIENT_ID".into(), CLIENT.into()),
            ("AZURE_CLIENT_SECRET".into(), secret.into()),
            ("AZURE_AUTHORITY_HOST".into(), self.base()),
        ]);
        e
    }

    pub fn statuses(&self) -> Vec<(String, String)> {
        self.state.run_statuses()
    }
}

/// Variables that would pick another credential or endpoint, removed from the child.
const CLEARED: &[&str] = &[
    "DTUTIL_IR",
    "DTUTIL_ARM_ACCESS_TOKEN",
    "DTUTIL_ARM_ENDPOINT",
    "DTUTIL_ARM_CA",
    "DTUTIL_ARM_SCOPE",
    "DTUTIL_AZ_TIMEOUT",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "DTUTIL_ARM_MANAGED_IDENTITY",
    "DTUTIL_IMDS_ENDPOINT",
    "DTUTIL_STORE_CONFIG",
];

/// Runs dtutil with exactly `env` for the variables above, and no `az` on the PATH.
pub fn dtutil(args: &[&str], env: &[(String, String)]) -> Output {
    command(args, env).output().unwrap()
}

/// The command [`dtutil`] runs, for a test that drives the process itself.
pub fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args);
    for k in CLEARED {
        c.env_remove(k);
    }
    c.env("PATH", "/nonexistent-dtutil-test-path");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
