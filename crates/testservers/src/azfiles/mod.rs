//! Azure Files REST test server (issue 4): a test fixture, not a product.
//!
//! Implements the part of the File service REST API that a migration tool needs (shares,
//! directories, files, ranges, listing with paging, rename), SharedKey and SAS
//! authorization, the service's status codes and XML errors, and fault injection.
//! Storage is in memory. See `crates/testservers/README.md`.

pub mod auth;
pub mod faults;
pub mod server;
pub mod store;
pub mod timefmt;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::net::TcpListener;

pub use server::State;

/// Startup settings (the binary's flags).
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub account: String,
    /// Base64 account key.
    pub key: String,
    /// Shares that exist at startup.
    pub shares: Vec<String>,
    pub latency_ms: u64,
    /// Print one line per request to stderr.
    pub log_requests: bool,
    pub faults: Vec<faults::Rule>,
}

/// Binds, creates the startup shares, and returns the listener and state; run
/// [`server::serve`] on them.
pub async fn bind(cfg: &Config) -> Result<(TcpListener, Arc<State>), String> {
    let creds = auth::Credentials::new(&cfg.account, &cfg.key)?;
    for r in &cfg.faults {
        r.validate()?;
    }
    let state = State::new(creds, cfg.latency_ms, cfg.faults.clone());
    state
        .log_requests
        .store(cfg.log_requests, std::sync::atomic::Ordering::Relaxed);
    {
        let mut st = state.store.lock().unwrap();
        for s in &cfg.shares {
            st.create_share(s, None, SystemTime::now())
                .map_err(|e| format!("share '{s}': {}", e.describe().2))?;
        }
    }
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    Ok((listener, Arc::new(state)))
}

/// Starts a server on a background task (for in-process Rust tests); returns its address.
pub async fn spawn(cfg: &Config) -> Result<SocketAddr, String> {
    let (listener, state) = bind(cfg).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(server::serve(listener, state));
    Ok(addr)
}
