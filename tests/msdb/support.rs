//! Shared by the msdb tests (`msdb_store.rs`, `msdb_cli.rs`, `msdb_live.rs`): the
//! in-process msdb test server, the live SQL Server from `DTUTIL_TEST_SQLSERVER`, and
//! synthetic packages.
#![allow(dead_code)]

use dtutil::store::msdb::{ConnectOptions, MsdbStore};
use dtutil::store::SqlCredentials;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// A SQL Server to test against: how the store and the dtutil binary reach it.
#[derive(Clone)]
pub struct Sql {
    pub server: String,
    pub user: String,
    pub password: String,
    pub options: ConnectOptions,
    /// The environment the dtutil binary needs for the same options.
    pub env: Vec<(String, String)>,
    /// A real SQL Server (`DTUTIL_TEST_SQLSERVER`), not the test server.
    pub live: bool,
}

impl Sql {
    pub fn credentials(&self) -> SqlCredentials {
        SqlCredentials {
            server: Some(self.server.clone()),
            user: Some(self.user.clone()),
            password: Some(Zeroizing::new(self.password.clone())),
            login_options: None,
        }
    }

    pub fn as_user(&self, user: &str, password: &str) -> Sql {
        Sql {
            user: user.into(),
            password: password.into(),
            ..self.clone()
        }
    }

    pub fn store(&self) -> MsdbStore {
        MsdbStore::open(&self.credentials(), &self.options)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.server))
    }
}

/// An msdb test server running in this process (its own thread and runtime).
/// The logins the command-line tests sign in with.
pub const CLI_LOGINS: &[&str] = &[
    "sa:Sa-Secret1",
    "ltd:Ltd-Secret3:db_ssisltduser",
    "op:Op-Secret5:db_ssisoperator",
];

/// `fn NAME() -> &'static TestServer`: one server for the whole test binary, started
/// on first use.
#[macro_export]
macro_rules! shared_server {
    ($name:ident, $start:expr) => {
        fn $name() -> &'static TestServer {
            static S: std::sync::OnceLock<TestServer> = std::sync::OnceLock::new();
            S.get_or_init(|| $start)
        }
    };
}

/// Source and destination on two TLS servers with different CAs: a PEM bundle of
/// both in `dir`, and `sql` trusting it through `DTUTIL_SQL_CA` (plus `env`), so that
/// one process reaches both.
pub fn trusting_both(
    dir: &std::path::Path,
    a: &TestServer,
    b: &TestServer,
) -> impl Fn(Sql, &[(&str, &str)]) -> Sql {
    let bundle = dir.join("both.pem");
    let mut pem = std::fs::read(a.ca.as_ref().unwrap()).unwrap();
    pem.extend(std::fs::read(b.ca.as_ref().unwrap()).unwrap());
    std::fs::write(&bundle, pem).unwrap();
    let ca = bundle.display().to_string();
    move |mut sql: Sql, env: &[(&str, &str)]| {
        sql.env = vec![("DTUTIL_SQL_CA".into(), ca.clone())];
        sql.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        sql.options.ca = Some(ca.clone());
        sql
    }
}

pub struct TestServer {
    pub port: u16,
    pub ca: Option<PathBuf>,
    /// The loopback address it listens on (127.0.0.1 unless started elsewhere).
    pub ip: String,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with these `USER:PASSWORD[:ROLES]` logins; with `tls`, it
    /// requires encryption and its generated CA is written for clients to trust.
    pub fn start(tls: bool, logins: &[&str]) -> TestServer {
        Self::start_with(tls, logins, 0)
    }

    /// As [`start`](Self::start), answering every request `latency_ms` late.
    pub fn start_with(tls: bool, logins: &[&str], latency_ms: u64) -> TestServer {
        Self::launch(tls, false, "127.0.0.1", logins, latency_ms, None)
    }

    /// As [`start`](Self::start), serving (and persisting to) the msdb in `data`: rows
    /// no dtutil command would write (odd names) are seeded this way.
    pub fn start_with_data(tls: bool, logins: &[&str], data: PathBuf) -> TestServer {
        Self::launch(tls, false, "127.0.0.1", logins, 0, Some(data))
    }

