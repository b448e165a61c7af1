//! The command line: dtutil's switches (a table with minimal abbreviations, see
//! [`switches`]) become raw switches, which become a validated [`Plan`]; modern
//! subcommands (`inspect`) go through clap. Nothing here knows about XML or storage.

mod fields;
pub mod switches;

use crate::error::{Error, Result};
use crate::plan::{
    Action, Algorithm, Command, FolderLocation, InspectArgs, LocationKind, OutputMode,
    PackageLocation, Plan, ProtectionLevel, SecretSpec, SqlConnection,
};
use std::collections::BTreeMap;
use std::ffi::OsString;
use switches::{Arg, Id, Match, Switch, SWITCHES};

/// Subcommands beyond dtutil, by name.
const SUBCOMMANDS: &[&str] = &["inspect", "project", "batch"];

/// Parses the arguments (without the program name).
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command> {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| {
            a.into_string().map_err(|bad| {
                Error::command_line(format!(
                    "argument `{}` is not valid Unicode",
                    bad.to_string_lossy()
                ))
            })
        })
        .collect::<Result<_>>()?;
    match args.first() {
        Some(first) if !first.starts_with('/') && !first.starts_with('-') => {
            parse_subcommand(&args)
        }
        _ => parse_dtutil(&args),
    }
}

fn parse_subcommand(args: &[String]) -> Result<Command> {
    use clap::Parser;
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
    match args[0].as_str() {
        "batch" => crate::batch::parse_args(args).map(|a| Command::Batch(Box::new(a))),
        "project" => {
            let parsed = Project::try_parse_from(args).map_err(clap_error)?;
            let (encrypt_level, encrypt_password) = match parsed.encrypt.as_deref() {
                None => (None, None),
                Some(spec) => {
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
                                "--encrypt: `{level}` is not a protection level (0, 2 or 3)"
                            ))
                        })?;
                    (
                        Some(level),
                        password.filter(|p| !p.is_empty()).map(SecretSpec::parse),
                    )
                }
            };
            let algorithm = match parsed.algorithm.as_deref() {
                None => None,
                Some(a) => Some(Algorithm::parse(a).ok_or_else(|| {
                    Error::command_line(format!(
                        "--algorithm `{a}` is not known: use 3des or aes256"
                    ))
                })?),
            };
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
            }))
        }
        other => Err(Error::command_line(format!(
            "unknown subcommand `{other}` (known: {}); dtutil options start with / or -",
            SUBCOMMANDS.join(", ")
        ))),
    }
}

fn clap_error(e: clap::Error) -> Error {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{e}");
        std::process::exit(0);
    }
    Error::command_line(e.to_string().trim_end().to_string())
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
    help: bool,
    version: bool,
}

fn looks_like_option(token: &str) -> bool {
    token.starts_with("--")
        || ((token.starts_with('/') || token.starts_with('-'))
            && matches!(switches::lookup(&token[1..]), Match::Found(_)))
}

fn parse_raw(args: &[String]) -> Result<Raw> {
    let mut raw = Raw::default();
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        i += 1;
        if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match name {
                "dry-run" => raw.dry_run = true,
                "json" => raw.json = true,
                "allow-lost-sensitive" => raw.allow_lost_sensitive = true,
                "help" => raw.help = true,
                "version" => raw.version = true,
                "algorithm" => {
                    let value = match inline {
                        Some(v) => v,
                        None => {
                            let v = args.get(i).cloned().ok_or_else(|| {
                                Error::command_line("--algorithm needs a value: 3des or aes256")
                            })?;
                            i += 1;
                            v
                        }
                    };
                    raw.algorithm = Some(Algorithm::parse(&value).ok_or_else(|| {
                        Error::command_line(format!(
                            "--algorithm `{value}` is not known: use 3des or aes256"
                        ))
                    })?);
                }
                _ => {
                    return Err(Error::command_line(format!(
                        "unknown option `{token}` (long options: --dry-run, --json, --algorithm, --allow-lost-sensitive, --help, --version)"
                    )))
                }
            }
            continue;
        }
        let Some(body) = token.strip_prefix('/').or_else(|| token.strip_prefix('-')) else {
            return Err(Error::command_line(format!(
                "unexpected argument `{token}`: options start with / or -, and each takes at most one value (quote values with spaces)"
            )));
        };
        let switch = match switches::lookup(body) {
            Match::Found(s) => s,
            Match::Ambiguous(candidates) => {
                let names: Vec<String> = candidates.iter().map(|s| s.syntax()).collect();
                return Err(Error::command_line(format!(
                    "option `{token}` is ambiguous: it could be {}; type more of the name",
                    names.join(", ")
                )));
            }
            Match::Unknown => {
                if let Some(glued) = body.find([';', ':', '=']) {
                    if let Match::Found(s) = switches::lookup(&body[..glued]) {
                        return Err(Error::command_line(format!(
                            "unknown option `{token}`: put a space between the option and its argument (`{} {}`)",
                            &token[..glued + 1],
                            &body[glued + 1..]
                        ))
                        .context(format!("/{}", s.name)));
                    }
                }
                return Err(Error::command_line(format!(
                    "unknown option `{token}` (dtutil /? lists the options)"
                )));
            }
        };
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
        if switch.id == Id::Remark {
            raw.remarks.extend(value);
            continue;
        }
        if let Some((first, _)) = raw.given.get(&switch.id) {
            return Err(Error::command_line(format!(
                "option {} is given twice (`{first}` and `{token}`)",
                switch.full()
            )));
        }
        raw.given.insert(switch.id, (token.clone(), value));
    }
    Ok(raw)
}

