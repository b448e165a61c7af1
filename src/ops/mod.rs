//! Carries out a plan: each dtutil action written once, over the [`Store`] interface.

pub(crate) mod decrypt;
mod folders;
mod identity;
mod load_errors;
pub mod output;
pub mod pipeline;
mod prompt;
pub mod secrets;
mod server_storage;

use crate::error::{Error, ExitCode, Result};
use crate::package::{self, Target};
use crate::plan::cmd_variables::cmd_variable_hint;
use crate::plan::{Action, LocationKind, OutputMode, PackageLocation, Plan, SqlConnection};
use crate::store::{
    Location, NewFileMode, PackageMeta, SqlCredentials, Store, StoreConfig, StoreError,
};
use identity::{check_source_before_delete, check_write_protected_source, refuse_same_package};
use load_errors::{not_a_package_but_a_project_file, package_error, project_file_kind};
use output::Printer;
pub use pipeline::hex_sha256;
use pipeline::{Prepared, Recipe, Reprotect};
use prompt::confirm_overwrite;

/// The printer for a command line: JSON when `--json` appears anywhere, so even a
/// command-line error comes out as JSON.
pub fn printer_for(args: &[std::ffi::OsString]) -> Printer {
    Printer::new(if args.iter().any(|a| a == "--json") {
        OutputMode::Json
    } else {
        OutputMode::Text
    })
}

/// Prints an error and returns its exit code.
pub fn fail(printer: &mut Printer, error: &Error) -> i32 {
    printer.error(error);
    error.exit.code()
}

/// Runs one dtutil command (`--dry-run`: prints its plan instead); `stores` configures
/// the stores it opens (`--store-config` names the package store's file over it).
pub fn run(plan: &Plan, stores: &StoreConfig, printer: &mut Printer) -> Result<ExitCode> {
    printer.mode = plan.output;
    let plan = &resolve_file_paths(plan, stores)?;
    if plan.dry_run {
        print_plan(plan);
        return Ok(ExitCode::Success);
    }
    match &plan.store_config {
        Some(path) => run_plan(plan, &stores.clone().with_package_store_file(path), printer),
        None => run_plan(plan, stores, printer),
    }
}

/// FILE paths as Windows scripts write them (`Z:\x`, `.\x`) become this machine's
/// paths before anything is shown (`--dry-run`) or opened; an unmapped drive letter
/// or a UNC path that is not Azure Files is a command-line error.
fn resolve_file_paths(plan: &Plan, stores: &StoreConfig) -> Result<Plan> {
    let mut plan = plan.clone();
    let resolve = |location: &mut PackageLocation| -> Result<()> {
        if location.kind == LocationKind::File {
            location.path = crate::store::resolve_file_path(&location.path, stores)
                .map_err(Error::command_line)?;
        }
        Ok(())
    };
    if let Some(source) = plan.source.as_mut() {
        resolve(source)?;
    }
    match &mut plan.action {
        Action::Copy { destination }
        | Action::Move { destination }
        | Action::Encrypt { destination, .. }
        | Action::Sign { destination, .. } => resolve(destination)?,
        _ => {}
    }
    Ok(plan)
}

fn print_plan(plan: &Plan) {
    let mut value = serde_json::to_value(plan).expect("plans serialise");
    if let Action::Encrypt { level, .. } = &plan.action {
        value["protection_change"] = serde_json::json!({
            "to": level.number(),
            "to_name": level.name(),
            "algorithm": plan.algorithm.map(|a| a.name()).unwrap_or("keep"),
        });
    }
    crate::console::println(&crate::redact::for_display(&value.to_string()));
}

fn run_plan(plan: &Plan, stores: &StoreConfig, printer: &mut Printer) -> Result<ExitCode> {
    match &plan.action {
        Action::Help { .. } => Err(Error::failure("help is printed by the command line layer")),
        Action::Dump { .. } => Err(Error::command_line(
            "/Dump makes process dumps of running dtexec processes and exists only on Windows; it is not supported on this platform",
        )),
        Action::Sign { .. } => Err(Error::failure(
            "/SIGN is not yet supported: how SSIS stores a package signature has not been confirmed (see README, \"Not yet supported\")",
        )),
        Action::FolderCreate { .. }
        | Action::FolderDelete { .. }
        | Action::FolderDirectory { .. }
        | Action::FolderExists { .. }
        | Action::FolderRename { .. } => folders::run(plan, stores, printer),
        _ => run_package_action(plan, stores, printer),
    }
}

