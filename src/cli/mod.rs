//! The command line: dtutil's switches (a table with minimal abbreviations, see
//! [`switches`]) become raw switches, which become a validated [`Plan`]; modern
//! subcommands (`inspect`) go through clap. Nothing here knows about XML or storage.

mod fields;
pub mod switches;

use crate::crypto::Algorithm;
use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use crate::plan::{
    Action, FolderLocation, LocationKind, OutputMode, PackageLocation, Plan, SecretSpec,
    SqlConnection,
};
pub use crate::plan::{Command, InspectArgs};
use std::collections::BTreeMap;
use std::ffi::OsString;
use switches::{Arg, Id, Match, Role, Switch, SWITCHES};
use zeroize::{Zeroize, Zeroizing};

/// GNU-style long options beyond dtutil (never clashing with its switches): name,
/// value placeholder (empty: takes none), help.
const LONG_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "dry-run",
        "",
        "parse and validate, print the plan as JSON (passwords as ***), touch nothing",
    ),
    ("json", "", "print results as JSON lines"),
    (
        "target-version",
        "YEAR",
        "refuse to write what that SQL Server runtime (2012-2022) cannot load; note what it upgrades",
    ),
    (
        "store-config",
        "PATH",
        "the package store's MsDtsSrvr.ini.xml (default: DTUTIL_STORE_CONFIG, then the per-user file)",
    ),
    (
        "algorithm",
        "3des|aes256",
        "cipher for re-encrypted values (default: each package's own)",
    ),
    (
        "allow-lost-sensitive",
        "",
        "write user-key (1, 4) packages whose values cannot be read here",
    ),
    ("help", "", "the same as /?"),
    ("version", "", "print the version and exit"),
];

/// Subcommands beyond dtutil, by name.
const SUBCOMMANDS: &[&str] = &["inspect", "project", "batch"];

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command> {
    // Wiped when dropped: any of them may be a password typed on the command line.
    let args: Zeroizing<Vec<String>> = args
        .into_iter()
        .enumerate()
        .map(|(n, a)| {
            // Not echoed: it may be a password.
            a.into_string().map_err(|_| {
                Error::command_line(format!(
                    "argument {} is not valid Unicode text; give paths and passwords as UTF-8 (or a password as env:NAME)",
                    n + 1
                ))
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Zeroizing::new)?;
    match args.first() {
        Some(first) if !first.starts_with('/') && !first.starts_with('-') => {
            parse_subcommand(&args)
        }
        _ => parse_dtutil(&args),
    }
}

#[derive(clap::Parser)]
#[command(
    name = "dtutil inspect",
    about = "Reports what SSIS packages and project files are; never prints a value"
)]
struct Inspect {
    /// Print one JSON object per file.
    #[arg(long)]
    json: bool,
    /// Password to look inside level 3 packages (env:NAME, file:PATH or the text).
    #[arg(long)]
    password: Option<String>,
    /// Also judge each package against this SQL Server runtime (2012-2022).
    #[arg(long, value_name = "YEAR")]
    target_version: Option<String>,
    /// Packages (.dtsx, .dtsxp) or project files (.dtproj, .params, .conmgr).
    #[arg(required = true)]
    paths: Vec<String>,
}

#[derive(clap::Parser)]
#[command(
    name = "dtutil project",
    bin_name = "dtutil project",
    about = "Re-protects a project deployment (a folder with its .dtproj, or an .ispac): the manifest, Project.params, every .conmgr, .dtsx and .dtsxp"
)]
struct Project {
    /// The project folder (with its .dtproj), a .dtproj file, or an .ispac.
    path: String,
    /// The project's current password (env:NAME, file:PATH or the text).
    #[arg(long)]
    decrypt: Option<String>,
    /// The new protection: LEVEL[;PASSWORD] with LEVEL 0, 2 or 3 (e.g. "2;env:NEW_PW").
    #[arg(long)]
    encrypt: Option<String>,
    /// Write here (a folder, or an .ispac for an .ispac) instead of in place.
    #[arg(long)]
    out: Option<String>,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Cipher for packages: 3des or aes256 (project files always use Triple DES).
    #[arg(long)]
    algorithm: Option<String>,
}

/// A subcommand's own help (`dtutil inspect --help`), when clap knows it.
fn subcommand_help(name: &str) -> Option<String> {
    use clap::CommandFactory;
    let mut command = match name {
        "inspect" => Inspect::command(),
        "project" => Project::command(),
        "batch" => return Some(crate::batch::help()),
        _ => return None,
    };
    Some(command.render_long_help().to_string())
}

