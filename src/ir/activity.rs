//! The pipeline SSMS's "Run Package" makes: `Pipeline_SSMS_<Name>_<hash>` with one
//! Execute SSIS Package activity `Activity_SSMS_<Name>` connecting via the IR (SPEC 9).
//! The hash is the first 8 hex digits of SHA-256 over the activity's settings with secret
//! values left out, so the same settings reuse the same pipeline and no secret can be
//! guessed from a name.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::plan::ir::{PackageRef, RunRequest, RunValue};

/// A run's settings with its secrets resolved.
#[derive(Default)]
pub struct Secrets {
    pub package_password: Option<Zeroizing<String>>,
    pub execution_password: Option<Zeroizing<String>>,
    /// Storage account keys (base64) by account, for the Azure Files paths of the run.
    pub share_keys: Vec<(String, Zeroizing<String>)>,
    /// The sensitive values of `--param`, `--set` and `--connection`, by position in the
    /// request's lists (`None` for a plain value).
    pub params: Vec<Option<Zeroizing<String>>>,
    pub property_overrides: Vec<Option<Zeroizing<String>>>,
    pub connections: Vec<Option<Zeroizing<String>>>,
}

impl Secrets {
    /// Resolves the request's sensitive values (env:, file: or the text).
    pub fn resolve_values(&mut self, req: &RunRequest) -> Result<()> {
        fn one(v: &RunValue, what: String) -> Result<Option<Zeroizing<String>>> {
            match v {
                RunValue::Plain(_) => Ok(None),
                RunValue::Sensitive(spec) => crate::ops::secrets::resolve(spec, &what).map(Some),
            }
        }
        self.params = (req.params.iter())
            .map(|(n, v)| one(v, format!("--param-sensitive {n}")))
            .collect::<Result<_>>()?;
        self.property_overrides = (req.property_overrides.iter())
            .map(|(n, v)| one(v, format!("--set-sensitive {n}")))
            .collect::<Result<_>>()?;
        self.connections = (req.connections.iter())
            .map(|(m, p, v)| one(v, format!("--connection {m}.{p}")))
            .collect::<Result<_>>()?;
        Ok(())
    }
}

/// A plain value as a string; a sensitive one as a SecureString holding its resolved
/// text (empty without secrets, for the hash).
fn run_value(v: &RunValue, resolved: Option<&Option<Zeroizing<String>>>) -> Value {
    match v {
        RunValue::Plain(s) => json!(s),
        RunValue::Sensitive(_) => secure(
            resolved
                .and_then(Option::as_ref)
                .map(|z| z.as_str())
                .unwrap_or(""),
        ),
    }
}

/// The storage account of an Azure Files path, and the path as the IR opens it
/// (`\\ACCOUNT.file.core.windows.net\SHARE\dir\Name.dtsx`, no SAS).
pub fn azure_files_path(path: &str) -> Option<(String, String)> {
    if !crate::store::azfiles::is_azure_files_path(path) {
        return None;
    }
    let p = crate::store::azfiles::AzPath::parse(path).ok()?;
    let mut unc = format!(r"\\{}\{}", p.host, p.share);
    for seg in &p.segments {
        unc.push('\\');
        unc.push_str(seg);
    }
    Some((p.account, unc))
}

/// The access credential of an Azure Files path, as SSMS and ADF's docs give it: domain
/// `Azure`, the account as the user, its key as the password (left empty without
/// `secrets`, for the hash). `None` for another path (the IR reaches it with its own
/// identity or what its custom setup stored with cmdkey).
fn access_credential(path: &str, secrets: Option<&Secrets>) -> Option<Value> {
    let (account, _) = azure_files_path(path)?;
    let key = secrets
        .and_then(|s| s.share_keys.iter().find(|(a, _)| *a == account))
        .map(|(_, k)| k.as_str())
        .unwrap_or("");
    Some(json!({"domain": "Azure", "userName": account, "password": secure(key)}))
}

fn secure(value: &str) -> Value {
    json!({"type": "SecureString", "value": value})
}

