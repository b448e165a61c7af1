//! An Azure Files path's host is checked as the HTTP client reads it (adversary F22):
//! `ACCOUNT.file.core.windows.net@other:port` would reach `other` with the account's
//! SAS, and `ACCOUNT.file.core.<any domain>` any host with a certificate of its own.
//! Both are refused before any connection; nothing secret is printed.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

#[test]
fn credentials_never_go_to_a_host_after_at_or_to_another_domain() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx");
    let cs = "AccountName=myacct;SharedAccessSignature=sv=2022&sig=SASBEARERQQ;DefaultEndpointsProtocol=http";
    for dest in [
        format!("FILE;https://myacct.file.core.windows.net@127.0.0.1:{port}/share/x.dtsx"),
        format!(r"FILE;\\myacct.file.core.windows.net@127.0.0.1:{port}\share\x.dtsx"),
        "FILE;https://myacct.file.core.attacker.example/share/x.dtsx".to_string(),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dtutil"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") || k.ends_with("_PROXY") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .args(["/FILE", pkg.to_str().unwrap(), "/COPY", &dest, "/Q"])
            .env("AZURE_STORAGE_CONNECTION_STRING", cs)
            .env("DTUTIL_AZURE_RETRIES", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(out.status.code(), Some(0), "{dest}: {all}");
        assert!(!all.contains("SASBEARERQQ"), "{dest}: {all}");
        assert!(
            all.contains('@') || all.contains("not an Azure Files host"),
            "{dest}: {all}"
        );
        assert!(
            listener.accept().is_err(),
            "{dest}: dtutil connected to the host after `@`"
        );
    }
}