    /// A server that accepts TDS 8.0 (strict encryption) only, listening on `ip` (a
    /// loopback address; its certificate names only `localhost` and `127.0.0.1`).
    pub fn start_strict_only(ip: &str, logins: &[&str]) -> TestServer {
        Self::launch(true, true, ip, logins, 0, None)
    }

    fn launch(
        tls: bool,
        strict_only: bool,
        ip: &str,
        logins: &[&str],
        latency_ms: u64,
        data: Option<PathBuf>,
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let ca = tls.then(|| dir.path().join("ca.pem"));
        for attempt in 0..5 {
            let port = free_port(ip);
            let config = testservers::msdb::Config {
                listen: format!("{ip}:{port}"),
                tls,
                tls_strict_only: strict_only,
                ca_out: ca.clone(),
                data: data.clone(),
                logins: logins
                    .iter()
                    .map(|l| testservers::msdb::Login::parse(l).unwrap())
                    .collect(),
                latency_ms,
                fail_after: None,
                ..Default::default()
            };
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                if let Err(e) = rt.block_on(testservers::msdb::run(config)) {
                    eprintln!("msdb test server on port {port}: {e}");
                }
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let up = std::net::TcpStream::connect((ip, port)).is_ok()
                    && !matches!(&ca, Some(c) if !c.exists());
                if up {
                    return TestServer {
                        port,
                        ca,
                        ip: ip.to_string(),
                        _dir: dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("msdb test server did not come up on port {port} (attempt {attempt})");
        }
        panic!("cannot start the msdb test server");
    }

    /// The server as dtutil scripts name it: `127.0.0.1,PORT`.
    pub fn server(&self) -> String {
        format!("{},{}", self.ip, self.port)
    }

    /// As [`sql`](Self::sql), with TDS 8.0 strict encryption and the CA trusted.
    pub fn sql_strict(&self, user: &str, password: &str) -> Sql {
        let mut sql = self.sql(user, password);
        sql.options.encrypt = Some("strict".into());
        sql.env.push(("DTUTIL_SQL_ENCRYPT".into(), "strict".into()));
        sql
    }

    pub fn sql(&self, user: &str, password: &str) -> Sql {
        let mut options = ConnectOptions {
            connect_timeout: Some(Duration::from_secs(10)),
            command_timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        };
        let mut env = Vec::new();
        match &self.ca {
            Some(ca) => {
                options.ca = Some(ca.display().to_string());
                env.push(("DTUTIL_SQL_CA".into(), ca.display().to_string()));
            }
            None => {
                options.encrypt = Some("off".into());
                env.push(("DTUTIL_SQL_ENCRYPT".into(), "off".into()));
            }
        }
        Sql {
            server: self.server(),
            user: user.into(),
            password: password.into(),
            options,
            env,
            live: false,
        }
    }
}

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The live SQL Server from `DTUTIL_TEST_SQLSERVER`
/// (`server=HOST[,PORT];user=U;password=P[;trustservercertificate=true][;ca=PATH][;encrypt=on|strict|off]`),
/// or `None` with the reason printed.
pub fn live() -> Option<Sql> {
    let Ok(spec) = std::env::var("DTUTIL_TEST_SQLSERVER") else {
        eprintln!(
            "SKIPPED: live SQL Server suite: DTUTIL_TEST_SQLSERVER is not set (server=HOST,PORT;user=U;password=P[;trustservercertificate=true]; see docs/msdb.md)"
        );
        return None;
    };
    let mut sql = Sql {
        server: String::new(),
        user: String::new(),
        password: String::new(),
        options: ConnectOptions::default(),
        env: Vec::new(),
        live: true,
    };
    for part in spec.split(';').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part
            .split_once('=')
            .unwrap_or_else(|| panic!("DTUTIL_TEST_SQLSERVER: `{part}` is not key=value"));
        let value = value.trim().to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "server" | "data source" => sql.server = value,
            "user" | "user id" | "uid" => sql.user = value,
            "password" | "pwd" => sql.password = value,
            "trustservercertificate" => {
                sql.options.trust_server_certificate = value.eq_ignore_ascii_case("true");
                sql.env
                    .push(("DTUTIL_SQL_TRUST_SERVER_CERTIFICATE".into(), value));
            }
            "ca" => {
                sql.options.ca = Some(value.clone());
                sql.env.push(("DTUTIL_SQL_CA".into(), value));
            }
            "encrypt" => {
                sql.options.encrypt = Some(value.clone());
                sql.env.push(("DTUTIL_SQL_ENCRYPT".into(), value));
            }
            other => panic!("DTUTIL_TEST_SQLSERVER: unknown key `{other}`"),
        }
    }
    assert!(
        !sql.server.is_empty() && !sql.user.is_empty(),
        "DTUTIL_TEST_SQLSERVER needs server= and user="
    );
    Some(sql)
}

