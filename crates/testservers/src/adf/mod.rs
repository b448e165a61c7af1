//! Azure Data Factory (ARM, api-version 2018-06-01) test server for the Azure-SSIS IR
//! commands (issue 15): a test fixture, not a product.
//!
//! One HTTPS listener (a CA is generated at start; clients trust its PEM) serves the
//! factory's ARM calls of SPEC 9, Entra ID's client-credentials token endpoint and the
//! managed-identity endpoints. State lives in memory. See `crates/testservers/README.md`.

pub mod model;
pub mod runs;
pub mod server;
pub mod token;
pub mod vault;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use server::State;

/// Startup settings (the binary's flags).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub ca_out: Option<PathBuf>,
    /// Bearer tokens accepted for ARM besides the ones the token endpoints issue.
    pub tokens: Vec<String>,
    /// Tokens that may read but not write (a Reader role assignment).
    pub reader_tokens: Vec<String>,
    pub clients: Vec<token::ClientApp>,
    /// `S/RG/F`
    pub factory: String,
    pub irs: Vec<String>,
    pub ir_state: String,
    /// `(name, azurefiles:ACCOUNT:SHARE[:DIR] | sqlmi:HOST,PORT)`
    pub stores: Vec<(String, String)>,
    /// Key Vault secrets: `(vault, name, value)`, all in one vault (served at this
    /// server's root) with a linked service `LS_<VAULT>` (type AzureKeyVault).
    pub secrets: Vec<(String, String, String)>,
    /// `(store, vault, secret)`: the store's linked service keeps its secret (`password`)
    /// in that vault as an AzureKeyVaultSecret reference.
    pub store_secrets: Vec<(String, String, String)>,
    pub run_time: Duration,
    /// Runs of these packages fail (names compare case-insensitively).
    pub fail_packages: Vec<String>,
    pub latency_ms: u64,
    /// After this many requests, drop every further connection without an answer.
    pub fail_after: Option<u64>,
    /// Answer the first N ARM requests 429 with `Retry-After: 1`.
    pub throttle: u64,
    /// Runs per page of a run query.
    pub page_size: usize,
    /// Serve the IMDS and App Service managed-identity endpoints.
    pub managed_identity: bool,
    pub log_requests: bool,
    /// A broken ARM or proxy, for clients' bounds: every run query is answered with an
    /// empty page and a continuation token.
    pub hostile_paging: Option<HostilePaging>,
    /// A hostile ARM: every request is answered 400 with an error that echoes the
    /// bearer token and holds newlines and terminal escapes.
    pub hostile_errors: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostilePaging {
    /// The same token every time.
    RepeatToken,
    /// A new token every time, never an end.
    Endless,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".parse().unwrap(),
            ca_out: None,
            tokens: Vec::new(),
            reader_tokens: Vec::new(),
            clients: Vec::new(),
            factory: "00000000-0000-0000-0000-000000000000/rg/adf".into(),
            irs: Vec::new(),
            ir_state: "Started".into(),
            stores: Vec::new(),
            secrets: Vec::new(),
            store_secrets: Vec::new(),
            run_time: Duration::from_secs(2),
            fail_packages: Vec::new(),
            latency_ms: 0,
            fail_after: None,
            throttle: 0,
            page_size: 100,
            managed_identity: false,
            log_requests: false,
            hostile_paging: None,
            hostile_errors: false,
        }
    }
}

/// A bound server: its address, the CA its clients trust, and its state.
pub struct Bound {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub ca_pem: String,
    pub state: Arc<State>,
    pub tls: tokio_rustls::TlsAcceptor,
}

/// Builds the factory, generates the certificates, binds.
pub async fn bind(cfg: &Config) -> Result<Bound, String> {
    let mut factory = model::Factory::new(model::FactoryId::parse(&cfg.factory)?);
    for ir in &cfg.irs {
        model::check_entity_name(ir, "integration runtime").map_err(|e| e.message)?;
        factory.add_ir(ir, &cfg.ir_state);
    }
    for (name, spec) in &cfg.stores {
        factory.add_store(name, &model::StoreKind::parse(spec)?);
    }
    let mut vaults = vault::Vaults::default();
    for (v, name, value) in &cfg.secrets {
        vaults.add(v, name, value)?;
    }
    for (store, v, secret) in &cfg.store_secrets {
        if !vaults.names().iter().any(|n| n.eq_ignore_ascii_case(v)) {
            return Err(format!(
                "--store-secret {store}={v}/{secret}: no --secret names vault `{v}`"
            ));
        }
        factory.keep_store_secret_in_vault(store, v, secret)?;
    }
    let certs = crate::certs::generate("adf-testserver test CA")?;
    if let Some(path) = &cfg.ca_out {
        std::fs::write(path, &certs.ca_pem)
            .map_err(|e| format!("cannot write --ca-out {}: {e}", path.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs.chain, certs.key)
        .map_err(|e| e.to_string())?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("https://{addr}");
    for v in vaults.names() {
        factory.add_key_vault(&v, &format!("{base_url}/"));
    }
    let state = Arc::new(State::new(cfg.clone(), factory, vaults, base_url));
    Ok(Bound {
        listener,
        addr,
        ca_pem: certs.ca_pem,
        state,
        tls: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
    })
}

/// Starts a server on a background task (for in-process Rust tests).
pub async fn spawn(cfg: &Config) -> Result<Running, String> {
    let b = bind(cfg).await?;
    let out = Running {
        addr: b.addr,
        ca_pem: b.ca_pem.clone(),
        state: b.state.clone(),
    };
    tokio::spawn(server::serve(b.listener, b.tls, b.state));
    Ok(out)
}

/// What [`spawn`] hands back: the server runs on.
#[derive(Clone)]
pub struct Running {
    pub addr: SocketAddr,
    pub ca_pem: String,
    pub state: Arc<State>,
}