/// Each subcommand's arguments and purpose, for the full help.
fn subcommand_summary(name: &str) -> (&'static str, &'static str) {
    match name {
        "inspect" => (
            "[--json] [--password PW] PATH...",
            "what packages and project files are: format, protection, ciphers (never values)",
        ),
        "project" => (
            "PATH [--decrypt PW] [--encrypt LEVEL[;PW]] [--out DIR]",
            "re-protect a project deployment (a folder with its .dtproj, or an .ispac)",
        ),
        "batch" => (
            "--from SOURCE --to DEST [--encrypt LEVEL[;PW]] [--jobs N] [--report R] [--resume R]",
            "a whole migration in one run: directories, msdb, package store, Azure Files",
        ),
        _ => ("...", ""),
    }
}

fn parse_subcommand(args: &[String]) -> Result<Command> {
    use clap::Parser;
    // `dtutil inspect --help`: a help plan, printed by the caller like /H (clap would
    // print and exit the process itself).
    let wants_help = args[1..]
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h");
    if wants_help && subcommand_help(&args[0]).is_some() {
        return Ok(Command::Dtutil(Box::new(help_plan(Some(args[0].clone())))));
    }
    match args[0].as_str() {
        "batch" => crate::batch::parse_args(args).map(|a| Command::Batch(Box::new(a))),
        "project" => {
            let parsed = Project::try_parse_from(args).map_err(clap_error)?;
            let (encrypt_level, encrypt_password) = match parsed.encrypt.as_deref() {
                None => (None, None),
                Some(spec) => {
                    let (level, password) = encrypt_spec(spec)?;
                    (Some(level), password)
                }
            };
            let algorithm = parsed
                .algorithm
                .as_deref()
                .map(algorithm_name)
                .transpose()?;
            Ok(Command::Project(crate::project::ProjectArgs {
                path: parsed.path,
                decrypt: parsed.decrypt.as_deref().map(SecretSpec::parse),
                encrypt_level,
                encrypt_password,
                out: parsed.out,
                dry_run: parsed.dry_run,
                json: parsed.json,
                algorithm,
            }))
        }
        "inspect" => {
            let parsed = Inspect::try_parse_from(args).map_err(clap_error)?;
            Ok(Command::Inspect(InspectArgs {
                paths: parsed.paths,
                password: parsed.password.as_deref().map(SecretSpec::parse),
                json: parsed.json,
                target_version: parsed
                    .target_version
                    .as_deref()
                    .map(target_year)
                    .transpose()?,
            }))
        }
        other => Err(Error::command_line(format!(
            "unknown subcommand `{other}` (known: {}); dtutil options start with / or -",
            SUBCOMMANDS.join(", ")
        ))),
    }
}

/// `--encrypt LEVEL[;PASSWORD]` of the subcommands (`project`, `batch`): the level
/// checked (DPAPI levels explained), an empty password taken as none, and a password
/// required where the level needs one. Whether level 5 fits is the caller's call.
pub fn encrypt_spec(spec: &str) -> Result<(ProtectionLevel, Option<SecretSpec>)> {
    let (level, password) = match spec.split_once(';') {
        Some((l, p)) => (l, Some(p)),
        None => (spec, None),
    };
    let level = level
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(ProtectionLevel::from_number)
        .ok_or_else(|| {
            Error::command_line(format!(
                "--encrypt: `{level}` is not a protection level (0, 2, 3, or 5 for msdb)"
            ))
        })?;
    if level.is_user_key() {
        return Err(Error::command_line(format!(
            "--encrypt: protection level {level} needs Windows DPAPI (a Windows user's key), which is not available here; use 2 or 3 with a password"
        )));
    }
    let password = password.filter(|p| !p.is_empty()).map(SecretSpec::parse);
    if level.needs_password() && password.is_none() {
        return Err(Error::command_line(format!(
            "--encrypt: protection level {level} needs a password: --encrypt \"{};PASSWORD\" (or env:NAME / file:PATH)",
            level.number()
        )));
    }
    Ok((level, password))
}

/// `--target-version YEAR`: a SQL Server release with an SSIS runtime.
pub fn target_year(value: &str) -> Result<u32> {
    crate::package::target::Runtime::parse(value)
        .map(|r| r.year)
        .ok_or_else(|| {
            Error::command_line(format!(
                "--target-version `{value}` is not a release: use 2012, 2014, 2016, 2017, 2019 or 2022"
            ))
        })
}

/// `--algorithm 3des|aes256`.
pub fn algorithm_name(name: &str) -> Result<Algorithm> {
    Algorithm::parse(name).ok_or_else(|| {
        Error::command_line(format!(
            "--algorithm `{name}` is not known: use 3des or aes256"
        ))
    })
}

fn clap_error(e: clap::Error) -> Error {
    // `--help` never gets here (see parse_subcommand); a library does not exit.
    Error::command_line(
        e.to_string()
            .trim_end()
            .trim_start_matches("error: ")
            .to_string(),
    )
}

/// `/?`: the full help; `Some(topic)`: one option's or subcommand's.
fn help_plan(option: Option<String>) -> Plan {
    Plan {
        action: Action::Help { option },
        source: None,
        decrypt: None,
        quiet: false,
        remarks: Vec::new(),
        regenerate_id: false,
        algorithm: None,
        allow_lost_sensitive: false,
        store_config: None,
        target_version: None,
        output: OutputMode::Text,
        dry_run: false,
    }
}