fn parse_dtutil(args: &[String]) -> Result<Command> {
    let raw = parse_raw(args)?;
    if raw.version {
        return Ok(Command::Version);
    }
    Ok(Command::Dtutil(Box::new(validate(raw)?)))
}

/// Package actions and folder actions: exactly one per command.
const ACTIONS: &[Id] = &[
    Id::Copy,
    Id::Move,
    Id::Delete,
    Id::Exists,
    Id::Encrypt,
    Id::Sign,
    Id::Dump,
    Id::FCreate,
    Id::FDelete,
    Id::FDirectory,
    Id::FExists,
    Id::FRename,
    Id::Help,
    Id::Usage,
];

const SOURCES: &[Id] = &[Id::File, Id::Sql, Id::Dts];

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

    fn sql_side(&self, server: Id, user: Id, password: Id) -> Result<SqlConnection> {
        if self.has(password) && !self.has(user) {
            return Err(Error::command_line(format!(
                "{} needs {} as well (a password without a login); without a user, integrated authentication is used",
                self.typed(password),
                switches::by_id(user).full()
            )));
        }
        Ok(SqlConnection {
            server: self.value(server).map(str::to_string),
            user: self.value(user).map(str::to_string),
            password: self.secret(password),
        })
    }

    fn source_sql(&self) -> Result<SqlConnection> {
        self.sql_side(Id::SourceServer, Id::SourceUser, Id::SourcePassword)
    }
    fn dest_sql(&self) -> Result<SqlConnection> {
        self.sql_side(Id::DestServer, Id::DestUser, Id::DestPassword)
    }
}