/// `STORE\Folder\Name` -> (`STORE/Folder/Name`, `Name`); `--file PATH` -> (PATH, stem).
pub fn package_path(package: &PackageRef) -> Result<(String, String, &'static str)> {
    let (PackageRef::Store(given) | PackageRef::File(given)) = package;
    if given.chars().any(char::is_control) {
        // A name with a line break would come back in `ir running` as a line of its own.
        return Err(Error::command_line(format!(
            "package `{}`: a control character (line break, tab, escape) is not part of a package path",
            crate::redact::one_line(given)
        )));
    }
    match package {
        PackageRef::Store(p) => {
            let segs: Vec<&str> = p.split(['\\', '/']).collect();
            if segs.len() < 2 || segs.iter().any(|s| s.trim().is_empty() || *s == "..") {
                return Err(Error::command_line(format!(
                    "package `{p}`: expected STORE\\Folder\\Name (a package store of the IR, then the package's folders and name)"
                )));
            }
            let name = segs[segs.len() - 1];
            let name = name
                .strip_suffix(".dtsx")
                .or_else(|| name.strip_suffix(".DTSX"))
                .unwrap_or(name);
            let mut path: Vec<&str> = segs[..segs.len() - 1].to_vec();
            path.push(name);
            Ok((path.join("/"), name.to_string(), "PackageStore"))
        }
        PackageRef::File(f) => {
            // The IR's Windows nodes open the path themselves: a local path of this
            // machine would be looked for on them.
            let remote = f.starts_with(r"\\") || azure_files_path(f).is_some();
            if !remote {
                return Err(Error::command_line(format!(
                    "--file `{f}`: the IR opens the package itself, so give a path it can reach: a file share or Azure Files UNC path (\\\\host\\share\\dir\\Name.dtsx) or an https Azure Files URL; a package on this machine is not uploaded (copy it to a package store with /COPY DTS;STORE\\Folder\\Name, then run STORE\\Folder\\Name)"
                )));
            }
            let last = f.rsplit(['\\', '/']).next().unwrap_or(f);
            let stem = last.rsplit_once('.').map(|(s, _)| s).unwrap_or(last);
            if stem.is_empty() {
                return Err(Error::command_line(format!(
                    "--file `{f}`: expected the path of a .dtsx file"
                )));
            }
            let path = azure_files_path(f)
                .map(|(_, unc)| unc)
                .unwrap_or_else(|| f.clone());
            Ok((path, stem.to_string(), "File"))
        }
    }
}

/// ADF entity names: letters, digits, `_`, `-`; anything else becomes `_`.
fn entity_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

