//! msdb-testserver: SQL Server's msdb, as far as dtutil's tests need it, over TDS 7.4
//! (and TDS 8.0 strict encryption).
//! A test fixture, not a product.

use std::path::PathBuf;
use std::process::ExitCode;

use testservers::msdb::{run, Config, Login, WindowsLogin};

const USAGE: &str = "\
usage: msdb-testserver [--listen ADDR] [--tls [--tls-strict-only] [--ca-out PATH]]
                       [--data PATH] --login USER:PASSWORD[:ROLE,...] [--login ...]
                       [--latency-ms N] [--fail-after N] [--log-requests]
                       [--gssapi --windows-login PRINCIPAL@REALM[:ROLE,...] ...]

  --listen ADDR     address to listen on (default 127.0.0.1:0); the first stdout line
                    is `listening HOST:PORT`
  --tls             generate a CA and a localhost/127.0.0.1 leaf certificate and require
                    encryption, as SQL Server 2022 does: TDS 7.x clients get TLS 1.2 inside
                    PRELOGIN packets (Encrypt=yes), TDS 8.0 clients TLS 1.2/1.3 before
                    PRELOGIN with ALPN tds/8.0 (Encrypt=strict)
  --tls-strict-only with --tls, accept TDS 8.0 only (SQL Server's Force Strict Encryption):
                    a TDS 7.x PRELOGIN is refused by closing the connection
  --ca-out PATH     write the generated CA certificate (PEM) there, for clients to trust
  --data PATH       persist msdb to this JSON file (default: in memory)
  --login U:P[:R]   a SQL login; roles: sysadmin, db_ssisadmin, db_ssisltduser,
                    db_ssisoperator (comma-separated). Without `:ROLES` the login is
                    sysadmin; `U:P:` has no role. Repeatable.
  --latency-ms N    sleep N ms before answering each request
  --fail-after N    after N requests (server-wide), drop the connection of every further
                    request without answering (fault injection)
  --log-requests    one stderr line per request: its kind and procedure, never values
  --gssapi          accept integrated (Windows) logins: the LOGIN7 SSPI exchange checked
                    with Kerberos through the system GSSAPI, keys from the keytab that
                    KRB5_KTNAME names (service principal MSSQLSvc/HOST:PORT)
  --windows-login P[:R]  with --gssapi, the Kerberos principal P (user@REALM) is a login
                    with roles R (as for --login; none given: sysadmin). Any other
                    principal gets error 18456 naming it. Repeatable.
";

fn parse(args: Vec<String>) -> Result<Config, String> {
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--listen" => c.listen = val("--listen")?,
            "--tls" => c.tls = true,
            "--tls-strict-only" => c.tls_strict_only = true,
            "--log-requests" => c.log_requests = true,
            "--ca-out" => c.ca_out = Some(PathBuf::from(val("--ca-out")?)),
            "--data" => c.data = Some(PathBuf::from(val("--data")?)),
            "--login" => c.logins.push(Login::parse(&val("--login")?)?),
            "--gssapi" => c.gssapi = true,
            "--windows-login" => c
                .windows_logins
                .push(WindowsLogin::parse(&val("--windows-login")?)?),
            "--latency-ms" => {
                c.latency_ms = val("--latency-ms")?
                    .parse()
                    .map_err(|_| "--latency-ms needs a number".to_string())?
            }
            "--fail-after" => {
                c.fail_after = Some(
                    val("--fail-after")?
                        .parse()
                        .map_err(|_| "--fail-after needs a number".to_string())?,
                )
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    if c.logins.is_empty() && c.windows_logins.is_empty() {
        return Err(
            "at least one --login USER:PASSWORD (or --gssapi --windows-login PRINCIPAL) is required"
                .into(),
        );
    }
    if !c.windows_logins.is_empty() && !c.gssapi {
        return Err("--windows-login needs --gssapi".into());
    }
    if c.ca_out.is_some() && !c.tls {
        return Err("--ca-out needs --tls".into());
    }
    if c.tls_strict_only && !c.tls {
        return Err("--tls-strict-only needs --tls".into());
    }
    Ok(c)
}

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        // `--help` is an answer, not a mistake: stdout and exit 0.
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("msdb-testserver: {e}");
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("msdb-testserver: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("msdb-testserver: {e}");
            ExitCode::FAILURE
        }
    }
}
