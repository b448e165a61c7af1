use super::*;

fn p(args: &[&str]) -> Result<Command> {
    parse(args.iter().map(OsString::from))
}

fn plan(args: &[&str]) -> Plan {
    match p(args) {
        Ok(Command::Dtutil(plan)) => *plan,
        other => panic!("{args:?}: {other:?}"),
    }
}

fn err(args: &[&str]) -> String {
    match p(args) {
        Err(e) => {
            assert_eq!(e.exit, crate::error::ExitCode::CommandLine, "{args:?}: {e}");
            e.message
        }
        Ok(c) => panic!("{args:?} should fail, got {c:?}"),
    }
}

#[test]
fn abbreviations_from_minimal_to_full() {
    for copy in ["/C", "/Co", "/Cop", "/COPY", "-copy", "/cOpY"] {
        assert!(
            matches!(
                plan(&["/FILE", "a", copy, "FILE;b"]).action,
                Action::Copy { .. }
            ),
            "{copy}"
        );
    }
    for (tok, id) in [
        ("/Dec", Id::Decrypt),
        ("/Del", Id::Delete),
        ("/DT", Id::Dts),
        ("/Fi", Id::File),
        ("/FDe", Id::FDelete),
        ("/FDi", Id::FDirectory),
        ("/sources", Id::SourceServer),
        ("/SourceS", Id::SourceServer),
        ("/SourceU", Id::SourceUser),
        ("/SQ", Id::Sql),
        ("/Si", Id::Sign),
        ("/En", Id::Encrypt),
        ("/Ex", Id::Exists),
    ] {
        match switches::lookup(&tok[1..]) {
            Match::Found(s) => assert_eq!(s.id, id, "{tok}"),
            _ => panic!("{tok} not found"),
        }
    }
    for ambiguous in ["D", "De", "F", "FD", "S", "Source", "Dest"] {
        assert!(
            matches!(switches::lookup(ambiguous), Match::Ambiguous(_)),
            "{ambiguous}"
        );
    }
    assert!(matches!(switches::lookup("Copyx"), Match::Unknown));
    assert!(err(&["/D", "x"]).contains("ambiguous"));
}

#[test]
fn unix_paths_are_values_not_options() {
    let pl = plan(&["/FILE", "/home/a.dtsx", "/COPY", "FILE;/tmp/b.dtsx"]);
    assert_eq!(pl.source.as_ref().unwrap().path, "/home/a.dtsx");
    assert_eq!(pl.action.destination().unwrap().path, "/tmp/b.dtsx");
    // Even a value that looks like an option.
    let pl = plan(&["/FILE", "/Q", "/EXISTS"]);
    assert_eq!(pl.source.unwrap().path, "/Q");
    assert!(!pl.quiet);
}

#[test]
fn encrypt_fields_and_secrets() {
    let pl = plan(&[
        "/FILE",
        "a.dtsx",
        "/Decrypt",
        "env:OLD",
        "/ENCRYPT",
        "FILE;\"out dir/b.dtsx\";2;file:/run/pw",
    ]);
    let Action::Encrypt {
        destination,
        level,
        password,
    } = &pl.action
    else {
        panic!()
    };
    assert_eq!(destination.path, "out dir/b.dtsx");
    assert_eq!(*level, ProtectionLevel::EncryptSensitiveWithPassword);
    assert_eq!(password, &Some(SecretSpec::File("/run/pw".into())));
    assert_eq!(pl.decrypt, Some(SecretSpec::Env("OLD".into())));
    assert!(err(&["/FILE", "a", "/EN", "\"FILE;b;3;k;ey\""]).contains("too many"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;3;k;ey"]).contains("too many"));
    let pl = plan(&["/FILE", "a", "/EN", "FILE;b;3;\"k;ey\""]);
    let Action::Encrypt { password, .. } = &pl.action else {
        panic!()
    };
    assert_eq!(password, &Some(SecretSpec::Literal("k;ey".into())));
    let pl = plan(&["/FILE", "a", "/EN", "FILE;b;0"]);
    assert!(matches!(pl.action, Action::Encrypt { password: None, .. }));
    let pl = plan(&["/FILE", "a", "/EN", "SQL;F\\b;5", "/DestServer", "db"]);
    assert!(matches!(
        pl.action,
        Action::Encrypt {
            level: ProtectionLevel::ServerStorage,
            ..
        }
    ));
}

#[test]
fn encrypt_errors() {
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;7;pw"]).contains("/EN"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;x"]).contains("protection level"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;5"]).contains("SQL"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;2"]).contains("password"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;3;"]).contains("password"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;1"]).contains("DPAPI"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b;4;pw"]).contains("DPAPI"));
    assert!(err(&["/FILE", "a", "/EN", "DTS;x;2;pw"]).contains("DTS"));
    assert!(err(&["/FILE", "a", "/EN", "FILE;b"]).contains("missing"));
    let secret = err(&["/FILE", "a", "/EN", "FILE;b;9;sup3rs3cret"]);
    assert!(!secret.contains("sup3rs3cret"), "{secret}");
}