/// The activity's `typeProperties`, with the secrets as given (`None` leaves each
/// secret's value empty, for the hash).
fn type_properties(req: &RunRequest, ir: &str, secrets: Option<&Secrets>) -> Result<Value> {
    let (path, _, kind) = package_path(&req.package)?;
    let secret = |s: Option<&Zeroizing<String>>| secure(s.map(|z| z.as_str()).unwrap_or(""));
    let mut location = json!({"type": kind, "packagePath": path});
    let mut loc_props = Map::new();
    if req.package_password.is_some() {
        loc_props.insert(
            "packagePassword".into(),
            secret(secrets.and_then(|s| s.package_password.as_ref())),
        );
    }
    if kind == "File" {
        if let Some(c) = access_credential(&path, secrets) {
            loc_props.insert("accessCredential".into(), c);
        }
    }
    if let Some(c) = &req.config {
        let (c, credential) = match azure_files_path(c) {
            Some((_, unc)) => (unc.clone(), access_credential(&unc, secrets)),
            None => (c.clone(), None),
        };
        loc_props.insert("configurationPath".into(), json!(c));
        if let Some(credential) = credential {
            loc_props.insert("configurationAccessCredential".into(), credential);
        }
    }
    if !loc_props.is_empty() {
        location["typeProperties"] = Value::Object(loc_props);
    }
    let mut tp = json!({
        "connectVia": {"referenceName": ir, "type": "IntegrationRuntimeReference"},
        "runtime": req.runtime.as_deref().unwrap_or("x64"),
        "loggingLevel": req.logging_level.as_deref().unwrap_or("Basic"),
        "packageLocation": location,
    });
    let (mut project, mut package) = (Map::new(), Map::new());
    for (i, (name, value)) in req.params.iter().enumerate() {
        let value = run_value(value, secrets.and_then(|s| s.params.get(i)));
        if let Some(p) = name.strip_prefix("$Project::") {
            project.insert(p.to_string(), json!({ "value": value }));
        } else {
            let p = name.strip_prefix("$Package::").unwrap_or(name);
            package.insert(p.to_string(), json!({ "value": value }));
        }
    }
    if !project.is_empty() {
        tp["projectParameters"] = Value::Object(project);
    }
    if !package.is_empty() {
        tp["packageParameters"] = Value::Object(package);
    }
    if !req.connections.is_empty() {
        let mut cms = Map::new();
        for (i, (manager, property, value)) in req.connections.iter().enumerate() {
            let value = run_value(value, secrets.and_then(|s| s.connections.get(i)));
            let entry = cms
                .entry(manager.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            entry[property.as_str()] = json!({ "value": value });
        }
        tp["packageConnectionManagers"] = Value::Object(cms);
    }
    if !req.property_overrides.is_empty() {
        let mut o = Map::new();
        for (i, (p, v)) in req.property_overrides.iter().enumerate() {
            let sensitive = matches!(v, RunValue::Sensitive(_));
            let v = run_value(v, secrets.and_then(|s| s.property_overrides.get(i)));
            o.insert(p.clone(), json!({"value": v, "isSensitive": sensitive}));
        }
        tp["propertyOverrides"] = Value::Object(o);
    }
    if let Some(p) = &req.log_path {
        let (p, credential) = match azure_files_path(p) {
            Some((_, unc)) => (unc.clone(), access_credential(&unc, secrets)),
            None => (p.clone(), None),
        };
        tp["logLocation"] = json!({"logPath": p, "type": "File"});
        if let Some(credential) = credential {
            tp["logLocation"]["typeProperties"] = json!({"accessCredential": credential});
        }
    }
    if let Some(user) = &req.execution_user {
        let (domain, name) = user.split_once('\\').ok_or_else(|| {
            Error::command_line(format!(
                "--execution-user `{}`: expected DOMAIN\\USER",
                crate::redact::login_name(user)
            ))
        })?;
        tp["executionCredential"] = json!({
            "domain": domain,
            "userName": name,
            "password": secret(secrets.and_then(|s| s.execution_password.as_ref())),
        });
    }
    Ok(tp)
}

/// `(pipeline name, activity name, pipeline body)` for a run of `req` on `ir`.
pub fn pipeline(req: &RunRequest, ir: &str, secrets: &Secrets) -> Result<(String, String, Value)> {
    let (_, name, _) = package_path(&req.package)?;
    let hashed = type_properties(req, ir, None)?;
    // serde_json's maps are ordered by key, so the text is canonical.
    let digest = Sha256::digest(hashed.to_string().as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let safe = entity_safe(&name);
    let pipeline_name = format!("Pipeline_SSMS_{safe}_{hash}");
    let activity_name = format!("Activity_SSMS_{safe}");
    let activity = json!({
        "name": activity_name,
        "type": "ExecuteSSISPackage",
        "typeProperties": type_properties(req, ir, Some(secrets))?,
        "policy": {"timeout": "7.00:00:00", "retry": 0, "retryIntervalInSeconds": 30},
    });
    let body = json!({"properties": {
        "description": format!("Runs the SSIS package {name} on the Azure-SSIS IR {ir} (made by dtutil ir run)"),
        "activities": [activity],
        "annotations": ["dtutil"],
    }});
    Ok((pipeline_name, activity_name, body))
}

/// The package an Execute SSIS Package activity runs on `ir`, if it is one:
/// its `packagePath`.
pub fn package_on_ir(activity: &Value, ir: &str) -> Option<String> {
    if activity.get("type").and_then(Value::as_str) != Some("ExecuteSSISPackage") {
        return None;
    }
    let via = activity
        .pointer("/typeProperties/connectVia/referenceName")
        .and_then(Value::as_str)?;
    if !via.eq_ignore_ascii_case(ir) {
        return None;
    }
    activity
        .pointer("/typeProperties/packageLocation/packagePath")
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::SecretSpec;

    fn req(pw: Option<&str>) -> RunRequest {
        RunRequest {
            package: PackageRef::Store(r"FILES\Finance\Load".into()),
            package_password: pw.map(SecretSpec::parse),
            config: None,
            params: vec![
                ("$Project::Region".into(), RunValue::Plain("EU".into())),
                ("Batch".into(), RunValue::Plain("7".into())),
            ],
            property_overrides: vec![],
            connections: vec![(
                "Src".into(),
                "ServerName".into(),
                RunValue::Plain("db1".into()),
            )],
            runtime: None,
            logging_level: None,
            log_path: None,
            execution_user: None,
            execution_password: None,
            wait: false,
            timeout_secs: None,
        }
    }

    #[test]
    fn same_settings_same_pipeline_and_no_secret_in_the_name() {
        let s1 = Secrets {
            package_password: Some(Zeroizing::new("one".into())),
            execution_password: None,
            share_keys: vec![],
            ..Secrets::default()
        };
        let s2 = Secrets {
            package_password: Some(Zeroizing::new("two".into())),
            execution_password: None,
            share_keys: vec![],
            ..Secrets::default()
        };
        let (n1, a1, b1) = pipeline(&req(Some("x")), "SsisIr", &s1).unwrap();
        let (n2, _, _) = pipeline(&req(Some("y")), "SsisIr", &s2).unwrap();
        assert_eq!(n1, n2);
        assert!(
            n1.starts_with("Pipeline_SSMS_Load_") && n1.len() == "Pipeline_SSMS_Load_".len() + 8
        );
        assert_eq!(a1, "Activity_SSMS_Load");
        let tp = &b1["properties"]["activities"][0]["typeProperties"];
        assert_eq!(tp["packageLocation"]["packagePath"], "FILES/Finance/Load");
        assert_eq!(
            tp["packageLocation"]["typeProperties"]["packagePassword"]["value"],
            "one"
        );
        assert_eq!(tp["projectParameters"]["Region"]["value"], "EU");
        assert_eq!(
            tp["packageConnectionManagers"]["Src"]["ServerName"]["value"],
            "db1"
        );
        let (n3, _, _) = pipeline(&req(None), "SsisIr", &s1).unwrap();
        assert_ne!(n1, n3);
    }

    #[test]
    fn sensitive_values_go_as_securestrings_and_never_into_the_name() {
        let mut r = req(None);
        r.params.push((
            "DbPassword".into(),
            RunValue::Sensitive(SecretSpec::parse("x")),
        ));
        r.property_overrides.push((
            r"\Package.Variables[User::Pw].Value".into(),
            RunValue::Sensitive(SecretSpec::parse("x")),
        ));
        r.connections.push((
            "OLEDB".into(),
            "Password".into(),
            RunValue::Sensitive(SecretSpec::parse("x")),
        ));
        let with = |v: &str| {
            let mut s = Secrets::default();
            s.resolve_values(&r).unwrap();
            for slot in [&mut s.params, &mut s.property_overrides, &mut s.connections] {
                for x in slot.iter_mut().flatten() {
                    *x = Zeroizing::new(v.to_string());
                }
            }
            pipeline(&r, "SsisIr", &s).unwrap()
        };
        let (n1, _, b1) = with("pw-one");
        let (n2, _, _) = with("pw-two");
        assert_eq!(
            n1, n2,
            "a sensitive value never changes the pipeline's name"
        );
        let tp = &b1["properties"]["activities"][0]["typeProperties"];
        let secure = json!({"type": "SecureString", "value": "pw-one"});
        assert_eq!(tp["packageParameters"]["DbPassword"]["value"], secure);
        assert_eq!(tp["packageParameters"]["Batch"]["value"], "7");
        assert_eq!(
            tp["packageConnectionManagers"]["OLEDB"]["Password"]["value"],
            secure
        );
        let o = &tp["propertyOverrides"][r"\Package.Variables[User::Pw].Value"];
        assert_eq!((&o["value"], &o["isSensitive"]), (&secure, &json!(true)));
    }

    #[test]
    fn package_paths() {
        let p = |s: &str| package_path(&PackageRef::Store(s.into()));
        assert_eq!(p(r"S\F\N.dtsx").unwrap().0, "S/F/N");
        assert!(p("OnlyName").is_err());
        assert!(p(r"S\..\N").is_err());
        let f = package_path(&PackageRef::File(
            r"\\a.file.core.windows.net\ssis\x\Load.dtsx".into(),
        ))
        .unwrap();
        assert_eq!((f.1.as_str(), f.2), ("Load", "File"));
        let f = package_path(&PackageRef::File(
            "https://Acct.file.core.windows.net/ssis/x%20y/Load.dtsx?sv=1&sig=2".into(),
        ))
        .unwrap();
        assert_eq!(f.0, r"\\acct.file.core.windows.net\ssis\x y\Load.dtsx");
    }

    #[test]
    fn azure_files_paths_carry_the_account_key_as_access_credential() {
        let mut r = req(None);
        r.package = PackageRef::File(r"\\acct.file.core.windows.net\pkgs\Load.dtsx".into());
        r.config = Some(r"\\acct.file.core.windows.net\pkgs\Load.dtsConfig".into());
        r.log_path = Some(r"\\fileserver\logs".into());
        let keys = |k: &str| Secrets {
            package_password: None,
            execution_password: None,
            share_keys: vec![("acct".into(), Zeroizing::new(k.into()))],
            ..Secrets::default()
        };
        let (n1, _, b1) = pipeline(&r, "SsisIr", &keys("a2V5MQ==")).unwrap();
        let (n2, _, _) = pipeline(&r, "SsisIr", &keys("a2V5Mg==")).unwrap();
        assert_eq!(n1, n2, "a key never changes the pipeline's name");
        let loc = &b1["properties"]["activities"][0]["typeProperties"]["packageLocation"];
        assert_eq!(loc["type"], "File");
        let cred = &loc["typeProperties"]["accessCredential"];
        assert_eq!(
            (cred["domain"].as_str(), cred["userName"].as_str()),
            (Some("Azure"), Some("acct"))
        );
        assert_eq!(
            cred["password"],
            json!({"type": "SecureString", "value": "a2V5MQ=="})
        );
        assert_eq!(
            loc["typeProperties"]["configurationAccessCredential"]["userName"],
            "acct"
        );
        let log = &b1["properties"]["activities"][0]["typeProperties"]["logLocation"];
        assert_eq!(log["logPath"], r"\\fileserver\logs");
        assert!(log.get("typeProperties").is_none(), "{log}");
    }
}
