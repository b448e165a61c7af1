use super::*;
use crate::retry::RetrySettings;

fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

const KEY: &str = "a2V5LWZvci10ZXN0cy1vbmx5LWtleS1mb3ItdGVzdHMtb25seQ==";

#[test]
fn recognises_paths() {
    assert!(is_azure_files_path(
        r"\\acct.file.core.windows.net\share\p.dtsx"
    ));
    assert!(is_azure_files_path(
        "//acct.file.core.windows.net/share/p.dtsx"
    ));
    assert!(is_azure_files_path(
        "https://acct.file.core.chinacloudapi.cn/share/p.dtsx"
    ));
    assert!(!is_azure_files_path(r"\\server\share\x.file.core.dtsx"));
    assert!(!is_azure_files_path("/tmp/a.file.core.dtsx"));
}

#[test]
fn parses_unc_and_https() {
    let p = AzPath::parse(r"\\Acct.file.core.windows.net\Share\dir a\p.dtsx").unwrap();
    assert_eq!(p.account, "acct");
    assert_eq!(p.host, "acct.file.core.windows.net");
    assert_eq!(p.share, "share", "share names are lowercase at Azure");
    assert_eq!(p.segments, vec!["dir a", "p.dtsx"]);
    assert_eq!(p.request_path(&p.segments), "/share/dir%20a/p.dtsx");
    let q = AzPath::parse("https://acct.file.core.windows.net/Share/dir%20a/p.dtsx?sv=1&sig=x")
        .unwrap();
    assert_eq!(q.segments, p.segments);
    assert_eq!(q.sas.as_deref(), Some("sv=1&sig=x"));
    assert!(AzPath::parse(r"\\acct.file.core.windows.net").is_err());
    assert!(AzPath::parse(r"\\acct.file.core.windows.net\pkgs\..\p.dtsx").is_err());
    assert!(AzPath::parse(r"\\server\share\p.dtsx").is_err());
}

#[test]
fn same_package_ignores_case_and_separators() {
    let store = open_with(
        r"\\acct.file.core.windows.net\pkgs\p.dtsx",
        &env(&[("AZURE_STORAGE_KEY", KEY)]),
    )
    .unwrap();
    assert!(store.same_package(
        r"\\acct.file.core.windows.net\PKGS\Dir\P.dtsx",
        "https://acct.file.core.windows.net/pkgs/dir/p.dtsx"
    ));
    assert!(!store.same_package(
        r"\\acct.file.core.windows.net\pkgs\a.dtsx",
        r"\\acct.file.core.windows.net\pkgs\b.dtsx"
    ));
}

/// `/MOVE` asks the backends whether two stores are one before comparing paths: an
/// Azure Files path never names a local file, two Azure Files stores compare paths.
#[test]
fn same_store_is_the_backends_answer() {
    use crate::store::file::FileStore;
    let open = |p: &str| open_with(p, &env(&[("AZURE_STORAGE_KEY", KEY)])).unwrap();
    let a = open(r"\\acct.file.core.windows.net\sss\p.dtsx");
    let b = open(r"\\acct.file.core.windows.net\ttt\q.dtsx");
    assert!(a.same_store(&b));
    assert!(!a.same_store(&FileStore) && !FileStore.same_store(&a));
    assert!(FileStore.same_store(&FileStore));
}

#[test]
fn credentials_from_the_environment() {
    let p = AzPath::parse(r"\\acct.file.core.windows.net\pkgs\p.dtsx").unwrap();
    let s = Settings::from_env(
        &p,
        &env(&[
            ("AZURE_STORAGE_ACCOUNT", "acct"),
            ("AZURE_STORAGE_KEY", KEY),
        ]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::SharedKey { .. }));
    assert_eq!(s.endpoint.origin, "https://acct.file.core.windows.net");
    assert_eq!(s.parallel, 4);

    let e = Settings::from_env(
        &p,
        &env(&[
            ("AZURE_STORAGE_ACCOUNT", "other"),
            ("AZURE_STORAGE_KEY", KEY),
        ]),
        &RetrySettings::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("`other`"), "{e}");

    let s = Settings::from_env(
        &p,
        &env(&[("AZURE_STORAGE_SAS_TOKEN", "?sv=2022-11-02&sig=abc")]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::Sas(_)));

    let cs = format!("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net");
    let s = Settings::from_env(
        &p,
        &env(&[
            ("AZURE_STORAGE_CONNECTION_STRING", &cs),
            ("DTUTIL_AZURE_FILES_ENDPOINT", "http://127.0.0.1:1/acct"),
        ]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::SharedKey { .. }));
    assert_eq!(s.endpoint.origin, "http://127.0.0.1:1");
    assert_eq!(s.endpoint.base_path, "/acct");

    let cs = "FileEndpoint=http://127.0.0.1:2/acct;SharedAccessSignature=sv=2022-11-02&sig=abc";
    let s = Settings::from_env(
        &p,
        &env(&[("AZURE_STORAGE_CONNECTION_STRING", cs)]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::Sas(_)));
    assert_eq!(s.endpoint.origin, "http://127.0.0.1:2");

    let e = Settings::from_env(&p, &env(&[]), &RetrySettings::default()).unwrap_err();
    assert!(matches!(e, StoreError::PermissionDenied(_)));
    assert!(e.to_string().contains("AZURE_STORAGE_KEY"));
    let e = Settings::from_env(
        &p,
        &env(&[(
            "AZURE_STORAGE_CONNECTION_STRING",
            "UseDevelopmentStorage=true",
        )]),
        &RetrySettings::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("Azurite"));
}

