//! Published dtutil command lines (collected with their sources in the project's
//! research notes, `evidence/command-lines.md`), run as the scripts that publish them
//! run them: FILE ones for real on local folders standing for the drive letters
//! (`DTUTIL_DRIVE_C` etc.), SQL and DTS ones against msdb test servers in this process.
//!
//! Each row is the line as published, placeholders filled (`<servername>` and the
//! like become a test server `{A}`, `{B}`, `{C}`); where a line relies on integrated
//! authentication against the local default instance, the row appends the server and
//! a SQL login (`{+S}`/`{+D}`: `/SourceServer {A} /SourceUser sa /SourcePassword ...`,
//! the destination likewise), since the test servers take SQL logins. The line is
//! split as the C runtime splits a Windows command line (blanks outside quotes,
//! quotes removed), which is what a shell hands dtutil on Linux too.

mod azfiles_support;
#[path = "msdb/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_dtutil");

/// Blanks outside double quotes separate arguments; quotes are removed.
fn crt_split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

struct World {
    dir: tempfile::TempDir,
    servers: [TestServer; 3],
}

impl World {
    fn root(&self) -> &Path {
        self.dir.path()
    }
    fn drive(&self, letter: char) -> PathBuf {
        self.root().join(format!("drive_{letter}"))
    }
    fn cwd(&self) -> PathBuf {
        self.root().join("cwd")
    }
    fn fill(&self, line: &str) -> String {
        let [a, b, c] = &self.servers;
        line.replace(
            "{+S}",
            "/SourceServer {A} /SourceUser sa /SourcePassword Sa-Secret1",
        )
        .replace(
            "{+D}",
            "/DestServer {A} /DestUser sa /DestPassword Sa-Secret1",
        )
        .replace("{+SU}", "/SourceUser sa /SourcePassword Sa-Secret1")
        .replace("{+DU}", "/DestUser sa /DestPassword Sa-Secret1")
        .replace("{A}", &a.server())
        .replace("{B}", &b.server())
        .replace("{C}", &c.server())
    }
    fn run(&self, line: &str, cwd: &Path) -> Output {
        let line = self.fill(line);
        let mut args = crt_split(&line);
        let program = args.remove(0);
        assert!(program.to_ascii_lowercase().starts_with("dtutil"), "{line}");
        let mut cmd = Command::new(BIN);
        cmd.args(&args).current_dir(cwd).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
                cmd.env_remove(k);
            }
        }
        for letter in ['C', 'D', 'F', 'Z'] {
            cmd.env(format!("DTUTIL_DRIVE_{letter}"), self.drive(letter));
        }
        cmd.env("DTUTIL_SQL_ENCRYPT", "off")
            .env("DTUTIL_STORE_CONFIG", self.root().join("MsDtsSrvr.ini.xml"))
            .env("DTUTIL_STORE_SQL_USER", "sa")
            .env("DTUTIL_STORE_SQL_PASSWORD", "Sa-Secret1");
        cmd.output().unwrap()
    }
}