/// Switches as typed, before any validation.
#[derive(Default)]
struct Raw {
    /// Each switch given, with the token the user typed and its value.
    given: BTreeMap<Id, (String, Option<String>)>,
    remarks: Vec<String>,
    dry_run: bool,
    json: bool,
    algorithm: Option<Algorithm>,
    allow_lost_sensitive: bool,
    store_config: Option<String>,
    target_version: Option<u32>,
    help: bool,
    version: bool,
}

impl Drop for Raw {
    /// Switch values include passwords (`/Decrypt`, `/DestPassword`, `/ENCRYPT`'s fourth part).
    fn drop(&mut self) {
        for (_, value) in self.given.values_mut() {
            value.zeroize();
        }
    }
}

fn looks_like_option(token: &str) -> bool {
    token.starts_with("--")
        || ((token.starts_with('/') || token.starts_with('-'))
            && matches!(switches::lookup(&token[1..]), Match::Found(_)))
}

fn parse_raw(args: &[String]) -> Result<Raw> {
    let mut raw = Raw::default();
    // The switch whose value came last: a stray token after a password (or a user,
    // whose password may follow) is not echoed.
    let mut after_secret = false;
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        i += 1;
        if let Some(long) = token.strip_prefix("--") {
            parse_long(&mut raw, token, long, args, &mut i)?;
            after_secret = false;
            continue;
        }
        let Some(body) = token.strip_prefix('/').or_else(|| token.strip_prefix('-')) else {
            if after_secret {
                return Err(Error::command_line(format!(
                    "unexpected argument {i} (not shown: it follows a user or password and may be part of a password); quote a value that contains spaces"
                )));
            }
            return Err(Error::command_line(format!(
                "unexpected argument `{token}`: options start with / or -, and each takes at most one value (quote values with spaces)"
            )));
        };
        let switch = resolve(token, body)?;
        if switch.id == Id::Dump {
            // Before its value: the answer is the same whatever the process id.
            return Err(Error::command_line(format!(
                "{token} (/Dump) makes debug dumps of running dtexec processes, which exist only on Windows; it is not supported on this platform"
            )));
        }
        let value = match switch.arg {
            Arg::None => None,
            Arg::Required => {
                let v = args.get(i).cloned().ok_or_else(|| {
                    Error::command_line(format!(
                        "option {token} needs an argument: {}",
                        switch.syntax()
                    ))
                })?;
                i += 1;
                Some(v)
            }
            Arg::Optional => match args.get(i) {
                Some(next)
                    if !looks_like_option(next)
                        && (switch.id != Id::Help || !next.starts_with('/')) =>
                {
                    i += 1;
                    Some(next.clone())
                }
                _ => None,
            },
        };
        after_secret = value.is_some()
            && (switch.secret() || matches!(switch.id, Id::SourceUser | Id::DestUser));
        if switch.role == Role::Remark {
            raw.remarks.extend(value);
            continue;
        }
        if let Some((first, _)) = raw.given.get(&switch.id) {
            return Err(Error::command_line(format!(
                "option {} is given twice (`{first}` and `{token}`); give each option once",
                switch.full()
            )));
        }
        raw.given.insert(switch.id, (token.clone(), value));
    }
    Ok(raw)
}

/// `--name`, `--name VALUE` or `--name=VALUE`.
fn parse_long(
    raw: &mut Raw,
    token: &str,
    long: &str,
    args: &[String],
    i: &mut usize,
) -> Result<()> {
    let (name, inline) = match long.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (long, None),
    };
    let Some(&(name, placeholder, _)) = LONG_OPTIONS.iter().find(|(n, _, _)| *n == name) else {
        // Only the name: whatever follows `=` is not echoed.
        let names: Vec<String> = LONG_OPTIONS
            .iter()
            .map(|(n, _, _)| format!("--{n}"))
            .collect();
        return Err(Error::command_line(format!(
            "unknown option `--{name}` (long options: {}; dtutil /? lists all options)",
            names.join(", ")
        )));
    };
    if placeholder.is_empty() && inline.is_some() {
        return Err(Error::command_line(format!(
            "option --{name} takes no value; write it alone"
        )));
    }
    match name {
        "dry-run" => raw.dry_run = true,
        "json" => raw.json = true,
        "allow-lost-sensitive" => raw.allow_lost_sensitive = true,
        "help" => raw.help = true,
        "version" => raw.version = true,
        "target-version" => {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args.get(*i).cloned().ok_or_else(|| {
                        Error::command_line(format!(
                            "{token} needs a release: 2012, 2014, 2016, 2017, 2019 or 2022"
                        ))
                    })?;
                    *i += 1;
                    v
                }
            };
            raw.target_version = Some(target_year(&value)?);
        }
        "store-config" => {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args.get(*i).cloned().ok_or_else(|| {
                        Error::command_line(format!(
                            "{token} needs a path to an MsDtsSrvr.ini.xml file"
                        ))
                    })?;
                    *i += 1;
                    v
                }
            };
            raw.store_config = Some(value);
        }
        "algorithm" => {
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args.get(*i).cloned().ok_or_else(|| {
                        Error::command_line(format!("{token} needs a value: 3des or aes256"))
                    })?;
                    *i += 1;
                    v
                }
            };
            raw.algorithm = Some(Algorithm::parse(&value).ok_or_else(|| {
                Error::command_line(format!(
                    "--algorithm `{value}` is not known: use 3des or aes256"
                ))
            })?);
        }
        other => unreachable!("--{other} is in LONG_OPTIONS but not handled"),
    }
    Ok(())
}

