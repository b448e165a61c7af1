//! Review user3 F7: `batch --from EXISTING.dtsx` (or an .ispac) said "no such
//! directory", exit 1. The path is there, only of the wrong kind: a command-line error
//! (exit 6) saying it is a file and what takes one package (or an .ispac) instead.

mod common;

use common::{dtutil_clean, shown};

#[test]
fn a_file_given_as_the_batch_source_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("pk")).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
        dir.join("pk/back.dtsx"),
    )
    .unwrap();
    std::fs::write(dir.join("p.ispac"), b"PK").unwrap();

    let out = dtutil_clean(dir, &[], &["batch", "--from", "pk/back.dtsx", "--to", "bt"]);
    let t = shown(&out);
    assert_eq!(out.status.code(), Some(6), "{t}");
    assert!(
        t.contains("`pk/back.dtsx` is a file, not a directory"),
        "{t}"
    );
    assert!(!t.contains("no such directory"), "{t}");
    assert!(t.contains("(`pk`)") && t.contains("'pk/*.dtsx'"), "{t}");
    assert!(t.contains("/FILE 'pk/back.dtsx' /COPY"), "{t}");
    assert!(!dir.join("bt").exists(), "nothing written");

    let out = dtutil_clean(dir, &[], &["batch", "--from", "p.ispac", "--to", "bt"]);
    let t = shown(&out);
    assert_eq!(out.status.code(), Some(6), "{t}");
    assert!(t.contains("`p.ispac` is a file, not a directory"), "{t}");
    assert!(t.contains("dtutil project 'p.ispac'"), "{t}");
    assert!(!dir.join("bt").exists(), "nothing written");

    // A path that is not there at all keeps its own message.
    let out = dtutil_clean(dir, &[], &["batch", "--from", "nope", "--to", "bt"]);
    assert!(shown(&out).contains("no such directory"), "{}", shown(&out));
}