/// The sample at level 0: the published lines copy packages out of msdb to files,
/// which a ServerStorage (level 5) package, the fixture's level, does not do unless
/// re-protected (DTS_E_SERVERSTORAGEDISALLOWED).
fn package() -> Vec<u8> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/source/CustomerLoad.dtsx"),
    )
    .unwrap();
    text.replacen("ProtectionLevel=\"5\"", "ProtectionLevel=\"0\"", 1)
        .into_bytes()
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let admin = |u: &'static str| -> &'static str { u };
    let w = World {
        dir,
        servers: [
            TestServer::start(
                false,
                &[
                    "sa:Sa-Secret1",
                    admin("srcUserName:#8nGs*w7F:db_ssisadmin"),
                    "destUserName:!38dsFH@v:db_ssisadmin",
                    "YourUserName:YourPassword:db_ssisadmin",
                    "SSISuser:Pitoaadp!123:db_ssisadmin",
                ],
            ),
            TestServer::start(
                false,
                &["sa:Sa-Secret1", "srcUserName:*hY$d56b:db_ssisadmin"],
            ),
            TestServer::start(
                false,
                &["sa:Sa-Secret1", "srcUserName:$Hj45jhd@X:db_ssisadmin"],
            ),
        ],
    };
    let pkg = package();
    let files = [
        "drive_C/myPackages/mypackage.dtsx",
        "cwd/copiedpkg.dtsx",
        "drive_C/test/SSISPackages/a.dtsx",
        "drive_C/delPackage.dtsx",
        "drive_C/srcPackage.dtsx",
        "cwd/srcPackage.dtsx",
        "cwd/PackageToEncrypt.dtsx",
        "drive_C/Package.dtsx",
        "loop/one.dtsx",
        "loop/two.dtsx",
        "drive_C/Unleashed/HotCustomersPlus.dtsx",
        "cwd/HotCustomersPlus.dtsx",
        "cwd/replicateDbNewNew.dtsx",
        "drive_C/sourcepkg.dtsx",
        "drive_C/src/Pkg.dtsx",
        "drive_C/packages/SSIS_BGSQA_OldTables_To_TAMI.dtsx",
        "drive_C/common/Pkg.dtsx",
        "drive_C/myssis/a.dtsx",
        "drive_D/plans/Plan2.dtsx",
    ];
    for f in files {
        let p = w.root().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &pkg).unwrap();
    }
    let calc = w.root().join("drive_C/Windows/System32/calc.exe");
    std::fs::create_dir_all(calc.parent().unwrap()).unwrap();
    std::fs::write(calc, b"MZ\x90\x00 not a package, any bytes").unwrap();
    for d in [
        "drive_C/myTestPackages",
        "drive_C/UnleashedProduction",
        "drive_C/Users/Public",
        "drive_Z/YourFolder",
        "drive_F/BORRAR",
        "drive_D/out",
        "drive_D/Test",
        "drive_D/evidence",
        "cwd/YourFolder",
    ] {
        std::fs::create_dir_all(w.root().join(d)).unwrap();
    }
    std::fs::write(
        w.root().join("MsDtsSrvr.ini.xml"),
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<DtsServiceConfiguration xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <TopLevelFolders>
    <Folder xsi:type="SqlServerFolder"><Name>MSDB</Name><ServerName>{}</ServerName></Folder>
    <Folder xsi:type="FileSystemFolder"><Name>File System</Name><StorePath>{}</StorePath></Folder>
  </TopLevelFolders>
</DtsServiceConfiguration>"#,
            w.servers[0].server(),
            w.root().join("store").display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(w.root().join("store")).unwrap();
    w
}

/// One published line: where it is from, the line, the exit dtutil gives, and what
/// stdout's line index 4 says where scripts read it.
struct Row {
    source: &'static str,
    line: &'static str,
    exit: i32,
    line4: Option<&'static str>,
    /// Runs in this folder below the test root (default `cwd`).
    cwd: &'static str,
}

const fn row(source: &'static str, line: &'static str, exit: i32) -> Row {
    Row {
        source,
        line,
        exit,
        line4: None,
        cwd: "cwd",
    }
}

const fn says(source: &'static str, line: &'static str, exit: i32, line4: &'static str) -> Row {
    Row {
        source,
        line,
        exit,
        line4: Some(line4),
        cwd: "cwd",
    }
}