/// A name no other test (or earlier live run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{:x}_{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a synthetic package carries, to check msdb's columns against.
pub struct PackageSpec {
    pub id: String,
    pub version_guid: String,
    pub major: i32,
    pub minor: i32,
    pub build: i32,
    pub description: String,
}

pub fn new_guid() -> String {
    format!("{{{}}}", uuid::Uuid::new_v4().to_string().to_uppercase())
}

/// A format-8 package at DontSaveSensitive (level 0) that still holds a sensitive
/// connection password in the clear (re-protecting it to 2 or 3 encrypts it), with a
/// padding variable bringing it to about `size` bytes. Level 0, not 5: a ServerStorage
/// package does not leave msdb for a file unless re-protected
/// ([`server_storage_package`]), and these tests carry packages both ways.
pub fn package(size: usize) -> (Vec<u8>, PackageSpec) {
    let (bytes, spec) = server_storage_package(size);
    let text = String::from_utf8(bytes).unwrap();
    let at_level_0 = text.replacen("DTS:ProtectionLevel=\"5\"", "DTS:ProtectionLevel=\"0\"", 1);
    (at_level_0.into_bytes(), spec)
}

/// [`package`] stored with ServerStorage (level 5), as msdb keeps packages.
pub fn server_storage_package(size: usize) -> (Vec<u8>, PackageSpec) {
    let spec = PackageSpec {
        id: new_guid(),
        version_guid: new_guid(),
        major: 2,
        minor: 7,
        build: 41,
        description: "Loads customers & orders".into(),
    };
    let head = format!(
        r#"<?xml version="1.0"?>
<DTS:Executable xmlns:DTS="www.microsoft.com/SqlServer/Dts"
  DTS:refId="Package"
  DTS:CreationName="Microsoft.Package"
  DTS:Description="Loads customers &amp; orders"
  DTS:DTSID="{id}"
  DTS:ExecutableType="Microsoft.Package"
  DTS:LastModifiedProductVersion="15.0.2000.180"
  DTS:ObjectName="Synthetic"
  DTS:PackageType="5"
  DTS:ProtectionLevel="5"
  DTS:VersionMajor="{major}"
  DTS:VersionMinor="{minor}"
  DTS:VersionBuild="{build}"
  DTS:VersionGUID="{vid}">
  <DTS:Property
    DTS:Name="PackageFormatVersion">8</DTS:Property>
  <DTS:ConnectionManagers>
    <DTS:ConnectionManager
      DTS:refId="Package.ConnectionManagers[DW]"
      DTS:CreationName="OLEDB"
      DTS:DTSID="{{2C9A7E51-4B3D-4F08-A6E2-9D1C5B7F3A64}}"
      DTS:ObjectName="DW">
      <DTS:ObjectData>
        <DTS:ConnectionManager
          DTS:ConnectionString="Data Source=dw;User ID=etl;Initial Catalog=DW;Provider=SQLNCLI11.1;">
          <DTS:Password
            DTS:Name="Password"
            Sensitive="1">s3cret-Pw</DTS:Password>
        </DTS:ConnectionManager>
      </DTS:ObjectData>
    </DTS:ConnectionManager>
  </DTS:ConnectionManagers>
  <DTS:Variables>
    <DTS:Variable
      DTS:CreationName=""
      DTS:DTSID="{{7B1C2D3E-4F50-4A61-8B72-9C83D4E5F607}}"
      DTS:Namespace="User"
      DTS:ObjectName="Padding">
      <DTS:VariableValue
        DTS:DataType="8">"#,
        id = spec.id,
        vid = spec.version_guid,
        major = spec.major,
        minor = spec.minor,
        build = spec.build,
    );
    let tail =
        "</DTS:VariableValue>\r\n    </DTS:Variable>\r\n  </DTS:Variables>\r\n</DTS:Executable>";
    let mut bytes = head.replace('\n', "\r\n").into_bytes();
    let pad = size.saturating_sub(bytes.len() + tail.len());
    // Not compressible to nothing, so a broken transfer shows: a cycling alphabet
    // with a line break every 100 bytes.
    bytes.extend((0..pad).map(|i| {
        if i % 100 == 99 {
            b'\n'
        } else {
            b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + i / 100) % 36]
        }
    }));
    bytes.extend_from_slice(tail.as_bytes());
    (bytes, spec)
}

