//! `dtutil assess`: one package per rule (built in the real fixtures' shapes, see
//! `assess_support`) triggers that rule and nothing unexpected; a clean package
//! triggers none; targets, editions and `--fail-on` change what counts; secrets
//! never reach the output; the real fixtures match a golden file checked by hand.

mod assess_support;
mod common;

use assert_cmd::Command;
use assess_support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn dtutil() -> Command {
    Command::cargo_bin("dtutil").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A package with one sensitive value in the clear, for `/ENCRYPT` to protect.
fn with_secret() -> String {
    let body = connections(
        r#"    <DTS:ConnectionManager
      DTS:refId="Package.ConnectionManagers[Warehouse]"
      DTS:CreationName="OLEDB"
      DTS:DTSID="{D8B2F1A5-3C9A-4E0B-9E8C-0E6B3A4F1C2D}"
      DTS:ObjectName="Warehouse">
      <DTS:ObjectData>
        <DTS:ConnectionManager
          DTS:ConnectionString="Data Source=wwi.database.windows.net;User ID=etl;Provider=MSOLEDBSQL.1;">
          <DTS:Password
            DTS:Name="Password"
            Sensitive="1">hunter2</DTS:Password>
        </DTS:ConnectionManager>
      </DTS:ObjectData>
    </DTS:ConnectionManager>
"#,
    );
    package(0, V2017, &body)
}

/// Every rule's package: (file, package, the rules it must trigger, exactly).
fn rule_packages(dir: &Path) -> Vec<(&'static str, Vec<&'static str>)> {
    let conn = |name: &str, creation: &str, cs: &str| {
        package(0, V2017, &connections(&connection(name, creation, cs)))
    };
    let comp = |class: &str, contact: &str, props: &[(&str, &str)]| {
        package(0, V2017, &data_flow(&component("C", class, contact, props)))
    };
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("clean.dtsx", clean_package(), vec![]),
        ("1001.dtsx", conn("Sales", "OLEDB", "Data Source=sql01.corp.contoso.com;User ID=etl;Provider=MSOLEDBSQL.1;"), vec!["1001"]),
        ("1002.dtsx", conn("Drop", "FLATFILE", "\\\\fileserver\\drop\\orders.csv"), vec!["1002"]),
        ("1003.dtsx", conn("Dw", "OLEDB", "Data Source=dw.database.windows.net;Provider=MSOLEDBSQL;Integrated Security=SSPI;"), vec!["1003"]),
        ("1004.dtsx", conn("Ora", "OLEDB", "Data Source=ora.database.windows.net;User ID=u;Provider=OraOLEDB.Oracle.1;"), vec!["1004"]),
        ("1005.dtsx", conn("Cube", "MSOLAP100", "Data Source=asazure://westus.asazure.windows.net/cube;Provider=MSOLAP.8;Initial Catalog=Sales;"), vec!["1005"]),
        ("1006.dtsx", conn("In", "FLATFILE", "%ETL_DATA%\\in.csv"), vec!["1006"]),
        ("1007.dtsx", conn("Old", "OLEDB", "Data Source=old.database.windows.net;User ID=u;Provider=SQLNCLI11.1;"), vec!["1007"]),
        ("2001.dtsx", comp("Microsoft.FuzzyLookup", &microsoft_contact("Fuzzy Lookup"), &[("MaxOutputMatchesPerInput", "1")]), vec!["2001"]),
        ("2002.dtsx", comp("Microsoft.ManagedComponentHost", &microsoft_contact("Flexible File Destination"), &[("UserComponentTypeName", "Microsoft.SqlServer.IntegrationServices.DataFlowDestinations.FlexibleFileDestination, Microsoft.SqlServer.IntegrationServices.AzureFlexibleFile, Version=15.0.0.0, Culture=neutral, PublicKeyToken=89845dcd8080cc91"), ("FileFormat", "Parquet")]), vec!["2002"]),
        ("2003.dtsx", comp("{6A0B1C2D-3E4F-4A5B-8C6D-7E8F9A0B1C2D}", "Acme Dedupe;Acme Software Inc.;Acme ETL Pack 4; (C) Acme;1", &[]), vec!["2003"]),
        ("2004.dtsx", comp("Microsoft.ManagedComponentHost", &microsoft_contact("Azure Blob Source"), &[("UserComponentTypeName", "Microsoft.SqlServer.Dts.Pipeline.AzureBlobSource, Microsoft.SqlServer.IntegrationServices.AzureBlobSource, Version=14.0.0.0, Culture=neutral, PublicKeyToken=89845dcd8080cc91")]), vec!["2004"]),
        ("2005.dtsx", package(0, V2017, &log_provider("Kafka", "Acme.LogProviderKafka.1")), vec!["2005"]),
        ("3001.dtsx", package(0, V2017, &executables(&task("Zip", "Microsoft.ExecuteProcess", r#"<ExecuteProcessData Executable="C:\Program Files\7-Zip\7z.exe" Arguments="a out.zip" />"#))), vec!["3001"]),
        ("4001.dtsx", package(0, V2017, &configuration(1, "C:\\134\\TestSecurity\\cfgHighestSalary.dtsConfig", "")), vec!["4001"]),
        ("4002.dtsx", package(0, V2017, &configuration(3, "HKEY_CURRENT_USER\\Software\\Etl\\Load", "")), vec!["4002"]),
        ("4003.dtsx", package(1, V2017, &connections(&clean_connection())), vec!["4003"]),
        ("DTU101.dtsx", package(0, "15.0.2000.180", ""), vec!["DTU101"]),
        ("DTU103.dtsx", package(0, "13.0.2149.0", ""), vec!["DTU103"]),
        ("DTU201.dtsx", user_key_all(), vec!["4003", "DTU201"]),
        ("DTU202.dtsx", package(1, V2017, &connections(&format!(
            "    <DTS:ConnectionManager DTS:refId=\"Package.ConnectionManagers[Crm]\" DTS:CreationName=\"OLEDB\" DTS:ObjectName=\"Crm\">\n      <DTS:ObjectData>\n        <DTS:ConnectionManager DTS:ConnectionString=\"Data Source=crm.database.windows.net;User ID=u;Provider=MSOLEDBSQL;\">\n          <DTS:Password DTS:Name=\"Password\" Sensitive=\"1\" Encrypted=\"1\">{DPAPI_BLOB}</DTS:Password>\n        </DTS:ConnectionManager>\n      </DTS:ObjectData>\n    </DTS:ConnectionManager>\n"))), vec!["4003", "DTU202"]),
        ("DTU301.dtsx", package(0, V2017, &connections(
            "    <DTS:ConnectionManager DTS:refId=\"Package.ConnectionManagers[Out]\" DTS:CreationName=\"FLATFILE\" DTS:ObjectName=\"Out\">\n      <DTS:PropertyExpression DTS:Name=\"ConnectionString\">@[$Project::OutFolder] + \"\\\\out.csv\"</DTS:PropertyExpression>\n      <DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString=\"out.csv\" /></DTS:ObjectData>\n    </DTS:ConnectionManager>\n")), vec!["DTU301"]),
        ("legacy-fmt3.dtsx", format3_package(
            "<DTS:ConnectionManager>\n<DTS:Property DTS:Name=\"ObjectName\">(local).AdventureWorks</DTS:Property>\n<DTS:Property DTS:Name=\"CreationName\">OLEDB</DTS:Property><DTS:ObjectData><DTS:ConnectionManager>\n<DTS:Property DTS:Name=\"Retain\">0</DTS:Property>\n<DTS:Property DTS:Name=\"ConnectionString\">Data Source=(local);Initial Catalog=AdventureWorks;Provider=SQLNCLI10;Integrated Security=SSPI;Auto Translate=False;</DTS:Property></DTS:ConnectionManager></DTS:ObjectData></DTS:ConnectionManager>\n<DTS:Configuration><DTS:Property DTS:Name=\"ConfigurationType\">3</DTS:Property><DTS:Property DTS:Name=\"ConfigurationString\">HKEY_LOCAL_MACHINE\\Software\\Etl</DTS:Property><DTS:Property DTS:Name=\"ObjectName\">Reg</DTS:Property></DTS:Configuration>"),
            vec!["1001", "1003", "1004", "1007", "4002", "DTU103"]),
    ];
    let mut out = Vec::new();
    for (file, text, rules) in cases {
        write(dir, file, &text);
        out.push((file, rules));
    }
    // Packages protected by dtutil itself: AES-256 (level 2) and level 3.
    write(dir, "plain.tmp", &with_secret());
    for (file, level, algorithm, rules) in [
        ("DTU102.dtsx", 2, "aes256", vec!["DTU102"]),
        ("DTU900.dtsx", 3, "3des", vec!["DTU900"]),
    ] {
        dtutil()
            .current_dir(dir)
            .args([
                "/FILE",
                "plain.tmp",
                "/ENCRYPT",
                &format!("FILE;{file};{level};Secr3t"),
                "--algorithm",
                algorithm,
                "/Q",
            ])
            .assert()
            .success();
        out.push((file, rules));
    }
    std::fs::remove_file(dir.join("plain.tmp")).unwrap();
    out
}

/// Level 4 as `nanda_AllUserKey`: every root attribute, `Encrypted="1"`, the blob.
fn user_key_all() -> String {
    package(4, V2017, "")
        .replace(
            "DTS:VersionGUID=\"{89BBB934-3BA5-426A-80EE-83430A3E3947}\">",
            "DTS:VersionGUID=\"{89BBB934-3BA5-426A-80EE-83430A3E3947}\" Encrypted=\"1\">",
        )
        .replace(
            "  <DTS:Property\n    DTS:Name=\"PackageFormatVersion\">8</DTS:Property>\n",
            DPAPI_BLOB,
        )
}

fn findings(dir: &Path, extra: &[&str]) -> (Vec<serde_json::Value>, i32) {
    let out = dtutil()
        .current_dir(dir)
        .args(["assess", "--json", "--fail-on", "never"])
        .args(extra)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let values = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (values, out.status.code().unwrap())
}

fn by_package(values: &[serde_json::Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in values {
        let package = v["package"].as_str().unwrap();
        let file = Path::new(package)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        map.entry(file)
            .or_default()
            .insert(v["rule"].as_str().unwrap().to_string());
    }
    map
}

#[test]
fn every_rule_has_a_package_that_triggers_it_and_a_clean_one_triggers_none() {
    let dir = tempfile::tempdir().unwrap();
    let cases = rule_packages(dir.path());
    let (values, code) = findings(dir.path(), &[]);
    assert_eq!(code, 0);
    let found = by_package(&values);
    for (file, rules) in &cases {
        let expected: BTreeSet<String> = rules.iter().map(|r| r.to_string()).collect();
        let got = found.get(*file).cloned().unwrap_or_default();
        assert_eq!(got, expected, "{file}");
    }
    // Every rule of the table is proven by some package.
    for rule in dtutil::assess::rules::RULES {
        assert!(
            cases.iter().any(|(_, r)| r.contains(&rule.id)),
            "no package triggers {}",
            rule.id
        );
    }
    // Each finding says where and why, and what to do.
    for v in &values {
        for key in ["title", "severity", "location", "message", "recommendation"] {
            assert!(
                v[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} in {v}"
            );
        }
    }
    let at = |file: &str, rule: &str| {
        values
            .iter()
            .find(|v| v["rule"] == rule && v["package"].as_str().unwrap().ends_with(file))
            .unwrap()
            .clone()
    };
    let host = at("1001.dtsx", "1001");
    assert_eq!(host["location"], "Package.ConnectionManagers[Sales]");
    assert_eq!(host["line"], 20);
    assert_eq!(host["severity"], "warning");
    assert_eq!(at("4003.dtsx", "4003")["severity"], "error");
    assert_eq!(at("DTU301.dtsx", "DTU301")["severity"], "info");
    assert!(at("DTU202.dtsx", "DTU202")["evidence"]
        .as_str()
        .unwrap()
        .contains("Crm"));
}

#[test]
fn targets_editions_and_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    rule_packages(dir.path());
    // Enterprise Edition takes the Enterprise-only component.
    let (values, _) = findings(dir.path(), &["--edition", "enterprise"]);
    assert!(!by_package(&values).contains_key("2001.dtsx"));
    // SQL Server 2019 opens AES-256; on premises the IR's machine rules do not apply,
    // while user keys and runtimes still do.
    let (values, _) = findings(dir.path(), &["--target", "2019"]);
    let found = by_package(&values);
    let has = |file: &str, rule: &str| found.get(file).is_some_and(|r| r.contains(rule));
    assert!(!has("DTU102.dtsx", "DTU102"));
    assert!(!has("1001.dtsx", "1001"));
    assert!(has("4003.dtsx", "4003"));
    assert!(!has("DTU101.dtsx", "DTU101"), "2019 tools, 2019 runtime");
    // Saved by 2017 tools: the 2019 runtime upgrades it.
    assert!(has("clean.dtsx", "DTU103"));

    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "clean.dtsx", &clean_package());
    write(
        clean.path(),
        "host.dtsx",
        &package(
            0,
            V2017,
            &connections(&connection(
                "S",
                "OLEDB",
                "Data Source=sql01;Provider=MSOLEDBSQL;User ID=u;",
            )),
        ),
    );
    let run = |extra: &[&str]| {
        dtutil()
            .current_dir(clean.path())
            .arg("assess")
            .args(extra)
            .arg(".")
            .output()
            .unwrap()
            .status
            .code()
            .unwrap()
    };
    assert_eq!(run(&[]), 0, "a warning is not an error");
    assert_eq!(run(&["--fail-on", "warning"]), 1);
    write(clean.path(), "userkey.dtsx", &package(1, V2017, ""));
    assert_eq!(run(&[]), 1, "4003 is an error");
    assert_eq!(run(&["--fail-on", "never"]), 0);
}

#[test]
fn secrets_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "secrets.dtsx",
        &package(
            0,
            V2017,
            &connections(&format!(
                "{}{}",
                connection("Crm", "OLEDB", "Data Source=crm01;User ID=sa;Password=hunter2;Provider=SQLOLEDB.1;"),
                connection("Blob", "AzureStorage", "BlobEndpoint=https://acct.blob.core.windows.net/?sv=2022-11-02&amp;sig=S3cr3tSig;SharedAccessSignature=sv=2022-11-02&amp;sig=S3cr3tSig;AccountKey=K3yK3y==;Data Source=%BLOBHOST%")
            )),
        ),
    );
    for format in [&[][..], &["--json"][..], &["--sarif"][..]] {
        let out = dtutil()
            .current_dir(dir.path())
            .arg("assess")
            .args(format)
            .args(["--fail-on", "never", "."])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for secret in ["hunter2", "S3cr3tSig", "K3yK3y"] {
            assert!(
                !text.contains(secret),
                "{secret} in {format:?} output:\n{text}"
            );
        }
        assert!(text.contains("<redacted>"), "{format:?}: {text}");
        assert!(text.contains("crm01"), "{format:?}: the evidence is there");
    }
}

#[test]
fn ispac_and_single_files_are_sources_too() {
    let dir = tempfile::tempdir().unwrap();
    let ispac = dir.path().join("Project.ispac");
    {
        let file = std::fs::File::create(&ispac).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("Package%201.dtsx", options).unwrap();
        std::io::Write::write_all(
            &mut zip,
            package(
                0,
                V2017,
                &connections(&connection(
                    "S",
                    "OLEDB",
                    "Data Source=sql01;Provider=MSOLEDBSQL;User ID=u;",
                )),
            )
            .as_bytes(),
        )
        .unwrap();
        zip.start_file("Share.conmgr", options).unwrap();
        std::io::Write::write_all(&mut zip, br#"<?xml version="1.0"?>
<DTS:ConnectionManager xmlns:DTS="www.microsoft.com/SqlServer/Dts" DTS:ObjectName="Share" DTS:DTSID="{1}" DTS:CreationName="FLATFILE">
  <DTS:ObjectData><DTS:ConnectionManager DTS:ConnectionString="\\nas\share\in.csv" /></DTS:ObjectData>
</DTS:ConnectionManager>"#).unwrap();
        zip.start_file("@Project.manifest", options).unwrap();
        zip.finish().unwrap();
    }
    write(dir.path(), "one.dtsx", &package(0, "15.0.1", ""));
    let out = dtutil()
        .current_dir(dir.path())
        .args([
            "assess",
            "--json",
            "--fail-on",
            "never",
            "Project.ispac",
            "one.dtsx",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let found: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pairs: BTreeSet<(String, String)> = found
        .iter()
        .map(|v| {
            (
                v["package"].as_str().unwrap().to_string(),
                v["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("Project.ispac/Package 1.dtsx", "1001"),
        ("Project.ispac/Share.conmgr", "1002"),
        ("one.dtsx", "DTU101"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(pairs, expected);
    dtutil().args(["assess", "no/such/dir"]).assert().code(4);
}

/// The real fixtures, assessed without passwords: checked by hand once (see
/// docs/assessment.md) and kept. `DTUTIL_BLESS=1` rewrites the file.
#[test]
fn real_fixtures_match_the_golden_file() {
    let Some(dir) = common::real_fixtures() else {
        return;
    };
    let out = dtutil()
        .current_dir(dir.parent().unwrap())
        .args(["assess", "--json", "--fail-on", "never", "real"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/assess_real.jsonl");
    if std::env::var_os("DTUTIL_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        text, expected,
        "assess of the real fixtures changed; check by hand, then DTUTIL_BLESS=1"
    );
}

#[test]
fn command_line_errors_exit_6_and_name_the_option() {
    for (args, says) in [
        (&["--target", "2018", "x"][..], "--target `2018`"),
        (
            &["--edition", "developer", "x"][..],
            "--edition `developer`",
        ),
        (&["--fail-on", "info", "x"][..], "--fail-on `info`"),
        (
            &["--sql-password", "env:P", "x"][..],
            "--sql-password needs --sql-user",
        ),
        (&["--jobs", "0", "x"][..], "--jobs must be 1 to"),
        (&["--json", "--sarif", "x"][..], "--sarif"),
    ] {
        let out = dtutil().arg("assess").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(says), "{args:?}: {all}");
    }
}
