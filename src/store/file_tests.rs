//! Unit tests of `store::file` (kept apart: the module is long enough).

use super::*;

#[test]
fn atomic_write_replaces_and_leaves_no_temp() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("p.dtsx");
    write_atomically(&target, b"one").unwrap();
    write_atomically(&target, b"two").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"two");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Large reads (2 MB pages asked for) hold the file's bytes, and grow like any.
#[test]
fn large_reads_are_whole_and_grow() {
    let dir = tempfile::tempdir().unwrap();
    for len in [(5 << 20) + 17, (6 << 20) - 20, 6 << 20] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 4099) as u8).collect();
        let path = dir.path().join("big.dtsx");
        std::fs::write(&path, &bytes).unwrap();
        let mut read = read_bounded(&path).unwrap().unwrap();
        assert!(read == bytes, "{len}");
        read.resize(len + (3 << 20), 1);
        assert!(read[..len] == bytes[..] && read[len..].iter().all(|&b| b == 1));
    }
}

#[test]
fn missing_folder_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_atomically(&dir.path().join("no/such/p.dtsx"), b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}