/// One row of `msdb.dbo.sysssispackages`, read with a SELECT of our own (not through
/// the store), to check what `sp_ssis_putpackage` filed.
#[derive(Debug)]
pub struct PackageRow {
    pub id: uuid::Uuid,
    pub verid: uuid::Uuid,
    pub vermajor: i32,
    pub verminor: i32,
    pub verbuild: i32,
    pub packageformat: i32,
    pub packagetype: i32,
    pub description: Option<String>,
    pub isencrypted: bool,
    pub length: i64,
}

/// The row of the package `name` (names are unique per test), if any.
pub fn package_row(sql: &Sql, name: &str) -> Option<PackageRow> {
    use tiberius::{AuthMethod, Client, Config, EncryptionLevel, SqlBrowser};
    use tokio_util::compat::TokioAsyncWriteCompatExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = dtutil::store::msdb::ServerAddr::parse(Some(&sql.server)).unwrap();
        let mut config = Config::new();
        config.host(&addr.host);
        if let Some(port) = addr.port {
            config.port(port);
        }
        if let Some(instance) = &addr.instance {
            config.instance_name(instance);
        }
        config.database("msdb");
        config.authentication(AuthMethod::sql_server(&sql.user, &sql.password));
        match (&sql.options.ca, sql.options.encrypt.as_deref()) {
            (Some(ca), Some("strict")) => {
                config.encryption(EncryptionLevel::Strict);
                config.trust_cert_ca(ca);
            }
            (Some(ca), _) => {
                config.encryption(EncryptionLevel::Required);
                config.trust_cert_ca(ca);
            }
            (None, Some("off")) => config.encryption(EncryptionLevel::NotSupported),
            _ => {
                config.encryption(EncryptionLevel::Required);
                if sql.options.trust_server_certificate {
                    config.trust_cert();
                }
            }
        }
        let tcp = tokio::net::TcpStream::connect_named(&config).await.unwrap();
        let mut client = Client::connect(config, tcp.compat_write()).await.unwrap();
        let row = client
            .query(
                "SELECT id, verid, vermajor, verminor, verbuild, packageformat, packagetype, description, isencrypted, DATALENGTH(packagedata) AS length FROM msdb.dbo.sysssispackages WHERE name = @P1",
                &[&name],
            )
            .await
            .unwrap()
            .into_row()
            .await
            .unwrap()?;
        let length = row
            .try_get::<i64, _>(9)
            .ok()
            .flatten()
            .or_else(|| row.get::<i32, _>(9).map(i64::from))
            .unwrap_or(-1);
        Some(PackageRow {
            id: row.get(0).unwrap(),
            verid: row.get(1).unwrap(),
            vermajor: row.get(2).unwrap(),
            verminor: row.get(3).unwrap(),
            verbuild: row.get(4).unwrap(),
            packageformat: row.get(5).unwrap(),
            packagetype: row.get(6).unwrap(),
            description: row.get::<&str, _>(7).map(str::to_string),
            isencrypted: row.get(8).unwrap(),
            length,
        })
    })
}

/// `{GUID}` as the package writes it, as a uuid.
pub fn guid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap()
}
