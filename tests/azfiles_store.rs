//! The Azure Files store against azfiles-testserver, in process: round trips, ranges,
//! atomic writes, retries, faults, listing with paging, folders, SharedKey and SAS.

mod azfiles_support;

use azfiles_support::*;
use dtutil::store::azfiles::{self, AzureFilesStore};
use dtutil::store::{PackageMeta, Store, StoreError};
use std::time::{Duration, Instant};

fn open(env: &[(String, String)], path: &str) -> AzureFilesStore {
    try_open(env, path).unwrap()
}

fn try_open(env: &[(String, String)], path: &str) -> Result<AzureFilesStore, StoreError> {
    let env = env.to_vec();
    azfiles::open_with(path, &move |k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
}

fn with(mut env: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in extra {
        env.retain(|(n, _)| n != k);
        env.push((k.to_string(), v.to_string()));
    }
    env
}

fn names(store: &AzureFilesStore, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .folder_list(dir)
        .unwrap()
        .into_iter()
        .map(|e| {
            if e.is_folder {
                format!("{}/", e.name)
            } else {
                e.name
            }
        })
        .collect();
    v.sort();
    v
}

#[test]
fn small_round_trip_exists_delete() {
    let server = start(&["share"]);
    let path = unc("share", "pkgs/p.dtsx");
    let store = open(&server.env(), &path);
    assert!(!store.exists(&path).unwrap());
    assert!(matches!(store.read(&path), Err(StoreError::NotFound(_))));
    store
        .write(&path, b"<x/>", &PackageMeta::default())
        .unwrap();
    assert!(store.exists(&path).unwrap());
    assert_eq!(store.read(&path).unwrap(), b"<x/>");
    // Overwrite replaces the whole file.
    store
        .write(&path, b"<longer/>", &PackageMeta::default())
        .unwrap();
    assert_eq!(store.read(&path).unwrap(), b"<longer/>");
    store.write(&path, b"", &PackageMeta::default()).unwrap();
    assert_eq!(store.read(&path).unwrap(), b"");
    assert_eq!(names(&store, &unc("share", "pkgs")), vec!["p.dtsx"]);
    store.delete(&path).unwrap();
    assert!(!store.exists(&path).unwrap());
    assert!(matches!(store.delete(&path), Err(StoreError::NotFound(_))));
}

#[test]
fn https_form_and_odd_names() {
    let server = start(&["share"]);
    let unc_path = unc("share", "dir a/Ä & b+c#%.dtsx");
    let store = open(&server.env(), &unc_path);
    store
        .write(&unc_path, b"odd", &PackageMeta::default())
        .unwrap();
    let url = format!("https://{HOST}/share/dir%20a/%C3%84%20%26%20b%2Bc%23%25.dtsx");
    assert_eq!(store.read(&url).unwrap(), b"odd");
    assert!(store.same_package(&unc_path, &url));
    assert_eq!(
        names(&store, &unc("share", "dir a")),
        vec!["Ä & b+c#%.dtsx"]
    );
}

#[test]
fn twenty_mib_round_trip_byte_for_byte() {
    let server = start(&["share"]);
    let path = unc("share", "big/p20.dtsx");
    let store = open(&server.env(), &path);
    let data = payload(20 * MIB + 12345, 20);
    let t = Instant::now();
    store.write(&path, &data, &PackageMeta::default()).unwrap();
    let up = t.elapsed();
    let t = Instant::now();
    let back = store.read(&path).unwrap();
    let down = t.elapsed();
    assert!(back == data, "20 MiB differ after the round trip");
    let stats = server.stats();
    // 6 ranges of at most 4 MiB; 6 ranged reads.
    assert_eq!(stats["ops"]["PutRange"], 6, "{stats}");
    assert_eq!(stats["ops"]["GetFile"], 6, "{stats}");
    println!(
        "20 MiB: upload {:.3} s ({:.0} MiB/s), download {:.3} s ({:.0} MiB/s)",
        up.as_secs_f64(),
        20.0 / up.as_secs_f64(),
        down.as_secs_f64(),
        20.0 / down.as_secs_f64()
    );
    // No temporary file is left behind.
    assert_eq!(names(&store, &unc("share", "big")), vec!["p20.dtsx"]);
}

#[test]
fn a_503_on_one_range_is_retried_and_the_file_is_whole() {
    let server = start(&["share"]);
    let path = unc("share", "pkgs/retry.dtsx");
    let store = open(&server.env(), &path);
    let data = payload(10 * MIB, 3);
    server.add_fault(r#"{"op":"PutRange","nth":2,"status":503}"#);
    store.write(&path, &data, &PackageMeta::default()).unwrap();
    assert_eq!(server.faults()[0]["fired"], 1);
    assert!(store.read(&path).unwrap() == data);
    assert_eq!(names(&store, &unc("share", "pkgs")), vec!["retry.dtsx"]);
}

#[test]
fn a_500_on_create_a_drop_on_read_and_a_slow_answer_are_retried() {
    let server = start(&["share"]);
    let path = unc("share", "pkgs/flaky.dtsx");
    let env = with(server.env(), &[("DTUTIL_AZURE_TIMEOUT", "0.5")]);
    let store = open(&env, &path);
    server.add_fault(r#"{"op":"CreateFile","status":500}"#);
    server.add_fault(r#"{"op":"RenameFile","status":503}"#);
    store
        .write(&path, b"flaky", &PackageMeta::default())
        .unwrap();
    server.add_fault(r#"{"action":"drop","op":"GetFile"}"#);
    assert_eq!(store.read(&path).unwrap(), b"flaky");
    server.add_fault(r#"{"action":"delay","op":"GetFileProperties","delay_ms":2000}"#);
    let t = Instant::now();
    assert!(store.exists(&path).unwrap());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let fired: Vec<_> = server
        .faults()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fired"].clone())
        .collect();
    assert_eq!(fired, vec![1, 1, 1, 1]);
}

#[test]
fn a_failure_that_outlasts_the_retries_leaves_no_file_under_the_final_name() {
    let server = start(&["share"]);
    let path = unc("share", "pkgs/doomed.dtsx");
    let env = with(server.env(), &[("DTUTIL_AZURE_RETRIES", "2")]);
    let store = open(&env, &path);
    // An earlier version stays as it was.
    store.write(&path, b"old", &PackageMeta::default()).unwrap();
    server.add_fault(r#"{"op":"PutRange","nth":2,"always":true,"status":503}"#);
    let e = store
        .write(&path, &payload(9 * MIB, 9), &PackageMeta::default())
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Failed(_)), "{e:?}");
    assert!(msg.contains("503") && msg.contains("ServerBusy"), "{msg}");
    assert!(msg.contains("after 3 attempts"), "{msg}");
    assert!(
        msg.contains("nothing was written under the final name"),
        "{msg}"
    );
    server.clear_faults();
    assert_eq!(store.read(&path).unwrap(), b"old");
    // The temporary file was deleted.
    assert_eq!(names(&store, &unc("share", "pkgs")), vec!["doomed.dtsx"]);

    // A new file: nothing at all under the final name.
    let fresh = unc("share", "pkgs/new.dtsx");
    server.add_fault(r#"{"op":"PutRange","always":true,"status":500}"#);
    let e = store
        .write(&fresh, b"x", &PackageMeta::default())
        .unwrap_err();
    assert!(e.to_string().contains("InternalError"), "{e}");
    server.clear_faults();
    assert!(!store.exists(&fresh).unwrap());
    assert_eq!(names(&store, &unc("share", "pkgs")), vec!["doomed.dtsx"]);
}

#[test]
fn dropped_connections_that_outlast_the_retries_fail_with_the_reason() {
    let server = start(&["share"]);
    let path = unc("share", "p.dtsx");
    let env = with(server.env(), &[("DTUTIL_AZURE_RETRIES", "1")]);
    let store = open(&env, &path);
    server.add_fault(r#"{"action":"drop","op":"GetFile","always":true}"#);
    store.write(&path, b"abc", &PackageMeta::default()).unwrap();
    let e = store.read(&path).unwrap_err().to_string();
    assert!(e.contains("after 2 attempts"), "{e}");
    assert!(e.contains("cannot read"), "{e}");
}

#[test]
fn listing_pages_through_markers() {
    let server = start(&["share"]);
    let dir = unc("share", "many");
    let env = with(server.env(), &[("DTUTIL_AZURE_LIST_PAGE_SIZE", "3")]);
    let store = open(&env, &dir);
    for i in 0..8 {
        store
            .write(
                &unc("share", &format!("many/p{i}.dtsx")),
                b"x",
                &PackageMeta::default(),
            )
            .unwrap();
    }
    store.folder_create(&dir, "sub").unwrap();
    let listed = names(&store, &dir);
    assert_eq!(listed.len(), 9, "{listed:?}");
    assert!(listed.contains(&"sub/".to_string()));
    assert!(
        server.stats()["ops"]["ListDirectoriesAndFiles"]
            .as_u64()
            .unwrap()
            >= 3
    );
}

#[test]
fn folders_create_exist_rename_list_delete() {
    let server = start(&["share"]);
    let root = unc("share", "");
    let store = open(&server.env(), &root);
    store.folder_create(&root, "F").unwrap();
    assert!(store.folder_exists(&unc("share", "F")).unwrap());
    assert!(store.folder_exists(&root).unwrap());
    assert!(store
        .folder_create(&root, "F")
        .unwrap_err()
        .to_string()
        .contains("already exists"));
    assert!(matches!(
        store.folder_create(&unc("share", "no/such"), "x"),
        Err(StoreError::NotFound(_))
    ));
    store
        .write(&unc("share", "F/p.dtsx"), b"p", &PackageMeta::default())
        .unwrap();
    store.folder_rename(&root, "F", "G").unwrap();
    assert!(!store.folder_exists(&unc("share", "F")).unwrap());
    assert_eq!(store.read(&unc("share", "G/p.dtsx")).unwrap(), b"p");
    assert_eq!(names(&store, &root), vec!["G/"]);
    let e = store.folder_delete(&root, "G").unwrap_err().to_string();
    assert!(e.contains("DirectoryNotEmpty"), "{e}");
    store.delete(&unc("share", "G/p.dtsx")).unwrap();
    store.folder_delete(&root, "G").unwrap();
    assert!(!store.folder_exists(&unc("share", "G")).unwrap());
    assert!(store.folder_create(&root, "../x").is_err());
}

#[test]
fn rename_within_a_share_and_not_across() {
    let server = start(&["share", "other"]);
    let a = unc("share", "a.dtsx");
    let store = open(&server.env(), &a);
    store.write(&a, b"a", &PackageMeta::default()).unwrap();
    store.folder_create(&unc("share", ""), "d").unwrap();
    store
        .rename_file(&a, &unc("share", "d/b.dtsx"), false)
        .unwrap();
    assert!(!store.exists(&a).unwrap());
    assert_eq!(store.read(&unc("share", "d/b.dtsx")).unwrap(), b"a");
    assert!(matches!(
        store.rename_file(&unc("share", "d/b.dtsx"), &unc("other", "b.dtsx"), false),
        Err(StoreError::Unsupported(_))
    ));
}

#[test]
fn shared_access_signatures() {
    let server = start(&["share"]);
    let path = unc("share", "sas/p.dtsx");
    let sas_env = |sas: &str| {
        vec![
            ("AZURE_STORAGE_SAS_TOKEN".to_string(), sas.to_string()),
            ("DTUTIL_AZURE_FILES_ENDPOINT".to_string(), server.endpoint()),
            ("DTUTIL_AZURE_RETRY_DELAY_MS".to_string(), "5".to_string()),
        ]
    };
    let rw = open(
        &sas_env(&account_sas("rwdlc", Duration::from_secs(3600))),
        &path,
    );
    let data = payload(5 * MIB, 5);
    rw.write(&path, &data, &PackageMeta::default()).unwrap();
    assert!(rw.read(&path).unwrap() == data);
    assert_eq!(names(&rw, &unc("share", "sas")), vec!["p.dtsx"]);

    let ro = open(
        &sas_env(&format!(
            "?{}",
            account_sas("rl", Duration::from_secs(3600))
        )),
        &path,
    );
    assert!(ro.read(&path).unwrap() == data);
    let e = ro.write(&path, b"x", &PackageMeta::default()).unwrap_err();
    assert!(matches!(e, StoreError::PermissionDenied(_)), "{e:?}");
    assert!(
        e.to_string().contains("AuthorizationPermissionMismatch"),
        "{e}"
    );
    assert!(rw.read(&path).unwrap() == data);

    // A connection string with FileEndpoint and SharedAccessSignature.
    let cs = format!(
        "FileEndpoint={};SharedAccessSignature={}",
        server.endpoint(),
        account_sas("rl", Duration::from_secs(3600))
    );
    let via_cs = open(&[("AZURE_STORAGE_CONNECTION_STRING".into(), cs)], &path);
    assert!(via_cs.exists(&path).unwrap());
}

#[test]
fn connection_string_with_a_key() {
    let server = start(&["share"]);
    let path = unc("share", "cs.dtsx");
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};FileEndpoint={}",
        server.endpoint()
    );
    let store = open(&[("AZURE_STORAGE_CONNECTION_STRING".into(), cs)], &path);
    store.write(&path, b"cs", &PackageMeta::default()).unwrap();
    assert_eq!(store.read(&path).unwrap(), b"cs");
}

#[test]
fn bad_credentials_and_missing_shares_say_what_to_check() {
    let server = start(&["share"]);
    let path = unc("share", "p.dtsx");
    let wrong = with(
        server.env(),
        &[(
            "AZURE_STORAGE_KEY",
            "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=",
        )],
    );
    let e = open(&wrong, &path).exists(&path).unwrap_err();
    assert!(matches!(e, StoreError::PermissionDenied(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("403") && msg.contains("AuthenticationFailed"),
        "{msg}"
    );
    assert!(
        !msg.contains("d3Jvbmct"),
        "the key must not be printed: {msg}"
    );

    let nope = unc("noshare", "p.dtsx");
    let e = open(&server.env(), &nope)
        .write(&nope, b"x", &PackageMeta::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ShareNotFound"), "{e}");

    let expired = vec![
        (
            "AZURE_STORAGE_SAS_TOKEN".to_string(),
            account_sas("r", Duration::ZERO).replace("se=", "se=2000"),
        ),
        ("DTUTIL_AZURE_FILES_ENDPOINT".to_string(), server.endpoint()),
    ];
    assert!(open(&expired, &path).read(&path).is_err());

    // https only, unless the endpoint is given explicitly.
    assert!(try_open(
        &[
            ("AZURE_STORAGE_KEY".into(), KEY.into()),
            ("DTUTIL_AZURE_FILES_ENDPOINT".into(), "ftp://x".into())
        ],
        &path
    )
    .is_err());
}

#[test]
fn unreachable_endpoint_fails_after_retries() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let path = unc("share", "p.dtsx");
    let env = vec![
        ("AZURE_STORAGE_KEY".to_string(), KEY.to_string()),
        (
            "DTUTIL_AZURE_FILES_ENDPOINT".to_string(),
            format!("http://{addr}/{ACCOUNT}"),
        ),
        ("DTUTIL_AZURE_RETRIES".to_string(), "1".to_string()),
        ("DTUTIL_AZURE_RETRY_DELAY_MS".to_string(), "1".to_string()),
    ];
    let e = open(&env, &path).read(&path).unwrap_err().to_string();
    assert!(e.contains(&addr.to_string()), "{e}");
}
