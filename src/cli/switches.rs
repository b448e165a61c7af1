//! The option table: every option the dtutil command line takes, one row each with
//! its name, minimal abbreviation, argument and help. dtutil's own `/SWITCH`es come
//! first ([`SWITCHES`]), then the GNU-style `--long` options beyond dtutil
//! ([`LONG_OPTIONS`]). The tokenizer (`tokens`), the full help, `/H Option` and the
//! validator's error messages all read this table; a new option is a new row here
//! plus what it does in `tokens` / `validate` (CONTRIBUTING.md, "How to add a switch").

/// Which switch a table row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    Copy,
    Decrypt,
    Delete,
    DestPassword,
    DestServer,
    DestUser,
    Dts,
    Dump,
    Encrypt,
    Exists,
    FCreate,
    FDelete,
    FDirectory,
    FExists,
    FRename,
    File,
    Help,
    IdRegenerate,
    Move,
    Quiet,
    Remark,
    Sign,
    SourcePassword,
    SourceServer,
    SourceUser,
    Sql,
    Usage,
    // Beyond dtutil: `--long` options.
    Algorithm,
    AllowLostSensitive,
    DryRun,
    Json,
    LongHelp,
    StoreConfig,
    Ir,
    TargetVersion,
    Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    None,
    Required,
    /// Taken when the next token is not itself an option.
    Optional,
}

/// What a switch does to the raw switches, and so how validation reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A package action: needs exactly one source; at most one action per command.
    Action,
    /// A folder action on SQL or DTS: takes no package source.
    FolderAction,
    /// `/?` and `/H`: everything else on the line is ignored.
    Help,
    /// `/FILE`, `/SQL`, `/DTS`: exactly one for package actions.
    Source,
    /// `/SourceServer`, `/SourceUser`, `/SourcePassword`.
    SourceConnection,
    /// `/DestServer`, `/DestUser`, `/DestPassword`.
    DestConnection,
    /// `/Decrypt`, `/Quiet`, `/IDRegenerate`: combine with any action.
    Modifier,
    /// `/Remark`: repeatable, ignored.
    Remark,
    /// `--name`: beyond dtutil (never clashing with its switches). Spelled in full; may
    /// be repeated, the last value counts.
    Long,
}

pub struct Switch {
    pub id: Id,
    pub role: Role,
    /// Full name as dtutil spells it.
    pub name: &'static str,
    /// Length of the minimal abbreviation (`/C[opy]` → 1).
    pub min: usize,
    pub arg: Arg,
    /// What follows the option in the syntax line (`{SQL|FILE|DTS};Path`).
    pub value: &'static str,
    pub doc: &'static str,
    pub example: &'static str,
}

impl Switch {
    /// `/C[opy] {SQL|FILE|DTS};Path`
    pub fn syntax(&self) -> String {
        let name = self.display();
        if self.value.is_empty() {
            name
        } else {
            format!("{name} {}", self.value)
        }
    }

    /// `/C[opy]`: the name with its optional part in brackets; `--json` for a long
    /// option.
    pub fn display(&self) -> String {
        if self.role == Role::Long {
            return format!("--{}", self.name);
        }
        let (short, rest) = self.name.split_at(self.min);
        if rest.is_empty() {
            format!("/{short}")
        } else {
            format!("/{short}[{rest}]")
        }
    }

    /// The value may hold a password: messages never echo it.
    pub fn secret(&self) -> bool {
        matches!(
            self.id,
            Id::Decrypt | Id::DestPassword | Id::SourcePassword | Id::Encrypt
        )
    }

    /// The option as the user would write it in full.
    pub fn full(&self) -> String {
        format!("/{}", self.name)
    }
}

/// dtutil's switches, in the order `/?` lists them.
pub const SWITCHES: &[Switch] = OPTIONS.split_at(dtutil_switches(OPTIONS)).0;

/// The long options beyond dtutil, in the order `/?` lists them.
pub const LONG_OPTIONS: &[Switch] = OPTIONS.split_at(dtutil_switches(OPTIONS)).1;

/// How many rows the dtutil switches take: all rows before the first long option.
const fn dtutil_switches(table: &[Switch]) -> usize {
    let mut n = 0;
    while n < table.len() && !matches!(table[n].role, Role::Long) {
        n += 1;
    }
    n
}

