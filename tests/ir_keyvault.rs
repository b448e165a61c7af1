//! Linked-service secrets kept in Azure Key Vault (issue 15): with `--ir`, a package
//! store whose linked service keeps its account key or SQL password in Key Vault is
//! reached with the secret read from the vault (adf-testserver serves it) with the same
//! credential as ARM, trusted through DTUTIL_ARM_CA; each Azure Files account has its
//! own credential (`AZURE_STORAGE_KEY_<ACCOUNT>`), and none is ever printed.

mod azfiles_support;
mod fixture_support;
mod ir_support;
#[path = "msdb/support.rs"]
mod msdb_support;

use ir_support::*;
use std::path::Path;

/// The vaulted account's key: only the vault (and the second share's server) know it.
const VAULTED_KEY: &str = "dmF1bHRlZC1hY2NvdW50LWtleS1zZW50aW5lbC0zYzlm";
const MI_PASSWORD: &str = "Mi-Vault-Sentinel-5e2a";

/// An azfiles-testserver for account `vaulted` (share `pkgs`) with VAULTED_KEY.
fn vaulted_share() -> String {
    let addr = azfiles_support::start_account("vaulted", VAULTED_KEY, &["pkgs"]).addr;
    format!("http://{addr}/vaulted")
}

struct World {
    adf: Adf,
    /// FILES: account `acct`, its key in the environment (shared variables).
    azure: azfiles_support::Server,
    /// VAULTED: account `vaulted`, its key in Key Vault.
    vaulted_endpoint: String,
    _msdb: msdb_support::TestServer,
    dir: tempfile::TempDir,
}

fn world(secret_name: &str) -> World {
    let azure = azfiles_support::start(&["ssis"]);
    let vaulted_endpoint = vaulted_share();
    // The managed instance's login is the linked service's userName, its password only
    // in the vault.
    let msdb = msdb_support::TestServer::start(false, &[&format!("ssisadmin:{MI_PASSWORD}")]);
    let server = msdb.server();
    let secret_name = secret_name.to_string();
    let adf = start(move |c| {
        c.stores = vec![
            ("FILES".into(), "azurefiles:acct:ssis".into()),
            ("VAULTED".into(), "azurefiles:vaulted:pkgs".into()),
            ("MI".into(), format!("sqlmi:{server}")),
        ];
        c.secrets = vec![
            ("kv-ssis".into(), "files-key".into(), VAULTED_KEY.into()),
            ("kv-ssis".into(), "mi-password".into(), MI_PASSWORD.into()),
        ];
        c.store_secrets = vec![
            ("VAULTED".into(), "kv-ssis".into(), secret_name),
            ("MI".into(), "kv-ssis".into(), "mi-password".into()),
        ];
    });
    let dir = tempfile::tempdir().unwrap();
    // At level 0: the fixture's own level 5 may not go to a share.
    fixture_support::write_level0("CustomerLoad.dtsx", &dir.path().join("p.dtsx"));
    World {
        adf,
        azure,
        vaulted_endpoint,
        _msdb: msdb,
        dir,
    }
}

impl World {
    /// Client credentials (a token for ARM and one for Key Vault); account `acct`'s key
    /// in the shared variables; no SQL login; each account's endpoint by its name.
    fn env(&self) -> Vec<(String, String)> {
        let mut e = self.adf.client_env(SECRET);
        e.extend(self.azure.env());
        e.retain(|(k, _)| k != "DTUTIL_AZURE_FILES_ENDPOINT");
        e.extend([
            (
                "DTUTIL_AZURE_FILES_ENDPOINT_ACCT".to_string(),
                self.azure.endpoint(),
            ),
            (
                "DTUTIL_AZURE_FILES_ENDPOINT_VAULTED".into(),
                self.vaulted_endpoint.clone(),
            ),
            ("DTUTIL_SQL_ENCRYPT".into(), "off".into()),
        ]);
        e
    }

    fn run(&self, args: &[&str], env: &[(String, String)]) -> std::process::Output {
        let mut c = std::process::Command::new(BIN);
        c.current_dir(self.dir.path()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") || k.starts_with("IDENTITY_") {
                c.env_remove(k);
            }
        }
        c.env("PATH", "/nonexistent-dtutil-test-path");
        c.envs(env.iter().cloned());
        let o = c.output().unwrap();
        let (out, err) = text(&o);
        for secret in [VAULTED_KEY, MI_PASSWORD, SECRET] {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{args:?} printed a secret\nstdout:\n{out}\nstderr:\n{err}"
            );
        }
        o
    }

    fn ok(&self, args: &[&str], env: &[(String, String)]) -> String {
        let o = self.run(args, env);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }
}

