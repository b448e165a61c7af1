//! adf-testserver: Azure Data Factory's ARM API for an Azure-SSIS IR, its token endpoint
//! and managed identity, over HTTPS. A test fixture, not a product.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use testservers::adf::{self, token::ClientApp, Config};

const USAGE: &str = "\
usage: adf-testserver [--listen ADDR] [--ca-out PATH] [--token TOKEN]...
                      [--reader-token TOKEN]... [--client TENANT:CLIENT_ID:SECRET]...
                      [--factory S/RG/F] [--ir NAME]... [--ir-state STATE]
                      [--store NAME=azurefiles:ACCOUNT:SHARE[:DIR] | NAME=sqlmi:HOST,PORT]...
                      [--secret VAULT/NAME=VALUE]... [--store-secret STORE=VAULT/SECRET]...
                      [--run-seconds N] [--fail-package NAME]... [--page-size N]
                      [--managed-identity] [--latency-ms N] [--fail-after N]
                      [--throttle N] [--log-requests]

  --listen ADDR       address to bind (default 127.0.0.1:0); the first stdout line is
                      `listening IP:PORT`; always HTTPS
  --ca-out PATH       write the generated CA certificate (PEM) there, for clients to trust
  --token TOKEN       a bearer token accepted for ARM (repeatable)
  --reader-token T    a bearer token with the Reader role only: writes answer 403
  --client T:C:S      serve POST /T/oauth2/v2.0/token (client credentials) for client C
                      with secret S (a client_assertion equal to S is accepted too)
  --factory S/RG/F    the factory (default 00000000-0000-0000-0000-000000000000/rg/adf)
  --ir NAME           an Azure-SSIS IR (repeatable); --ir-state sets their state
                      (default Started)
  --store NAME=KIND   a package store on every IR, with its linked service LS_NAME:
                      azurefiles:ACCOUNT:SHARE[:DIR] or sqlmi:HOST,PORT (repeatable)
  --secret V/N=VALUE  a Key Vault secret N in vault V (one vault, served at the root:
                      GET /secrets/N, tokens for https://vault.azure.net); the vault
                      gets a linked service LS_V of type AzureKeyVault (repeatable)
  --store-secret S=V/N  store S's linked service keeps its secret (password) in vault V
                      as secret N (an AzureKeyVaultSecret reference; repeatable)
  --run-seconds N     runs go Queued -> InProgress -> Succeeded in N seconds (default 2;
                      fractions allowed)
  --fail-package NAME runs of this package fail with OperationErrorMessages (repeatable)
  --page-size N       runs per page of a run query (default 100)
  --managed-identity  serve /metadata/identity/oauth2/token (IMDS, header Metadata: true)
                      and /msi/token (App Service, header X-IDENTITY-HEADER)
  --latency-ms N      wait N ms before answering each request
  --fail-after N      after N requests, close every further connection without answering
  --throttle N        answer the first N ARM requests 429 with Retry-After: 1
  --log-requests      one stderr line per request

A test fixture, not a product.";

fn parse(args: Vec<String>) -> Result<Config, String> {
    let mut c = Config::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v))
                if f.starts_with("--")
                    && !["--store", "--secret", "--store-secret"].contains(&f) =>
            {
                (f.to_string(), Some(v.to_string()))
            }
            _ => (a.clone(), None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let num = |v: String, name: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{name} needs a number, not `{v}`"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--listen" => {
                let v = val()?;
                c.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--ca-out" => c.ca_out = Some(PathBuf::from(val()?)),
            "--token" => c.tokens.push(val()?),
            "--reader-token" => c.reader_tokens.push(val()?),
            "--client" => c.clients.push(ClientApp::parse(&val()?)?),
            "--factory" => c.factory = val()?,
            "--ir" => c.irs.push(val()?),
            "--ir-state" => c.ir_state = val()?,
            "--store" => {
                let v = val()?;
                let (name, spec) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--store `{v}`: expected NAME=KIND"))?;
                c.stores.push((name.to_string(), spec.to_string()));
            }
            "--secret" => c.secrets.push(adf::vault::parse_secret(&val()?)?),
            "--store-secret" => {
                let v = val()?;
                let bad = || format!("--store-secret `{v}`: expected STORE=VAULT/SECRET");
                let (store, rest) = v.split_once('=').ok_or_else(bad)?;
                let (vault, secret) = rest.split_once('/').ok_or_else(bad)?;
                c.store_secrets
                    .push((store.to_string(), vault.to_string(), secret.to_string()));
            }
            "--run-seconds" => {
                let v = val()?;
                let s: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--run-seconds needs seconds, not `{v}`"))?;
                c.run_time = Duration::from_secs_f64(s);
            }
            "--fail-package" => c.fail_packages.push(val()?),
            "--page-size" => c.page_size = num(val()?, "--page-size")?.max(1) as usize,
            "--managed-identity" => c.managed_identity = true,
            "--latency-ms" => c.latency_ms = num(val()?, "--latency-ms")?,
            "--fail-after" => c.fail_after = Some(num(val()?, "--fail-after")?),
            "--throttle" => c.throttle = num(val()?, "--throttle")?,
            "--log-requests" => c.log_requests = true,
            _ => return Err(format!("unknown argument '{a}'")),
        }
    }
    const STATES: &[&str] = &[
        "Initial",
        "Stopped",
        "Started",
        "Starting",
        "Stopping",
        "NeedRegistration",
        "Online",
        "Limited",
        "Offline",
        "AccessDenied",
    ];
    if !STATES.contains(&c.ir_state.as_str()) {
        return Err(format!("--ir-state must be one of {}", STATES.join(", ")));
    }
    if !c.stores.is_empty() && c.irs.is_empty() {
        return Err("--store needs an --ir to hold it".into());
    }
    Ok(c)
}

fn main() -> ExitCode {
    let cfg = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("adf-testserver: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let bound = match adf::bind(&cfg).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("adf-testserver: {e}");
                return ExitCode::from(1);
            }
        };
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening {}", bound.addr);
            let _ = out.flush();
        }
        eprintln!(
            "adf-testserver: factory {} at https://{}, IRs {:?}, stores {:?}",
            cfg.factory, bound.addr, cfg.irs, cfg.stores
        );
        match adf::server::serve(bound.listener, bound.tls, bound.state).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("adf-testserver: {e}");
                ExitCode::from(1)
            }
        }
    })
}
