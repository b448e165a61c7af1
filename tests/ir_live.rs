//! The `dtutil ir` reads against a real Azure-SSIS IR, when `DTUTIL_TEST_ADF` holds its
//! resource id (or S/RG/F/IR) and the environment holds a credential dtutil can use
//! (docs/azure-ssis-ir.md: `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`,
//! a managed identity, `az login`...). Skipped, with the reason printed, otherwise. Only
//! reads: it runs and stops nothing on a real factory.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

fn live_ir() -> Option<String> {
    let ir = std::env::var("DTUTIL_TEST_ADF")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if ir.is_none() {
        eprintln!("SKIPPED: live Azure-SSIS IR suite: DTUTIL_TEST_ADF is not set (an IR resource id; see docs/azure-ssis-ir.md)");
    }
    ir
}

#[test]
fn live_status_and_stores() {
    let Some(ir) = live_ir() else { return };
    let out = Command::new(BIN)
        .args(["ir", "status", "--json", "--ir", &ir])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let status: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| {
            panic!(
                "ir status --json: {e}\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let started = status["state"] == "Started";
    assert_eq!(
        out.status.code(),
        Some(if started { 0 } else { 1 }),
        "{status}"
    );
    assert_eq!(status["type"], "Managed");
    let out = Command::new(BIN)
        .args(["ir", "stores", "--json", "--ir", &ir])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stores = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stores.lines().count() as u64,
        status["package_stores"].as_u64().unwrap_or(0)
    );
    assert!(!stores.contains("**********"));
    let out = Command::new(BIN)
        .args(["ir", "running", "--json", "--ir", &ir])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
