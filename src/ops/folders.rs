//! Folder actions (`/FC /FDe /FDi /FE /FR`) on SQL and DTS, written once over [`Store`].

use super::output::{self, Printer};
use super::{open_location, store_error, warn_server_not_used};
use crate::error::{Error, ExitCode, Result};
use crate::plan::{Action, FolderLocation, Plan};
use crate::store::path::{join, unaddressable};
use crate::store::{Entry, Store, StoreConfig};

pub fn run(plan: &Plan, stores: &StoreConfig, printer: &mut Printer) -> Result<ExitCode> {
    let open = |folder: &FolderLocation, path: &str, printer: &mut Printer| {
        let store = open_location(folder.kind, "", folder.sql.as_ref(), "Source", stores)?;
        warn_server_not_used(&*store, path, "Source", printer);
        Ok::<Box<dyn Store>, Error>(store)
    };
    let failed = |e| store_error(e, ExitCode::Failure);
    match &plan.action {
        Action::FolderCreate {
            folder,
            parent,
            name,
        } => {
            open(folder, parent, printer)?
                .folder_create(parent, name)
                .map_err(failed)?;
            done(printer, "folder_create", &join(parent, name))
        }
        Action::FolderDelete {
            folder,
            parent,
            name,
        } => {
            open(folder, parent, printer)?
                .folder_delete(parent, name)
                .map_err(failed)?;
            done(printer, "folder_delete", &join(parent, name))
        }
        Action::FolderRename {
            folder,
            parent,
            old_name,
            new_name,
        } => {
            open(folder, parent, printer)?
                .folder_rename(parent, old_name, new_name)
                .map_err(failed)?;
            done(printer, "folder_rename", &join(parent, new_name))
        }
        Action::FolderExists { folder, path } => {
            let exists = open(folder, path, printer)?
                .folder_exists(path)
                .map_err(failed)?;
            printer.line(if exists {
                output::FOLDER_EXISTS
            } else {
                output::FOLDER_MISSING
            });
            printer.json(&serde_json::json!({"action": "folder_exists", "folder": path, "exists": exists, "status": "ok"}));
            Ok(if exists {
                ExitCode::Success
            } else {
                ExitCode::Failure
            })
        }
        Action::FolderDirectory {
            folder,
            path,
            recursive,
        } => {
            let store = open(folder, path, printer)?;
            let mut listing = Vec::new();
            let mut not_entered = Vec::new();
            list(&*store, path, *recursive, 0, &mut listing, &mut not_entered)?;
            for (depth, full, entry) in &listing {
                printer.line(&format!(
                    "{}{}{}",
                    "  ".repeat(*depth),
                    entry.name,
                    if entry.is_folder { "\\" } else { "" }
                ));
                printer.json(&serde_json::json!({
                    "path": full, "name": entry.name, "folder": entry.is_folder, "depth": depth,
                }));
            }
            for note in &not_entered {
                printer.warn(note);
            }
            printer.line(output::SUCCESS);
            Ok(ExitCode::Success)
        }
        other => Err(Error::failure(format!("not a folder action: {other:?}"))),
    }
}

fn list(
    store: &dyn Store,
    path: &str,
    recursive: bool,
    depth: usize,
    out: &mut Vec<(usize, String, Entry)>,
    not_entered: &mut Vec<String>,
) -> Result<()> {
    let entries = store
        .folder_list(path)
        .map_err(|e| store_error(e, ExitCode::Failure))?;
    for entry in entries {
        let full = join(path, &entry.name);
        let mut descend = recursive && entry.is_folder;
        // Listed as the server has it; only its contents are out of reach (a path to
        // it would name another folder).
        if let Some(why) = descend.then(|| unaddressable(&entry.name)).flatten() {
            not_entered.push(format!("folder `{full}` not listed: {why}"));
            descend = false;
        }
        out.push((depth, full.clone(), entry));
        if descend {
            list(store, &full, true, depth + 1, out, not_entered)?;
        }
    }
    Ok(())
}

fn done(printer: &mut Printer, action: &str, folder: &str) -> Result<ExitCode> {
    printer.line(output::SUCCESS);
    printer.json(&serde_json::json!({"action": action, "folder": folder, "status": "ok"}));
    Ok(ExitCode::Success)
}