#[test]
fn sources_and_credentials() {
    assert!(err(&["/FILE", "a", "/SQL", "b", "/EXISTS"]).contains("/SQL"));
    assert!(err(&["/FILE", "a", "/SourceUser", "u", "/EXISTS"]).contains("/SourceUser"));
    assert!(err(&["/SQL", "a", "/SourcePassword", "p", "/EXISTS"]).contains("/SourceUser"));
    assert!(err(&["/FILE", "a", "/COPY", "SQL;x", "/DestPassword", "p"]).contains("/DestUser"));
    assert!(err(&["/FILE", "a", "/COPY", "FILE;x", "/DestServer", "s"]).contains("/DestServer"));
    assert!(err(&["/FILE", "a", "/EXISTS", "/DestServer", "s"]).contains("/DestServer"));
    assert!(err(&["/DTS", "a", "/SourceUser", "u", "/EXISTS"]).contains("/SourceUser"));
    let pl = plan(&[
        "/SQL",
        "F\\P",
        "/SourceServer",
        "db\\inst",
        "/SourceUser",
        "sa",
        "/SourcePassword",
        "env:PW",
        "/COPY",
        "SQL;G\\P",
        "/DestServer",
        "db2,1433",
        "/DestUser",
        "u2",
        "/DestPassword",
        "x",
    ]);
    let src = pl.source.clone().unwrap();
    assert_eq!(src.kind, LocationKind::Sql);
    let sql = src.sql.unwrap();
    assert_eq!(sql.server.as_deref(), Some("db\\inst"));
    assert_eq!(sql.password, Some(SecretSpec::Env("PW".into())));
    let dest = pl.action.destination().unwrap();
    assert_eq!(
        dest.sql.as_ref().unwrap().server.as_deref(),
        Some("db2,1433")
    );
    let json = serde_json::to_string(&pl).unwrap();
    assert!(
        !json.contains("\"x\"") && json.contains("***") && json.contains("env:PW"),
        "{json}"
    );
    assert!(plan(&["/DTS", "MSDB\\x", "/SourceServer", "s", "/EXISTS"])
        .source
        .unwrap()
        .sql
        .is_some());
    assert!(err(&["/DTS", "MSDB\\..\\x", "/EXISTS"]).contains(".."));
}

#[test]
fn actions() {
    assert!(err(&["/FILE", "a", "/COPY", "FILE;b", "/DELETE"]).contains("/DELETE"));
    assert!(err(&["/FILE", "a"]).contains("no action"));
    assert!(err(&["/COPY", "FILE;b"]).contains("source"));
    assert!(err(&["/FILE", "a", "/COPY"]).contains("needs an argument"));
    assert!(err(&["/FILE", "a", "/COPY", "DISK;b"]).contains("DISK"));
    assert!(err(&["/FILE", "a", "/EXISTS", "/EXISTS"]).contains("twice"));
    assert!(err(&["/Dump", "12"]).contains("Windows"));
    assert!(matches!(
        plan(&["/FILE", "a", "/I"]).action,
        Action::RegenerateId
    ));
    let pl = plan(&[
        "/FILE", "a", "/COPY", "FILE;b", "/I", "/Q", "/R", "note one", "/R", "/Dec", "pw",
    ]);
    assert!(pl.regenerate_id && pl.quiet);
    assert_eq!(pl.remarks, vec!["note one"]);
    assert_eq!(pl.decrypt, Some(SecretSpec::Literal("pw".into())));
    assert!(matches!(
        plan(&["/FILE", "a", "/M", "SQL;x\\y"]).action,
        Action::Move { .. }
    ));
    assert!(matches!(
        plan(&["/FILE", "a", "/SIGN", "FILE;b;ABC"]).action,
        Action::Sign { .. }
    ));
}

