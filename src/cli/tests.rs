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

/// The syntax lines are generated from the table; they are SPEC 1's list (with
/// /ENCRYPT saying honestly that DTS is refused).
#[test]
fn syntax_lines_match_the_spec() {
    let expected = [
        "/?",
        "/C[opy] {SQL|FILE|DTS};Path",
        "/Dec[rypt] Password",
        "/Del[ete]",
        "/DestP[assword] Password",
        "/DestS[erver] Server",
        "/DestU[ser] User",
        "/DT[S] PackagePath",
        "/Dump ProcessID",
        "/En[crypt] {SQL|FILE};Path;ProtectionLevel[;Password]",
        "/Ex[ists]",
        "/FC[reate] {SQL|DTS};ParentFolderPath;NewFolderName",
        "/FDe[lete] {SQL|DTS};ParentFolderPath;FolderName",
        "/FDi[rectory] {SQL|DTS}[;FolderPath[;S]]",
        "/FE[xists] {SQL|DTS};FolderPath",
        "/FR[ename] {SQL|DTS};ParentFolderPath;OldFolderName;NewFolderName",
        "/Fi[le] Filespec",
        "/H[elp] [Option]",
        "/I[DRegenerate]",
        "/M[ove] {SQL|FILE|DTS};Path",
        "/Q[uiet]",
        "/R[emark] [Text]",
        "/Si[gn] {SQL|FILE|DTS};Path;Hash",
        "/SourceP[assword] Password",
        "/SourceS[erver] Server",
        "/SourceU[ser] User",
        "/SQ[L] PackagePath",
    ];
    let got: Vec<String> = SWITCHES.iter().map(|s| s.syntax()).collect();
    assert_eq!(got, expected);
}

/// Every prefix from the minimal abbreviation to the full name finds the switch, in
/// any case and with either prefix; every shorter prefix does not.
#[test]
fn every_abbreviation_boundary() {
    for s in SWITCHES {
        for len in 1..=s.name.len() {
            let prefix = &s.name[..len];
            for typed in [
                prefix.to_string(),
                prefix.to_ascii_lowercase(),
                prefix.to_ascii_uppercase(),
            ] {
                let found = matches!(switches::lookup(&typed), Match::Found(f) if f.id == s.id);
                assert_eq!(found, len >= s.min, "{typed} for {}", s.name);
            }
        }
        // A minimal abbreviation is a prefix of no other name: lookups cannot collide.
        let abbrev = s.name[..s.min].to_ascii_lowercase();
        for t in SWITCHES.iter().filter(|t| t.id != s.id) {
            assert!(
                !t.name.to_ascii_lowercase().starts_with(&abbrev),
                "{} shadows {}",
                s.name,
                t.name
            );
        }
    }
}

#[test]
fn ambiguous_and_too_short_prefixes() {
    let m = err(&["/F", "x"]);
    assert!(
        m.contains("ambiguous") && m.contains("/Fi[le]") && m.contains("/FC[reate]"),
        "{m}"
    );
    let m = err(&["/D"]);
    for name in ["/Dec[rypt]", "/Del[ete]", "/DT[S]", "/Dump", "/DestU[ser]"] {
        assert!(m.contains(name), "{m}");
    }
    assert!(m.contains("`/D`"), "{m}");
    let m = err(&["/Dum", "1"]);
    assert!(
        m.contains("unknown option `/Dum`") && m.contains("did you mean /Dump"),
        "{m}"
    );
    assert!(err(&["-So", "x"]).contains("ambiguous"));
    // /DT is DTS; /Fi is File.
    assert_eq!(
        plan(&["/DT", "MSDB\\p", "/EX"]).source.unwrap().kind,
        LocationKind::Dts
    );
    assert_eq!(
        plan(&["/fi", "p.dtsx", "/ex"]).source.unwrap().kind,
        LocationKind::File
    );
    assert_eq!(
        plan(&["-SQ", "F\\p", "-ex"]).source.unwrap().kind,
        LocationKind::Sql
    );
}

