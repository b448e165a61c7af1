//! Start-up and dispatch: the command line becomes a [`Command`] (`cli`), which runs
//! here on the module that owns it (`ops` for dtutil's own actions, `batch`, `project`,
//! `inspect`); every error becomes its exit code.

use crate::config::Config;
use crate::error::{ExitCode, Result};
use crate::ops::{self, output::Printer};
use crate::plan::{Action, BatchLocation, Command, InspectPlan, LocationKind, Plan, ProjectPlan};
use crate::{batch, cli, inspect, ir, project};
use std::ffi::OsString;

/// Runs one command line (without the program name); returns the exit code (a
/// failed write to stdout counts, see [`crate::console::finish`]).
pub fn run(args: Vec<OsString>, config: &Config) -> i32 {
    crate::console::finish(run_command(args, config))
}

fn run_command(args: Vec<OsString>, config: &Config) -> i32 {
    crate::hardening::disable_core_dumps();
    crate::hardening::ignore_file_size_signal();
    let mut printer = ops::printer_for(&args);
    // `assess --sarif`'s stdout is the log or nothing (it is uploaded as it is).
    let sarif = args.first().is_some_and(|a| a == "assess") && args.iter().any(|a| a == "--sarif");
    let command = match cli::parse(args) {
        Ok(command) => command,
        Err(error) if sarif => {
            eprintln!(
                "dtutil: error: {}",
                crate::redact::for_display(&error.message)
            );
            return error.exit.code();
        }
        Err(error) => return ops::fail(&mut printer, &error),
    };
    crate::hardening::wipe_from_argv(&command.literal_secrets());
    match dispatch(command, config, &mut printer) {
        Ok(code) => code.code(),
        Err(error) => ops::fail(&mut printer, &error),
    }
}

fn dispatch(command: Command, config: &Config, printer: &mut Printer) -> Result<ExitCode> {
    match command {
        Command::Dtutil(plan) => match &plan.action {
            // `--dry-run` prints the help plan as JSON instead (in `ops`).
            Action::Help { option } if !plan.dry_run => {
                let text = cli::help_text(option.as_deref())?;
                printer.banner();
                crate::console::print(&text);
                Ok(ExitCode::Success)
            }
            _ if !plan.dry_run
                && uses_package_store(&plan)
                && ir::dts::wanted(plan.ir.as_deref(), config) =>
            {
                ops::run(
                    &plan,
                    &ir::dts::store_config(plan.ir.as_deref(), config)?,
                    printer,
                )
            }
            _ => ops::run(&plan, &config.stores, printer),
        },
        Command::Version => {
            crate::console::println(&format!("dtutil {}", env!("CARGO_PKG_VERSION")));
            Ok(ExitCode::Success)
        }
        Command::Inspect(plan) => {
            let paths = plan
                .paths
                .iter()
                .map(|p| windows_path(p, config, "inspect"));
            let plan = InspectPlan {
                paths: paths.collect::<Result<_>>()?,
                ..plan
            };
            inspect::run(&plan, printer)
        }
        Command::Project(plan) => {
            let path = windows_path(&plan.path, config, "dtutil project")?;
            let out = plan.out.as_deref();
            let out = out.map(|o| windows_path(o, config, "--out")).transpose()?;
            let on_azure = [Some(&path), out.as_ref()]
                .into_iter()
                .flatten()
                .find(|p| crate::store::azfiles::is_azure_files_path(p));
            if let Some(azure) = on_azure {
                return Err(crate::error::Error::command_line(format!(
                    "dtutil project reads and writes local folders and .ispac files, not Azure Files (`{azure}`); copy the project here first"
                )));
            }
            // One writer at a time: held from the first read to the last rename.
            let _lock = match plan.encrypt_level.is_some() && !plan.dry_run {
                true => project::lock::take(&path)?,
                false => None,
            };
            project::run(&ProjectPlan { path, out, ..plan })
        }
        Command::Batch(plan)
            if [&plan.from, &plan.to]
                .iter()
                .any(|l| matches!(l, BatchLocation::Dts { .. }))
                && ir::dts::wanted(plan.ir.as_deref(), config) =>
        {
            let config = Config {
                stores: ir::dts::store_config(plan.ir.as_deref(), config)?,
                ..config.clone()
            };
            batch::run(&plan, &config, printer)
        }
        Command::Batch(plan) => match &plan.store_config {
            Some(path) => {
                let mut config = config.clone();
                config.stores = config.stores.with_package_store_file(path);
                batch::run(&plan, &config, printer)
            }
            None => batch::run(&plan, config, printer),
        },
        Command::Ir(plan) => ir::run(&plan, config, printer),
        Command::Assess(plan) => crate::assess::run(&plan, config, printer),
    }
}

/// Whether a dtutil command reads or writes the package store (`DTS`).
fn uses_package_store(plan: &Plan) -> bool {
    let folder = match &plan.action {
        Action::FolderCreate { folder, .. }
        | Action::FolderDelete { folder, .. }
        | Action::FolderDirectory { folder, .. }
        | Action::FolderExists { folder, .. }
        | Action::FolderRename { folder, .. } => Some(folder.kind),
        _ => None,
    };
    [
        plan.source.as_ref().map(|s| s.kind),
        plan.action.destination().map(|d| d.kind),
        folder,
    ]
    .contains(&Some(LocationKind::Dts))
}

/// A local path as Windows scripts write it, as `/FILE` and `batch` take it: `\`
/// separates parts and a drive letter maps through `DTUTIL_DRIVE_<LETTER>`, so the
/// paths a migration script maps once work for every command. Other paths as given.
fn windows_path(path: &str, config: &Config, what: &str) -> Result<String> {
    let b = path.as_bytes();
    let drive = b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':';
    if !drive && !path.contains('\\') {
        return Ok(path.to_string());
    }
    crate::store::resolve_file_path(path, &config.stores)
        .map_err(|e| crate::error::Error::command_line(format!("{what}: {e}")))
}