/// A long option's row: its name is typed in full, so `min` is the whole name.
const fn long(id: Id, name: &'static str, value: &'static str, doc: &'static str) -> Switch {
    Switch {
        id,
        role: Role::Long,
        name,
        min: name.len(),
        arg: if value.is_empty() {
            Arg::None
        } else {
            Arg::Required
        },
        value,
        doc,
        example: "",
    }
}

/// The one option table: dtutil's switches, then the long options.
const OPTIONS: &[Switch] = &[
    Switch { id: Id::Usage, role: Role::Help, name: "?", min: 1, arg: Arg::None, value: "",
        doc: "Shows the options.", example: "dtutil /?" },
    Switch { id: Id::Copy, role: Role::Action, name: "Copy", min: 1, arg: Arg::Required, value: "{SQL|FILE|DTS};Path",
        doc: "Copies the package given by /FILE, /SQL or /DTS to Path. FILE to FILE copies the bytes unchanged. Asks before overwriting unless /Q.",
        example: "dtutil /FILE Load.dtsx /COPY \"FILE;/backup/Load.dtsx\"" },
    Switch { id: Id::Decrypt, role: Role::Modifier, name: "Decrypt", min: 3, arg: Arg::Required, value: "Password",
        doc: "The password the source package was saved with (levels 2 and 3). env:NAME or file:PATH keep it out of the process list.",
        example: "dtutil /FILE Load.dtsx /Decrypt env:OLD_PW /ENCRYPT \"FILE;out.dtsx;0\"" },
    Switch { id: Id::Delete, role: Role::Action, name: "Delete", min: 3, arg: Arg::None, value: "",
        doc: "Deletes the package given by /FILE, /SQL or /DTS.",
        example: "dtutil /SQL \"Folder\\Load\" /DELETE" },
    Switch { id: Id::DestPassword, role: Role::DestConnection, name: "DestPassword", min: 5, arg: Arg::Required, value: "Password",
        doc: "Password of the SQL Server login for a SQL destination (needs /DestUser). Give it as env:NAME or file:PATH to keep it out of the process list.",
        example: "dtutil /FILE Load.dtsx /COPY \"SQL;Load\" /DestServer db01 /DestUser etl /DestPassword env:SQL_PW" },
    Switch { id: Id::DestServer, role: Role::DestConnection, name: "DestServer", min: 5, arg: Arg::Required, value: "Server",
        doc: "The server of a SQL (or DTS) destination: host, host\\instance, host,port. Default: the local server.",
        example: "dtutil /FILE Load.dtsx /COPY \"SQL;Load\" /DestServer db01,1433" },
    Switch { id: Id::DestUser, role: Role::DestConnection, name: "DestUser", min: 5, arg: Arg::Required, value: "User",
        doc: "SQL Server login for a SQL destination. Without it, Windows authentication is used (integrated: here a Kerberos ticket from kinit); DOMAIN\\user is not a SQL login (docs/windows-auth.md).",
        example: "dtutil /FILE Load.dtsx /COPY \"SQL;Load\" /DestUser etl /DestPassword env:SQL_PW" },
    Switch { id: Id::Dts, role: Role::Source, name: "DTS", min: 2, arg: Arg::Required, value: "PackagePath",
        doc: "The source package is in the SSIS package store: Root\\Folder\\Name.",
        example: "dtutil /DTS \"File System\\Load\" /COPY \"FILE;Load.dtsx\"" },
    Switch { id: Id::Dump, role: Role::Action, name: "Dump", min: 4, arg: Arg::Required, value: "ProcessID",
        doc: "Windows only: makes debug dump files of a running dtexec process. Not supported on this platform.",
        example: "dtutil /Dump 1234" },
    Switch { id: Id::Encrypt, role: Role::Action, name: "Encrypt", min: 2, arg: Arg::Required, value: "{SQL|FILE};Path;ProtectionLevel[;Password]",
        doc: "Saves the source package to Path with a new protection level: 0 DontSaveSensitive, 2 EncryptSensitiveWithPassword, 3 EncryptAllWithPassword, 5 ServerStorage (SQL only). Levels 1 and 4 need Windows DPAPI and are not available here. Give the Password as env:NAME or file:PATH to keep it out of the process list.",
        example: "dtutil /FILE Load.dtsx /Decrypt env:OLD_PW /ENCRYPT \"FILE;out/Load.dtsx;2;env:NEW_PW\"" },
    Switch { id: Id::Exists, role: Role::Action, name: "Exists", min: 2, arg: Arg::None, value: "",
        doc: "Tells whether the package exists (exit 0) or not (exit 1).",
        example: "dtutil /SQL \"Folder\\Load\" /EXISTS" },
    Switch { id: Id::FCreate, role: Role::FolderAction, name: "FCreate", min: 2, arg: Arg::Required, value: "{SQL|DTS};ParentFolderPath;NewFolderName",
        doc: "Creates a folder. \\ is the root.",
        example: "dtutil /FC \"SQL;\\;Finance\"" },
    Switch { id: Id::FDelete, role: Role::FolderAction, name: "FDelete", min: 3, arg: Arg::Required, value: "{SQL|DTS};ParentFolderPath;FolderName",
        doc: "Deletes an empty folder.",
        example: "dtutil /FDe \"SQL;\\;Finance\"" },
    Switch { id: Id::FDirectory, role: Role::FolderAction, name: "FDirectory", min: 3, arg: Arg::Required, value: "{SQL|DTS}[;FolderPath[;S]]",
        doc: "Lists the folders and packages in a folder; S lists subfolders too.",
        example: "dtutil /FDi \"SQL;\\;S\"" },
    Switch { id: Id::FExists, role: Role::FolderAction, name: "FExists", min: 2, arg: Arg::Required, value: "{SQL|DTS};FolderPath",
        doc: "Tells whether a folder exists (exit 0) or not (exit 1).",
        example: "dtutil /FE \"SQL;\\Finance\"" },
    Switch { id: Id::FRename, role: Role::FolderAction, name: "FRename", min: 2, arg: Arg::Required, value: "{SQL|DTS};ParentFolderPath;OldFolderName;NewFolderName",
        doc: "Renames a folder.",
        example: "dtutil /FR \"SQL;\\;Finance;Accounting\"" },
    Switch { id: Id::File, role: Role::Source, name: "File", min: 2, arg: Arg::Required, value: "Filespec",
        doc: "The source package is a file (a local path, or an Azure Files share path).",
        example: "dtutil /FILE /etl/Load.dtsx /EXISTS" },
    Switch { id: Id::Help, role: Role::Help, name: "Help", min: 1, arg: Arg::Optional, value: "[Option]",
        doc: "Shows the options, or the help of one option.",
        example: "dtutil /H Encrypt" },
    Switch { id: Id::IdRegenerate, role: Role::Modifier, name: "IDRegenerate", min: 1, arg: Arg::None, value: "",
        doc: "Gives the package a new ID (its root DTSID only). Alone with a source, rewrites the package in place.",
        example: "dtutil /FILE Load.dtsx /I" },
    Switch { id: Id::Move, role: Role::Action, name: "Move", min: 1, arg: Arg::Required, value: "{SQL|FILE|DTS};Path",
        doc: "Moves the package: copies it, verifies the copy, then deletes the source.",
        example: "dtutil /FILE Load.dtsx /MOVE \"FILE;archive/Load.dtsx\"" },
    Switch { id: Id::Quiet, role: Role::Modifier, name: "Quiet", min: 1, arg: Arg::None, value: "",
        doc: "Overwrites without asking (and writes user-key packages whose values cannot be read here).",
        example: "dtutil /FILE Load.dtsx /COPY \"FILE;copy.dtsx\" /Q" },
    Switch { id: Id::Remark, role: Role::Remark, name: "Remark", min: 1, arg: Arg::Optional, value: "[Text]",
        doc: "A comment; ignored. May be repeated.",
        example: "dtutil /FILE Load.dtsx /EXISTS /R \"nightly check\"" },
    Switch { id: Id::Sign, role: Role::Action, name: "Sign", min: 2, arg: Arg::Required, value: "{SQL|FILE|DTS};Path;Hash",
        doc: "Signs the package with a certificate (not yet supported: exit 1).",
        example: "dtutil /FILE Load.dtsx /SIGN \"FILE;signed.dtsx;0123456789ABCDEF\"" },
    Switch { id: Id::SourcePassword, role: Role::SourceConnection, name: "SourcePassword", min: 7, arg: Arg::Required, value: "Password",
        doc: "Password of the SQL Server login for a SQL source (needs /SourceUser). Give it as env:NAME or file:PATH to keep it out of the process list.",
        example: "dtutil /SQL Load /SourceServer db01 /SourceUser etl /SourcePassword env:SQL_PW /EXISTS" },
    Switch { id: Id::SourceServer, role: Role::SourceConnection, name: "SourceServer", min: 7, arg: Arg::Required, value: "Server",
        doc: "The server of a SQL source, or of folder actions on SQL: host, host\\instance, host,port.",
        example: "dtutil /SQL Load /SourceServer \"db01\\ETL\" /EXISTS" },
    Switch { id: Id::SourceUser, role: Role::SourceConnection, name: "SourceUser", min: 7, arg: Arg::Required, value: "User",
        doc: "SQL Server login for a SQL source. Without it, Windows authentication is used (integrated: here a Kerberos ticket from kinit); DOMAIN\\user is not a SQL login (docs/windows-auth.md).",
        example: "dtutil /SQL Load /SourceUser etl /SourcePassword env:SQL_PW /EXISTS" },
    Switch { id: Id::Sql, role: Role::Source, name: "SQL", min: 2, arg: Arg::Required, value: "PackagePath",
        doc: "The source package is in msdb: Folder\\Name.",
        example: "dtutil /SQL \"Finance\\Load\" /COPY \"FILE;Load.dtsx\"" },
    long(Id::DryRun, "dry-run", "",
        "parse and validate, print the plan as JSON (passwords as ***), touch nothing"),
    long(Id::Json, "json", "", "print results as JSON lines"),
    long(Id::TargetVersion, "target-version", "YEAR",
        "refuse to write what that SQL Server runtime (2012-2022) cannot load; note what it upgrades"),
    long(Id::StoreConfig, "store-config", "PATH",
        "the package store's MsDtsSrvr.ini.xml (default: DTUTIL_STORE_CONFIG, then the per-user file)"),
    long(Id::Ir, "ir", "ID",
        "DTS roots are this Azure-SSIS IR's package stores (resource id or S/RG/F/IR; default: DTUTIL_IR)"),
    long(Id::Algorithm, "algorithm", "3des|aes256",
        "cipher for re-encrypted values (default: each package's own)"),
    long(Id::AllowLostSensitive, "allow-lost-sensitive", "",
        "write user-key (1, 4) packages whose values cannot be read here"),
    long(Id::LongHelp, "help", "", "the same as /?"),
    long(Id::Version, "version", "", "print the version and exit"),
];