/// The switch a token names (`body` is the token without its `/` or `-`), or an
/// exit-6 error naming the token and the fix.
fn resolve(token: &str, body: &str) -> Result<&'static Switch> {
    match switches::lookup(body) {
        Match::Found(s) => Ok(s),
        Match::Ambiguous(candidates) => {
            let names: Vec<String> = candidates.iter().map(|s| s.display()).collect();
            Err(Error::command_line(format!(
                "option `{token}` is ambiguous: it could be {}; type at least the part outside the brackets",
                names.join(", ")
            )))
        }
        Match::TooShort(s) => Err(Error::command_line(format!(
            "unknown option `{token}`: did you mean {}? type at least the part outside the brackets (dtutil /? lists the options)",
            s.display()
        ))),
        Match::Unknown => {
            if let Some(glued) = body.find([';', ':', '=']) {
                if let Match::Found(s) = switches::lookup(&body[..glued]) {
                    let option = &token[..glued + 1];
                    // Passwords are never echoed, even glued to their option.
                    return Err(if s.secret() {
                        Error::command_line(format!(
                            "unknown option `{option}{}...`: put a space between the option and its argument (`{option} {}`)",
                            &token[glued + 1..glued + 2],
                            s.value
                        ))
                    } else {
                        Error::command_line(format!(
                            "unknown option `{token}`: put a space between the option and its argument (`{option} {}`)",
                            &body[glued + 1..]
                        ))
                    });
                }
            }
            Err(Error::command_line(format!(
                "unknown option `{token}` (dtutil /? lists the options)"
            )))
        }
    }
}

fn parse_dtutil(args: &[String]) -> Result<Command> {
    let raw = parse_raw(args)?;
    if raw.version {
        return Ok(Command::Version);
    }
    Ok(Command::Dtutil(Box::new(validate(raw)?)))
}

/// The switches given with one role, in table order.
fn given_with(v: &Validator, roles: &[Role]) -> Vec<Id> {
    SWITCHES
        .iter()
        .filter(|s| roles.contains(&s.role) && v.has(s.id))
        .map(|s| s.id)
        .collect()
}

struct Validator {
    raw: Raw,
}

impl Validator {
    fn has(&self, id: Id) -> bool {
        self.raw.given.contains_key(&id)
    }
    fn value(&self, id: Id) -> Option<&str> {
        self.raw.given.get(&id).and_then(|(_, v)| v.as_deref())
    }
    /// The option as the user typed it, for messages.
    fn typed(&self, id: Id) -> String {
        self.raw
            .given
            .get(&id)
            .map(|(t, _)| t.clone())
            .unwrap_or_else(|| switches::by_id(id).full())
    }
    fn secret(&self, id: Id) -> Option<SecretSpec> {
        self.value(id).map(SecretSpec::parse)
    }

    /// The connection of one side for a location of `kind`: FILE takes none of the
    /// three switches, DTS only the server (the machine whose store is used), SQL all.
    /// `what` names the location in messages (`the /FILE source`).
    fn connection(
        &self,
        [server, user, password]: [Id; 3],
        kind: LocationKind,
        what: &str,
    ) -> Result<Option<SqlConnection>> {
        let allowed: &[Id] = match kind {
            LocationKind::File => &[],
            LocationKind::Dts => &[server],
            LocationKind::Sql => &[server, user, password],
        };
        if let Some(id) = [server, user, password]
            .into_iter()
            .find(|id| self.has(*id) && !allowed.contains(id))
        {
            let applies = if kind == LocationKind::Dts {
                format!(
                    "; the package store (DTS) connects as its root says, so only {} applies",
                    switches::by_id(server).full()
                )
            } else {
                format!(
                    "; it applies to SQL locations ({} also to DTS)",
                    switches::by_id(server).full()
                )
            };
            return Err(Error::command_line(format!(
                "{} does not apply to {what} ({}){applies}",
                self.typed(id),
                kind.keyword()
            )));
        }
        if kind == LocationKind::File {
            return Ok(None);
        }
        if self.has(password) && !self.has(user) {
            return Err(Error::command_line(format!(
                "{} needs {} as well (a password without a login); without a user, integrated authentication is used",
                self.typed(password),
                switches::by_id(user).full()
            )));
        }
        Ok(Some(SqlConnection {
            server: self.value(server).map(str::to_string),
            user: self.value(user).map(str::to_string),
            password: self.secret(password),
        }))
    }