#[test]
fn dash_prefix_and_case() {
    let pl = plan(&["-fIlE", "a.dtsx", "-cOp", "file;b.dtsx", "-q"]);
    assert!(pl.quiet);
    assert_eq!(pl.action.destination().unwrap().kind, LocationKind::File);
    let pl = plan(&[
        "/sql", "F\\P", "/sources", "db", "/SourceU", "sa", "/sourcep", "pw", "/DEL",
    ]);
    assert_eq!(pl.action, Action::Delete);
    let sql = pl.source.unwrap().sql.unwrap();
    assert_eq!(sql.user.as_deref(), Some("sa"));
    assert_eq!(sql.password, Some(SecretSpec::Literal("pw".into())));
}

#[test]
fn quoted_semicolon_arguments() {
    // Whole argument quoted (the shell passed the quotes through).
    let pl = plan(&["/FILE", "a", "/COPY", "\"FILE;/tmp/x y/b.dtsx\""]);
    assert_eq!(pl.action.destination().unwrap().path, "/tmp/x y/b.dtsx");
    let pl = plan(&["/FILE", "a", "/EN", "\"FILE;b.dtsx;3;a\"\"b\""]);
    let Action::Encrypt { password, .. } = &pl.action else {
        panic!()
    };
    assert_eq!(password, &Some(SecretSpec::Literal("a\"b".into())));
    // Individually quoted fields; `;` inside quotes is literal.
    let pl = plan(&["/FILE", "a", "/COPY", "FILE;\"C:\\x y\\p;1.dtsx\""]);
    assert_eq!(pl.action.destination().unwrap().path, "C:\\x y\\p;1.dtsx");
    let pl = plan(&["/FE", "SQL;\"\\Fin \"\"Q1\"\"\""]);
    let Action::FolderExists { path, .. } = pl.action else {
        panic!()
    };
    assert_eq!(path, "\\Fin \"Q1\"");
    assert!(err(&["/FILE", "a", "/COPY", "FILE;\"open"]).contains("quote"));
}

#[test]
fn remarks() {
    let pl = plan(&[
        "/R",
        "first",
        "/FILE",
        "a",
        "/R",
        "/EXISTS",
        "/R",
        "/home/not/an/option",
        "/R",
    ]);
    assert_eq!(pl.remarks, vec!["first", "/home/not/an/option"]);
    assert_eq!(pl.action, Action::Exists);
    let pl = plan(&["/FILE", "a", "/EXISTS", "/R", "--json"]);
    assert!(pl.remarks.is_empty());
    assert_eq!(pl.output, OutputMode::Json);
    let pl = plan(&["/FILE", "a", "/EXISTS", "/Remark", "x", "-rem", "y"]);
    assert_eq!(pl.remarks, vec!["x", "y"]);
}

#[test]
fn secrets_stay_unresolved_and_never_serialise() {
    let pl = plan(&[
        "/SQL",
        "F\\P",
        "/SourceUser",
        "sa",
        "/SourcePassword",
        "hunter2",
        "/Decrypt",
        "file:/run/secrets/old",
        "/ENCRYPT",
        "SQL;F\\Q;3;correct horse",
        "/DestUser",
        "etl",
        "/DestPassword",
        "env:DEST_PW",
        "--dry-run",
    ]);
    assert!(pl.dry_run);
    assert_eq!(
        pl.decrypt,
        Some(SecretSpec::File("/run/secrets/old".into()))
    );
    let dest = pl.action.destination().unwrap().sql.clone().unwrap();
    assert_eq!(dest.password, Some(SecretSpec::Env("DEST_PW".into())));
    let json = serde_json::to_string(&pl).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("correct horse"),
        "{json}"
    );
    assert!(
        json.contains("\"***\"") && json.contains("env:DEST_PW"),
        "{json}"
    );
    assert!(json.contains("file:/run/secrets/old"), "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["action"], "encrypt");
    assert_eq!(value["source"]["sql"]["password"], "***");
    // pass: forces a literal that looks like a reference.
    assert_eq!(
        plan(&["/FILE", "a", "/Dec", "pass:env:X", "/EX"]).decrypt,
        Some(SecretSpec::Literal("env:X".into()))
    );
    // Debug output hides literals too.
    assert!(!format!("{pl:?}").contains("hunter2"));
}