/// Resolves the passwords of a SQL connection (only now, when it is used).
fn sql_credentials(sql: Option<&SqlConnection>, side: &str) -> Result<SqlCredentials> {
    let sql = sql.cloned().unwrap_or_default();
    Ok(SqlCredentials {
        server: sql.server,
        user: sql.user,
        password: secrets::resolve_opt(sql.password.as_ref(), &format!("/{side}Password"))?,
        login_options: Some(format!("/{side}User and /{side}Password")),
    })
}

/// Opens the backend for a location. `side` is `Source` or `Dest`, for messages.
fn open_location(
    kind: LocationKind,
    path: &str,
    sql: Option<&SqlConnection>,
    side: &str,
    stores: &StoreConfig,
) -> Result<Box<dyn Store>> {
    let location = match kind {
        LocationKind::File => Location::file_path(path),
        LocationKind::Sql => Location::Sql(sql_credentials(sql, side)?),
        LocationKind::Dts => Location::PackageStore(sql_credentials(sql, side)?),
    };
    crate::store::open(&location, stores).map_err(|e| store_error(e, ExitCode::Failure))
}

fn open_store(
    location: &PackageLocation,
    side: &str,
    stores: &StoreConfig,
    printer: &mut Printer,
) -> Result<Box<dyn Store>> {
    let store = open_location(
        location.kind,
        &location.path,
        location.sql.as_ref(),
        side,
        stores,
    )?;
    warn_server_not_used(&*store, &location.path, side, printer);
    Ok(store)
}

/// A `/SourceServer` or `/DestServer` the store does not use for `path` (a package
/// store folder root) is said, never silently dropped (review user F22).
fn warn_server_not_used(store: &dyn Store, path: &str, side: &str, printer: &mut Printer) {
    if let Some(why) = store.server_not_used(path) {
        printer.warn(&format!("/{side}Server {why}"));
    }
}

/// A new file made from a source with these permission bits (none: not a local file).
fn new_file_like(source_mode: Option<u32>) -> NewFileMode {
    source_mode.map_or(NewFileMode::Umask, NewFileMode::LikeSource)
}

pub(crate) fn store_error(error: StoreError, missing_exit: ExitCode) -> Error {
    match error {
        StoreError::NotFound(m) => Error::new(missing_exit, m),
        other => Error::failure(other.to_string()),
    }
}

/// The result of one package action, as printed with `--json`.
#[derive(Default)]
struct Report {
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.fields.insert(key.to_string(), value.into());
    }
}