    fn source_connection(&self, kind: LocationKind, what: &str) -> Result<Option<SqlConnection>> {
        self.connection(
            [Id::SourceServer, Id::SourceUser, Id::SourcePassword],
            kind,
            what,
        )
    }

    /// The destination of `/COPY`, `/MOVE`, `/ENCRYPT` or `/SIGN` (`action`).
    fn destination(&self, action: Id, kind: LocationKind, path: &str) -> Result<PackageLocation> {
        let option = self.typed(action);
        if path.trim().is_empty() {
            return Err(Error::command_line(format!(
                "{option}: the destination path is empty; the syntax is {}",
                switches::by_id(action).syntax()
            )));
        }
        check_store_path(&option, kind, path)?;
        let sql = self.connection(
            [Id::DestServer, Id::DestUser, Id::DestPassword],
            kind,
            &format!("the destination of {option}"),
        )?;
        Ok(PackageLocation {
            kind,
            path: path.to_string(),
            sql,
        })
    }

    /// Where a folder action happens: /Source* name its server.
    fn folder(&self, action: &str, kind: LocationKind) -> Result<FolderLocation> {
        Ok(FolderLocation {
            kind,
            sql: self.source_connection(kind, &format!("the folder action {action}"))?,
        })
    }
}

fn location_keyword(
    option: &str,
    switch: &Switch,
    field: &str,
    allowed: &[LocationKind],
) -> Result<LocationKind> {
    let kind = match field.trim().to_ascii_uppercase().as_str() {
        "FILE" => LocationKind::File,
        "SQL" => LocationKind::Sql,
        "DTS" => LocationKind::Dts,
        _ => {
            // A misplaced password could sit here: never echo a secret switch's field.
            let shown = if switch.secret() {
                "the first part".to_string()
            } else {
                format!("`{field}`")
            };
            return Err(Error::command_line(format!(
                "{option}: {shown} is not a location; the argument starts with {} then `;` (syntax: {})",
                allowed
                    .iter()
                    .map(|k| k.keyword())
                    .collect::<Vec<_>>()
                    .join(", "),
                switch.syntax()
            )));
        }
    };
    if !allowed.contains(&kind) {
        let why = if allowed.contains(&LocationKind::File) {
            String::new()
        } else {
            " (folder actions apply to SQL and DTS, msdb folders and the package store; a FILE folder is a directory)".to_string()
        };
        return Err(Error::command_line(format!(
            "{option}: location {} is not allowed here; use {}{why}",
            kind.keyword(),
            allowed
                .iter()
                .map(|k| k.keyword())
                .collect::<Vec<_>>()
                .join(" or "),
        )));
    }
    Ok(kind)
}

/// Store paths never escape their root.
fn check_store_path(option: &str, kind: LocationKind, path: &str) -> Result<()> {
    if kind != LocationKind::File && path.split(['\\', '/']).any(|seg| seg.trim() == "..") {
        return Err(Error::command_line(format!(
            "{option}: `..` is not allowed in {} paths (store paths never escape their root)",
            kind.keyword()
        )));
    }
    Ok(())
}

/// One folder name (not a path): not empty, no `\` or `/`, not `.` or `..`.
fn check_folder_name(option: &str, what: &str, name: &str) -> Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::command_line(format!(
            "{option}: the {what} is empty"
        )));
    }
    if trimmed == "." || trimmed == ".." || name.contains(['\\', '/']) {
        return Err(Error::command_line(format!(
            "{option}: the {what} `{name}` must be one folder name, without \\ or / and not . or .. (store paths never escape their root)"
        )));
    }
    Ok(())
}

/// Splits and counts the fields of a semicolon argument.
fn fields_of(
    option: &str,
    switch: &Switch,
    value: &str,
    min: usize,
    max: usize,
) -> Result<Zeroizing<Vec<String>>> {
    let fields = fields::split(value)
        .map(Zeroizing::new)
        .map_err(|m| Error::command_line(format!("{option}: {m}: {}", switch.syntax())))?;
    if fields.len() < min {
        return Err(Error::command_line(format!(
            "{option} is missing a part; the syntax is {}",
            switch.syntax()
        )));
    }
    if fields.len() > max {
        return Err(Error::command_line(format!(
            "{option} has too many parts ({} given); the syntax is {} (quote a path that contains `;`)",
            fields.len(),
            switch.syntax()
        )));
    }
    Ok(fields)
}