#[test]
fn passwords_never_appear_in_errors() {
    let cases: &[&[&str]] = &[
        &["/FILE", "a", "/Decrypt:hunter2", "/EX"],
        &["/FILE", "a", "/En;FILE;b;2;hunter2"],
        &["/SQL", "a", "/SourcePassword=hunter2", "/EX"],
        &["/FILE", "a", "/Decrypt", "my", "hunter2", "/EX"],
        &["/SQL", "a", "/SourceUser", "sa", "hunter2", "/EX"],
        &["/FILE", "a", "/EN", "FILE;b;hunter2;2"],
        &["/FILE", "a", "/EN", "hunter2;FILE;b;2"],
        &["/FILE", "a", "/EN", "FILE;b;0;hunter2"],
        &["/FILE", "a", "/EN", "FILE;b;1;hunter2"],
        &["/FILE", "a", "/EN", "FILE;b;2;hunter2;x"],
        &["/FILE", "a", "/EX", "--frob=hunter2"],
        &[
            "/FILE",
            "a",
            "/EN",
            "FILE;b;2;hunter2",
            "/DestPassword",
            "hunter2",
        ],
    ];
    for args in cases {
        let m = err(args);
        assert!(!m.contains("hunter2"), "{args:?}: {m}");
    }
    let m = err(&["/FILE", "a", "/Decrypt:hunter2"]);
    assert!(
        m.contains("space") && m.contains("/Decrypt Password"),
        "{m}"
    );
}

/// Verify2 F8: the second half of an unquoted password that starts with `/` or `-` is
/// an unknown option only by its looks: it is said by its position, with the switch
/// it follows.
#[test]
fn a_password_half_that_looks_like_an_option_is_not_echoed() {
    for (line, switch) in [
        ("/FILE a /Decrypt my /Zq9S /EX", "/Decrypt"),
        ("/FILE a /Decrypt my -Zq9S /EX", "/Decrypt"),
        ("/FILE a /Decrypt my --Zq9S /EX", "/Decrypt"),
        ("/FILE a /Decrypt my --Zq9S=x /EX", "/Decrypt"),
        ("/FILE a /Decrypt my /De /EX", "/Decrypt"),
        ("/FILE a /Decrypt my /ZqE;9 /EX", "/Decrypt"),
        (
            "/SQL a /SourceUser etl /SourcePassword my /wordZq9 /EX",
            "/SourcePassword",
        ),
        (
            "/SQL a /SourceUser etl /SourcePassword my /EXZq9 /EX",
            "/SourcePassword",
        ),
        (
            "/FILE a /COPY SQL;b /DestUser etl /DestPassword my -Zq9",
            "/DestPassword",
        ),
        ("/FILE a /EN FILE;b;2;my /Zq9S", "/Encrypt"),
        ("/SQL a /SourceUser my /Zq9S /EX", "/SourceUser"),
        ("/FILE a /Decrypt my Zq9S /EX", "/Decrypt"),
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        let m = err(&args);
        assert!(!m.contains("Zq9"), "{line}: {m}");
        assert!(
            m.contains("not shown") && m.contains(switch) && m.contains("quote"),
            "{line}: {m}"
        );
    }
    // Elsewhere an unknown option is named, with the nearest known one.
    let m = err(&["/FILE", "a", "/EX", "/Zq9S"]);
    assert!(m.contains("unknown option `/Zq9S`"), "{m}");
    let m = err(&["/FILE", "a", "/Decrypt", "my", "/EX", "--Zq9S"]);
    assert!(m.contains("unknown option `--Zq9S`"), "{m}");
}

#[cfg(unix)]
#[test]
fn non_unicode_arguments_are_not_echoed() {
    use std::os::unix::ffi::OsStringExt;
    let args = vec![
        OsString::from("/FILE"),
        OsString::from("a"),
        OsString::from("/Dec"),
        OsString::from_vec(b"s3cr\xffet".to_vec()),
    ];
    let e = parse(args).unwrap_err();
    assert_eq!(e.exit, crate::error::ExitCode::CommandLine);
    assert!(
        e.message.contains("argument 4") && !e.message.contains("s3cr"),
        "{}",
        e.message
    );
}

