//! A real MIT Kerberos KDC for tests: its own realm in a temporary directory, listening on
//! loopback, with principals, keytabs and ticket caches made by MIT's own tools
//! (`kdb5_util`, `kadmin.local`, `krb5kdc`, `kinit`). Debian: krb5-kdc, krb5-admin-server,
//! krb5-user (`.ci/install-test-deps` installs them). A test fixture, not a product.
//!
//! Nothing touches the machine's Kerberos setup: every tool runs with `KRB5_CONFIG` and
//! `KRB5_KDC_PROFILE` pointing into the directory, and callers pass [`Kdc::env`] on.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REALM: &str = "DTUTIL.TEST";
const MASTER_PASSWORD: &str = "kdc-master-password";

pub struct Kdc {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// Where MIT's tools are on Debian when /usr/sbin is not on PATH.
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Why the KDC cannot run here, if it cannot: names the packages to install.
pub fn missing_tools() -> Option<String> {
    let missing: Vec<&str> = ["krb5kdc", "kdb5_util", "kadmin.local", "kinit", "kdestroy"]
        .into_iter()
        .filter(|t| !tool(t).exists())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "MIT Kerberos tools missing ({}): run .ci/install-test-deps (apt: krb5-kdc krb5-admin-server krb5-user)",
            missing.join(", ")
        )
    })
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

impl Kdc {
    /// Creates the realm's database and starts the KDC.
    pub fn start() -> Result<Kdc, String> {
        if let Some(m) = missing_tools() {
            return Err(m);
        }
        let dir = tempfile::Builder::new()
            .prefix("dtutil-kdc-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("krb5.conf"),
            format!(
                "[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n  rdns = false\n  dns_canonicalize_hostname = false\n  udp_preference_limit = 1\n  default_ccache_name = FILE:{d}/no-default-ccache\n\n[realms]\n  {REALM} = {{\n    kdc = 127.0.0.1:{port}\n  }}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(
            dir.path().join("kdc.conf"),
            format!(
                "[kdcdefaults]\n  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n\n[realms]\n  {REALM} = {{\n    database_name = {d}/principal\n    key_stash_file = {d}/stash\n    acl_file = {d}/kadm5.acl\n    max_life = 10h\n  }}\n\n[logging]\n  kdc = FILE:{d}/kdc.log\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut kdc = Kdc {
            dir,
            port,
            child: None,
        };
        kdc.run(
            Command::new(tool("kdb5_util")).args([
                "create",
                "-s",
                "-r",
                REALM,
                "-P",
                MASTER_PASSWORD,
            ]),
            None,
        )?;
        kdc.launch(None)?;
        Ok(kdc)
    }

    /// The variables every Kerberos program in the test needs (add `KRB5CCNAME` or
    /// `KRB5_KTNAME` per process).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), self.path("krb5.conf")),
            ("KRB5_KDC_PROFILE".into(), self.path("kdc.conf")),
            // MIT would otherwise keep a replay cache under /var/tmp.
            ("KRB5RCACHETYPE".into(), "none".into()),
        ]
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn run(&self, cmd: &mut Command, stdin: Option<&str>) -> Result<String, String> {
        let what = format!("{cmd:?}");
        cmd.envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("{what}: {e}"))?;
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("piped")
                .write_all(input.as_bytes())
                .map_err(|e| format!("{what}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{what}: {e}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(format!("{what} failed: {text}"));
        }
        Ok(text)
    }

    fn kadmin(&self, query: &str) -> Result<(), String> {
        let out = self.run(
            Command::new(tool("kadmin.local")).args(["-r", REALM, "-q", query]),
            None,
        )?;
        // kadmin.local exits 0 even when the query failed.
        if out.contains("while ") || out.contains("error") {
            return Err(format!("kadmin.local -q '{query}': {out}"));
        }
        Ok(())
    }

    /// (Re)starts krb5kdc; `clock_offset` like "+1h" runs it with a clock that far off
    /// (libfaketime), to provoke clock-skew errors.
    pub fn launch(&mut self, clock_offset: Option<&str>) -> Result<(), String> {
        self.stop();
        // A test binary's shared KDC lives in a static that is never dropped: a small shell
        // keeps the KDC only as long as this process (and stops it on SIGTERM from stop()).
        let watchdog = "\"$0\" -n -r \"$1\" & k=$!; trap 'kill $k 2>/dev/null; exit 0' TERM INT; \
             while kill -0 \"$2\" 2>/dev/null && kill -0 $k 2>/dev/null; do sleep 0.5; done; \
             kill $k 2>/dev/null";
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(watchdog)
            .arg(tool("krb5kdc"))
            .arg(REALM)
            .arg(std::process::id().to_string())
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(offset) = clock_offset {
            let lib = faketime_library().ok_or(
                "libfaketime missing: run .ci/install-test-deps (apt: faketime)".to_string(),
            )?;
            cmd.env("LD_PRELOAD", lib).env("FAKETIME", offset);
        }
        let child = cmd.spawn().map_err(|e| format!("krb5kdc: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!(
                    "krb5kdc exited ({status}); log: {}",
                    std::fs::read_to_string(self.path("kdc.log")).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err("krb5kdc did not listen within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the watchdog shell stops the KDC, then exits.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    pub fn add_user(&self, name: &str, password: &str) -> Result<(), String> {
        self.kadmin(&format!("addprinc -pw {password} {name}"))
    }

    /// A service principal with a random key, exported to the keytab `keytab` (a file in
    /// the directory); returns the keytab's path.
    pub fn add_service(&self, spn: &str, keytab: &str) -> Result<String, String> {
        self.kadmin(&format!("addprinc -randkey {spn}"))?;
        let path = self.path(keytab);
        self.kadmin(&format!("ktadd -k {path} {spn}"))?;
        Ok(path)
    }

    /// `kinit` with a password into the cache `ccache` (a file in the directory); returns
    /// the `KRB5CCNAME` value. `lifetime` as kinit's -l takes it ("2s", "10h").
    pub fn kinit(
        &self,
        user: &str,
        password: &str,
        ccache: &str,
        lifetime: Option<&str>,
    ) -> Result<String, String> {
        let name = format!("FILE:{}", self.path(ccache));
        let mut cmd = Command::new(tool("kinit"));
        cmd.env("KRB5CCNAME", &name);
        if let Some(l) = lifetime {
            cmd.args(["-l", l]);
        }
        cmd.arg(user);
        self.run(&mut cmd, Some(&format!("{password}\n")))?;
        Ok(name)
    }

    pub fn kdestroy(&self, ccache: &str) -> Result<(), String> {
        let name = format!("FILE:{}", self.path(ccache));
        self.run(Command::new(tool("kdestroy")).env("KRB5CCNAME", name), None)
            .map(|_| ())
    }
}

fn faketime_library() -> Option<PathBuf> {
    [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.stop();
    }
}
