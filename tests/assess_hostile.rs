//! `dtutil assess` on packages written to attack its output: a password planted in
//! every text a rule quotes (connection strings, expressions, URLs, paths, vendor
//! names) never reaches text, JSON, SARIF or `batch --assess`'s report; control,
//! DEL, C1 and bidi characters in names keep JSON and SARIF valid and cannot add or
//! reorder lines of the text report.

mod assess_support;

use assert_cmd::Command;
use assess_support::*;
use dtutil::assess::rules::Severity;
use dtutil::assess::{output, sarif, Finding};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

const PLANTED: &str = "Pl4ntedS3cret";

fn dtutil() -> Command {
    Command::cargo_bin("dtutil").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A connection manager whose connection string is also set by an expression.
fn with_expression(name: &str, creation: &str, cs: &str, expression: &str) -> String {
    connection(name, creation, cs).replace(
        "      <DTS:ObjectData>",
        &format!(
            "      <DTS:PropertyExpression DTS:Name=\"ConnectionString\">{expression}</DTS:PropertyExpression>\n      <DTS:ObjectData>"
        ),
    )
}

/// One package per rule that quotes package text, each quoting the planted password
/// (XML-escaped as the package file holds it); the rules each must trigger.
fn planted_packages(dir: &Path) -> Vec<(&'static str, &'static str)> {
    let p = PLANTED;
    let conn = |name: &str, creation: &str, cs: &str| {
        package(0, V2017, &connections(&connection(name, creation, cs)))
    };
    let comp = |class: &str, contact: &str| {
        package(0, V2017, &data_flow(&component("C", class, contact, &[])))
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("1001.dtsx", conn("A", "OLEDB", &format!("Data Source=sql01.corp;User ID=u;Password={p};Provider=MSOLEDBSQL;")), "1001"),
        ("1001q.dtsx", conn("A", "OLEDB", &format!("Data Source=&quot;h;Password={p}&quot;;Provider=MSOLEDBSQL;")), "1001"),
        ("1002.dtsx", conn("F", "FLATFILE", &format!("\\\\nas\\share\\in.csv;Password={p}")), "1002"),
        ("1003.dtsx", conn("W", "OLEDB", &format!("Data Source=x.database.windows.net;Integrated Security=SSPI;PWD={p};Provider=MSOLEDBSQL;")), "1003"),
        ("1004.dtsx", conn("O", "OLEDB", &format!("Data Source=x.database.windows.net;User Password='{p}';Provider=OraOLEDB.Oracle.1;")), "1004"),
        ("1005.dtsx", conn("C", "MSOLAP100", &format!("Data Source=asazure://westus.asazure.windows.net/c;Provider=MSOLAP.8;Password={{{p}}};")), "1005"),
        ("1006.dtsx", conn("E", "OLEDB", &format!("Data Source=%DBHOST%;Password={p};Provider=MSOLEDBSQL;")), "1006"),
        ("1007.dtsx", conn("N", "OLEDB", &format!("Data Source=x.database.windows.net;Password={p};Provider=SQLNCLI11.1;")), "1007"),
        ("ftp.dtsx", conn("Ftp", "FTP", &format!("ftp://user:{p}@ftphost:21")), "1001"),
        ("2003.dtsx", comp("{6A0B1C2D-3E4F-4A5B-8C6D-7E8F9A0B1C2D}", &format!("Acme;Acme Password={p} Inc.;1")), "2003"),
        ("2005.dtsx", package(0, V2017, &log_provider("K", &format!("Acme.Log;Password={p}"))), "2005"),
        ("3001.dtsx", package(0, V2017, &executables(&task("Zip", "Microsoft.ExecuteProcess", &format!(r#"<ExecuteProcessData Executable="C:\7z.exe;Password={p}" />"#)))), "3001"),
        ("4001.dtsx", package(0, V2017, &configuration(1, &format!("C:\\cfg.dtsConfig;Password={p}"), "")), "4001"),
        ("4002.dtsx", package(0, V2017, &configuration(3, &format!("HKEY_CURRENT_USER\\Etl;Password={p}"), "")), "4002"),
        // An expression's literal connection string, whole or spliced, and quoted.
        ("DTU301.dtsx", package(0, V2017, &connections(&with_expression("X", "OLEDB", "Data Source=10.0.0.1;Provider=MSOLEDBSQL;", &format!("&quot;Data Source=HOSTZ;Password={p};Provider=MSOLEDBSQL;&quot;")))), "DTU301"),
        ("DTU301b.dtsx", package(0, V2017, &connections(&with_expression("X", "OLEDB", "Data Source=10.0.0.1;Provider=MSOLEDBSQL;", &format!("&quot;Data Source=&quot; + @[User::Srv] + &quot;;User ID=etl;Password={p};&quot;")))), "DTU301"),
        ("DTU301c.dtsx", package(0, V2017, &connections(&with_expression("X", "OLEDB", "Data Source=10.0.0.1;Provider=MSOLEDBSQL;", &format!("&quot;Data Source=h;Password=\\&quot;x;{p}\\&quot;;&quot;")))), "DTU301"),
    ];
    let mut out = Vec::new();
    for (file, text, rule) in cases {
        assert!(text.contains(PLANTED));
        write(dir, file, &text);
        out.push((file, rule));
    }
    out
}

#[test]
fn a_planted_password_reaches_no_output_of_any_rule() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let expected = planted_packages(&src);
    for format in [&[][..], &["--json"][..], &["--sarif"][..]] {
        let out = dtutil()
            .current_dir(dir.path())
            .arg("assess")
            .args(format)
            .args(["--fail-on", "never", "src"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains(PLANTED),
            "{format:?} shows the password:\n{all}"
        );
        assert!(
            !all.contains("S3cret"),
            "{format:?} shows part of it:\n{all}"
        );
        if format == ["--json"] {
            let fired: BTreeSet<(String, String)> = all
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .map(|v| {
                    let file = v["package"].as_str().unwrap().rsplit('/').next().unwrap();
                    (file.to_string(), v["rule"].as_str().unwrap().to_string())
                })
                .collect();
            for (file, rule) in &expected {
                assert!(
                    fired.contains(&(file.to_string(), rule.to_string())),
                    "{file} did not trigger {rule}, so its evidence was not tested: {fired:?}"
                );
            }
            assert!(all.contains("Password=<redacted>"), "{all}");
            assert!(all.contains("ftp://user:<redacted>@ftphost:21"), "{all}");
            assert!(
                all.contains("server `ftphost`"),
                "the FTP host is parsed: {all}"
            );
        }
    }
    // The same findings in a migration's report and its JSON lines.
    let report = dir.path().join("report.json");
    for extra in [&["--json"][..], &[][..]] {
        let out = dtutil()
            .current_dir(dir.path())
            .args([
                "batch",
                "--from",
                "src",
                "--to",
                "dst",
                "--overwrite",
                "--assess",
                "--report",
            ])
            .arg(&report)
            .args(extra)
            .output()
            .unwrap();
        let all = format!(
            "{}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&report).unwrap()
        );
        assert!(all.contains("\"findings\""), "{all}");
        assert!(!all.contains(PLANTED), "batch --assess {extra:?}:\n{all}");
    }
}

/// Characters XML 1.0 allows in an attribute (as character references) that a
/// terminal, a JSON parser or a code-review page could trip over.
const HOSTILE: &[(&str, char)] = &[
    ("&#x7F;", '\u{7f}'),
    ("&#x80;", '\u{80}'),
    ("&#x85;", '\u{85}'),
    ("&#x9B;", '\u{9b}'),
    ("&#x202E;", '\u{202e}'),
    ("&#x2066;", '\u{2066}'),
    ("&#x2028;", '\u{2028}'),
    ("&#9;", '\t'),
    ("&#13;", '\r'),
];

fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n') || dtutil::redact::is_layout_control(c)
}

#[test]
fn hostile_characters_keep_json_and_sarif_valid_and_text_lines_whole() {
    let dir = tempfile::tempdir().unwrap();
    let refs: String = HOSTILE.iter().map(|(r, _)| *r).collect();
    let chars: String = HOSTILE.iter().map(|(_, c)| *c).collect();
    let body = connections(
        &connection(
            &format!("a{refs}b&#10;  error    4003    FAKE FINDING&#10;"),
            "OLEDB",
            "Data Source=EVIL&#10;  error    9999    injected;Provider=MSOLEDBSQL;",
        )
        .replace("DTS:ObjectName=\"a", "DTS:ObjectName=\"x"),
    );
    write(dir.path(), "c1.dtsx", &package(0, V2017, &body));
    let run = |format: &[&str]| {
        let out = dtutil()
            .current_dir(dir.path())
            .arg("assess")
            .args(format)
            .args(["--fail-on", "never", "c1.dtsx"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let expected_location =
        format!("Package.ConnectionManagers[a{chars}b\n  error    4003    FAKE FINDING\n]");

    let json = run(&["--json"]);
    assert!(!json.chars().any(is_hostile), "raw in JSON: {json:?}");
    let values: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!values.is_empty());
    for v in &values {
        assert_eq!(v["location"], expected_location.as_str(), "kept as it is");
    }

    let log = run(&["--sarif"]);
    assert!(!log.chars().any(is_hostile), "raw in SARIF: {log:?}");
    let log: serde_json::Value = serde_json::from_str(&log).unwrap();
    let result = &log["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        expected_location.as_str()
    );
    let message = result["message"]["text"].as_str().unwrap();
    assert!(
        !message.contains('\n') && !message.chars().any(is_hostile),
        "{message:?}"
    );

    let text = run(&[]);
    assert!(!text.chars().any(is_hostile), "raw in text: {text:?}");
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("error    4003")
                && !line.trim_start().starts_with("error    9999"),
            "a package made a line of its own: {line:?}\n{text}"
        );
    }
    assert!(text.contains("\\u202e"), "{text}");
}

fn finding(text: &str) -> Finding {
    Finding {
        package: format!("p{text}.dtsx"),
        rule: "1001",
        title: "Connection with host name may fail",
        severity: Severity::Warning,
        location: format!("Package.ConnectionManagers[{text}]"),
        line: Some(3),
        message: format!("server `{text}`"),
        evidence: format!("ConnectionString=Data Source={text}"),
        recommendation: "x",
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text in any field, from every class of code point (C0, DEL, C1, bidi,
    /// separators, surrogates' neighbours, astral): each JSON line and the SARIF log
    /// parse and give the text back; no such character is ever written raw.
    #[test]
    fn json_and_sarif_stay_valid_for_any_text(
        text in prop::collection::vec(
            prop_oneof![
                (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
                Just('\u{7f}'),
                (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
                prop::sample::select(vec!['\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}', '\u{d7ff}', '\u{e000}', '\u{10ffff}', '"', '\\', '/']),
                any::<char>(),
            ],
            0..24,
        ).prop_map(|v| v.into_iter().collect::<String>())
    ) {
        let f = finding(&text);
        let line = output::json_line(&f);
        prop_assert!(!line.chars().any(is_hostile), "{:?}", line);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        prop_assert_eq!(back["location"].as_str().unwrap(), f.location.as_str());
        prop_assert_eq!(back["message"].as_str().unwrap(), f.message.as_str());
        let log = dtutil::redact::json(&sarif::log(&[vec![f.clone()]]), true);
        prop_assert!(!log.chars().any(|c| is_hostile(c) && c != '\n'));
        let log: serde_json::Value = serde_json::from_str(&log).unwrap();
        prop_assert_eq!(
            log["runs"][0]["results"][0]["properties"]["evidence"].as_str().unwrap(),
            f.evidence.as_str()
        );
        let shown = dtutil::redact::inline(&text);
        prop_assert!(!shown.contains('\n') && !shown.chars().any(is_hostile), "{:?}", shown);
    }
}

/// `n` connection managers, each with three findings (1001, 1003, 1007).
fn many_connections(n: usize) -> String {
    let inner: String = (0..n)
        .map(|i| {
            connection(
                &format!("c{i}"),
                "OLEDB",
                &format!(
                    "Data Source=HOST{i};Provider=SQLNCLI11;User ID=u;Integrated Security=SSPI;"
                ),
            )
        })
        .collect();
    package(0, V2017, &connections(&inner))
}

/// Time grows with the findings, not with their square: four times the connection
/// managers may take about four times as long, never sixteen (as it did when each
/// finding was compared with every earlier one: 200,000 connection managers did not
/// finish in five minutes).
#[test]
fn time_is_linear_in_the_number_of_findings() {
    let options = dtutil::assess::batch_options(None);
    let time = |n: usize| {
        let text = many_connections(n);
        (0..2)
            .map(|_| {
                let start = std::time::Instant::now();
                let found = dtutil::assess::assess("m.dtsx", text.as_bytes(), None, &options);
                assert_eq!(found.len(), 3 * n);
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let small = time(2_000);
    let large = time(8_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    eprintln!("2,000: {small:?}; 8,000: {large:?}; ratio {ratio:.1}");
    assert!(ratio < 9.0, "4x the findings took {ratio:.1}x as long");
}
