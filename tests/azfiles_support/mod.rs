//! Shared by the Azure Files tests: an in-process azfiles-testserver and its control
//! endpoint, environment sets for the store and the binary, and an account SAS signer.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const ACCOUNT: &str = "acct";
pub const KEY: &str = "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==";
pub const HOST: &str = "acct.file.core.windows.net";
pub const MIB: usize = 1024 * 1024;

pub struct Server {
    pub addr: SocketAddr,
}

/// Starts a test server with the given shares on its own thread (a current-thread
/// runtime that lives as long as the test process).
pub fn start(shares: &[&str]) -> Server {
    start_account(ACCOUNT, KEY, shares)
}

/// The same for another account and key (tests that need two accounts or the docs' names).
pub fn start_account(account: &str, key: &str, shares: &[&str]) -> Server {
    let cfg = testservers::azfiles::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: account.into(),
        key: key.into(),
        shares: shares.iter().map(|s| s.to_string()).collect(),
        latency_ms: 0,
        log_requests: std::env::var_os("AZFILES_LOG").is_some(),
        faults: Vec::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let addr = testservers::azfiles::spawn(&cfg).await.unwrap();
            tx.send(addr).unwrap();
            std::future::pending::<()>().await;
        });
    });
    Server {
        addr: rx.recv_timeout(Duration::from_secs(10)).unwrap(),
    }
}

impl Server {
    pub fn endpoint(&self) -> String {
        format!("http://{}/{ACCOUNT}", self.addr)
    }

    /// Environment for SharedKey access through the test server, with fast retries.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_ACCOUNT".into(), ACCOUNT.into()),
            ("AZURE_STORAGE_KEY".into(), KEY.into()),
            ("DTUTIL_AZURE_FILES_ENDPOINT".into(), self.endpoint()),
            ("DTUTIL_AZURE_RETRY_DELAY_MS".into(), "5".into()),
        ]
    }

    fn control(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let url = format!("http://{}{path}", self.addr);
        let mut resp = match method {
            "POST" => agent.post(&url).send(body).unwrap(),
            "PUT" => agent.put(&url).send(body).unwrap(),
            "DELETE" => agent.delete(&url).call().unwrap(),
            _ => agent.get(&url).call().unwrap(),
        };
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap())
    }

    pub fn add_fault(&self, rule: &str) {
        let (status, body) = self.control("POST", "/_control/faults", rule);
        assert!(status < 300, "adding fault {rule}: {status} {body}");
    }

    /// Slows every request by `ms` milliseconds (0: full speed again).
    pub fn set_latency(&self, ms: u64) {
        let (status, body) = self.control("PUT", "/_control/latency", &format!(r#"{{"ms":{ms}}}"#));
        assert!(status < 300, "setting latency {ms}: {status} {body}");
    }

    pub fn clear_faults(&self) {
        self.control("DELETE", "/_control/faults", "");
    }

    /// The rules with their `seen` and `fired` counters.
    pub fn faults(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("GET", "/_control/faults", "").1).unwrap()
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("GET", "/_control/stats", "").1).unwrap()
    }
}

/// `\\acct.file.core.windows.net\SHARE\rest` with `\` separators.
pub fn unc(share: &str, rest: &str) -> String {
    format!(r"\\{HOST}\{share}\{}", rest.replace('/', "\\"))
}

/// An account SAS for the File service (version 2022-11-02, per the published
/// "Create an account SAS" string-to-sign).
pub fn account_sas(permissions: &str, expires_in: Duration) -> String {
    let fmt = |t: SystemTime| {
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        let dt = time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            dt.month() as u8,
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    };
    let now = SystemTime::now();
    let st = fmt(now - Duration::from_secs(300));
    let se = fmt(now + expires_in);
    let (sv, ss, srt, spr) = ("2022-11-02", "f", "sco", "https,http");
    let sts = format!("{ACCOUNT}\n{permissions}\n{ss}\n{srt}\n{st}\n{se}\n\n{spr}\n{sv}\n\n");
    let key = base64::engine::general_purpose::STANDARD
        .decode(KEY)
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(sts.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "sv={sv}&ss={ss}&srt={srt}&sp={permissions}&st={}&se={}&spr={}&sig={}",
        enc(&st),
        enc(&se),
        enc(spr),
        enc(&sig)
    )
}

/// Deterministic bytes that are not a repeating pattern of any range size.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