#[test]
fn store_secrets_come_from_key_vault() {
    let w = world("files-key");
    let env = w.env();
    let id = w.adf.ir_id();
    let ir = id.as_str();

    // `ir stores` names where each secret is kept, never its value.
    let out = w.ok(&["ir", "stores", "--ir", ir], &env);
    assert!(
        out.contains("password in Key Vault: secret files-key of LS_kv-ssis"),
        "{out}"
    );

    // VAULTED's account key is only in the vault: the copy lands in its share.
    w.ok(&["/FC", "DTS;VAULTED;Fin", "--ir", ir], &env);
    w.ok(
        &[
            "/FILE",
            "p.dtsx",
            "/COPY",
            r"DTS;VAULTED\Fin\Load",
            "--ir",
            ir,
        ],
        &env,
    );
    // Read back as a plain FILE path with the account's own key variable.
    let own_key = vec![
        (
            "AZURE_STORAGE_KEY_VAULTED".to_string(),
            VAULTED_KEY.to_string(),
        ),
        (
            "DTUTIL_AZURE_FILES_ENDPOINT_VAULTED".into(),
            w.vaulted_endpoint.clone(),
        ),
    ];
    let out = w.ok(
        &[
            "/FILE",
            r"\\vaulted.file.core.windows.net\pkgs\Fin\Load.dtsx",
            "/EXISTS",
        ],
        &own_key,
    );
    assert!(out.contains("The specified package exists."), "{out}");

    // FILES (account acct, key in the environment) and VAULTED side by side.
    w.ok(
        &[
            "/DTS",
            r"VAULTED\Fin\Load",
            "/COPY",
            r"DTS;FILES\FromVault",
            "--ir",
            ir,
        ],
        &env,
    );
    // MI's SQL password is only in the vault (no DTUTIL_STORE_SQL_* set).
    w.ok(
        &[
            "/DTS",
            r"FILES\FromVault",
            "/COPY",
            r"DTS;MI\Load",
            "--ir",
            ir,
        ],
        &env,
    );
    let out = w.ok(&["/DTS", r"MI\Load", "/EXISTS", "--ir", ir], &env);
    assert!(out.contains("The specified package exists."), "{out}");

    // The environment's own credential for a store is used, and the vault left alone:
    // an ARM-only token cannot read Key Vault, yet this works.
    let mut env_creds = w.adf.env();
    env_creds.extend(w.env().into_iter().filter(|(k, _)| {
        k.starts_with("DTUTIL_AZURE_FILES_ENDPOINT")
            || k.starts_with("AZURE_STORAGE")
            || k == "DTUTIL_SQL_ENCRYPT"
    }));
    env_creds.extend([
        (
            "AZURE_STORAGE_KEY_VAULTED".to_string(),
            VAULTED_KEY.to_string(),
        ),
        ("DTUTIL_STORE_SQL_USER".into(), "ssisadmin".into()),
        ("DTUTIL_STORE_SQL_PASSWORD".into(), MI_PASSWORD.into()),
    ]);
    let out = w.ok(
        &["/DTS", r"VAULTED\Fin\Load", "/EXISTS", "--ir", ir],
        &env_creds,
    );
    assert!(out.contains("The specified package exists."), "{out}");

    // Without them, the ARM-only token is the answer: it cannot read the vault.
    let mut arm_only = w.adf.env();
    arm_only.extend(
        w.env()
            .into_iter()
            .filter(|(k, _)| k.starts_with("DTUTIL_AZURE_FILES_ENDPOINT")),
    );
    let o = w.run(
        &["/DTS", r"VAULTED\Fin\Load", "/EXISTS", "--ir", ir],
        &arm_only,
    );
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (_, err) = text(&o);
    assert!(
        err.contains("Key Vault")
            && err.contains("DTUTIL_ARM_ACCESS_TOKEN is a token for ARM only"),
        "{err}"
    );
}