const OK: &str = "The operation completed successfully.";

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    vec![
        // Set-up lines, themselves published forms: folders the later rows use.
        // [IDX 38282294100] R1: folder for the COMMON rows.
        says("R1", r"dtutil /fcreate SQL;\;COMMON /SourceServer {A} /SourceUser SSISuser /SourcePassword Pitoaadp!123", 0, OK),
        // [IDX 37960284833] R2: a quoted field with a blank.
        says("R2", r#"dtutil /fcreate SQL;\;"Financial Reconciliation" /SourceServer {A} /SourceUser SSISuser /SourcePassword Pitoaadp!123"#, 0, OK),
        // [CHAD] new-folder R7 (root parent is "\").
        says("R7", r#"dtutil /SourceServer "{A}" /FCreate SQL;"\";"YourFolder" {+SU}"#, 0, OK),
        // [IDX 42678408763] R4 (parent entered as \ for root).
        row("R4", r"dtutil /SourceS {A} /FC SQL;\;QAMS {+SU}", 0),
        // [IDX 2759805715] R5, top-level form `/fc SQL;\;A` and subfolder form `/fc SQL;A;B`.
        row("R5a", r"dtutil /sourceserver {A} /fc SQL;\;Testing {+SU}", 0),
        row("R5b", r"dtutil /sourceserver {A} /fc SQL;COMMON;Sub {+SU}", 0),
        // [BIDSH] D14: /FCreate DTS;"MSDB";"Folder" /SourceServer SRV (trailing blank kept).
        row("D14", r#"dtutil /FCreate DTS;"MSDB";"integration" /SourceServer {A} "#, 0),
        // [IDX 42678408763] R3: exit 0 when the folder exists, non-zero when not.
        says("R3", r"dtutil /SourceS {A} /FE SQL;COMMON {+SU}", 0, "The specified folder exists."),
        says("R3-missing", r"dtutil /SourceS {A} /FE SQL;NoSuchFolder {+SU}", 1, "The specified folder does not exist."),
        // [CHAD] test-path R6: exists iff $result[4] -eq "The specified folder exists."
        says("R6", r#"dtutil /SourceServer "{A}" /FExists SQL;"\COMMON" {+SU}"#, 0, "The specified folder exists."),
        // [IDX 37754799387] R8: SQL authentication.
        says("R8", r#"dtutil /SourceServer "{A}" /SourceUser "sa" /SourcePassword "Sa-Secret1" /FExists SQL;"\Nope""#, 1, "The specified folder does not exist."),

        // FILE rows: [DOC-DTUTIL] Copy, Delete, Exists, Move, Sign, Encrypt examples.
        says("F1", r"dtutil /FILE c:\myPackages\mypackage.dtsx /COPY FILE;c:\myTestPackages\mynewpackage.dtsx", 0, OK),
        says("F2", r"dtutil /I /FILE copiedpkg.dtsx", 0, OK),
        // [DOC-DTUTIL] F3, the loop's expansion for one file.
        says("F3", r"dtutil.exe /I /FILE C:\test\SSISPackages\a.dtsx", 0, OK),
        says("F4", r"dtutil /FILE c:\delPackage.dtsx /DELETE", 0, OK),
        says("F5", r"dtutil /FILE c:\srcPackage.dtsx /EXISTS", 0, "The specified package exists."),
        says("F6", r"dtutil /FILE c:\srcPackage.dtsx /MOVE FILE;c:\destPackage.dtsx", 0, OK),
        says("F5-after-move", r"dtutil /FILE c:\srcPackage.dtsx /EXISTS", 1, "The specified package does not exist."),
        // The doc's hash "is not a real hash": no certificate signs with it.
        row("F7", r"dtutil /FILE srcPackage.dtsx /SIGN FILE;destpkg.dtsx;1767832648918a9d989fdac9819873a91f919", 1),
        says("F8", r"dtutil /FILE PackageToEncrypt.dtsx /ENCRYPT file;EncryptedPackage.dtsx;3;EncPswd", 0, OK),
        // [DOC-PROT] F9: in place, no /Q.
        says("F9", r#"dtutil.exe /file "C:\Package.dtsx" /encrypt file;"C:\Package.dtsx";2;strongpassword"#, 0, OK),
        // [DOC-PROT] F10: `for %f in (*.dtsx) do ...` expanded for each file, in place.
        Row { cwd: "loop", ..says("F10", r"dtutil.exe /file one.dtsx /encrypt file;one.dtsx;2;strongpassword", 0, OK) },
        Row { cwd: "loop", ..says("F10", r"dtutil.exe /file two.dtsx /encrypt file;two.dtsx;2;strongpassword", 0, OK) },
        // [OREILLY] F12, F13.
        says("F12", r"dtutil /FILE c:\Unleashed\HotCustomersPlus.dtsx /COPY FILE;c:\UnleashedProduction\HotCustomersPlus.dtsx", 0, OK),
        says("F13", r"dtutil /I /FILE HotCustomersPlus.dtsx", 0, OK),
        // [LOLBAS] F14: COPY FILE->FILE copies any bytes.
        says("F14", r"dtutil.exe /FILE C:\Windows\System32\calc.exe /COPY FILE;C:\Users\Public\calc.exe", 0, OK),
        // [IDX 66309409695] F15 expects ERRORLEVEL 0, first run and re-run (no /Q).
        says("F15", r#"dtutil /FILE "replicateDbNewNew.dtsx" /ENCRYPT FILE;replicateDbMitPWVerschl.dtsx;2;geheim"#, 0, OK),
        says("F15-rerun", r#"dtutil /FILE "replicateDbNewNew.dtsx" /ENCRYPT FILE;replicateDbMitPWVerschl.dtsx;2;geheim"#, 0, OK),
        // [AXEL] F17, [DOC-DTUTIL] F18, [BORIZZ-EX] F19 (checked below: /? contains "Server").
        row("F17", r"DTUtil /?", 0),
        row("F18", r"dtutil /H", 0),
        row("F18", r"dtutil /Help Quiet", 0),
        row("F18", r"dtutil /H Q", 0),
        // [IDX 27467922997] D12, malformed as published (`/DTS;...`): a command-line error.
        row("D12", r"dtutil.exe /I /DTS;MSDB\Testing\a", 6),

        // SQL rows: [DOC-DTUTIL] S1-S6.
        says("S1", r"dtutil /FILE c:\sourcepkg.dtsx /DestServer {A} /COPY SQL;destpkgname {+DU}", 0, OK),
        says("S4", r"dtutil /SQL destpkgname /EXISTS {+S}", 0, "The specified package exists."),
        says("S2-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;delPackage {+D}", 0, OK),
        says("S2", r"dtutil /SQL delPackage /DELETE {+S}", 0, OK),
        says("S3-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;delPackage {+D}", 0, OK),
        says("S3", r"dtutil /SQL delPackage /SOURCEUSER srcUserName /SOURCEPASSWORD #8nGs*w7F /DELETE /SourceServer {A}", 0, OK),
        says("S5-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;srcPackage /DestServer {B} {+DU}", 0, OK),
        says("S5", r"dtutil /SQL srcPackage /SOURCEUSER srcUserName /SOURCEPASSWORD *hY$d56b /EXISTS /SourceServer {B}", 0, "The specified package exists."),
        says("S6-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;srcPackage /DestServer {C} {+DU}", 0, OK),
        says("S6", r"dtutil /SQL srcPackage /SOURCEUSER srcUserName /SOURCEPASSWORD $Hj45jhd@X /MOVE SQL;destPackage /DESTUSER destUserName /DESTPASSWORD !38dsFH@v /SourceServer {C} /DestServer {A}", 0, OK),
        // [AZ-STORE] S7/S8, the T-SQL generators' output lines.
        says("S7-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;YourFolder\YourPackage1 {+D}", 0, OK),
        says("S7", r"dtutil /SQL YourFolder\YourPackage1 /ENCRYPT SQL;YourFolder\YourPackage1;2;YourEncryptionPassword /DestServer {A} /DestUser YourUserName /DestPassword YourPassword {+S}", 0, OK),
        says("S8-setup", r"dtutil /FILE c:\sourcepkg.dtsx /COPY SQL;YourFolder\YourPackage2 {+D}", 0, OK),
        says("S8", r"dtutil /SQL YourFolder\YourPackage2 /ENCRYPT FILE;Z:\YourFolder\YourPackage2.dtsx;2;YourEncryptionPassword {+S}", 0, OK),
        // [EDDY] S9, S11.
        says("S9", r#"dtutil /SQL "\YourFolder\YourPackage2" /SOURCEUSER sa /SOURCEPASSWORD Sa-Secret1 /DestServer {B} /COPY SQL;"\YourPackage2" /DESTUSER sa /DESTPASSWORD Sa-Secret1 /SourceServer {A}"#, 0, OK),
        says("S11", r#"dtutil /sourceserver {A} /SQL "\YourFolder\YourPackage2" /copy file;".\YourPackage2.dtsx" {+SU}"#, 0, OK),
        // [PABLO] S12.
        says("S12", r#"dtutil /sourceserver {A} /SQL "\YourFolder\YourPackage2" /copy file;"F:\BORRAR\YourPackage2.dtsx" {+SU}"#, 0, OK),
        // [BORIZZ-IM] S14, then [BORIZZ-EX] S13: level 1 (user key) cannot be written off Windows.
        says("S14", r#"dtutil /FILE "D:\plans\Plan2.dtsx" /DestServer "{A}" /COPY SQL;"\Maintenance Plans\Plan2" /QUIET {+DU}"#, 0, OK),
        row("S13", r#"dtutil /SQL "\Maintenance Plans\Plan2" /SourceServer "{A}" /ENCRYPT FILE;"D:\out\Plan2.dtsx";1 /QUIET {+SU}"#, 6),
        // [IDX 5380119330] S15: abbreviations /en /sources /sourceu /sourcep.
        says("S15", r#"dtutil /sql "Maintenance Plans\Plan2" /en File;"D:\out\Plan2.dtsx";0 /sources {A} /sourceu sa /sourcep Sa-Secret1"#, 0, OK),
        // [IDX 3489561368] S16/S17: a UNC path that is not Azure Files.
        row("S16", r#"dtutil /sourceserver {A} /SQL "\Maintenance Plans\Plan2" /encrypt file;"\\fs02\sqlbackup$\Installatie\Export Maintenance Plans\Plan2.dtsx";0 {+SU}"#, 6),
        row("S17", r#"dtutil /destserver {A} /FILE "\\fs02\sqlbackup$\Installatie\Export Maintenance Plans\Plan2.dtsx" /ENCRYPT SQL;"\Maintenance Plans\Plan2";0 {+DU}"#, 6),
        // [IDX 41570079336] S18/S19 (xp_cmdshell).
        says("S18", r#"dtutil /SOURCESERVER "{A}" /SQL "\Maintenance Plans\Plan2" /Q /COPY FILE;"D:\Test\Plan2.dtsx" {+SU}"#, 0, OK),
        says("S19", r#"dtutil /destserver {A} /FILE "D:\Test\Plan2.dtsx" /Q /COPY SQL;"\Maintenance Plans\Plan2" {+DU}"#, 0, OK),
        // [IDX 2759805715] S20, S21.
        says("S20", r#"dtutil /sourceserver {A} /SQL "\YourFolder\YourPackage2" /destserver {C} /copy SQL;"\YourPackage2" {+SU} {+DU}"#, 0, OK),
        says("S21", r#"dtutil /sourceserver {A} /SQL "\YourFolder\YourPackage2" /copy file;".\YourFolder\YourPackage2.dtsx" {+SU}"#, 0, OK),
        // [IDX 29571875650] S22 (/QUIET overwrites what S9 put on {B}).
        says("S22", r#"DTUTIL /SQL "YourFolder\YourPackage2" /DestServer "{B}" /COPY SQL;"YourPackage2" /QUIET {+S} {+DU}"#, 0, OK),
        // [IDX 258313578] S23: level 5 (server storage).
        says("S23", r#"dtutil /file "c:\packages\SSIS_BGSQA_OldTables_To_TAMI.dtsx" /encrypt sql;"QAMS\SSIS_BGSQA_OldTables_To_TAMI";5 /destserver {A} /quiet {+DU}"#, 0, OK),
        // [IDX 38282294100] S24, the .bat loop expanded for one file.
        says("S24", r"dtutil /Quiet /FILE C:\common\Pkg.dtsx /DestServer {A} /DestUser SSISuser /DestPassword Pitoaadp!123  /COPY SQL;COMMON\Pkg", 0, OK),
        // [IDX 42678408763] S25.
        says("S25", r#"dtutil /FILE "C:\src\Pkg.dtsx" /DESTSERVER {A} /COPY SQL;"COMMON\Pkg25" /QUIET {+DU}"#, 0, OK),
        // [CHAD] S26 (PowerShell's `; escapes the semicolon), S27 exists / S28 delete.
        says("S26", r#"dtutil /File "C:\src\Pkg.dtsx" /DestServer "{A}" /Copy SQL;"COMMON\Pkg26" /Quiet {+DU}"#, 0, OK),
        says("S27", r#"dtutil /SourceServer "{A}" /SQL "COMMON\Pkg26" /EXISTS {+SU}"#, 0, "The specified package exists."),
        says("S28", r#"dtutil /SourceServer "{A}" /SQL "COMMON\Pkg26" /Delete /Quiet {+SU}"#, 0, OK),
        says("S27-after-delete", r#"dtutil /SourceServer "{A}" /SQL "COMMON\Pkg26" /EXISTS {+SU}"#, 1, "The specified package does not exist."),
        // [IDX 53769563114] S29, [DMLOGV] S30 (whole semicolon argument quoted).
        says("S29", r#"dtutil /SQL "\COMMON\Pkg25" /COPY "FILE;D:\evidence\Pkg25.dtsx" /SourceServer {A} /Quiet {+SU}"#, 0, OK),
        says("S30", r#"dtutil /QUIET /SQL "COMMON\Pkg25" /encrypt "FILE;D:\evidence\Pkg25.l3.dtsx;3;F,shdfku" /SourceS {A} {+SU}"#, 0, OK),
        // [IDX 37754799387] S31: SQL login on the destination.
        says("S31", r#"dtutil /File "C:\src\Pkg.dtsx" /DestServer "{A}" /DestUser "SSISuser" /DestPassword "Pitoaadp!123" /Copy SQL;"COMMON\Pkg31" /Quiet"#, 0, OK),
        // [BIDSH] S32.
        says("S32", r#"dtutil /FILE "C:\src\Pkg.dtsx" /DestServer {A} /COPY SQL;"COMMON\Pkg32" /Q {+DU}"#, 0, OK),
        // [SHIRA] D7, D8: the package store's MSDB root.
        says("D7", r"dtutil.exe /FILE C:\src\Pkg.dtsx /DestServer {A} /Decrypt banana /COPY DTS;MSDB\integration\security_test_pass_is_banana", 0, OK),
        says("D8", r"dtutil.exe /Decrypt banana /IDRegenerate /DTS MSDB\integration\security_test_pass_is_banana", 0, OK),
        // [IDX 27467922997] D11 (loop expanded), [IDX 29571875650] D13.
        says("D11", r"dtutil.exe /FILE c:\myssis\a.dtsx /DestServer {A} /COPY DTS;MSDB\Testing\a", 0, OK),
        says("D3", r"dtutil /DTS MSDB\Testing\a /EXISTS", 0, "The specified package exists."),
        says("D13", r#"DTUTIL /DTS "\MSDB\Testing\a" /DestServer "{B}" /COPY "SQL;Testing_a" /QUIET {+DU}"#, 0, OK),
    ]
}

#[test]
fn published_command_lines_give_dtutils_exit_codes() {
    let w = world();
    let rows = rows();
    let published = rows
        .iter()
        .filter(|r| !r.source.ends_with("-setup"))
        .count();
    assert!(published >= 40, "{published} published lines");
    for r in &rows {
        let out = w.run(r.line, &w.root().join(r.cwd));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(r.exit),
            "{} `{}`:\n{stdout}{}",
            r.source,
            r.line,
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(expected) = r.line4 {
            assert_eq!(
                stdout.lines().nth(4),
                Some(expected),
                "{}: {stdout}",
                r.source
            );
        } else if r.exit != 0 {
            assert!(
                stdout
                    .lines()
                    .nth(4)
                    .is_some_and(|l| l.starts_with("Error: ")),
                "{}: the error is at stdout line 4: {stdout}",
                r.source
            );
        }
        if r.line == r"DTUtil /?" {
            assert!(
                stdout.contains("Server"),
                "[BORIZZ-EX] finds `Server` in /?"
            );
        }
    }
    // What the rows left where the scripts expect it.
    let d = |p: &str| w.root().join(p);
    for p in [
        "drive_C/myTestPackages/mynewpackage.dtsx",
        "drive_C/destPackage.dtsx",
        "cwd/EncryptedPackage.dtsx",
        "drive_C/UnleashedProduction/HotCustomersPlus.dtsx",
        "drive_C/Users/Public/calc.exe",
        "cwd/replicateDbMitPWVerschl.dtsx",
        "drive_Z/YourFolder/YourPackage2.dtsx",
        "cwd/YourPackage2.dtsx",
        "drive_F/BORRAR/YourPackage2.dtsx",
        "drive_D/out/Plan2.dtsx",
        "drive_D/Test/Plan2.dtsx",
        "cwd/YourFolder/YourPackage2.dtsx",
        "drive_D/evidence/Pkg25.dtsx",
        "drive_D/evidence/Pkg25.l3.dtsx",
    ] {
        assert!(d(p).is_file(), "{p} was written");
    }
    assert!(!d("drive_C/delPackage.dtsx").exists());
    assert_eq!(
        std::fs::read(d("drive_C/Users/Public/calc.exe")).unwrap(),
        std::fs::read(d("drive_C/Windows/System32/calc.exe")).unwrap()
    );
    assert_no_windows_names(w.root());
}

/// Nothing on this platform is named like an unresolved Windows path.
fn assert_no_windows_names(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let b = name.as_bytes();
        assert!(
            !(name.contains('\\') || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())),
            "written under a Windows name: {}",
            entry.path().display()
        );
        if entry.file_type().unwrap().is_dir() {
            assert_no_windows_names(&entry.path());
        }
    }
}

/// [AXEL] P2: PowerShell passes the whole quoted command line as one argument.
#[test]
fn one_argument_holding_the_whole_command_line() {
    let w = world();
    let line = w.fill(r"/FILE C:\src\Pkg.dtsx /COPY SQL;AxelPkg /DestServer {A} /DestUser sa /DestPassword Sa-Secret1");
    let out = Command::new(BIN)
        .arg(&line)
        .current_dir(w.cwd())
        .env("DTUTIL_DRIVE_C", w.drive('C'))
        .env("DTUTIL_SQL_ENCRYPT", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let exists = w.run(r"dtutil /SQL AxelPkg /EXISTS {+S}", &w.cwd());
    assert_eq!(exists.status.code(), Some(0));
}

/// [AZ-STORE] F11, the guide's loop, unchanged (`%f` substituted as cmd does), twice:
/// the second run overwrites without /Q.
#[test]
fn the_azure_guides_loop_runs_twice_onto_a_mapped_local_drive() {
    let w = world();
    let here = w.root().join("loop");
    for _ in 0..2 {
        for f in ["one.dtsx", "two.dtsx"] {
            let line = r"dtutil.exe /FILE %f /ENCRYPT FILE;Z:\%f;2;YourEncryptionPassword"
                .replace("%f", f);
            let out = w.run(&line, &here);
            assert_eq!(out.status.code(), Some(0), "{line}: {out:?}");
        }
    }
    for f in ["one.dtsx", "two.dtsx"] {
        assert!(w.drive('Z').join(f).is_file());
    }
    assert_no_windows_names(w.root());
}

/// [AZ-STORE] F11 with Z: mapped to an Azure Files share (the guide's `net use Z:
/// \\YourStorageAccountName.file.core.windows.net\YourFileShare`), on the Azure Files
/// test server, twice.
#[test]
fn the_azure_guides_loop_runs_twice_onto_an_azure_files_share() {
    let azure = azfiles_support::start(&["ssis"]);
    let dir = tempfile::tempdir().unwrap();
    for f in ["one.dtsx", "two.dtsx"] {
        std::fs::write(dir.path().join(f), package()).unwrap();
    }
    let share = azfiles_support::unc("ssis", "");
    let share = share.trim_end_matches('\\');
    for _ in 0..2 {
        for f in ["one.dtsx", "two.dtsx"] {
            let line = r"dtutil.exe /FILE %f /ENCRYPT FILE;Z:\%f;2;YourEncryptionPassword"
                .replace("%f", f);
            let mut args = crt_split(&line);
            args.remove(0);
            let mut cmd = Command::new(BIN);
            for (k, _) in std::env::vars() {
                if k.starts_with("AZURE_") || k.starts_with("DTUTIL_") {
                    cmd.env_remove(k);
                }
            }
            let out = cmd
                .args(&args)
                .current_dir(dir.path())
                .envs(azure.env())
                .env("DTUTIL_DRIVE_Z", share)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{line}: {out:?}");
        }
    }
    let env = azure.env();
    let store = dtutil::store::azfiles::open_with(share, &move |k| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    for f in ["one.dtsx", "two.dtsx"] {
        let path = format!("{share}\\{f}");
        let bytes = dtutil::store::Store::read(&store, &path).unwrap();
        assert!(
            String::from_utf8_lossy(&bytes).contains("EncryptedData"),
            "{f} is level 2 on the share"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "nothing written locally"
    );
}
