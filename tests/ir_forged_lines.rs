//! Text an ARM server returns (a linked service's host, a store's name, a run's package)
//! is printed with its line breaks escaped, so a factory contributor cannot forge
//! lines of `ir stores` / `ir running` that a script reads; `ir run` refuses a control
//! character in a package path (review adversary2 F12).

mod ir_support;

use ir_support::*;

#[test]
fn a_linked_service_cannot_forge_store_lines() {
    let adf = start(|c| {
        c.stores.push((
            "MI2".into(),
            "sqlmi:h\nFAKE  linked service LS_FAKE  SqlMI  forged.example,1433".into(),
        ))
    });
    let o = dtutil(&["ir", "stores"], &adf.env());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(
        !out.lines().any(|l| l.starts_with("FAKE")),
        "a server's text began a line:\n{out}"
    );
    assert!(!out.contains("forged.example"), "no such location:\n{out}");
    assert!(out.contains("control character"), "{out}");
}

#[test]
fn a_package_path_with_a_line_break_is_refused() {
    let adf = start(|_| {});
    let forged = "FILES\\Lo\nd9999  InProgress  FILES\\Forged  Pipeline_SSMS_X  started now";
    let o = dtutil(&["ir", "run", forged], &adf.env());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{out}\n{err}");
    assert!(err.contains("control character"), "{err}");
    assert!(!err.lines().any(|l| l.starts_with("d9999")), "{err}");
    let o = dtutil(&["ir", "running"], &adf.env());
    let (out, _) = text(&o);
    assert!(!out.contains("Forged"), "no run was created:\n{out}");
}