/// The help topic `/H` names, as `help_text` takes it: a switch's full name (any
/// accepted abbreviation, with or without `/`), a `--long` option or a subcommand.
fn help_topic(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if let Some(long) = trimmed.strip_prefix("--") {
        if LONG_OPTIONS.iter().any(|(n, _, _)| *n == long) {
            return Ok(format!("--{long}"));
        }
    } else if subcommand_help(trimmed).is_some() {
        return Ok(trimmed.to_string());
    }
    let body = trimmed
        .strip_prefix('/')
        .or_else(|| trimmed.strip_prefix('-'))
        .unwrap_or(trimmed);
    match switches::lookup(body) {
        Match::Found(s) => Ok(s.name.to_string()),
        Match::Ambiguous(c) => Err(Error::command_line(format!(
            "/H {name}: ambiguous, it could be {}; type at least the part outside the brackets",
            c.iter().map(|s| s.display()).collect::<Vec<_>>().join(", ")
        ))),
        Match::TooShort(s) => Err(Error::command_line(format!(
            "/H {name}: no such option; did you mean {}? (dtutil /? lists them)",
            s.display()
        ))),
        Match::Unknown => Err(Error::command_line(format!(
            "/H {name}: no such option (dtutil /? lists them)"
        ))),
    }
}

fn validate(raw: Raw) -> Result<Plan> {
    let v = Validator { raw };
    let output = if v.raw.json {
        OutputMode::Json
    } else {
        OutputMode::Text
    };
    let help = |option: Option<String>| Plan {
        output,
        dry_run: v.raw.dry_run,
        ..help_plan(option)
    };

    // Exactly one action: a package action, a folder action, or help.
    let actions = given_with(&v, &[Role::Action, Role::FolderAction, Role::Help]);
    if actions.len() > 1 && !v.raw.help {
        return Err(Error::command_line(format!(
            "{} and {} cannot be used together: give one action",
            v.typed(actions[0]),
            v.typed(actions[1])
        )));
    }
    let action_id = actions.first().copied();
    let role = action_id.map(|id| switches::by_id(id).role);
    // `/?`, `/H [Option]`, `--help`: help, whatever else is on the line.
    if v.raw.help || role == Some(Role::Help) {
        let option = match (v.raw.help, action_id) {
            (false, Some(Id::Help)) => v.value(Id::Help).map(help_topic).transpose()?,
            _ => None,
        };
        return Ok(help(option));
    }
    if action_id.is_none() && v.raw.given.is_empty() && v.raw.remarks.is_empty() && !v.raw.dry_run {
        // `dtutil` alone (or with only --json): the usage, as dtutil does.
        return Ok(help(None));
    }
    if action_id.is_none() && !v.has(Id::IdRegenerate) {
        let names: Vec<String> = SWITCHES
            .iter()
            .filter(|s| matches!(s.role, Role::Action | Role::FolderAction) && s.id != Id::Dump)
            .map(|s| s.full().to_ascii_uppercase())
            .collect();
        return Err(Error::command_line(format!(
            "no action given: add one of {}, or /IDRegenerate with a source to give a package a new ID (dtutil /? lists them)",
            names.join(", ")
        )));
    }

    // Exactly one source for package actions, none for folder actions.
    let sources = given_with(&v, &[Role::Source]);
    if sources.len() > 1 {
        return Err(Error::command_line(format!(
            "{} and {} cannot be used together: give exactly one source package",
            v.typed(sources[0]),
            v.typed(sources[1])
        )));
    }
    let is_folder_action = role == Some(Role::FolderAction);
    let source = match sources.first() {
        Some(&id) if is_folder_action => {
            return Err(Error::command_line(format!(
                "{} works on folders; it takes no source package ({})",
                v.typed(action_id.expect("folder action")),
                v.typed(id)
            )))
        }
        Some(&id) => {
            let kind = match id {
                Id::File => LocationKind::File,
                Id::Sql => LocationKind::Sql,
                _ => LocationKind::Dts,
            };
            let option = v.typed(id);
            let path = v.value(id).unwrap_or_default();
            if path.trim().is_empty() {
                return Err(Error::command_line(format!(
                    "{option}: the package path is empty; the syntax is {}",
                    switches::by_id(id).syntax()
                )));
            }
            check_store_path(&option, kind, path)?;
            Some(PackageLocation {
                kind,
                path: path.to_string(),
                sql: v.source_connection(kind, &format!("the {option} source"))?,
            })
        }
        None if is_folder_action => None,
        None => {
            return Err(Error::command_line(format!(
                "{} needs a source package: add /FILE, /SQL or /DTS",
                v.typed(action_id.unwrap_or(Id::IdRegenerate))
            )))
        }
    };

    let action = match action_id {
        None => Action::RegenerateId,
        Some(id) => build_action(&v, id)?,
    };
    if action.destination().is_none() {
        let name = action_id
            .map(|id| v.typed(id))
            .unwrap_or_else(|| v.typed(Id::IdRegenerate));
        if let Some(id) = given_with(&v, &[Role::DestConnection]).first() {
            return Err(Error::command_line(format!(
                "{} applies to the destination of /COPY, /MOVE, /ENCRYPT or /SIGN; {name} has none",
                v.typed(*id)
            )));
        }
    }
    Ok(Plan {
        action,
        source,
        decrypt: v.secret(Id::Decrypt),
        quiet: v.has(Id::Quiet),
        remarks: v.raw.remarks.clone(),
        regenerate_id: v.has(Id::IdRegenerate),
        algorithm: v.raw.algorithm,
        allow_lost_sensitive: v.raw.allow_lost_sensitive,
        store_config: v.raw.store_config.clone(),
        target_version: v.raw.target_version,
        output,
        dry_run: v.raw.dry_run,
    })
}

