//! Store-level scenarios, run against the test server (`msdb_store.rs`) and a live SQL
//! Server (`msdb_live.rs`). Each works in folders of its own and removes them.

use super::support::*;
use dtutil::store::{Entry, PackageMeta, Store, StoreError};
use std::time::Instant;

fn meta_of(spec: &PackageSpec) -> PackageMeta {
    PackageMeta {
        id: Some(spec.id.clone()),
        description: Some(spec.description.clone()),
        version_major: spec.major,
        version_minor: spec.minor,
        version_build: spec.build,
        version_comments: None,
        version_guid: Some(spec.version_guid.clone()),
        package_format: 3,
        package_type: 5,
        is_encrypted: false,
        ..PackageMeta::default()
    }
}

/// A package written and read back is byte-identical, and its row carries the
/// package's id, VersionGUID, versions, format and type.
pub fn round_trip(sql: &Sql) {
    let store = sql.store();
    let folder = unique("rt");
    store.folder_create("\\", &folder).unwrap();
    let name = unique("pkg");
    let path = format!("{folder}\\{name}");
    let (bytes, spec) = package(20_000);
    assert!(!store.exists(&path).unwrap());
    store.write(&path, &bytes, &meta_of(&spec)).unwrap();
    assert!(store.exists(&path).unwrap());
    assert_eq!(store.read(&path).unwrap(), bytes);
    // Names compare case-insensitively, separators may be / and a leading \ is the root.
    let other_case = format!("\\{}/{}", folder.to_uppercase(), name.to_lowercase());
    assert_eq!(store.read(&other_case).unwrap(), bytes);
    assert!(store.same_package(&path, &other_case));
    assert!(!store.same_package(&path, &format!("{folder}\\x")));

    let row = package_row(sql, &name).expect("the row");
    assert_eq!(row.id, guid(&spec.id));
    assert_eq!(row.verid, guid(&spec.version_guid));
    assert_eq!(
        (row.vermajor, row.verminor, row.verbuild),
        (spec.major, spec.minor, spec.build)
    );
    assert_eq!(row.packageformat, 3);
    assert_eq!(row.packagetype, 5);
    assert_eq!(row.description.as_deref(), Some(spec.description.as_str()));
    assert!(!row.isencrypted);
    assert_eq!(row.length, bytes.len() as i64);

    // Overwrite: the same row, new bytes.
    let (bytes2, spec2) = package(3_000);
    store.write(&path, &bytes2, &meta_of(&spec2)).unwrap();
    assert_eq!(store.read(&path).unwrap(), bytes2);
    assert_eq!(
        package_row(sql, &name).unwrap().verid,
        guid(&spec2.version_guid)
    );

    // No id in the package: one is generated.
    let bare = format!("{folder}\\{}", unique("bare"));
    store
        .write(&bare, b"<x/>", &PackageMeta::default())
        .unwrap();
    assert_eq!(store.read(&bare).unwrap(), b"<x/>");

    store.delete(&path).unwrap();
    store.delete(&bare).unwrap();
    assert!(!store.exists(&path).unwrap());
    assert!(matches!(store.read(&path), Err(StoreError::NotFound(_))));
    store.folder_delete("\\", &folder).unwrap();
}