fn run_package_action(
    plan: &Plan,
    stores: &StoreConfig,
    printer: &mut Printer,
) -> Result<ExitCode> {
    let source = plan
        .source
        .as_ref()
        .ok_or_else(|| Error::command_line("this action needs a package: /FILE, /SQL or /DTS"))?;
    let source_store = open_store(source, "Source", stores, printer)?;
    let source_name = source_store.describe(&source.path);
    let mut report = Report::default();
    report.set("action", action_name(&plan.action));
    report.set("source", source_name.clone());
    let is_move = matches!(plan.action, Action::Move { .. });
    let open_dest = |package: &Prepared<'_>, to: &PackageLocation, printer: &mut Printer| {
        open_destination(
            package,
            (&*source_store, source, &source_name),
            to,
            is_move,
            stores,
            printer,
        )
    };

    let code = match &plan.action {
        Action::Exists => {
            let exists = source_store
                .exists(&source.path)
                .map_err(|e| store_error(e, ExitCode::Failure))?;
            report.set("exists", exists);
            // A guard `dtutil ... /EXISTS || ...` would take the "missing" branch for a
            // name no package has; said as the argument's mistake, not as an answer.
            if let (false, Some(hint)) = (exists, cmd_variable_hint(&source.path)) {
                return Err(Error::command_line(format!(
                    "{source_name}: the package does not exist{hint}"
                )));
            }
            printer.line(if exists {
                output::PACKAGE_EXISTS
            } else {
                output::PACKAGE_MISSING
            });
            if exists {
                ExitCode::Success
            } else {
                ExitCode::Failure
            }
        }
        Action::Delete => {
            if !source_store
                .exists(&source.path)
                .map_err(|e| store_error(e, ExitCode::Failure))?
            {
                return Err(Error::not_found(format!(
                    "{source_name}: the package does not exist; nothing deleted{}",
                    cmd_variable_hint(&source.path).unwrap_or_default()
                )));
            }
            let protected = check_write_protected_source(
                &*source_store,
                &source.path,
                &source_name,
                plan.quiet,
                "/DELETE",
            )?;
            source_store
                .delete(&source.path)
                .map_err(|e| store_error(e, ExitCode::PackageNotFound))?;
            note_protected_deleted(printer, protected, &source_name);
            printer.line(output::SUCCESS);
            ExitCode::Success
        }
        Action::Copy { destination } | Action::Move { destination } => {
            // Taken before the read: a change during the read moves it too.
            let stamped = source_store.stamp(&source.path);
            let (bytes, source_mode) = read_source(&*source_store, &source.path, &source_name)?;
            // A source that cannot be stamped but read is a store failure of its own.
            let source_stamp = stamped.map_err(|e| store_error(e, ExitCode::Failure))?;
            let source_sha256 = is_move.then(|| hex_sha256(&bytes));
            let decrypt = secrets::resolve_opt(plan.decrypt.as_ref(), "/Decrypt")?;
            if let (Some(password), false) = (decrypt.as_deref(), plan.regenerate_id) {
                let file_to_file =
                    source.kind == LocationKind::File && destination.kind == LocationKind::File;
                match decrypt::on_a_copy(&bytes, password, file_to_file) {
                    Ok(Some(note)) => printer.note(&note),
                    Ok(None) => {}
                    Err(e) => return Err(package_error(e, &source_name)),
                }
            }
            let recipe = Recipe {
                decrypt: decrypt.as_deref().map(|s| s.as_str()),
                // /IDRegenerate rewrites the ID alone; otherwise the bytes go as they are.
                reprotect: plan.regenerate_id.then(|| reprotect(plan, Target::Keep)),
            };
            let package = prepare(bytes, &recipe, &source_name, printer, &mut report)?;
            // FILE to FILE is a byte copy (windows-scripts.md); into msdb or the package
            // store dtutil loads the package, so what is none is refused as batch does.
            let file_to_file =
                source.kind == LocationKind::File && destination.kind == LocationKind::File;
            if !file_to_file {
                if let Err(e) = package.facts() {
                    if let Some(kind) = project_file_kind(&package.bytes, e) {
                        return Err(not_a_package_but_a_project_file(kind, &source_name));
                    }
                    if pipeline::is_not_a_package(e) {
                        return Err(Error::new(
                            ExitCode::PackageCannotLoad,
                            format!("{source_name} cannot be loaded: not an SSIS package file: {e}; nothing written"),
                        ));
                    }
                }
            }
            check_target(plan, &package, &source_name, printer, &mut report)?;
            let dest_store = open_dest(&package, destination, printer)?;
            package
                .check_msdb_columns(&*dest_store, &destination.path, "/Decrypt PASSWORD")
                .map_err(|m| {
                    Error::new(ExitCode::PackageCannotLoad, format!("{source_name}: {m}"))
                })?;
            if is_move
                && source_store.same_store(&*dest_store)
                && source_store.same_package(&source.path, &destination.path)
            {
                return Err(Error::failure(format!(
                    "{source_name}: /MOVE onto itself would delete the package; nothing done"
                )));
            }
            refuse_same_package(
                source_stamp.as_deref(),
                &*dest_store,
                destination,
                &source_name,
                is_move,
            )?;
            // Before anything is written: a move that could not delete its source.
            let protected = match is_move {
                true => check_write_protected_source(
                    &*source_store,
                    &source.path,
                    &source_name,
                    plan.quiet,
                    "/MOVE",
                )?,
                false => None,
            };
            // A moved file keeps its mode, as a rename would; a copy is made as `cp`
            // makes one, with its source's bits.
            let new_mode = match source_mode {
                Some(mode) if is_move => NewFileMode::Exactly(mode),
                source_mode => new_file_like(source_mode),
            };
            if !write_destination(
                plan,
                &*dest_store,
                destination,
                &package,
                new_mode,
                printer,
                &mut report,
            )? {
                return Ok(declined(printer, report));
            }
            if is_move {
                verify_copy(&*dest_store, destination, &package)?;
                // The check runs inside the delete, so that no writer of the source's
                // name gets between them where the store can prevent it.
                let mut refused = None;
                let deleted = source_store
                    .delete_if(&source.path, &mut || {
                        check_source_before_delete(
                            &*source_store,
                            &source.path,
                            &source_name,
                            source_stamp.as_deref(),
                            source_sha256.as_deref().unwrap_or_default(),
                            &*dest_store,
                            &destination.path,
                        )
                        .map_err(|e| refused = Some(e))
                        .is_ok()
                    })
                    .map_err(|e| {
                        Error::failure(format!(
                            "the copy is complete and verified, but the source could not be deleted: {e}"
                        ))
                    })?;
                if let Some(refused) = refused {
                    return Err(refused);
                }
                if !deleted {
                    return Err(Error::failure(format!(
                        "{source_name} changed while it was being moved (it is no longer what was copied to {}); both are kept: compare them and delete the one you do not want",
                        dest_store.describe(&destination.path)
                    )));
                }
                note_protected_deleted(printer, protected, &source_name);
            }
            printer.line(output::SUCCESS);
            ExitCode::Success
        }
        Action::Encrypt {
            destination,
            level,
            password,
        } => {
            let (bytes, source_mode) = read_source(&*source_store, &source.path, &source_name)?;
            let password = secrets::resolve_new(password.as_ref(), "/ENCRYPT password", *level)?;
            let decrypt = secrets::resolve_opt(plan.decrypt.as_ref(), "/Decrypt")?;
            let target = Target::Level {
                level: *level,
                password: password.as_deref().map(|s| s.as_str()),
            };
            let recipe = Recipe {
                decrypt: decrypt.as_deref().map(|s| s.as_str()),
                reprotect: Some(reprotect(plan, target)),
            };
            let package = prepare(bytes, &recipe, &source_name, printer, &mut report)?;
            check_target(plan, &package, &source_name, printer, &mut report)?;
            let dest_store = open_dest(&package, destination, printer)?;
            // /ENCRYPT overwrites without asking: it is always written.
            write_destination(
                plan,
                &*dest_store,
                destination,
                &package,
                new_file_like(source_mode),
                printer,
                &mut report,
            )?;
            printer.line(output::SUCCESS);
            ExitCode::Success
        }
        Action::RegenerateId => {
            let bytes = read_source(&*source_store, &source.path, &source_name)?.0;
            let decrypt = secrets::resolve_opt(plan.decrypt.as_ref(), "/Decrypt")?;
            let recipe = Recipe {
                decrypt: decrypt.as_deref().map(|s| s.as_str()),
                reprotect: Some(reprotect(plan, Target::Keep)),
            };
            let package = prepare(bytes, &recipe, &source_name, printer, &mut report)?;
            // Written back in place: msdb keeps the columns it has.
            package
                .write(&*source_store, &source.path, false, NewFileMode::Umask)
                .map_err(|e| store_error(e, ExitCode::Failure))?;
            report.set("bytes", package.bytes.len());
            if printer.mode == OutputMode::Json {
                report.set("sha256", package.sha256());
            }
            printer.line(output::SUCCESS);
            ExitCode::Success
        }
        other => unreachable!("not a package action: {other:?}"),
    };
    report.set("status", "ok");
    report.set("exit_code", code.code());
    printer.json(&serde_json::Value::Object(report.fields));
    Ok(code)
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Copy { .. } => "copy",
        Action::Move { .. } => "move",
        Action::Delete => "delete",
        Action::Exists => "exists",
        Action::Encrypt { .. } => "encrypt",
        Action::RegenerateId => "regenerate_id",
        _ => "other",
    }
}

