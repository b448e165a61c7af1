//! Review user2 F6: a project's files given to dtutil's switches (`/FILE x.ispac
//! /ENCRYPT ...`, a `.dtproj`, `.conmgr` or `.params`) are named for what they are and
//! pointed to `dtutil project`, which re-protects a project whole; not "invalid UTF-8"
//! (a zip read as XML) or "the root element is <Project>". Exit 5, nothing written.

mod common;

use common::{dtutil_clean, shown};
use std::io::Write;

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

const MANIFEST: &str = r#"<?xml version="1.0"?>
<SSIS:Project SSIS:ProtectionLevel="DontSaveSensitive" xmlns:SSIS="www.microsoft.com/SqlServer/SSIS"></SSIS:Project>
"#;

#[test]
fn project_files_given_to_the_switches_point_to_dtutil_project() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files: [(&str, Vec<u8>, &str); 5] = [
        (
            "Sample.ispac",
            zip_of(&[("@Project.manifest", MANIFEST.as_bytes())]),
            "a zip archive (an .ispac project deployment)",
        ),
        (
            "Sample.dtproj",
            b"<?xml version=\"1.0\"?>\r\n<Project xmlns=\"http://schemas.microsoft.com/developer/msbuild/2003\"></Project>\r\n".to_vec(),
            "a project file (a .dtproj or @Project.manifest)",
        ),
        (
            "@Project.manifest",
            MANIFEST.as_bytes().to_vec(),
            "a project file (a .dtproj or @Project.manifest)",
        ),
        (
            "db.conmgr",
            b"<?xml version=\"1.0\"?>\r\n<DTS:ConnectionManager xmlns:DTS=\"www.microsoft.com/SqlServer/Dts\" DTS:ObjectName=\"db\"></DTS:ConnectionManager>\r\n".to_vec(),
            "a project connection manager (.conmgr)",
        ),
        (
            "Project.params",
            b"<?xml version=\"1.0\"?>\r\n<SSIS:Parameters xmlns:SSIS=\"www.microsoft.com/SqlServer/SSIS\"></SSIS:Parameters>\r\n".to_vec(),
            "a project parameters file (.params or .dtsxp)",
        ),
    ];
    for (name, bytes, kind) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
        let out_name = format!("out-{name}");
        for args in [
            vec![
                "/FILE",
                name,
                "/Decrypt",
                "pw",
                "/ENCRYPT",
                &format!("FILE;{out_name};2;new"),
            ],
            vec!["/FILE", name, "/ENCRYPT", &format!("FILE;{out_name};0")],
            vec!["/FILE", name, "/I"],
        ] {
            let out = dtutil_clean(dir, &[], &args);
            let text = shown(&out);
            assert_eq!(out.status.code(), Some(5), "{args:?}\n{text}");
            assert!(
                text.contains(&format!("is {kind}, not an SSIS package")),
                "{text}"
            );
            assert!(
                text.contains("dtutil project PATH --decrypt OLD --encrypt"),
                "{text}"
            );
            assert!(!text.contains("UTF-8"), "{text}");
            assert!(!dir.join(&out_name).exists(), "{args:?}: nothing written");
            assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes);
        }
    }
    // A FILE to FILE /COPY stays a byte copy, as dtutil's is.
    let out = dtutil_clean(
        dir,
        &[],
        &["/FILE", "Sample.ispac", "/COPY", "FILE;copy.ispac"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
}
