//! `dtutil inspect PATH...`: what each package or project file is. Never values.

use crate::error::{Error, ExitCode, Result};
use crate::ops::output::Printer;
use crate::ops::secrets;
use crate::package::target::{judge, Runtime};
use crate::package::{self, PackageError};
use crate::plan::{InspectPlan, OutputMode};
use crate::project;

pub fn run(args: &InspectPlan, printer: &mut Printer) -> Result<ExitCode> {
    if args.json {
        printer.mode = OutputMode::Json;
    }
    let password = secrets::resolve_opt(args.password.as_ref(), "--password")?;
    let password = password.as_deref().map(|s| s.as_str());
    let target = args
        .target_version
        .and_then(|year| Runtime::parse(&year.to_string()));
    let mut exit = ExitCode::Success;
    for path in &args.paths {
        match inspect_one(path, password, target) {
            Ok(record) => {
                print_record(printer, path, &record);
                // `--target-version`: a package that runtime cannot load is a failure.
                let refused = record["target"]["refusals"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty());
                if refused && exit == ExitCode::Success {
                    exit = ExitCode::Failure;
                }
            }
            Err(error) => {
                printer.error(&error);
                // A missing file outranks a bad one: scripts test 4 for "not found".
                if exit != ExitCode::PackageNotFound {
                    exit = error.exit;
                }
            }
        }
    }
    Ok(exit)
}

fn inspect_one(
    path: &str,
    password: Option<&str>,
    target: Option<Runtime>,
) -> Result<serde_json::Value> {
    if let crate::store::Location::AzureFiles(_) = crate::store::Location::file_path(path) {
        return Err(Error::failure(format!(
            "`{path}`: inspect reads local files only; copy it here first: dtutil /FILE '{path}' /COPY \"FILE;copy.dtsx\""
        )));
    }
    let bytes = crate::store::file::read_bounded(std::path::Path::new(path))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::not_found(format!("`{path}`: no such file")),
            _ => Error::failure(format!("`{path}`: cannot read: {e}")),
        })?
        .map_err(|e| Error::cannot_load(e.to_string()))?;
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(Error::cannot_load(format!(
            "`{path}` is a zip archive (an .ispac): inspect reads single packages and project files; unzip it and inspect its entries, or re-protect it whole with dtutil project"
        )));
    }
    match package::inspect(&bytes, password) {
        Ok(info) => {
            if info.protection_level == Some(2) && info.encrypted.unwrap_or(0) > 0 {
                check_password(&bytes, password)
                    .map_err(|e| Error::cannot_load(format!("`{path}`: {}", for_inspect(e))))?;
            }
            let mut value = serde_json::to_value(&info).expect("serialisable");
            if let Some(runtime) = target {
                value["target"] =
                    serde_json::to_value(judge(&info, runtime)).expect("serialisable");
            }
            Ok(value)
        }
        Err(PackageError::NotAPackage(root)) => {
            match project::inspect_with_password(&bytes, password) {
                // One rule for every kind of file: a wrong password is exit 5, so a
                // script checking a project's password before a deployment stops here.
                Ok(Some(info)) if info.password_correct == Some(false) => {
                    Err(Error::cannot_load(format!(
                        "`{path}`: the --password is wrong (the encrypted data does not decrypt to XML)"
                    )))
                }
                Ok(Some(info)) => Ok(serde_json::to_value(info).expect("serialisable")),
                Ok(None) => Err(Error::cannot_load(format!(
                    "`{path}`: not an SSIS package or project file (root element <{root}>)"
                ))),
                Err(m) => Err(Error::cannot_load(format!("`{path}`: {m}"))),
            }
        }
        Err(e) => Err(Error::cannot_load(format!("`{path}`: {}", for_inspect(e)))),
    }
}

/// Level 2 values are opened only when asked: with `--password`, decrypting them all
/// is what tells a wrong password (as it is for level 3 and project files).
fn check_password(bytes: &[u8], password: Option<&str>) -> std::result::Result<(), PackageError> {
    password.map_or(Ok(()), |p| crate::ops::decrypt::open_every_value(bytes, p))
}

