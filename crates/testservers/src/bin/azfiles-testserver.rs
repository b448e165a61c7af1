//! azfiles-testserver: an in-memory Azure Files (File service REST API) server for tests.
//! A test fixture, not a product. See crates/testservers/README.md.

use std::io::Write as _;
use std::process::ExitCode;

use testservers::azfiles::{self, faults::Rule, Config};

const USAGE: &str = "\
usage: azfiles-testserver [--listen ADDR] --account NAME --key BASE64KEY
                          [--share NAME]... [--latency-ms N] [--fault JSON]...
                          [--log-requests]

  --listen ADDR     address to bind (default 127.0.0.1:0); the first stdout line is
                    `listening IP:PORT`
  --account NAME    storage account name (default devstoreaccount1)
  --key BASE64KEY   account key (default: the well-known development storage key)
  --share NAME      create this share at startup (repeatable)
  --latency-ms N    wait N ms before serving each request
  --log-requests    print one line per request to stderr (method, path, operation, status)
  --fault JSON      add a fault rule at startup (repeatable), e.g.
                    '{\"op\":\"PutRange\",\"nth\":2}' (see README: Fault injection)

A test fixture, not a product.";

const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn parse_args() -> Result<Config, String> {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        account: "devstoreaccount1".into(),
        key: DEV_KEY.into(),
        shares: Vec::new(),
        latency_ms: 0,
        log_requests: false,
        faults: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                cfg.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--log-requests" => cfg.log_requests = true,
            "--account" => cfg.account = value()?,
            "--key" => cfg.key = value()?,
            "--share" => cfg.shares.push(value()?),
            "--latency-ms" => {
                let v = value()?;
                cfg.latency_ms = v.parse().map_err(|e| format!("--latency-ms {v}: {e}"))?;
            }
            "--fault" => {
                let v = value()?;
                let r: Rule = serde_json::from_str(&v).map_err(|e| format!("--fault {v}: {e}"))?;
                cfg.faults.push(r);
            }
            _ => return Err(format!("unknown argument '{a}'\n{USAGE}")),
        }
    }
    if cfg.account.is_empty() {
        return Err("--account must not be empty".into());
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("azfiles-testserver: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let (listener, state) = match azfiles::bind(&cfg).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("azfiles-testserver: {e}");
                return ExitCode::from(1);
            }
        };
        let addr = listener.local_addr().expect("bound address");
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening {addr}");
            let _ = out.flush();
        }
        eprintln!(
            "azfiles-testserver: account {} at http://{addr}/{}, shares {:?}",
            cfg.account, cfg.account, cfg.shares
        );
        match azfiles::server::serve(listener, state).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("azfiles-testserver: {e}");
                ExitCode::from(1)
            }
        }
    })
}
