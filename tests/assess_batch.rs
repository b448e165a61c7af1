//! `dtutil batch --assess`: the assessment's rules run during a migration and their
//! findings go into the report (and the JSON lines), secrets redacted.

mod assess_support;

use assert_cmd::Command;
use assess_support::*;

#[test]
fn batch_assess_writes_findings_into_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("Sales")).unwrap();
    std::fs::write(src.join("clean.dtsx"), clean_package()).unwrap();
    std::fs::write(
        src.join("Sales/host.dtsx"),
        package(
            0,
            V2017,
            &connections(&connection(
                "Crm",
                "OLEDB",
                "Data Source=crm01;User ID=sa;Password=hunter2;Provider=MSOLEDBSQL;",
            )),
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let out = Command::cargo_bin("dtutil")
        .unwrap()
        .current_dir(dir.path())
        .args([
            "batch", "--from", "src", "--to", "dst", "--assess", "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Assessment (dtutil assess's rules): 1 finding(s) in 1 package(s): 0 error(s), 1 warning(s), 0 info"),
        "{text}"
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(!report_text.contains("hunter2"));
    let report: serde_json::Value = serde_json::from_str(&report_text).unwrap();
    let packages = report["packages"].as_array().unwrap();
    let host = packages
        .iter()
        .find(|p| p["source"].as_str().unwrap().ends_with("host.dtsx"))
        .unwrap();
    assert_eq!(host["status"], "ok");
    let findings = host["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["rule"], "1001");
    assert_eq!(findings[0]["location"], "Package.ConnectionManagers[Crm]");
    assert!(findings[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("Password=<redacted>"));
    let clean = packages
        .iter()
        .find(|p| p["source"].as_str().unwrap().ends_with("clean.dtsx"))
        .unwrap();
    assert!(clean.get("findings").is_none());

    // Without --assess nothing is assessed.
    let out = Command::cargo_bin("dtutil")
        .unwrap()
        .current_dir(dir.path())
        .args(["batch", "--from", "src", "--to", "dst2", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"findings\""));
}