#[test]
fn encrypt_rules() {
    let m = err(&["/FILE", "a", "/ENCRYPT", "FILE;b;7;pw"]);
    assert!(m.contains("/ENCRYPT") && m.contains("0-5"), "{m}");
    assert!(
        m.contains("0 (DontSaveSensitive)") && m.contains("5 (ServerStorage)"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/en", "FILE;b;x"]);
    assert!(m.contains("/en") && m.contains("/ENCRYPT"), "{m}");
    let m = err(&["/FILE", "a", "/ENCRYPT", "DTS;MSDB\\b;2;pw"]);
    assert!(
        m.contains("package store (DTS)") && m.contains("FILE or SQL"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/ENCRYPT", "FILE;b;5"]);
    assert!(m.contains("ServerStorage (5) is only for SQL"), "{m}");
    let m = err(&["/FILE", "a", "/ENCRYPT", "FILE;b;4"]);
    assert!(
        m.contains("DPAPI") && m.contains("not available on this platform") && m.contains("3"),
        "{m}"
    );
    assert!(err(&["/FILE", "a", "/ENCRYPT", "SQL;b;3"]).contains("needs a password"));
    assert!(err(&["/FILE", "a", "/ENCRYPT", "FILE;b;0;pw"]).contains("takes no password"));
    assert!(err(&["/FILE", "a", "/ENCRYPT", "FILE"]).contains("missing"));
    assert!(err(&["/FILE", "a", "/ENCRYPT", "FILE;;2;pw"]).contains("empty"));
    // Level 0 with an empty fourth field is fine; 3 with an env: password.
    assert!(matches!(
        plan(&["/FILE", "a", "/ENCRYPT", "FILE;b;0;"]).action,
        Action::Encrypt { password: None, .. }
    ));
    let Action::Encrypt {
        level,
        password,
        destination,
    } = plan(&["/FILE", "a", "/ENCRYPT", "file;b; 3 ;env:K"]).action
    else {
        panic!()
    };
    assert_eq!(level, ProtectionLevel::EncryptAllWithPassword);
    assert_eq!(password, Some(SecretSpec::Env("K".into())));
    assert_eq!(destination.sql, None);
}

#[test]
fn source_and_destination_rules() {
    let m = err(&["/FILE", "a", "/DTS", "b", "/EX"]);
    assert!(m.contains("/FILE") && m.contains("/DTS"), "{m}");
    let m = err(&["/FILE", "a", "/Fi", "b", "/EX"]);
    assert!(
        m.contains("twice") && m.contains("`/FILE`") && m.contains("`/Fi`"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/SourceServer", "s", "/EX"]);
    assert!(m.contains("/SourceServer") && m.contains("FILE"), "{m}");
    let m = err(&[
        "/DTS",
        "MSDB\\a",
        "/SourcePassword",
        "p",
        "/SourceUser",
        "u",
        "/EX",
    ]);
    assert!(m.contains("/SourceUser") && m.contains("DTS"), "{m}");
    // DTS: server only.
    let sql = plan(&["/DTS", "MSDB\\a", "/SourceS", "box", "/EX"])
        .source
        .unwrap()
        .sql
        .unwrap();
    assert_eq!(
        sql,
        SqlConnection {
            server: Some("box".into()),
            user: None,
            password: None
        }
    );
    let pl = plan(&["/FILE", "a", "/COPY", "DTS;MSDB\\b", "/DestServer", "box"]);
    let dest = pl.action.destination().unwrap();
    assert_eq!(dest.sql.as_ref().unwrap().server.as_deref(), Some("box"));
    assert!(err(&["/FILE", "a", "/COPY", "DTS;MSDB\\b", "/DestUser", "u"]).contains("/DestUser"));
    assert!(err(&["/FILE", "a", "/COPY", "FILE;b", "/DestUser", "u"]).contains("/DestUser"));
    assert!(err(&["/FILE", "a", "/I", "/DestServer", "s"]).contains("/DestServer"));
    // SQL destination without user: integrated authentication.
    let pl = plan(&["/FILE", "a", "/COPY", "SQL;F\\b"]);
    assert_eq!(
        pl.action.destination().unwrap().sql,
        Some(SqlConnection::default())
    );
    // A FILE source has no connection.
    assert_eq!(plan(&["/FILE", "a", "/EX"]).source.unwrap().sql, None);
    // Paths.
    assert!(err(&["/SQL", "", "/EX"]).contains("empty"));
    assert!(err(&["/SQL", "F/../G", "/EX"]).contains("never escape"));
    assert!(err(&["/FILE", "a", "/COPY", "DTS;File System\\..\\x"]).contains("never escape"));
    // One check (store::path): `.` too, and blanks around a dot do not hide it.
    for bad in ["F\\.\\G", "F\\.. \\G", "F\\ ..", " . "] {
        assert!(err(&["/SQL", bad, "/EX"]).contains("never escape"), "{bad}");
        assert!(
            err(&["/FDi", &format!("DTS;MSDB\\{bad}")]).contains("never escape"),
            "{bad}"
        );
    }
    // Empty names (doubled separators) are skipped, as the stores skip them; a
    // trailing separator names a folder (a_package_path_ending_with_a_separator...).
    assert_eq!(
        plan(&["/SQL", "\\F\\\\G", "/EX"]).source.unwrap().path,
        "\\F\\\\G"
    );
    assert_eq!(
        plan(&["/FILE", "../up/a.dtsx", "/EX"]).source.unwrap().path,
        "../up/a.dtsx"
    );
    assert_eq!(
        plan(&["/DTS", "File System\\F\\P", "/EX"])
            .source
            .unwrap()
            .path,
        "File System\\F\\P"
    );
}

#[test]
fn action_rules() {
    let m = err(&["/FILE", "a", "/EXISTS", "/M", "FILE;b"]);
    assert!(
        m.contains("/EXISTS") && m.contains("/M") && m.contains("one action"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/Q"]);
    assert!(
        m.contains("no action") && m.contains("/COPY") && m.contains("/FDIRECTORY"),
        "{m}"
    );
    assert!(err(&["/I"]).contains("needs a source"));
    assert!(err(&["/DELETE"]).contains("/DELETE needs a source"));
    let m = err(&["/Dump"]);
    assert!(
        m.contains("only on Windows") && m.contains("not supported on this platform"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/COPY"]);
    assert!(
        m.contains("/COPY needs an argument") && m.contains("{SQL|FILE|DTS};Path"),
        "{m}"
    );
    let m = err(&["/FILE", "a", "/COPY", "FILE;b;c"]);
    assert!(m.contains("too many"), "{m}");
    let m = err(&["/FILE", "a", "/SIGN", "FILE;b"]);
    assert!(m.contains("missing") && m.contains("Hash"), "{m}");
    // Modifiers combine with folder actions too.
    let pl = plan(&["/FDi", "SQL", "/Q", "/I", "/R", "x"]);
    assert!(pl.quiet && pl.regenerate_id && pl.source.is_none());
}

#[test]
fn folder_rules() {
    let m = err(&["/FC", "FILE;\\;x"]);
    assert!(m.contains("folder actions apply to SQL and DTS"), "{m}");
    assert!(err(&["/FC", "SQL;\\;a\\b"]).contains("one folder name"));
    assert!(err(&["/FR", "SQL;\\;a;"]).contains("new folder name"));
    assert!(err(&["/FDe", "SQL;\\;.."]).contains("never escape"));
    let m = err(&["/FDi", "DTS", "/SourceUser", "u"]);
    assert!(m.contains("/SourceUser") && m.contains("DTS"), "{m}");
    let Action::FolderDirectory { folder, .. } =
        plan(&["/FDi", "DTS;\\", "/SourceServer", "b"]).action
    else {
        panic!()
    };
    assert_eq!(
        folder.sql,
        Some(SqlConnection {
            server: Some("b".into()),
            user: None,
            password: None
        })
    );
    let Action::FolderRename {
        folder,
        parent,
        old_name,
        new_name,
    } = plan(&[
        "/FR",
        "SQL;\\A;B;C",
        "/SourceUser",
        "u",
        "/SourcePassword",
        "env:P",
    ])
    .action
    else {
        panic!()
    };
    assert_eq!(
        (parent.as_str(), old_name.as_str(), new_name.as_str()),
        ("\\A", "B", "C")
    );
    assert_eq!(
        folder.sql.unwrap().password,
        Some(SecretSpec::Env("P".into()))
    );
    assert!(err(&["/FE", "SQL;\\A", "/DestServer", "s"]).contains("/DestServer"));
    assert!(err(&["/FDi", "SQL;\\;S;x"]).contains("too many"));
}

#[test]
fn long_options_rules() {
    assert!(err(&["/FILE", "a", "/EX", "--json=yes"]).contains("takes no value"));
    let m = err(&["/FILE", "a", "/EX", "--algorithm"]);
    assert!(m.contains("--algorithm needs a value"), "{m}");
    assert!(err(&["/FILE", "a", "/EX", "--dry"]).contains("unknown option `--dry`"));
    // A command-line error is still an error under --dry-run.
    assert!(err(&["--dry-run", "/FILE", "a"]).contains("no action"));
    assert!(matches!(
        p(&["/FILE", "a", "/EX", "--version"]),
        Ok(Command::Version)
    ));
    assert_eq!(
        plan(&["--algorithm=3DES", "/FILE", "a", "/EX"]).algorithm,
        Some(Algorithm::TripleDes)
    );
}

#[test]
fn help_topics() {
    let Action::Help { option } = plan(&["/H", "cop"]).action else {
        panic!()
    };
    assert_eq!(option.as_deref(), Some("Copy"));
    let Action::Help { option } = plan(&["/Help"]).action else {
        panic!()
    };
    assert_eq!(option, None);
    let Action::Help { option } = plan(&["/H", "inspect"]).action else {
        panic!()
    };
    assert_eq!(option.as_deref(), Some("inspect"));
    assert!(err(&["/H", "zz"]).contains("no such option"));
    assert!(err(&["/H", "D"]).contains("ambiguous"));
    // Help wins over whatever else is on the line.
    assert!(matches!(
        plan(&["/FILE", "a", "/SourceUser", "u", "/?"]).action,
        Action::Help { option: None }
    ));
    let copy = help_text(Some("/C")).unwrap();
    assert!(
        copy.starts_with("/C[opy] {SQL|FILE|DTS};Path") && copy.contains("Example: dtutil"),
        "{copy}"
    );
    assert!(help_text(Some("-SourceS"))
        .unwrap()
        .contains("/SourceS[erver] Server"));
    assert!(help_text(Some("--dry-run"))
        .unwrap()
        .contains("touch nothing"));
    assert!(help_text(Some("inspect")).unwrap().contains("--password"));
    assert_eq!(
        help_text(Some("Dum")).unwrap_err().exit,
        crate::error::ExitCode::CommandLine
    );
    let all = help_text(None).unwrap();
    assert!(all.starts_with("dtutil:") && all.contains("Usage: dtutil /option [value]"));
    for needle in [
        "--dry-run",
        "--json",
        "--algorithm 3des|aes256",
        "--allow-lost-sensitive",
        "--version",
        "dtutil inspect",
        "env:NAME",
        "file:PATH",
    ] {
        assert!(all.contains(needle), "{needle}");
    }
}

#[test]
fn subcommand_paths() {
    let Ok(Command::Dtutil(pl)) = p(&["inspect", "--help"]) else {
        panic!()
    };
    assert_eq!(
        pl.action,
        Action::Help {
            option: Some("inspect".into())
        }
    );
    let Ok(Command::Inspect(args)) = p(&["inspect", "--password", "file:/k", "x.dtsx"]) else {
        panic!()
    };
    assert_eq!(args.password, Some(SecretSpec::File("/k".into())));
    assert!(!args.json);
    let m = err(&["inspekt", "a"]);
    assert!(
        m.contains("unknown subcommand `inspekt`")
            && m.contains("inspect")
            && m.contains("project"),
        "{m}"
    );
    assert!(err(&["inspect", "--bogus", "a"]).contains("--bogus"));
}

#[test]
fn store_config_flag() {
    let pl = plan(&[
        "/DTS",
        "File System\\x",
        "/EXISTS",
        "--store-config",
        "/etc/ssis/MsDtsSrvr.ini.xml",
    ]);
    assert_eq!(
        pl.store_config.as_deref(),
        Some("/etc/ssis/MsDtsSrvr.ini.xml")
    );
    let pl = plan(&[
        "/DTS",
        "File System\\x",
        "/EXISTS",
        "--store-config=cfg.xml",
    ]);
    assert_eq!(pl.store_config.as_deref(), Some("cfg.xml"));
    assert!(err(&["/DTS", "x", "/EXISTS", "--store-config"]).contains("MsDtsSrvr"));
}

#[test]
fn ir_flag() {
    let pl = plan(&["/DTS", "FILES\\Fin\\Load", "/EXISTS", "--ir", "s/rg/f/ir"]);
    assert_eq!(pl.ir.as_deref(), Some("s/rg/f/ir"));
    // `/I` stays /IDRegenerate: the long option needs its two dashes.
    assert!(plan(&["/FILE", "a.dtsx", "/COPY", "FILE;b.dtsx", "-I"]).regenerate_id);
    assert!(err(&["/DTS", "x", "/EXISTS", "--ir"]).contains("IR"));
}

/// CONTRIBUTING's rule for `cli/`: it imports `plan`, the domain types and `error`, and
/// from `store` only the path grammar (`store::path`, `Location::file_path`,
/// `azfiles::AzPath`); it opens no store and never reaches a command's module.
#[test]
fn cli_imports_only_what_contributing_allows() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let allowed_store = [
        "store::{self, azfiles}",
        "store::path",
        "store::Location::file_path",
        "store::Location::AzureFiles",
    ];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "tests.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}: {line}", path.display(), n + 1);
            for (i, _) in line.match_indices("crate::") {
                let module = line[i + 7..]
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .next()
                    .unwrap();
                assert!(
                    ["plan", "error", "package", "crypto", "store"].contains(&module),
                    "{at}"
                );
            }
            for (i, _) in line.match_indices("store::") {
                assert!(
                    allowed_store.iter().any(|a| line[i..].starts_with(a)),
                    "{at}"
                );
            }
            for (i, _) in line.match_indices("azfiles::") {
                assert!(line[i..].starts_with("azfiles::AzPath::parse"), "{at}");
            }
        }
    }
}

/// `SQL;Folder\` names a folder: it used to create a package named `Folder`.
#[test]
fn a_package_path_ending_with_a_separator_is_refused() {
    for (args, shown) in [
        (
            &["/FILE", "a", "/COPY", r"SQL;Maintenance Plans\", "/Q"][..],
            r"Maintenance Plans\",
        ),
        (&["/FILE", "a", "/COPY", "SQL;x/"][..], "x/"),
        (&["/FILE", "a", "/COPY", r"DTS;MSDB\F\"][..], r"MSDB\F\"),
        (&["/SQL", r"Folder\", "/EXISTS"][..], r"Folder\"),
    ] {
        let e = err(args);
        assert!(
            e.contains("names a folder, not a package") && e.contains(shown),
            "{e}"
        );
    }
    // Folder actions take folder paths as they are.
    plan(&["/FDi", r"SQL;\Finance\"]);
    plan(&["/FC", r"SQL;\;Finance"]);
}

/// Review user F6: bash ends `/ENCRYPT FILE;x.dtsx;2;pw` at the first `;`; the message
/// says so and how to quote, and never echoes what arrived beyond the keyword.
#[test]
fn a_value_cut_at_an_unquoted_semicolon_says_to_quote_it() {
    let m = err(&["/FILE", "a.dtsx", "/ENCRYPT", "FILE"]);
    assert!(m.contains("/ENCRYPT is missing a part"), "{m}");
    assert!(
        m.contains("the shell ended the command at the unquoted `;`"),
        "{m}"
    );
    assert!(m.contains("/ENCRYPT \"FILE;...\""), "{m}");
    assert!(m.contains("env:NAME"), "{m}");
    let m = err(&["/FILE", "a.dtsx", "/COPY", "file"]);
    assert!(m.contains("/COPY \"FILE;...\""), "{m}");
    assert!(!m.contains("env:NAME"), "{m}");
    for typo in ["FILE:x.dtsx", "FILE,x.dtsx"] {
        let m = err(&["/FILE", "a.dtsx", "/COPY", typo]);
        assert!(m.contains("separated by `;`"), "{m}");
        assert!(!m.contains("x.dtsx"), "{m}");
    }
    // A value with its parts but a missing level has no shell hint.
    let m = err(&["/FILE", "a.dtsx", "/ENCRYPT", "FILE;x.dtsx"]);
    assert!(m.contains("missing a part"), "{m}");
    assert!(!m.contains("shell"), "{m}");
}

/// Review user F21: the full name typed in full is not repeated.
#[test]
fn an_option_typed_in_full_is_named_once() {
    let m = err(&["/FILE", "a.dtsx", "/ENCRYPT", "FILE;x.dtsx;9;pw"]);
    assert!(m.starts_with("/ENCRYPT: the protection level"), "{m}");
    let m = err(&["/FILE", "a.dtsx", "/En", "FILE;x.dtsx;9;pw"]);
    assert!(m.starts_with("/En (/ENCRYPT): the protection level"), "{m}");
}

/// Review kerberos F12: `/?` says what leaving out the login means, as Microsoft's
/// dtutil reference does ("dtutil tries to log on ... using Windows Authentication").
#[test]
fn help_says_no_user_means_windows_authentication() {
    for id in [Id::SourceUser, Id::DestUser] {
        let doc = switches::by_id(id).doc;
        assert!(doc.contains("Windows authentication"), "{doc}");
        assert!(doc.contains("kinit"), "{doc}");
        assert!(doc.contains("DOMAIN\\user is not a SQL login"), "{doc}");
    }
}

/// Adversary2 F6, F7, F13: `ir run` sends every property named like a secret as one
/// (also through a `--set` path), never echoes a malformed secret, and wipes every
/// sensitive literal from argv like the package password.
#[test]
fn ir_run_secrets_by_name_never_echoed_and_wiped_from_argv() {
    use crate::plan::ir::{IrAction, RunValue};
    let command = p(&[
        "ir",
        "run",
        r"FILES\Load",
        "--connection",
        "FTP.ServerPassword=FtpSECRET3",
        "--connection",
        "P.ProxyPassword=ProxySECRET12",
        "--connection",
        "X.ServerName=db1",
        "--set",
        r"\Package.Connections[DB].Properties[Password]=SetPwSECRET5",
        "--set",
        r"\Package.Variables[User::Batch].Value=7",
        "--param-sensitive",
        "A=ArgvS2",
        "--connection-sensitive",
        "C.X=ArgvS4",
        "--package-password",
        "PkgArgv1",
    ])
    .unwrap();
    let Command::Ir(ir) = &command else {
        panic!("{command:?}")
    };
    let IrAction::Run(run) = &ir.action else {
        panic!("{ir:?}")
    };
    let sensitive = |v: &RunValue| matches!(v, RunValue::Sensitive(_));
    let connection = |name: &str| {
        &run.connections
            .iter()
            .find(|(m, _, _)| m == name)
            .unwrap()
            .2
    };
    assert!(sensitive(connection("FTP")) && sensitive(connection("P")));
    assert!(!sensitive(connection("X")));
    assert!(sensitive(&run.property_overrides[0].1));
    assert!(!sensitive(&run.property_overrides[1].1));
    let wiped = command.literal_secrets();
    for secret in [
        "FtpSECRET3",
        "ProxySECRET12",
        "SetPwSECRET5",
        "ArgvS2",
        "ArgvS4",
        "PkgArgv1",
    ] {
        assert!(wiped.contains(&secret), "{secret} not wiped: {wiped:?}");
    }
    assert!(!wiped.contains(&"db1") && !wiped.contains(&"7"));

    for (args, flag) in [
        (["--param-sensitive", "SeCr3"], "--param-sensitive"),
        (["--set-sensitive", "SeCr5"], "--set-sensitive"),
        (
            ["--connection-sensitive", "OLE:SeCr4"],
            "--connection-sensitive",
        ),
        (["--connection", "OLEPassword:SeCr2"], "--connection"),
    ] {
        let mut line = vec!["ir", "run", r"FILES\Load"];
        line.extend(args);
        let message = err(&line);
        assert!(!message.contains("SeCr"), "{line:?}: {message}");
        assert!(
            message.contains(flag) && message.contains("not shown"),
            "{message}"
        );
    }
}

/// Review user3 F12: a one-letter typo suggested `/?` ("did you mean /??").
#[test]
fn unknown_options_suggest_only_real_switch_names() {
    for typed in ["/T", "/X", "-T", "/%"] {
        let m = err(&[typed]);
        assert!(
            m.contains(&format!("unknown option `{typed}`")) && !m.contains("did you mean"),
            "{m}"
        );
    }
    let m = err(&["/Quiett"]);
    assert!(m.contains("did you mean /Q"), "{m}");
    let m = err(&["/ENCRYTP", "x"]);
    assert!(m.contains("did you mean /En"), "{m}");
}