fn location_keyword(option: &str, field: &str, allowed: &[LocationKind]) -> Result<LocationKind> {
    let kind = match field.to_ascii_uppercase().as_str() {
        "FILE" => LocationKind::File,
        "SQL" => LocationKind::Sql,
        "DTS" => LocationKind::Dts,
        _ => {
            return Err(Error::command_line(format!(
                "{option}: unknown location `{field}`; use {}",
                allowed
                    .iter()
                    .map(|k| k.keyword())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    if !allowed.contains(&kind) {
        let why = if allowed.contains(&LocationKind::File) {
            String::new()
        } else {
            " (folder actions apply to SQL and DTS; a FILE folder is a directory)".to_string()
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
    if kind != LocationKind::File && path.split(['\\', '/']).any(|seg| seg == "..") {
        return Err(Error::command_line(format!(
            "{option}: `..` is not allowed in {} paths (store paths never escape their root)",
            kind.keyword()
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
) -> Result<Vec<String>> {
    let fields = fields::split(value)
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

fn validate(raw: Raw) -> Result<Plan> {
    let v = Validator { raw };
    let output = if v.raw.json {
        OutputMode::Json
    } else {
        OutputMode::Text
    };
    let actions: Vec<Id> = ACTIONS.iter().copied().filter(|id| v.has(*id)).collect();
    if actions.len() > 1 {
        return Err(Error::command_line(format!(
            "{} and {} cannot be used together: give one action",
            v.typed(actions[0]),
            v.typed(actions[1])
        )));
    }
    let sources: Vec<Id> = SOURCES.iter().copied().filter(|id| v.has(*id)).collect();
    if sources.len() > 1 {
        return Err(Error::command_line(format!(
            "{} and {} cannot be used together: give exactly one source package",
            v.typed(sources[0]),
            v.typed(sources[1])
        )));
    }
    let source_kind = sources.first().map(|id| match id {
        Id::File => LocationKind::File,
        Id::Sql => LocationKind::Sql,
        _ => LocationKind::Dts,
    });
    let action_id = actions.first().copied();
    let is_folder_action = matches!(
        action_id,
        Some(Id::FCreate | Id::FDelete | Id::FDirectory | Id::FExists | Id::FRename)
    );
    let is_help = v.raw.help || matches!(action_id, Some(Id::Help | Id::Usage));

    // /Source* belong to a SQL source (or to folder actions on SQL; /SourceServer also
    // names the machine of a DTS store).
    for id in [Id::SourceServer, Id::SourceUser, Id::SourcePassword] {
        if !v.has(id) || is_folder_action {
            continue;
        }
        let allowed = match source_kind {
            Some(LocationKind::Sql) => true,
            Some(LocationKind::Dts) => id == Id::SourceServer,
            _ => false,
        };
        if !allowed {
            let source = sources
                .first()
                .map(|s| v.typed(*s))
                .unwrap_or_else(|| "no /SQL source".into());
            return Err(Error::command_line(format!(
                "{} applies to a /SQL source, not to {source}",
                v.typed(id)
            )));
        }
    }
    let source_sql = v.source_sql()?;
    let dest_sql = v.dest_sql()?;

    let make_source = |kind: LocationKind, path: &str| -> Result<PackageLocation> {
        let option = sources.first().map(|s| v.typed(*s)).unwrap_or_default();
        check_store_path(&option, kind, path)?;
        Ok(PackageLocation {
            kind,
            path: path.to_string(),
            sql: match kind {
                LocationKind::File => None,
                _ => Some(source_sql.clone()),
            },
        })
    };
    let source = match (sources.first(), source_kind) {
        (Some(id), Some(kind)) => Some(make_source(kind, v.value(*id).unwrap_or_default())?),
        _ => None,
    };

    let dest_options = [Id::DestServer, Id::DestUser, Id::DestPassword];
    let make_destination =
        |option_id: Id, kind: LocationKind, path: &str| -> Result<PackageLocation> {
            let option = v.typed(option_id);
            if path.is_empty() {
                return Err(Error::command_line(format!(
                    "{option}: the destination path is empty; the syntax is {}",
                    switches::by_id(option_id).syntax()
                )));
            }
            check_store_path(&option, kind, path)?;
            if kind == LocationKind::File {
                if let Some(id) = dest_options.iter().find(|id| v.has(**id)) {
                    return Err(Error::command_line(format!(
                        "{} applies to a SQL destination; {option} writes to FILE",
                        v.typed(*id)
                    )));
                }
            }
            if kind == LocationKind::Dts && (v.has(Id::DestUser) || v.has(Id::DestPassword)) {
                return Err(Error::command_line(format!(
                "/DestUser and /DestPassword apply to a SQL destination; {option} writes to DTS"
            )));
            }
            Ok(PackageLocation {
                kind,
                path: path.to_string(),
                sql: match kind {
                    LocationKind::File => None,
                    _ => Some(dest_sql.clone()),
                },
            })
        };
    if !matches!(
        action_id,
        Some(Id::Copy | Id::Move | Id::Encrypt | Id::Sign)
    ) && !is_help
    {
        if let Some(id) = dest_options.iter().find(|id| v.has(**id)) {
            return Err(Error::command_line(format!(
                "{} applies to the destination of /COPY, /MOVE or /ENCRYPT",
                v.typed(*id)
            )));
        }
    }

    let action = if is_help {
        Action::Help {
            option: if action_id == Some(Id::Help) {
                v.value(Id::Help)
                    .map(|s| s.trim_start_matches(['/', '-']).to_string())
            } else {
                None
            },
        }
    } else {
        match action_id {
            None if v.has(Id::IdRegenerate) && source.is_some() => Action::RegenerateId,
            None if source.is_none() && !v.has(Id::IdRegenerate) && v.raw.given.is_empty() && !v.raw.dry_run => {
                Action::Help { option: None }
            }
            None => {
                return Err(Error::command_line(
                    "no action given: add /COPY, /MOVE, /DELETE, /EXISTS, /ENCRYPT, /IDRegenerate or a folder action (dtutil /? lists them)",
                ))
            }
            Some(id) => build_action(&v, id, &make_destination)?,
        }
    };

    let needs_source = matches!(
        action,
        Action::Copy { .. }
            | Action::Move { .. }
            | Action::Delete
            | Action::Exists
            | Action::Encrypt { .. }
            | Action::Sign { .. }
            | Action::RegenerateId
    );
    if needs_source && source.is_none() {
        return Err(Error::command_line(format!(
            "{} needs a source package: add /FILE, /SQL or /DTS",
            v.typed(action_id.unwrap_or(Id::IdRegenerate))
        )));
    }
    if is_folder_action {
        if let Some(s) = sources.first() {
            return Err(Error::command_line(format!(
                "{} works on folders; it takes no source package ({})",
                v.typed(action_id.expect("folder action")),
                v.typed(*s)
            )));
        }
    }
    let source = if needs_source { source } else { None };

    Ok(Plan {
        action,
        source,
        decrypt: v.secret(Id::Decrypt),
        quiet: v.has(Id::Quiet),
        remarks: v.raw.remarks.clone(),
        regenerate_id: v.has(Id::IdRegenerate),
        algorithm: v.raw.algorithm,
        allow_lost_sensitive: v.raw.allow_lost_sensitive,
        output,
        dry_run: v.raw.dry_run,
    })
}

fn build_action(
    v: &Validator,
    id: Id,
    make_destination: &dyn Fn(Id, LocationKind, &str) -> Result<PackageLocation>,
) -> Result<Action> {
    use LocationKind::{Dts, File, Sql};
    let switch = switches::by_id(id);
    let option = v.typed(id);
    let value = v.value(id).unwrap_or_default();
    let folder = |kind: LocationKind| FolderLocation {
        kind,
        sql: Some(v.source_sql().unwrap_or_default()),
    };
    Ok(match id {
        Id::Delete => Action::Delete,
        Id::Exists => Action::Exists,
        Id::Dump => {
            return Err(Error::command_line(format!(
                "{option}: /Dump makes debug dumps of running dtexec processes and exists only on Windows; it is not supported on this platform"
            )))
        }
        Id::Copy | Id::Move => {
            let f = fields_of(&option, switch, value, 2, 2)?;
            let kind = location_keyword(&option, &f[0], &[Sql, File, Dts])?;
            let destination = make_destination(id, kind, &f[1])?;
            if id == Id::Copy {
                Action::Copy { destination }
            } else {
                Action::Move { destination }
            }
        }
        Id::Sign => {
            let f = fields_of(&option, switch, value, 3, 3)?;
            let kind = location_keyword(&option, &f[0], &[Sql, File, Dts])?;
            Action::Sign {
                destination: make_destination(id, kind, &f[1])?,
                hash: f[2].clone(),
            }
        }
        Id::Encrypt => {
            let f = fields_of(&option, switch, value, 3, 4)?;
            if f[0].eq_ignore_ascii_case("DTS") {
                return Err(Error::command_line(format!(
                    "{option}: dtutil does not support /ENCRYPT to the package store (DTS); encrypt to FILE or SQL, then /COPY to DTS"
                )));
            }
            let kind = location_keyword(&option, &f[0], &[Sql, File])?;
            let level = f[2]
                .trim()
                .parse::<u32>()
                .ok()
                .and_then(ProtectionLevel::from_number)
                .ok_or_else(|| {
                    Error::command_line(format!(
                        "{option}: protection level `{}` is not one of 0 (DontSaveSensitive), 1, 2 (EncryptSensitiveWithPassword), 3 (EncryptAllWithPassword), 4, 5 (ServerStorage)",
                        f[2]
                    ))
                })?;
            if level.is_user_key() {
                return Err(Error::command_line(format!(
                    "{option}: protection level {level} needs Windows DPAPI (a Windows user's key), which is not available on this platform; use 2 or 3 with a password"
                )));
            }
            if level == ProtectionLevel::ServerStorage && kind != Sql {
                return Err(Error::command_line(format!(
                    "{option}: protection level 5 (ServerStorage) is only for SQL destinations; use 0, 2 or 3 for FILE"
                )));
            }
            let password = f.get(3).filter(|p| !p.is_empty()).map(|p| SecretSpec::parse(p));
            if level.needs_password() && password.is_none() {
                return Err(Error::command_line(format!(
                    "{option}: protection level {level} needs a password as the fourth part: {}",
                    switch.syntax()
                )));
            }
            Action::Encrypt {
                destination: make_destination(id, kind, &f[1])?,
                level,
                password,
            }
        }
        Id::FCreate | Id::FDelete => {
            let f = fields_of(&option, switch, value, 3, 3)?;
            let kind = location_keyword(&option, &f[0], &[Sql, Dts])?;
            check_store_path(&option, kind, &f[1])?;
            check_store_path(&option, kind, &f[2])?;
            if f[2].is_empty() {
                return Err(Error::command_line(format!("{option}: the folder name is empty")));
            }
            let (parent, name) = (f[1].clone(), f[2].clone());
            if id == Id::FCreate {
                Action::FolderCreate { folder: folder(kind), parent, name }
            } else {
                Action::FolderDelete { folder: folder(kind), parent, name }
            }
        }
        Id::FDirectory => {
            let f = fields_of(&option, switch, value, 1, 3)?;
            let kind = location_keyword(&option, &f[0], &[Sql, Dts])?;
            let path = f.get(1).cloned().unwrap_or_else(|| "\\".into());
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
            Action::FolderDirectory { folder: folder(kind), path, recursive }
        }
        Id::FExists => {
            let f = fields_of(&option, switch, value, 2, 2)?;
            let kind = location_keyword(&option, &f[0], &[Sql, Dts])?;
            check_store_path(&option, kind, &f[1])?;
            Action::FolderExists { folder: folder(kind), path: f[1].clone() }
        }
        Id::FRename => {
            let f = fields_of(&option, switch, value, 4, 4)?;
            let kind = location_keyword(&option, &f[0], &[Sql, Dts])?;
            for part in &f[1..] {
                check_store_path(&option, kind, part)?;
            }
            if f[3].is_empty() {
                return Err(Error::command_line(format!("{option}: the new folder name is empty")));
            }
            Action::FolderRename {
                folder: folder(kind),
                parent: f[1].clone(),
                old_name: f[2].clone(),
                new_name: f[3].clone(),
            }
        }
        other => unreachable!("{other:?} is not an action"),
    })
}

/// The full help (`/?`) or one option's (`/H Option`), from the switch table.
pub fn help_text(option: Option<&str>) -> Result<String> {
    if let Some(name) = option {
        let name = name.trim_start_matches(['/', '-']);
        return match switches::lookup(name) {
            Match::Found(s) => Ok(format!(
                "{}\n\n  {}\n\n  Example: {}\n",
                s.syntax(),
                s.doc,
                s.example
            )),
            Match::Ambiguous(c) => Err(Error::command_line(format!(
                "/H {name}: ambiguous, could be {}",
                c.iter().map(|s| s.syntax()).collect::<Vec<_>>().join(", ")
            ))),
            Match::Unknown => Err(Error::command_line(format!(
                "/H {name}: no such option (dtutil /? lists them)"
            ))),
        };
    }
    let mut out = String::from(
        "dtutil: copy, move, delete and re-protect SSIS packages (a cross-platform rebuild of Microsoft dtutil)\n\n\
         Usage: dtutil /option [value] [/option [value]] ...\n\
         Options start with / or -; names are case-insensitive and may be abbreviated down\n\
         to the part outside the brackets. Values with spaces or ; go in quotes.\n\n",
    );
    for s in SWITCHES {
        out.push_str(&format!("  {:<58} {}\n", s.syntax(), first_sentence(s.doc)));
    }
    out.push_str(
        "\nBeyond dtutil:\n\
         \x20 --dry-run                 print the resolved plan as JSON and touch nothing\n\
         \x20 --json                    print results as JSON lines\n\
         \x20 --algorithm 3des|aes256   cipher for re-encrypted values (default: the package's own)\n\
         \x20 --allow-lost-sensitive    write user-key (level 1) packages whose values cannot be read here\n\
         \x20 dtutil inspect [--json] [--password PW] PATH...   what packages are; never prints values\n\n\
         Passwords: give them as env:NAME or file:PATH (pass:TEXT for a literal) to keep them\n\
         out of the process list and shell history.\n\n\
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
