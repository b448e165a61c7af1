//! Issue 17's .ispac rows: entries that share compressed bytes (a zip bomb that names
//! one deflate stream many times) and duplicate entry names are refused before any
//! entry is inflated, within 20 s and 1 GiB, nothing written.
//!
//! Unix only: the dtutil runs are measured with wait4 (tests/harden).
#![cfg(unix)]

mod harden;

use harden::{run_measured, snapshot};
use std::io::Write;
use std::time::Duration;

#[test]
fn harden_launcher() {
    harden::launcher();
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn u16_at(b: &[u8], i: usize) -> usize {
    u16::from_le_bytes([b[i], b[i + 1]]) as usize
}

/// One deflated entry named `copies` times in the central directory: every name points
/// at the same local header and compressed stream.
fn overlapping_ispac(copies: usize, inflated: usize) -> Vec<u8> {
    let zeros = vec![b'<'; inflated];
    let one = zip_of(&[("p0000.dtsx", &zeros)]);
    let eocd = one.len() - 22;
    let cd_start = u32::from_le_bytes(one[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let cd_len = 46
        + u16_at(&one, cd_start + 28)
        + u16_at(&one, cd_start + 30)
        + u16_at(&one, cd_start + 32);
    let entry = &one[cd_start..cd_start + cd_len];
    let mut out = one[..cd_start].to_vec();
    let new_cd = out.len();
    for i in 0..copies {
        let mut e = entry.to_vec();
        e[46..56].copy_from_slice(format!("p{i:04}.dtsx").as_bytes());
        out.extend_from_slice(&e);
    }
    let cd_size = out.len() - new_cd;
    let mut end = one[eocd..].to_vec();
    end[8..10].copy_from_slice(&(copies as u16).to_le_bytes());
    end[10..12].copy_from_slice(&(copies as u16).to_le_bytes());
    end[12..16].copy_from_slice(&(cd_size as u32).to_le_bytes());
    end[16..20].copy_from_slice(&(new_cd as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

fn project(dir: &std::path::Path, file: &str, extra: &[&str]) -> harden::Run {
    let mut args = vec!["project".to_string(), dir.join(file).display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_measured(&args, &[], Duration::from_secs(20))
}

#[test]
fn overlapping_entries_are_refused_before_inflating_any() {
    let dir = tempfile::tempdir().unwrap();
    // 40 names for one 64 MiB stream: 2.5 GiB if each were inflated.
    std::fs::write(
        dir.path().join("bomb.ispac"),
        overlapping_ispac(40, 64 << 20),
    )
    .unwrap();
    let before = snapshot(dir.path());
    // --out inside the temporary folder: a regression that writes must not write into
    // the checkout the test runs from.
    let out = dir.path().join("out.ispac").display().to_string();
    for extra in [&[][..], &["--encrypt", "0", "--out", out.as_str()][..]] {
        let r = project(dir.path(), "bomb.ispac", extra);
        eprintln!(
            "overlapping .ispac {extra:?}: {:?}, {} KiB",
            r.elapsed, r.max_rss_kib
        );
        assert_eq!(r.code, Some(5), "{}", r.all_output());
        assert!(r.all_output().contains("overlapping"), "{}", r.all_output());
        assert!(r.elapsed < Duration::from_secs(20));
        assert!(r.max_rss_kib < 1024 * 1024, "{} KiB", r.max_rss_kib);
    }
    assert_eq!(snapshot(dir.path()), before, "something was written");
}

#[test]
fn duplicate_entry_names_are_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = zip_of(&[
        ("readme.txt", b"one"),
        ("readmf.txt", b"two"),
        ("Project.params", b"<a/>"),
        ("Project.paramt", b"<b/>"),
    ]);
    // Rename the second of each pair in its local header and central entry.
    for (from, to) in [
        (&b"readmf.txt"[..], &b"readme.txt"[..]),
        (b"Project.paramt", b"Project.params"),
    ] {
        let hits: Vec<usize> = z
            .windows(from.len())
            .enumerate()
            .filter(|(_, w)| *w == from)
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            z[i..i + to.len()].copy_from_slice(to);
        }
    }
    std::fs::write(dir.path().join("dups.ispac"), z).unwrap();
    let before = snapshot(dir.path());
    let out = dir.path().join("out.ispac").display().to_string();
    let r = project(dir.path(), "dups.ispac", &["--encrypt", "0", "--out", &out]);
    assert_eq!(r.code, Some(5), "{}", r.all_output());
    let out = r.all_output();
    assert!(
        out.contains("`readme.txt`") && out.contains("`Project.params`"),
        "{out}"
    );
    assert_eq!(snapshot(dir.path()), before, "something was written");
}

/// A project manifest as an .ispac holds it (the SSIS:Project element), level 0.
const MANIFEST: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><SSIS:Project SSIS:ProtectionLevel=\"DontSaveSensitive\" xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\"><SSIS:Properties><SSIS:Property SSIS:Name=\"Name\">P</SSIS:Property></SSIS:Properties></SSIS:Project>";

/// `zip_of`, then each `?` in a name replaced by the byte 0x81 in the stored names (the
/// UTF-8 flag stays off, as for a CP437 name: the zip crate reads 0x81 as `ü`).
fn zip_with_raw_names(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip_of(entries);
    for (name, _) in entries {
        if !name.contains('?') {
            continue;
        }
        let from = name.as_bytes();
        let to: Vec<u8> = from
            .iter()
            .map(|&b| if b == b'?' { 0x81 } else { b })
            .collect();
        let hits: Vec<usize> = z
            .windows(from.len())
            .enumerate()
            .filter(|(_, w)| *w == from)
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            z[i..i + to.len()].copy_from_slice(&to);
        }
    }
    z
}

fn raw_names(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| z.by_index_raw(i).unwrap().name_raw().to_vec())
        .collect()
}

/// Issue 17: entry names are the stored bytes. One that is not UTF-8 is copied raw
/// under exactly those bytes; one that would be rewritten (a package or project file)
/// is refused rather than stored under a changed (CP437-decoded) name.
#[test]
fn entry_names_are_kept_as_their_stored_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = harden::clear_package("P", "s3cret");
    let ok = zip_with_raw_names(&[
        ("@Project.manifest", MANIFEST.as_bytes()),
        ("p.dtsx", pkg.as_bytes()),
        ("readm?.txt", b"unrelated"),
    ]);
    std::fs::write(dir.path().join("ok.ispac"), &ok).unwrap();
    let out = dir.path().join("out.ispac").display().to_string();
    let r = project(dir.path(), "ok.ispac", &["--encrypt", "0", "--out", &out]);
    assert_eq!(r.code, Some(0), "{}", r.all_output());
    let written = std::fs::read(dir.path().join("out.ispac")).unwrap();
    assert_eq!(
        raw_names(&written),
        [
            b"@Project.manifest".to_vec(),
            b"p.dtsx".to_vec(),
            b"readm\x81.txt".to_vec()
        ]
    );

    let bad = zip_with_raw_names(&[
        ("@Project.manifest", MANIFEST.as_bytes()),
        ("p?.dtsx", pkg.as_bytes()),
    ]);
    std::fs::write(dir.path().join("bad.ispac"), &bad).unwrap();
    let before = snapshot(dir.path());
    let out2 = dir.path().join("out2.ispac").display().to_string();
    for extra in [&[][..], &["--encrypt", "0", "--out", &out2][..]] {
        let r = project(dir.path(), "bad.ispac", extra);
        assert_eq!(r.code, Some(5), "{}", r.all_output());
        assert!(
            r.all_output().contains("not stored as UTF-8") && r.all_output().contains("70 81"),
            "{}",
            r.all_output()
        );
    }
    assert_eq!(snapshot(dir.path()), before, "something was written");
}

/// Issue 17: entries are inflated one at a time, each dropped once processed: reading
/// a project of six 32 MB packages holds about one of them, not all six.
#[test]
fn entries_are_inflated_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "x".repeat(32 << 20);
    let pkgs: Vec<String> = (0..6)
        .map(|i| {
            harden::clear_package(&format!("P{i}"), "s3cret").replace(
                "</DTS:Executable>",
                &format!("<DTS:Property DTS:Name=\"Description\">{filler}</DTS:Property></DTS:Executable>"),
            )
        })
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("@Project.manifest", MANIFEST.as_bytes())];
    let names = ["a.dtsx", "b.dtsx", "c.dtsx", "d.dtsx", "e.dtsx", "f.dtsx"];
    for (n, p) in names.iter().zip(&pkgs) {
        entries.push((n, p.as_bytes()));
    }
    std::fs::write(dir.path().join("big.ispac"), zip_of(&entries)).unwrap();
    drop(pkgs);
    let args = vec![
        "project".to_string(),
        dir.path().join("big.ispac").display().to_string(),
    ];
    let r = run_measured(&args, &[], Duration::from_secs(120));
    eprintln!(
        "six 32 MiB packages in an .ispac: {:?}, {} KiB",
        r.elapsed, r.max_rss_kib
    );
    assert_eq!(r.code, Some(0), "{}", r.all_output());
    // All six inflated at once (before issue 17) peaked at 374 MiB.
    assert!(r.max_rss_kib < 160 * 1024, "{} KiB", r.max_rss_kib);
}
