//! The validator: [`Raw`] options become a [`Plan`], or an exit-6 error that names the
//! option as typed and the fix (and never echoes a value that may be a password).

use super::fields;
use super::help::help_topic;
use super::help_plan;
use super::switches::{self, Id, Role, Switch, SWITCHES};
use super::tokens::Raw;
use super::values::{self, LevelError};
use crate::error::{Error, Result};
use crate::package::ProtectionLevel;
use crate::plan::cmd_variables::cmd_variable_hint;
use crate::plan::{
    Action, FolderLocation, LocationKind, OutputMode, PackageLocation, Plan, SecretSpec,
    SqlConnection,
};
use zeroize::Zeroizing;

/// The plan the options ask for: one action, its source and destination, modifiers.
pub(super) fn validate(raw: Raw) -> Result<Plan> {
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
            check_package_path(&option, kind, path)?;
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
        ir: v.raw.ir.clone(),
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
            check_folder_path(&option, kind, &f[1])?;
            check_folder_name(&option, "folder name", &f[2])?;
            check_msdb_name_length(&option, kind, &f[2])?;
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
            check_folder_path(&option, kind, &path)?;
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
            check_folder_path(&option, kind, &f[1])?;
            Action::FolderExists {
                folder: v.folder(&option, kind)?,
                path: f[1].clone(),
            }
        }
        Id::FRename => {
            let f = fields_of(&option, switch, value, 4, 4)?;
            let kind = location_keyword(&option, switch, &f[0], &[Sql, Dts])?;
            check_folder_path(&option, kind, &f[1])?;
            check_folder_name(&option, "old folder name", &f[2])?;
            check_folder_name(&option, "new folder name", &f[3])?;
            check_msdb_name_length(&option, kind, &f[3])?;
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
        return Err(missing_part(option, switch, &f));
    }
    let (level, password) =
        values::protection(&f[2], f.get(3).map(String::as_str)).map_err(|e| match e {
            LevelError::NotALevel => {
                let levels: Vec<String> = ProtectionLevel::all()
                    .iter()
                    .map(|l| l.to_string())
                    .collect();
                // The full name once when it is what was typed (review user F21).
                let full = if option.eq_ignore_ascii_case("/ENCRYPT") {
                    String::new()
                } else {
                    " (/ENCRYPT)".to_string()
                };
                Error::command_line(format!(
                    "{option}{full}: the protection level (third part) must be a number 0-5: {}",
                    levels.join(", ")
                ))
            }
            LevelError::UserKey(level) => Error::command_line(format!(
                "{option}: protection level {level} needs Windows DPAPI (a Windows user's key), which is not available on this platform; use 2 (EncryptSensitiveWithPassword) or 3 (EncryptAllWithPassword) with a password instead"
            )),
            LevelError::NeedsPassword(level) => Error::command_line(format!(
                "{option}: protection level {level} needs a password as the fourth part: {} (env:NAME or file:PATH keep it out of the process list)",
                switch.syntax()
            )),
        })?;
    // Level 5 never needs a password, so this comes after the password check as it
    // would before it.
    if level == ProtectionLevel::ServerStorage && kind != Sql {
        return Err(Error::command_line(format!(
            "{option}: ServerStorage (5) is only for SQL destinations (msdb's roles protect the package); use 0, 2 or 3 for FILE"
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
        values::login_name(&self.typed(user), self.value(user))?;
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
        check_package_path(&option, kind, path)?;
        // A source with a cmd variable is named when it is found missing, first.
        let source_has_one = given_with(self, &[Role::Source])
            .first()
            .and_then(|&id| self.value(id))
            .is_some_and(|source| cmd_variable_hint(source).is_some());
        if !source_has_one {
            let secret = switches::by_id(action).secret();
            refuse_cmd_variable(&option, "destination", path, secret)?;
        }
        if kind == LocationKind::File {
            // `FILE;dir\` ("into this folder") would write a file named `dir`, on an
            // Azure Files share silently: the same refusal as a store path's.
            refuse_folder_path(&option, path)?;
        }
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

/// A location written with a cmd variable the shell left as it was (`Folder\%~nf`) names
/// one literal package that every iteration of a half-translated loop would overwrite
/// (review user3 F3): refused, whatever the action.
fn refuse_cmd_variable(option: &str, what: &str, path: &str, secret: bool) -> Result<()> {
    let Some(hint) = cmd_variable_hint(path) else {
        return Ok(());
    };
    // /ENCRYPT's fields are never echoed: a misplaced password could be any of them.
    let hint = if secret {
        "holds a cmd variable (%f, %~nf, %NAME%) that was not expanded: this shell writes a loop variable as \"$f\" and %NAME% as \"$NAME\" (PowerShell: $f, $env:NAME)".to_string()
    } else {
        hint.trim_start_matches("; ").to_string()
    };
    Err(Error::command_line(format!(
        "{option}: the {what} {hint}; nothing was done"
    )))
}

/// A folder action's path: a cmd variable in it is refused, then [`check_store_path`].
fn check_folder_path(option: &str, kind: LocationKind, path: &str) -> Result<()> {
    refuse_cmd_variable(option, "folder path", path, false)?;
    check_store_path(option, kind, path)
}

/// Store paths never escape their root (FILE paths are the file system's own).
fn check_store_path(option: &str, kind: LocationKind, path: &str) -> Result<()> {
    if kind != LocationKind::File {
        let names = values::store_path_names(option, kind, path)?;
        for name in &names {
            check_msdb_name_length(option, kind, name)?;
        }
    }
    Ok(())
}

/// msdb cuts a name past 128 characters without an error (review user4 F4): refused
/// with exit 6 before anything is opened. (A package store root over msdb is caught by
/// the msdb store itself.)
fn check_msdb_name_length(option: &str, kind: LocationKind, name: &str) -> Result<()> {
    if kind != LocationKind::Sql {
        return Ok(());
    }
    match crate::store::path::msdb_name_too_long(name) {
        Some(why) => Err(Error::command_line(format!(
            "{option}: {why}; nothing was done"
        ))),
        None => Ok(()),
    }
}

/// [`check_store_path`] for a package, which a path ending with a separator does not
/// name: `SQL;Folder\` ("into this folder") is no package `Folder`, which dropping
/// the separator would create.
fn check_package_path(option: &str, kind: LocationKind, path: &str) -> Result<()> {
    if kind != LocationKind::File {
        refuse_folder_path(option, path)?;
    }
    check_store_path(option, kind, path)
}

/// A package path ending with a separator names a folder, never a package.
fn refuse_folder_path(option: &str, path: &str) -> Result<()> {
    if path.trim_end().ends_with(['\\', '/']) {
        return Err(Error::command_line(format!(
            "{option}: `{}` ends with a separator, so it names a folder, not a package; give Folder\\Name (nothing was done)",
            path.trim()
        )));
    }
    Ok(())
}

/// One folder name (not a path): not empty, no `\` or `/`, not `.` or `..`.
fn check_folder_name(option: &str, what: &str, name: &str) -> Result<()> {
    refuse_cmd_variable(option, what, name, false)?;
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::command_line(format!(
            "{option}: the {what} is empty"
        )));
    }
    crate::store::path::check_segment(name).map_err(|e| {
        Error::command_line(format!(
            "{option}: the {what} `{name}` must be one folder name, without \\ or / and not . or .. ({e}; store paths never escape their root)"
        ))
    })
}

/// A semicolon argument with too few parts. A lone `FILE`, `SQL` or `DTS` is the
/// commonest paste mistake: bash and PowerShell end the command at an unquoted `;` and
/// run the rest as commands of their own (review user F6). Never echoes the fields.
fn missing_part(option: &str, switch: &Switch, fields: &[String]) -> Error {
    let syntax = switch.syntax();
    let first = fields.first().map(|f| f.trim()).unwrap_or_default();
    let keyword = |f: &str| {
        ["FILE", "SQL", "DTS"]
            .iter()
            .any(|k| f.eq_ignore_ascii_case(k))
    };
    let password = if switch.id == Id::Encrypt {
        " (and give the password as env:NAME: the part after `;` ran as a command and may be in the shell's history)"
    } else {
        ""
    };
    let hint = if fields.len() == 1 && keyword(first) {
        format!(
            ". Only `{}` arrived: the shell ended the command at the unquoted `;`; put the whole value in quotes, {option} \"{};...\"{password}",
            first.to_ascii_uppercase(),
            first.to_ascii_uppercase()
        )
    } else if fields.len() == 1
        && first
            .split_once([':', ','])
            .is_some_and(|(head, _)| keyword(head.trim()))
    {
        ". The location and the path are separated by `;`, as in \"FILE;Path\"".to_string()
    } else {
        String::new()
    };
    Error::command_line(format!(
        "{option} is missing a part; the syntax is {syntax}{hint}"
    ))
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
        return Err(missing_part(option, switch, &fields));
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