#[test]
fn folder_actions() {
    let Action::FolderCreate {
        folder,
        parent,
        name,
    } = plan(&["/FC", "SQL;\\;Finance", "/SourceServer", "db"]).action
    else {
        panic!()
    };
    assert_eq!((parent.as_str(), name.as_str()), ("\\", "Finance"));
    assert_eq!(folder.sql.unwrap().server.as_deref(), Some("db"));
    let Action::FolderDirectory {
        path, recursive, ..
    } = plan(&["/FDi", "SQL;\\;s"]).action
    else {
        panic!()
    };
    assert!(recursive && path == "\\");
    let Action::FolderDirectory {
        path, recursive, ..
    } = plan(&["/FDi", "DTS"]).action
    else {
        panic!()
    };
    assert!(!recursive && path == "\\");
    assert!(err(&["/FDi", "SQL;\\;X"]).contains("S"));
    assert!(matches!(
        plan(&["/FE", "sql;\\A\\B"]).action,
        Action::FolderExists { .. }
    ));
    assert!(matches!(
        plan(&["/FR", "DTS;\\;a;b"]).action,
        Action::FolderRename { .. }
    ));
    assert!(matches!(
        plan(&["/FDe", "SQL;\\;a"]).action,
        Action::FolderDelete { .. }
    ));
    assert!(err(&["/FC", "FILE;\\;x"]).contains("FILE"));
    assert!(err(&["/FC", "SQL;\\"]).contains("missing"));
    assert!(err(&["/FR", "SQL;\\;a;b;c"]).contains("too many"));
    assert!(err(&["/FILE", "a", "/FC", "SQL;\\;x"]).contains("no source"));
    assert!(err(&["/FC", "SQL;..;x"]).contains(".."));
}

#[test]
fn glued_arguments_and_unknown_options() {
    let m = err(&["/I", "/DTS;MSDB\\x"]);
    assert!(m.contains("space") && m.contains("/DTS MSDB\\x"), "{m}");
    assert!(err(&["/FILE:a.dtsx", "/EXISTS"]).contains("space"));
    assert!(err(&["/FROB"]).contains("/FROB"));
    assert!(err(&["/FILE", "a", "/EXISTS", "--frob"]).contains("--frob"));
    assert!(err(&["/FILE", "a", "b", "/EXISTS"]).contains("`b`"));
}

#[test]
fn long_options_and_help() {
    let pl = plan(&[
        "/FILE",
        "a",
        "/EN",
        "FILE;b;2;pw",
        "--dry-run",
        "--json",
        "--algorithm=aes256",
        "--allow-lost-sensitive",
    ]);
    assert!(pl.dry_run && pl.allow_lost_sensitive);
    assert_eq!(pl.output, OutputMode::Json);
    assert_eq!(pl.algorithm, Some(Algorithm::Aes256));
    assert_eq!(
        plan(&["/FILE", "a", "/EXISTS", "--algorithm", "3des"]).algorithm,
        Some(Algorithm::TripleDes)
    );
    assert!(err(&["/FILE", "a", "/EXISTS", "--algorithm", "rc4"]).contains("rc4"));
    assert!(matches!(
        plan(&["/?"]).action,
        Action::Help { option: None }
    ));
    assert!(matches!(plan(&[]).action, Action::Help { option: None }));
    assert!(matches!(
        plan(&["--help"]).action,
        Action::Help { option: None }
    ));
    let Action::Help { option } = plan(&["/H", "Encrypt"]).action else {
        panic!()
    };
    assert_eq!(option.as_deref(), Some("Encrypt"));
    assert!(help_text(Some("en")).unwrap().contains("/En[crypt]"));
    assert!(help_text(Some("zz")).is_err());
    let all = help_text(None).unwrap();
    for s in SWITCHES {
        assert!(all.contains(&s.syntax()), "{}", s.name);
    }
    assert!(matches!(p(&["--version"]), Ok(Command::Version)));
}

#[test]
fn subcommands() {
    let Ok(Command::Inspect(args)) = p(&[
        "inspect",
        "--json",
        "--password",
        "env:X",
        "a.dtsx",
        "b.dtsx",
    ]) else {
        panic!()
    };
    assert_eq!(args.paths, vec!["a.dtsx", "b.dtsx"]);
    assert!(args.json);
    assert_eq!(args.password, Some(SecretSpec::Env("X".into())));
    assert!(
        err(&["inspect"]).contains("PATHS")
            || err(&["inspect"]).to_lowercase().contains("required")
    );
    assert!(err(&["frobnicate"]).contains("inspect"));
}
