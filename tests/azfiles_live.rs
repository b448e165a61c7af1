//! The Azure Files scenarios against a real storage account, when
//! `DTUTIL_TEST_AZURE_FILES` holds its connection string
//! (`DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net`,
//! or one with `SharedAccessSignature=` and `FileEndpoint=`). The share is
//! `DTUTIL_TEST_AZURE_FILES_SHARE` (default `dtutil-test`), created when missing; each
//! run works in its own directory and deletes it at the end. Skipped, with the reason
//! printed, when the variable is not set. Fault injection needs the test server, so
//! those scenarios stay in `azfiles_store.rs` and `azfiles_cli.rs`.

mod azfiles_support;

use azfiles_support::{payload, MIB};
use dtutil::store::azfiles::{self, AzureFilesStore};
use dtutil::store::{PackageMeta, Store};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

struct Live {
    connection_string: String,
    /// `\\ACCOUNT.file.core.windows.net\SHARE\run-...`
    root: String,
    store: AzureFilesStore,
}

fn live() -> Option<Live> {
    let Some(cs) = std::env::var("DTUTIL_TEST_AZURE_FILES")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        eprintln!("SKIPPED: live Azure Files suite: DTUTIL_TEST_AZURE_FILES is not set (a storage account connection string; see docs/azure-files.md)");
        return None;
    };
    let field = |name: &str| {
        cs.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    // The UNC host names the account; a FileEndpoint, if any, is where requests go.
    let host = match (field("AccountName"), field("FileEndpoint")) {
        (Some(account), _) => format!(
            "{account}.file.{}",
            field("EndpointSuffix").unwrap_or_else(|| "core.windows.net".into())
        ),
        (None, Some(ep)) => ep
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string(),
        _ => panic!("DTUTIL_TEST_AZURE_FILES needs AccountName or FileEndpoint"),
    };
    let share =
        std::env::var("DTUTIL_TEST_AZURE_FILES_SHARE").unwrap_or_else(|_| "dtutil-test".into());
    let run = format!(
        "run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let share_path = format!(r"\\{host}\{share}");
    let env = cs.clone();
    let store = azfiles::open_with(&share_path, &move |k| {
        (k == "AZURE_STORAGE_CONNECTION_STRING").then(|| env.clone())
    })
    .unwrap();
    store.create_share(&share_path).unwrap();
    store.folder_create(&share_path, &run).unwrap();
    Some(Live {
        connection_string: cs,
        root: format!(r"{share_path}\{run}"),
        store,
    })
}

impl Live {
    fn path(&self, rest: &str) -> String {
        format!(r"{}\{}", self.root, rest.replace('/', "\\"))
    }

    /// Deletes everything below the run's directory, then the directory.
    fn clean(&self, dir: &str) {
        for e in self.store.folder_list(dir).unwrap_or_default() {
            let child = format!(r"{dir}\{}", e.name);
            if e.is_folder {
                self.clean(&child);
            } else {
                let _ = self.store.delete(&child);
            }
        }
        let (parent, name) = dir.rsplit_once('\\').unwrap();
        let _ = self.store.folder_delete(parent, name);
    }
}

#[test]
fn live_azure_files() {
    let Some(l) = live() else { return };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenarios(&l)));
    l.clean(&l.root);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn scenarios(l: &Live) {
    let s = &l.store;
    // Round trips, overwrite, empty file, odd names.
    let p = l.path("pkgs/p.dtsx");
    assert!(!s.exists(&p).unwrap());
    s.write(&p, b"<x/>", &PackageMeta::default()).unwrap();
    assert_eq!(s.read(&p).unwrap(), b"<x/>");
    s.write(&p, b"", &PackageMeta::default()).unwrap();
    assert_eq!(s.read(&p).unwrap(), b"");
    let odd = l.path("dir a/Ä & b+c#%.dtsx");
    s.write(&odd, b"odd", &PackageMeta::default()).unwrap();
    assert_eq!(s.read(&odd).unwrap(), b"odd");

    // 20 MiB.
    let big = l.path("big/p20.dtsx");
    let data = payload(20 * MIB + 999, 1);
    let t = Instant::now();
    s.write(&big, &data, &PackageMeta::default()).unwrap();
    let up = t.elapsed();
    let t = Instant::now();
    assert!(s.read(&big).unwrap() == data);
    println!(
        "live 20 MiB: upload {:.2} s, download {:.2} s",
        up.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let names: Vec<String> = s
        .folder_list(&l.path("big"))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["p20.dtsx"], "no temporary file is left");

    // Paging.
    let env = l.connection_string.clone();
    let paged = azfiles::open_with(&l.root, &move |k| match k {
        "AZURE_STORAGE_CONNECTION_STRING" => Some(env.clone()),
        "DTUTIL_AZURE_LIST_PAGE_SIZE" => Some("2".into()),
        _ => None,
    })
    .unwrap();
    for i in 0..5 {
        s.write(
            &l.path(&format!("many/{i}.dtsx")),
            b"x",
            &PackageMeta::default(),
        )
        .unwrap();
    }
    assert_eq!(paged.folder_list(&l.path("many")).unwrap().len(), 5);

    // Folders and rename.
    s.folder_create(&l.root, "F").unwrap();
    assert!(s.folder_exists(&l.path("F")).unwrap());
    s.rename_file(&p, &l.path("F/moved.dtsx"), false).unwrap();
    assert!(s.exists(&l.path("F/moved.dtsx")).unwrap());
    s.folder_rename(&l.root, "F", "G").unwrap();
    assert!(s.exists(&l.path("G/moved.dtsx")).unwrap());

    // The guide's loop through the binary, with only the connection string.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source");
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let e = e.unwrap().path();
        std::fs::copy(&e, dir.path().join(e.file_name().unwrap())).unwrap();
    }
    let bin = env!("CARGO_BIN_EXE_dtutil");
    let target = format!(r"{}\loop", l.root).replace('\\', r"\\");
    let script = format!(
        r#"for f in *.dtsx; do "$DTUTIL" /FILE "$f" /ENCRYPT "FILE;{target}\\$f;2;env:PW" || exit 1; done"#
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("DTUTIL", bin)
        .env("PW", "Live-Pa55")
        .env("AZURE_STORAGE_CONNECTION_STRING", &l.connection_string)
        .env_remove("DTUTIL_AZURE_FILES_ENDPOINT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = Command::new(bin)
        .current_dir(dir.path())
        .args([
            "/FILE",
            &format!(r"{}\loop\CustomerLoad.dtsx", l.root),
            "/Decrypt",
            "env:PW",
            "/ENCRYPT",
            "FILE;back.dtsx;0",
        ])
        .env("PW", "Live-Pa55")
        .env("AZURE_STORAGE_CONNECTION_STRING", &l.connection_string)
        .env_remove("DTUTIL_AZURE_FILES_ENDPOINT")
        .output()
        .unwrap();
    assert_eq!(
        back.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
}