fn build_action(v: &Validator, id: Id) -> Result<Action> {
    use LocationKind::{Dts, File, Sql};
    let switch = switches::by_id(id);
    let option = v.typed(id);
    let value = v.value(id).unwrap_or_default();
    Ok(match id {
        Id::Delete => Action::Delete,
        Id::Exists => Action::Exists,
        Id::Copy | Id::Move => {
            let f = fields_of(&option, switch, value, 2, 2)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, File, Dts])?;
            let destination = v.destination(id, kind, &f[1])?;
            if id == Id::Copy {
                Action::Copy { destination }
            } else {
                Action::Move { destination }
            }
        }
        Id::Sign => {
            let f = fields_of(&option, switch, value, 3, 3)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, File, Dts])?;
            if f[2].trim().is_empty() {
                return Err(Error::command_line(format!(
                    "{option}: the certificate hash (third part) is empty; the syntax is {}",
                    switch.syntax()
                )));
            }
            Action::Sign {
                destination: v.destination(id, kind, &f[1])?,
                hash: f[2].trim().to_string(),
            }
        }
        Id::Encrypt => encrypt_action(v, id, &option, switch, value)?,
        Id::FCreate | Id::FDelete => {
            let f = fields_of(&option, switch, value, 3, 3)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, Dts])?;
            check_store_path(&option, kind, &f[1])?;
            check_folder_name(&option, "folder name", &f[2])?;
            let folder = v.folder(&option, kind)?;
            let (parent, name) = (f[1].clone(), f[2].clone());
            if id == Id::FCreate {
                Action::FolderCreate {
                    folder,
                    parent,
                    name,
                }
            } else {
                Action::FolderDelete {
                    folder,
                    parent,
                    name,
                }
            }
        }
        Id::FDirectory => {
            let f = fields_of(&option, switch, value, 1, 3)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, Dts])?;
            let path = match f.get(1) {
                None => "\\".to_string(),
                Some(p) if p.is_empty() => "\\".to_string(),
                Some(p) => p.clone(),
            };
            check_store_path(&option, kind, &path)?;
            let recursive = match f.get(2).map(|s| s.trim()) {
                None | Some("") => false,
                Some(s) if s.eq_ignore_ascii_case("S") => true,
                Some(other) => {
                    return Err(Error::command_line(format!(
                        "{option}: the third part must be S (list subfolders too), not `{other}`"
                    )))
                }
            };
            Action::FolderDirectory {
                folder: v.folder(&option, kind)?,
                path,
                recursive,
            }
        }
        Id::FExists => {
            let f = fields_of(&option, switch, value, 2, 2)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, Dts])?;
            check_store_path(&option, kind, &f[1])?;
            Action::FolderExists {
                folder: v.folder(&option, kind)?,
                path: f[1].clone(),
            }
        }
        Id::FRename => {
            let f = fields_of(&option, switch, value, 4, 4)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, Dts])?;
            check_store_path(&option, kind, &f[1])?;
            check_folder_name(&option, "old folder name", &f[2])?;
            check_folder_name(&option, "new folder name", &f[3])?;
            Action::FolderRename {
                folder: v.folder(&option, kind)?,
                parent: f[1].clone(),
                old_name: f[2].clone(),
                new_name: f[3].clone(),
            }
        }
        // /Dump is refused while scanning; help never reaches here.
        other => unreachable!("{other:?} is not a package or folder action"),
    })
}