#[test]
fn shared_key_matches_the_python_sdk() {
    // Authorization computed by azure-storage-file-share 12.27.1's
    // SharedKeyCredentialPolicy for this request.
    let headers: Vec<(String, String)> = [
        ("x-ms-version", "2023-01-03"),
        ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ("x-ms-range", "bytes=0-4"),
        ("x-ms-write", "update"),
        ("Content-Length", "5"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let query = vec![
        ("comp".to_string(), "range".to_string()),
        ("timeout".to_string(), "30".to_string()),
    ];
    let sts = auth::string_to_sign(
        "PUT",
        &headers,
        "acct",
        "/share/dir%20a/p%C3%A4.dtsx",
        &query,
    );
    let key = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, KEY).unwrap();
    assert_eq!(
        auth::sign(&key, &sts),
        "1huLvIpwUjnRPQ1k29afKbIbXS3cA3bEz9fnXGm65nI="
    );
    // And the test server's verifier computes the same string.
    let lower: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let parts = testservers::azfiles::auth::RequestParts {
        method: "PUT",
        raw_path: "/share/dir%20a/p%C3%A4.dtsx",
        headers: &lower,
        query: &query,
    };
    assert_eq!(
        testservers::azfiles::auth::shared_key_string_to_sign("acct", &parts),
        sts
    );
}

#[test]
fn header_order_matches_the_service_collation() {
    // The headers we send, sorted by byte order, are in the service's order too.
    let mut ours = vec![
        "x-ms-content-length",
        "x-ms-date",
        "x-ms-file-rename-replace-if-exists",
        "x-ms-file-rename-source",
        "x-ms-range",
        "x-ms-type",
        "x-ms-version",
        "x-ms-write",
    ];
    ours.sort();
    let mut theirs = ours.clone();
    theirs.sort_by(|a, b| testservers::azfiles::auth::header_cmp(a, b));
    assert_eq!(ours, theirs);
}

/// Issue 17: the share is checked like any other name, by Azure's own share rules
/// (a decoded `..`, a separator or a NUL never reaches a request path).
#[test]
fn share_names_follow_azure_rules() {
    for bad in [
        r"\\acct.file.core.windows.net\..\p.dtsx",
        "https://acct.file.core.windows.net/%2e%2e/p.dtsx",
        "https://acct.file.core.windows.net/a%2fbc/p.dtsx",
        "https://acct.file.core.windows.net/abc%00/p.dtsx",
        r"\\acct.file.core.windows.net\a--b\p.dtsx",
        r"\\acct.file.core.windows.net\-ab\p.dtsx",
        r"\\acct.file.core.windows.net\ab-\p.dtsx",
        r"\\acct.file.core.windows.net\a_b\p.dtsx",
        &format!(r"\\acct.file.core.windows.net\{}\p.dtsx", "a".repeat(64)),
        r"\\acct.file.core.windows.net\s\p.dtsx",
        r"\\acct.file.core.windows.net\ab\p.dtsx",
        "https://acct.file.core.windows.net/ab/p.dtsx",
    ] {
        let e = AzPath::parse(bad).unwrap_err().to_string();
        assert!(e.contains("not an Azure Files share name"), "{bad}: {e}");
    }
    for (good, share) in [
        (r"\\acct.file.core.windows.net\pkgs\p.dtsx", "pkgs"),
        (r"\\acct.file.core.windows.net\SSI\p.dtsx", "ssi"),
        (r"\\acct.file.core.windows.net\a1b\p.dtsx", "a1b"),
        (
            r"\\acct.file.core.windows.net\My-Share-1\p.dtsx",
            "my-share-1",
        ),
        (
            &format!(r"\\acct.file.core.windows.net\{}", "a".repeat(63)),
            &"a".repeat(63),
        ),
    ] {
        assert_eq!(AzPath::parse(good).unwrap().share, *share, "{good}");
    }
}

#[test]
fn per_account_credentials_win_and_never_mix() {
    let p = AzPath::parse(r"\\acct.file.core.windows.net\share\p.dtsx").unwrap();
    // The account's own key, beside a shared SAS meant for another account.
    let s = Settings::from_env(
        &p,
        &env(&[
            ("AZURE_STORAGE_KEY_ACCT", KEY),
            ("AZURE_STORAGE_ACCOUNT", "other"),
            ("AZURE_STORAGE_KEY", "b3RoZXI="),
            (
                "DTUTIL_AZURE_FILES_ENDPOINT_ACCT",
                "http://127.0.0.1:3/acct",
            ),
            ("DTUTIL_AZURE_FILES_ENDPOINT", "http://127.0.0.1:4/other"),
        ]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::SharedKey { .. }));
    assert_eq!(s.endpoint.origin, "http://127.0.0.1:3");
    // A per-account SAS: the shared key is not read at all.
    let s = Settings::from_env(
        &p,
        &env(&[
            ("AZURE_STORAGE_SAS_TOKEN_ACCT", "sv=2022-11-02&sig=abc"),
            ("AZURE_STORAGE_KEY", KEY),
        ]),
        &RetrySettings::default(),
    )
    .unwrap();
    assert!(matches!(s.auth, Auth::Sas(_)));
    // Another account's variables are not this one's; the error names both forms.
    let e = Settings::from_env(
        &p,
        &env(&[("AZURE_STORAGE_KEY_OTHER", KEY)]),
        &RetrySettings::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("AZURE_STORAGE_KEY_ACCT")
            && e.to_string().contains("AZURE_STORAGE_KEY"),
        "{e}"
    );
    // A per-account connection string for the wrong account is refused by name.
    let e = Settings::from_env(
        &p,
        &env(&[(
            "AZURE_STORAGE_CONNECTION_STRING_ACCT",
            "AccountName=other;AccountKey=a2V5",
        )]),
        &RetrySettings::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("AZURE_STORAGE_CONNECTION_STRING_ACCT"),
        "{e}"
    );
    assert_eq!(account_suffix("contoso01"), "CONTOSO01");
}

/// The host is checked as the HTTP client reads it: what looks like an Azure host
/// followed by `@other:port` reaches `other`, so it is refused before any request.
#[test]
fn user_information_and_ports_in_the_host_are_refused() {
    for path in [
        r"\\myacct.file.core.windows.net@127.0.0.1:15297\share\x.dtsx",
        "https://myacct.file.core.windows.net@127.0.0.1:15294/share/x.dtsx",
        "https://u:p@myacct.file.core.windows.net/share/x.dtsx",
    ] {
        let e = AzPath::parse(path).unwrap_err().to_string();
        assert!(e.contains('@'), "{path}: {e}");
    }
    let e = AzPath::parse("https://myacct.file.core.windows.net:8443/share/x.dtsx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("port"), "{e}");
    for host in ["my%61cct", "my_acct", "my-acct"] {
        let e = AzPath::parse(&format!(r"\\{host}.file.core.windows.net\share\x.dtsx"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("storage account name") || e.contains("not a host name"),
            "{e}"
        );
    }
}

/// Only the Azure clouds' documented suffixes get the account's credentials; any
/// other `ACCOUNT.file.core.<domain>` needs an explicit endpoint.
#[test]
fn only_documented_cloud_suffixes_receive_credentials() {
    let sas = [("AZURE_STORAGE_SAS_TOKEN", "sv=2022&sig=SASBEARERQQ")];
    for suffix in CLOUD_SUFFIXES {
        let p = AzPath::parse(&format!(r"\\acct.{suffix}\share\x.dtsx")).unwrap();
        let s = Settings::from_env(&p, &env(&sas), &RetrySettings::default()).unwrap();
        assert_eq!(s.endpoint.origin, format!("https://acct.{suffix}"));
    }
    for host in [
        "acct.file.core.attacker.example",
        "acct.file.core.windows.net.attacker.example",
        "acct.file.core.windows.net.",
    ] {
        let p = AzPath::parse(&format!("https://{host}/share/x.dtsx")).unwrap();
        let e = Settings::from_env(&p, &env(&sas), &RetrySettings::default())
            .err()
            .unwrap_or_else(|| panic!("{host} accepted"))
            .to_string();
        assert!(
            e.contains("not an Azure Files host") && e.contains("DTUTIL_AZURE_FILES_ENDPOINT"),
            "{e}"
        );
        assert!(!e.contains("SASBEARERQQ"));
        // Named explicitly, an endpoint of one's own is used.
        let with_endpoint = [
            sas[0],
            ("DTUTIL_AZURE_FILES_ENDPOINT", "https://127.0.0.1:1/acct"),
        ];
        let s = Settings::from_env(&p, &env(&with_endpoint), &RetrySettings::default()).unwrap();
        assert_eq!(s.endpoint.origin, "https://127.0.0.1:1");
    }
    let e = Endpoint::parse("https://acct.file.core.windows.net@127.0.0.1:1/acct").unwrap_err();
    assert!(e.contains('@'), "{e}");
}

/// A connection string's part without `=` may be a key or SAS: its number is given,
/// never its text.
#[test]
fn a_malformed_connection_string_part_is_not_echoed() {
    let p = AzPath::parse(r"\\acct.file.core.windows.net\pkgs\p.dtsx").unwrap();
    for cs in ["KEYSECRETQQ", "AccountName=acct;KEYSECRETQQ"] {
        let e = Settings::from_env(
            &p,
            &env(&[("AZURE_STORAGE_CONNECTION_STRING", cs)]),
            &RetrySettings::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(!e.contains("KEYSECRET"), "{e}");
        assert!(e.contains("not Name=Value") && e.contains("part "), "{e}");
    }
}