/// Result of matching an option token (without its `/` or `-`).
pub enum Match {
    Found(&'static Switch),
    /// A prefix of several switches, shorter than their minimal abbreviations.
    Ambiguous(Vec<&'static Switch>),
    /// A prefix of one switch, shorter than its minimal abbreviation (`/Dum`).
    TooShort(&'static Switch),
    Unknown,
}

/// A dtutil switch: dtutil accepts any prefix of a name from its minimal abbreviation
/// up. (Long options are not switches: `/json` is unknown.)
pub fn lookup(token: &str) -> Match {
    let typed = token.as_bytes();
    let mut prefix_of = Vec::new();
    for s in SWITCHES {
        let name = s.name.as_bytes();
        if !typed.is_empty()
            && typed.len() <= name.len()
            && name[..typed.len()].eq_ignore_ascii_case(typed)
        {
            if typed.len() >= s.min {
                return Match::Found(s);
            }
            prefix_of.push(s);
        }
    }
    match prefix_of.len() {
        0 => Match::Unknown,
        1 => Match::TooShort(prefix_of[0]),
        _ => Match::Ambiguous(prefix_of),
    }
}

/// The switch a mistyped name was probably meant to be (`/COPPY` -> /C[opy]): the one
/// closest in spelling, at most two edits away.
pub fn nearest(token: &str) -> Option<&'static Switch> {
    let typed = token.to_ascii_lowercase();
    SWITCHES
        .iter()
        // `/?` is one character from every one-letter typo: "did you mean /??" helps no one.
        .filter(|s| s.name.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|s| (strsim::levenshtein(&typed, &s.name.to_ascii_lowercase()), s))
        // A suggestion must share something with what was typed, not replace all of it.
        .filter(|(distance, _)| *distance <= 2 && *distance < typed.chars().count())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, s)| s)
}

/// A long option by its full name (without `--`).
pub fn long_option(name: &str) -> Option<&'static Switch> {
    LONG_OPTIONS.iter().find(|s| s.name == name)
}

pub fn by_id(id: Id) -> &'static Switch {
    OPTIONS
        .iter()
        .find(|s| s.id == id)
        .expect("every id has a row")
}