/// One unreadable vault secret fails only the commands that need it: the others work,
/// and the failing one names the secret (never a value) and the fix.
#[test]
fn a_missing_vault_secret_is_a_clear_error() {
    let w = world("no-such-secret");
    let id = w.adf.ir_id();
    let ir = id.as_str();
    let env = w.env();
    // Listing the stores, and the stores whose secrets are readable, work.
    let out = w.ok(&["/FDi", r"DTS;\", "--ir", ir], &env);
    assert!(out.contains("VAULTED") && out.contains("FILES"), "{out}");
    w.ok(
        &["/FILE", "p.dtsx", "/COPY", r"DTS;FILES\Load", "--ir", ir],
        &env,
    );
    w.ok(
        &["/FILE", "p.dtsx", "/COPY", r"DTS;MI\Load", "--ir", ir],
        &env,
    );
    // The store whose secret is missing says which secret and what to do.
    let o = w.run(&["/FDi", r"DTS;VAULTED", "--ir", ir], &env);
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let (_, err) = text(&o);
    assert!(
        err.contains("has no secret `no-such-secret`")
            && err.contains("package store VAULTED")
            && err.contains("SecretNotFound")
            && err.contains("AZURE_STORAGE_KEY_VAULTED")
            && err.contains("the other package stores are not affected"),
        "{err}"
    );
    // The vault answers its own secrets only to a token for Key Vault.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[
                    ureq::tls::Certificate::from_pem(&std::fs::read(&w.adf.ca).unwrap())
                        .unwrap()
                        .to_owned(),
                ]))
                .build(),
        )
        .build()
        .new_agent();
    let url = format!("{}/secrets/files-key?api-version=7.4", w.adf.base());
    let mut r = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body = r.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("Unauthorized") && !body.contains(VAULTED_KEY),
        "{body}"
    );
    let r = agent.get(&url).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(r
        .headers()
        .get("www-authenticate")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.contains("resource=\"https://vault.azure.net\"")));
}

/// Each managed instance signs in with its own login from Key Vault: two stores, one
/// user name, two passwords (one store's login never goes to another).
#[test]
fn each_managed_instance_signs_in_with_its_own_vault_login() {
    const PW_A: &str = "Mi-A-Vault-Sentinel-91c4";
    const PW_B: &str = "Mi-B-Vault-Sentinel-0d7e";
    let a = msdb_support::TestServer::start(false, &[&format!("ssisadmin:{PW_A}")]);
    let b = msdb_support::TestServer::start(false, &[&format!("ssisadmin:{PW_B}")]);
    let (server_a, server_b) = (a.server(), b.server());
    let adf = start(move |c| {
        c.stores = vec![
            ("MI_A".into(), format!("sqlmi:{server_a}")),
            ("MI_B".into(), format!("sqlmi:{server_b}")),
        ];
        c.secrets = vec![
            ("kv-ssis".into(), "a-password".into(), PW_A.into()),
            ("kv-ssis".into(), "b-password".into(), PW_B.into()),
        ];
        c.store_secrets = vec![
            ("MI_A".into(), "kv-ssis".into(), "a-password".into()),
            ("MI_B".into(), "kv-ssis".into(), "b-password".into()),
        ];
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
        dir.path().join("p.dtsx"),
    )
    .unwrap();
    let mut env = adf.client_env(SECRET);
    env.push(("DTUTIL_SQL_ENCRYPT".into(), "off".into()));
    let id = adf.ir_id();
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(BIN);
        c.current_dir(dir.path()).args(args).arg("--ir").arg(&id);
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") || k.starts_with("IDENTITY_") {
                c.env_remove(k);
            }
        }
        c.env("PATH", "/nonexistent-dtutil-test-path");
        c.envs(env.iter().cloned());
        let o = c.output().unwrap();
        let (out, err) = text(&o);
        for secret in [PW_A, PW_B, SECRET] {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{args:?} printed a secret"
            );
        }
        assert_eq!(o.status.code(), Some(0), "{args:?}\n{out}\n{err}");
        out
    };
    run(&["/FILE", "p.dtsx", "/COPY", r"DTS;MI_A\Load"]);
    run(&["/FILE", "p.dtsx", "/COPY", r"DTS;MI_B\Load"]);
    let out = run(&["/DTS", r"MI_B\Load", "/EXISTS"]);
    assert!(out.contains("The specified package exists."), "{out}");
    let out = run(&["/DTS", r"MI_A\Load", "/COPY", r"DTS;MI_B\FromA"]);
    assert!(out.contains("completed successfully"), "{out}");
}