/// The package layer speaks dtutil's switches; inspect's password is `--password`.
fn for_inspect(e: PackageError) -> String {
    e.to_string()
        .replace("the /Decrypt password is wrong", "the --password is wrong")
        .replace(
            "give it with /Decrypt PASSWORD",
            "give it with --password PASSWORD",
        )
}

fn print_record(printer: &mut Printer, path: &str, record: &serde_json::Value) {
    let mut with_path = serde_json::Map::new();
    with_path.insert("path".into(), path.into());
    if let serde_json::Value::Object(fields) = record {
        with_path.extend(fields.clone());
    }
    printer.json(&serde_json::Value::Object(with_path));
    if printer.mode == OutputMode::Json {
        return;
    }
    let get = |k: &str| record.get(k).filter(|v| !v.is_null());
    let text = |k: &str| {
        get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    printer.line(path);
    let kind = text("kind").unwrap_or_default();
    let mut first = format!("  {kind}");
    if let Some(f) = text("format") {
        let inferred = get("format_inferred")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        first.push_str(&format!(
            ", format {f}{}",
            if inferred {
                " (inferred from DTS:ExecutableType)"
            } else {
                ""
            }
        ));
    }
    match (text("protection_level"), text("protection_level_name")) {
        (Some(n), Some(name)) => {
            let inferred = get("level_inferred")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            first.push_str(&format!(
                ", protection level {n} ({name}){}",
                if inferred {
                    ", inferred from its contents"
                } else {
                    ""
                }
            ));
        }
        _ => first.push_str(", protection level unknown"),
    }
    printer.line(&first);
    if let Some(algs) = get("algorithms")
        .and_then(|v| v.as_array())
        .filter(|a| !a.is_empty())
    {
        let names: Vec<&str> = algs.iter().filter_map(|a| a.as_str()).collect();
        printer.line(&format!("  algorithms: {}", names.join(", ")));
    }
    if get("contents_visible").and_then(|v| v.as_bool()) == Some(false)
        && text("protection_level").as_deref() == Some("3")
    {
        printer.line("  encrypted as a whole; give --password to look inside");
    }
    let count = |k: &str| text(k).unwrap_or_else(|| "?".into());
    let whole = text("protection_level").as_deref() == Some("3");
    if whole && get("sensitive_clear").is_some() {
        printer.line(&format!(
            "  sensitive values: {} inside the encrypted package, {} user-key (DPAPI)",
            count("sensitive_clear"),
            count("user_key"),
        ));
    } else if get("encrypted").is_some() || get("sensitive_clear").is_some() {
        let number = |k: &str| get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let blank = number("sensitive_blank");
        printer.line(&format!(
            "  sensitive values: {} blank, {} in the clear, {} password-encrypted, {} user-key (DPAPI)",
            blank,
            number("sensitive_clear") - blank,
            count("encrypted"),
            count("user_key"),
        ));
    }
    match (
        text("password_verifier"),
        get("password_correct").and_then(|v| v.as_bool()),
    ) {
        (Some(v), Some(ok)) => printer.line(&format!(
            "  PasswordVerifier: {v}; the password is {}",
            if ok { "correct" } else { "wrong" }
        )),
        (Some(v), None) => printer.line(&format!("  PasswordVerifier: {v}")),
        (None, Some(ok)) => printer.line(&format!(
            "  the password is {}",
            if ok { "correct" } else { "wrong" }
        )),
        (None, None) => {}
    }
    let mut ids = Vec::new();
    for (key, label) in [
        ("name", "name"),
        ("package_id", "id"),
        ("version", "version"),
        ("version_guid", "version id"),
        ("last_modified_product_version", "saved by"),
    ] {
        if let Some(v) = text(key) {
            ids.push(format!("{label} {v}"));
        }
    }
    if !ids.is_empty() {
        printer.line(&format!("  {}", ids.join(", ")));
    }
    if let Some(target) = get("target") {
        let year = target["target"]["year"].as_u64().unwrap_or(0);
        let refusals: Vec<&str> = target["refusals"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        let notes: Vec<&str> = target["notes"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        if refusals.is_empty() {
            printer.line(&format!("  SQL Server {year} runtime: loads it"));
        } else {
            printer.line(&format!(
                "  SQL Server {year} runtime: CANNOT load it: {}",
                refusals.join("; ")
            ));
        }
        for note in notes {
            printer.line(&format!("  note: {note}"));
        }
    }
}