/// The destination's store, once the package may go there: a ServerStorage package
/// leaves msdb only re-protected (DTS_E_SERVERSTORAGEDISALLOWED).
fn open_destination(
    package: &Prepared<'_>,
    (source_store, source, source_name): (&dyn Store, &PackageLocation, &str),
    destination: &PackageLocation,
    is_move: bool,
    stores: &StoreConfig,
    printer: &mut Printer,
) -> Result<Box<dyn Store>> {
    if let Some(hint) = cmd_variable_hint(&destination.path) {
        return Err(Error::command_line(format!(
            "the destination `{}`{hint}; nothing was written",
            destination.path
        )));
    }
    let dest_store = open_store(destination, "Dest", stores, printer)?;
    package
        .check_server_storage(
            source_store.secure_storage(&source.path),
            &*dest_store,
            &destination.path,
            &server_storage::fix(destination, is_move),
        )
        .map_err(|why| Error::failure(format!("{source_name}: {why}")))?;
    Ok(dest_store)
}

/// The package and its file's permission bits, where the store has them.
fn read_source(store: &dyn Store, path: &str, name: &str) -> Result<(Vec<u8>, Option<u32>)> {
    store.read_with_mode(path).map_err(|e| match e {
        StoreError::NotFound(_) => Error::not_found(format!(
            "{name}: the package does not exist (check the path and the location keyword){}",
            cmd_variable_hint(path).unwrap_or_default()
        )),
        StoreError::TooLarge(m) => Error::new(ExitCode::PackageCannotLoad, m),
        other => Error::failure(other.to_string()),
    })
}