/// `/ENCRYPT {SQL|FILE};Path;Level[;Password]`. Messages describe the fields and never
/// echo them: a misplaced password could be in any of them.
fn encrypt_action(
    v: &Validator,
    id: Id,
    option: &str,
    switch: &Switch,
    value: &str,
) -> Result<Action> {
    use LocationKind::{File, Sql};
    let f = fields_of(option, switch, value, 1, 4)?;
    if f[0].trim().eq_ignore_ascii_case("DTS") {
        return Err(Error::command_line(format!(
            "{option}: dtutil does not support /ENCRYPT to the package store (DTS); encrypt to FILE or SQL, or /COPY to DTS afterwards"
        )));
    }
    let kind = location_keyword(option, switch, &f[0], &[Sql, File])?;
    if f.len() < 3 {
        return Err(Error::command_line(format!(
            "{option} is missing a part; the syntax is {}",
            switch.syntax()
        )));
    }
    let level = f[2]
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(ProtectionLevel::from_number)
        .ok_or_else(|| {
            let levels: Vec<String> = ProtectionLevel::all()
                .iter()
                .map(|l| l.to_string())
                .collect();
            Error::command_line(format!(
                "{option} (/ENCRYPT): the protection level (third part) must be a number 0-5: {}",
                levels.join(", ")
            ))
        })?;
    if level.is_user_key() {
        return Err(Error::command_line(format!(
            "{option}: protection level {level} needs Windows DPAPI (a Windows user's key), which is not available on this platform; use 2 (EncryptSensitiveWithPassword) or 3 (EncryptAllWithPassword) with a password instead"
        )));
    }
    if level == ProtectionLevel::ServerStorage && kind != Sql {
        return Err(Error::command_line(format!(
            "{option}: ServerStorage (5) is only for SQL destinations (msdb's roles protect the package); use 0, 2 or 3 for FILE"
        )));
    }
    let password = f
        .get(3)
        .filter(|p| !p.is_empty())
        .map(|p| SecretSpec::parse(p));
    if level.needs_password() && password.is_none() {
        return Err(Error::command_line(format!(
            "{option}: protection level {level} needs a password as the fourth part: {} (env:NAME or file:PATH keep it out of the process list)",
            switch.syntax()
        )));
    }
    if !level.needs_password() && password.is_some() {
        return Err(Error::command_line(format!(
            "{option}: protection level {level} takes no password; drop the fourth part"
        )));
    }
    Ok(Action::Encrypt {
        destination: v.destination(id, kind, &f[1])?,
        level,
        password,
    })
}

/// The full help (`/?`) or one topic's (`/H Option`): a switch (any accepted
/// abbreviation, with or without `/`), a `--long` option, or a subcommand. All of it is
/// generated from [`SWITCHES`], [`LONG_OPTIONS`] and the subcommands' clap definitions.
pub fn help_text(option: Option<&str>) -> Result<String> {
    if let Some(name) = option {
        let topic = help_topic(name)?;
        if let Some(long) = topic.strip_prefix("--") {
            let (n, value, doc) = LONG_OPTIONS
                .iter()
                .find(|(n, _, _)| *n == long)
                .expect("help_topic found it");
            let syntax = if value.is_empty() {
                format!("--{n}")
            } else {
                format!("--{n} {value}")
            };
            return Ok(format!("{syntax}\n\n  {doc}\n"));
        }
        if let Some(text) = subcommand_help(&topic) {
            return Ok(text);
        }
        let s = SWITCHES
            .iter()
            .find(|s| s.name == topic)
            .expect("help_topic returns a table name");
        return Ok(format!(
            "{}\n\n  {}\n\n  Example: {}\n",
            s.syntax(),
            s.doc,
            s.example
        ));
    }
    let mut out = String::from(
        "dtutil: copy, move, delete and re-protect SSIS packages (a cross-platform rebuild of Microsoft dtutil)\n\n\
         Usage: dtutil /option [value] [/option [value]] ...\n\
         \x20      dtutil SUBCOMMAND [ARGS]...\n\n\
         Options start with / or -; names are case-insensitive and may be abbreviated down\n\
         to the part outside the brackets. A value is the next argument, even if it starts\n\
         with /. Values with spaces or ; go in quotes.\n\n",
    );
    for s in SWITCHES {
        out.push_str(&format!("  {:<58} {}\n", s.syntax(), first_sentence(s.doc)));
    }
    out.push_str("\nBeyond dtutil:\n");
    for (name, value, doc) in LONG_OPTIONS {
        let syntax = if value.is_empty() {
            format!("--{name}")
        } else {
            format!("--{name} {value}")
        };
        out.push_str(&format!("  {syntax:<26} {doc}\n"));
    }
    out.push_str("\nSubcommands (dtutil SUBCOMMAND --help for more):\n");
    for name in SUBCOMMANDS {
        let (usage, about) = subcommand_summary(name);
        out.push_str(&format!("  dtutil {name} {usage}\n      {about}\n"));
    }
    out.push_str(
        "\nPasswords: give them as env:NAME or file:PATH (pass:TEXT for a literal that starts\n\
         with env: or file:) to keep them out of the process list and shell history.\n\n\
         Exit codes: 0 success, 1 failure, 4 package not found, 5 package cannot be loaded,\n\
         6 command-line error. dtutil /H Option explains one option.\n",
    );
    Ok(out)
}

fn first_sentence(doc: &str) -> &str {
    match doc.find(". ") {
        Some(i) => &doc[..=i],
        None => doc,
    }
}

#[cfg(test)]
mod tests;
