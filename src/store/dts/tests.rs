use super::*;

const SAMPLE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <StopExecutingPackagesOnShutdown>true</StopExecutingPackagesOnShutdown>
  <TopLevelFolders>
<Folder xsi:type="SqlServerFolder">
  <Name>MSDB</Name>
  <ServerName>.\SQL2019</ServerName>
</Folder>
<Folder xsi:type="FileSystemFolder">
  <Name>File System</Name>
  <StorePath>..\Packages</StorePath>
</Folder>
<Folder xsi:type="FileSystemFolder">
  <Name>Azure</Name>
  <StorePath>\\acct.file.core.windows.net\ssis\pkgs</StorePath>
</Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#;

#[test]
fn parses_the_service_format() {
    let c = DtsConfig::parse(SAMPLE.as_bytes(), Path::new("/etc/dtutil"), "x").unwrap();
    assert_eq!(c.roots.len(), 3);
    assert_eq!(
        c.roots[0],
        Root {
            name: "MSDB".into(),
            kind: RootKind::Sql {
                server: ".\\SQL2019".into()
            },
            access: RootAccess::default(),
        }
    );
    let RootKind::FileSystem { store_path } = &c.roots[1].kind else {
        panic!()
    };
    if !cfg!(windows) {
        assert_eq!(store_path, "/etc/dtutil/../Packages");
    }
    assert_eq!(
        c.roots[2].kind,
        RootKind::FileSystem {
            store_path: r"\\acct.file.core.windows.net\ssis\pkgs".into()
        }
    );
}

#[test]
fn accepts_element_names_and_refuses_bad_files() {
    let plain = "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name><ServerName>srv,1433</ServerName></SqlServerFolder><FileSystemFolder><Name>F</Name><StorePath>/p</StorePath></FileSystemFolder></TopLevelFolders></DtsServiceConfiguration>";
    let c = DtsConfig::parse(plain.as_bytes(), Path::new("/"), "x").unwrap();
    assert_eq!(c.roots.len(), 2);
    for bad in [
        "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>&e;</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
        "<DtsServiceConfiguration/>",
        "<DtsServiceConfiguration><TopLevelFolders/></DtsServiceConfiguration>",
        "<DtsServiceConfiguration><TopLevelFolders><FileSystemFolder><Name>F</Name></FileSystemFolder></TopLevelFolders></DtsServiceConfiguration>",
        "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>a\\b</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
        "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name></SqlServerFolder><SqlServerFolder><Name>m</Name></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>",
        "<DtsServiceConfiguration><TopLevelFolders><Folder><Name>M</Name></Folder></TopLevelFolders></DtsServiceConfiguration>",
        "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>M</Name>",
    ] {
        assert!(DtsConfig::parse(bad.as_bytes(), Path::new("/"), "x").is_err(), "{bad}");
    }
}

#[test]
fn paths_stay_inside_their_root() {
    assert_eq!(
        segments(r"\File System\F\\p").unwrap(),
        vec!["File System", "F", "p"]
    );
    assert!(segments(r"File System\..\..\etc\passwd").is_err());
    assert!(segments("MSDB/./p").is_err());
    let dir = tempfile::tempdir().unwrap();
    let config = DtsConfig {
        roots: vec![Root {
            name: "File System".into(),
            kind: RootKind::FileSystem {
                store_path: dir.path().display().to_string(),
            },
            access: RootAccess::default(),
        }],
        origin: "test".into(),
        builtin: false,
    };
    let store = DtsStore::new(config, SqlCredentials::default());
    assert!(store.read(r"File System\..\x").is_err());
    assert!(matches!(
        store.read(r"Nope\x"),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.read(r"\p").is_err());
    assert!(store.read(r"File System").is_err());
    assert_eq!(
        store.folder_list("\\").unwrap(),
        vec![Entry {
            name: "File System".into(),
            is_folder: true
        }]
    );
}

#[test]
fn default_dirs_are_absolute_or_relative_to_home() {
    assert!(default_packages_dir().ends_with("dtutil/packages") || cfg!(windows));
    assert!(default_config_file().ends_with("MsDtsSrvr.ini.xml"));
}

/// Review user F4: `/DestServer localhost ... /COPY DTS;MSDB\...` (copy-ssispackages.bat)
/// means this machine's package store, whose MSDB root names its SQL Server; another
/// server (with a port, or another machine) still stands in for the root's.
#[test]
fn this_machines_name_keeps_the_configured_msdb_server() {
    let xml = "<DtsServiceConfiguration><TopLevelFolders><SqlServerFolder><Name>MSDB</Name><ServerName>srv,1433</ServerName></SqlServerFolder></TopLevelFolders></DtsServiceConfiguration>";
    let on = |server: &str| {
        let config = DtsConfig::parse(xml.as_bytes(), Path::new("/"), "x").unwrap();
        let sql = SqlCredentials {
            server: Some(server.into()),
            ..SqlCredentials::default()
        };
        DtsStore::new(config, sql).describe(r"MSDB\F\P")
    };
    for local in ["localhost", "LOCALHOST", ".", "(local)", "127.0.0.1"] {
        assert!(on(local).contains("on srv,1433"), "{local}: {}", on(local));
    }
    for other in ["127.0.0.1,15001", "sql02", r".\SQL2019"] {
        assert!(on(other).contains(&format!("on {other}")), "{}", on(other));
    }
}