fn reprotect<'a>(plan: &Plan, target: Target<'a>) -> Reprotect<'a> {
    Reprotect {
        target,
        algorithm: plan.algorithm,
        regenerate_id: plan.regenerate_id,
        allow_lost_values: plan.quiet || plan.allow_lost_sensitive,
    }
}

/// The pipeline's re-protect step, with dtutil's warning and report fields.
fn prepare<'a>(
    bytes: Vec<u8>,
    recipe: &Recipe<'a>,
    name: &str,
    printer: &mut Printer,
    report: &mut Report,
) -> Result<Prepared<'a>> {
    // Only the first bytes are kept: `prepare` takes the package.
    let head = bytes[..bytes.len().min(4)].to_vec();
    let package =
        pipeline::prepare(bytes, recipe).map_err(|e| match project_file_kind(&head, &e) {
            Some(kind) => not_a_package_but_a_project_file(kind, name),
            None => package_error(e, name),
        })?;
    if let Some(done) = &package.reprotected {
        if !done.lost_values.is_empty() {
            printer.warn_result(&format!(
                "{name}: protected with EncryptSensitiveWithUserKey (level 1); these values cannot be opened here and are written blank: {}",
                done.lost_values.join(", ")
            ));
        }
        report.set("level_before", done.level_before.number());
        report.set("level_after", done.level_after.number());
        report.set("lost_values", done.lost_values.clone());
        if let Some(id) = &done.new_id {
            report.set("new_id", id.clone());
        }
    }
    Ok(package)
}

/// `--target-version`: refuses to write what that runtime cannot load, and notes what
/// it will upgrade.
fn check_target(
    plan: &Plan,
    package: &Prepared<'_>,
    name: &str,
    printer: &mut Printer,
    report: &mut Report,
) -> Result<()> {
    let Some(year) = plan.target_version else {
        return Ok(());
    };
    let runtime = package::target::Runtime::parse(&year.to_string())
        .ok_or_else(|| Error::command_line(format!("--target-version {year} is not a release")))?;
    let verdict = package
        .check_target(runtime)
        .map_err(|e| package_error(e, name))?;
    report.set(
        "target",
        serde_json::to_value(&verdict).expect("serialisable"),
    );
    for note in &verdict.notes {
        printer.warn(&format!("{name}: {note}"));
    }
    if !verdict.ok() {
        return Err(Error::failure(format!(
            "{name}: not written for the SQL Server {year} runtime: {}",
            verdict.refusals.join("; ")
        )));
    }
    Ok(())
}