/// Missing packages and folders are `NotFound` (exit 4 in ops) with the name in the message.
pub fn missing(sql: &Sql) {
    let store = sql.store();
    let folder = unique("nofolder");
    let path = format!("{folder}\\p");
    assert!(!store.exists(&path).unwrap());
    match store.read(&path) {
        Err(StoreError::NotFound(m)) => assert!(m.contains(&folder), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.read("Maintenance Plans\\no such package"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.write(&path, b"x", &PackageMeta::default()),
        Err(StoreError::NotFound(_))
    ));
    assert!(!store.folder_exists(&folder).unwrap());
    assert!(matches!(
        store.folder_list(&folder),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.folder_delete("\\", &folder),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.folder_rename("\\", &folder, "x"),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.folder_exists("\\").unwrap());
    assert!(store.folder_exists("\\Maintenance Plans").unwrap());
    assert!(store.folder_exists("maintenance plans").unwrap());
}

/// Folder actions: create nested, exists, list, rename, and the server's refusals
/// (14591 exists, 14593 not empty) as clear messages.
pub fn folders(sql: &Sql) {
    let store = sql.store();
    let top = unique("top");
    store.folder_create("\\", &top).unwrap();
    store.folder_create(&format!("\\{top}"), "Sub").unwrap();
    store
        .folder_create(&format!("{top}\\Sub"), "Deeper")
        .unwrap();
    assert!(store.folder_exists(&format!("{top}\\Sub\\Deeper")).unwrap());
    assert!(store
        .folder_exists(&format!("{}\\SUB", top.to_lowercase()))
        .unwrap());

    match store.folder_create("\\", &top) {
        Err(StoreError::Failed(m)) => {
            assert!(m.contains("14591") && m.contains("already exists"), "{m}")
        }
        other => panic!("{other:?}"),
    }

    let (bytes, spec) = package(2_000);
    store
        .write(&format!("{top}\\Sub\\Pkg1"), &bytes, &meta_of(&spec))
        .unwrap();
    store
        .write(&format!("{top}\\Pkg0"), &bytes, &meta_of(&spec))
        .unwrap();
    let list = store.folder_list(&top).unwrap();
    assert_eq!(
        list,
        vec![
            Entry {
                name: "Sub".into(),
                is_folder: true
            },
            Entry {
                name: "Pkg0".into(),
                is_folder: false
            }
        ]
    );
    assert!(store.folder_list("\\").unwrap().contains(&Entry {
        name: top.clone(),
        is_folder: true
    }));

    match store.folder_delete(&top, "Sub") {
        Err(StoreError::Failed(m)) => {
            assert!(m.contains("14593") && m.contains("not empty"), "{m}")
        }
        other => panic!("{other:?}"),
    }

    store.folder_rename(&top, "Sub", "Renamed").unwrap();
    assert!(!store.folder_exists(&format!("{top}\\Sub")).unwrap());
    assert_eq!(store.read(&format!("{top}\\Renamed\\Pkg1")).unwrap(), bytes);

    store.delete(&format!("{top}\\Renamed\\Pkg1")).unwrap();
    store.delete(&format!("{top}\\Pkg0")).unwrap();
    store
        .folder_delete(&format!("{top}\\Renamed"), "Deeper")
        .unwrap();
    store.folder_delete(&top, "Renamed").unwrap();
    store.folder_delete("\\", &top).unwrap();
    assert!(!store.folder_exists(&top).unwrap());
}

/// A package of several MiB goes in and out intact; prints the times.
pub fn large(sql: &Sql, size: usize) {
    let store = sql.store();
    let folder = unique("big");
    store.folder_create("\\", &folder).unwrap();
    let path = format!("{folder}\\Big");
    let (bytes, spec) = package(size);
    let t = Instant::now();
    store.write(&path, &bytes, &meta_of(&spec)).unwrap();
    let put = t.elapsed();
    let t = Instant::now();
    let back = store.read(&path).unwrap();
    let get = t.elapsed();
    assert!(back == bytes, "the {size}-byte package came back different");
    eprintln!(
        "msdb {} ({}): {} bytes put {:?}, get {:?}",
        sql.server,
        if sql.options.ca.is_some() || sql.options.encrypt.as_deref() != Some("off") {
            "TLS"
        } else {
            "plain"
        },
        size,
        put,
        get
    );
    store.delete(&path).unwrap();
    store.folder_delete("\\", &folder).unwrap();
}

/// A wrong password fails quickly with "login failed" naming the login.
pub fn wrong_password(sql: &Sql) {
    let t = Instant::now();
    let bad = sql.as_user(&sql.user, "definitely-not-the-password");
    let error = dtutil::store::msdb::MsdbStore::open(&bad.credentials(), &bad.options)
        .err()
        .expect("login must fail");
    let message = error.to_string();
    assert!(
        message.contains("login failed") && message.contains(&format!("'{}'", sql.user)),
        "{message}"
    );
    assert!(
        !message.contains("definitely-not-the-password"),
        "{message}"
    );
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
}

/// `/MOVE`'s delete (adversary2 F5): a dtutil writing the source's name between the
/// move's last look and its delete waits for the delete, then writes its own package,
/// which stays; a look that refuses deletes nothing.
pub fn delete_if_holds_writers_off(sql: &Sql) {
    let store = sql.store();
    let folder = unique("di");
    store.folder_create("\\", &folder).unwrap();
    let path = format!("{folder}\\{}", unique("pkg"));
    let (old, spec) = package(2_000);
    store.write(&path, &old, &meta_of(&spec)).unwrap();

    assert!(!store.delete_if(&path, &mut || false).unwrap());
    assert_eq!(store.read(&path).unwrap(), old, "a refused delete keeps it");

    let (new, spec2) = package(3_000);
    let mut writer = None;
    let deleted = store
        .delete_if(&path, &mut || {
            let (sql, path, new, meta) = (sql.clone(), path.clone(), new.clone(), meta_of(&spec2));
            let (connected, wait) = std::sync::mpsc::channel();
            writer = Some(std::thread::spawn(move || {
                let other = sql.store();
                connected.send(()).unwrap();
                other.write(&path, &new, &meta)
            }));
            wait.recv().unwrap();
            // Long enough for a writer that is not held off to finish its write.
            std::thread::sleep(std::time::Duration::from_millis(1_000));
            true
        })
        .unwrap();
    assert!(deleted);
    writer
        .unwrap()
        .join()
        .unwrap()
        .expect("the writer writes once the delete is done");
    assert_eq!(
        store.read(&path).unwrap(),
        new,
        "the package written during the move's delete is kept"
    );
    store.delete(&path).unwrap();
    store.folder_delete("\\", &folder).unwrap();
}
