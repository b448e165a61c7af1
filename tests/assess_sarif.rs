//! `dtutil assess --sarif` is a SARIF 2.1.0 log that the OASIS schema accepts
//! (`tests/data/sarif-schema-2.1.0.json`, source in tests/data/SOURCES.md) and that
//! has what GitHub code scanning reads: rules, results with a physical location and
//! a start line, levels.

mod assess_support;

use assert_cmd::Command;
use assess_support::*;

#[test]
fn sarif_validates_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
    write("clean.dtsx", clean_package());
    write(
        "sub dir.dtsx",
        package(
            1,
            V2017,
            &connections(&connection("Files", "FLATFILE", "\\\\nas\\in.csv")),
        ),
    );
    write(
        "old.dtsx",
        package(0, "13.0.1", &configuration(3, "HKEY_CURRENT_USER\\X", "")),
    );
    write("broken.dtsx", "<DTS:Executable".into());
    let out = Command::cargo_bin("dtutil")
        .unwrap()
        .current_dir(dir.path())
        .args(["assess", "--sarif", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "errors were found");
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let schema_text = include_str!("data/sarif-schema-2.1.0.json");
    let schema: serde_json::Value = serde_json::from_str(schema_text).unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema checks itself too: a log it would reject is rejected.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));

    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "1001"));
    let results = run["results"].as_array().unwrap();
    let rule_ids: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for id in ["4003", "1002", "4002", "DTU103", "DTU900"] {
        assert!(rule_ids.contains(&id), "{id} in {rule_ids:?}");
    }
    for r in results {
        let physical = &r["locations"][0]["physicalLocation"];
        assert!(physical["artifactLocation"]["uri"].as_str().is_some());
        assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
    let unc = results.iter().find(|r| r["ruleId"] == "1002").unwrap();
    assert_eq!(
        unc["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "sub%20dir.dtsx"
    );
    assert_eq!(
        unc["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "Package.ConnectionManagers[Files]"
    );
}