/// Writes the package, with msdb's columns read from it where the store keeps them;
/// `new_mode` is the mode a new file gets.
///
/// dtutil prompts before COPY and MOVE replace a package (`/Q` skips the prompt) and
/// /ENCRYPT overwrites (Microsoft's in-place example has no `/Q`). Where nothing is to
/// be replaced, the name is created with no-replace semantics, so a racing second run
/// finds it taken instead of replacing it unasked. `false`: the user answered N.
fn write_destination(
    plan: &Plan,
    store: &dyn Store,
    destination: &PackageLocation,
    package: &Prepared<'_>,
    new_mode: NewFileMode,
    printer: &mut Printer,
    report: &mut Report,
) -> Result<bool> {
    let name = store.describe(&destination.path);
    let overwrites = matches!(plan.action, Action::Encrypt { .. });
    let exists = store
        .exists(&destination.path)
        .map_err(|e| store_error(e, ExitCode::Failure))?;
    if exists && !overwrites && !confirm_overwrite(&name, plan.quiet, printer)? {
        printer.line(&format!(
            "{name} exists and was kept: the answer was N, nothing written."
        ));
        return Ok(false);
    }
    // The store replaces a read-only file only with /Q; say that it did.
    let was_read_only = exists && plan.quiet && store.read_only(&destination.path);
    let mut meta = if store.has_msdb_metadata() {
        package.msdb_meta()
    } else {
        PackageMeta::default()
    };
    meta.file_mode = new_mode;
    meta.replace_read_only = plan.quiet;
    let written = if exists || overwrites || plan.quiet {
        store.write(&destination.path, &package.bytes, &meta)
    } else {
        store.write_new(&destination.path, &package.bytes, &meta)
    };
    written.map_err(|e| match e {
        StoreError::Exists(_) => Error::failure(format!(
            "{name} exists (it appeared while this run was writing); nothing written. Add /Q to overwrite it"
        )),
        // The store says what; the way out is this command's.
        StoreError::PermissionDenied(m) if store.read_only(&destination.path) => {
            Error::failure(format!("{m}. Add /Q to replace it anyway"))
        }
        other => store_error(other, ExitCode::Failure),
    })?;
    if was_read_only {
        printer.note(&format!(
            "{name} was read-only; /Q replaced it (the new file is read-only too)"
        ));
        report.set("replaced_read_only", true);
    }
    report.set("destination", name);
    report.set("bytes", package.bytes.len());
    // Only `--json` shows it.
    if printer.mode == OutputMode::Json {
        report.set("sha256", package.sha256());
    }
    Ok(true)
}

/// `/Q` deleted a write-protected package: said, as a replaced read-only destination is.
fn note_protected_deleted(printer: &mut Printer, why: Option<String>, name: &str) {
    if let Some(why) = why {
        printer.note(&format!("{name}: {why}; /Q deleted it"));
    }
}

/// An overwrite the user declined: dtutil's N ends the program, exit 1, and what was
/// there stays.
fn declined(printer: &mut Printer, mut report: Report) -> ExitCode {
    report.set("status", "declined");
    report.set("exit_code", ExitCode::Failure.code());
    printer.json(&serde_json::Value::Object(report.fields));
    ExitCode::Failure
}

/// A move deletes its source only after the destination reads back identical.
fn verify_copy(
    store: &dyn Store,
    destination: &PackageLocation,
    package: &Prepared<'_>,
) -> Result<()> {
    let name = store.describe(&destination.path);
    let intact = package
        .written_intact(store, &destination.path)
        .map_err(|e| {
            Error::failure(format!(
                "{name}: cannot read back the copy to verify it ({e}); the source is kept"
            ))
        })?;
    if !intact {
        return Err(Error::failure(format!(
            "{name}: the copy does not match what was written; the source is kept"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn stores_and_the_package_reader_share_one_size_bound() {
        assert_eq!(
            crate::store::MAX_PACKAGE_BYTES,
            crate::package::xml::MAX_PACKAGE_BYTES
        );
    }
}
