//! The rules over a package's objects: connections (1001-1007), components and tasks
//! (2001-2004), log providers (2005), Execute Process tasks (3001), configurations
//! (4001, 4002) and values computed at run time (DTU301).

use super::connection::{self, Connection};
use super::engine::{Found, Options};
use super::rules::{
    config_type, squash, AZURE_BLOB_COMPONENTS, BUILTIN_LOG_PROVIDERS, ENTERPRISE_COMPONENTS,
    JAVA_FORMATS, MICROSOFT_KEY_TOKENS, MICROSOFT_SHIPPED_CLASS_IDS,
};
use crate::package::objects::{Object, ObjectKind};

/// Properties whose value, when an expression computes it, decides where a package
/// reaches at run time.
const RUNTIME_PROPERTIES: &[&str] = &[
    "ConnectionString",
    "ServerName",
    "InitialCatalog",
    "Executable",
    "WorkingDirectory",
    "ConfigString",
    "ConfigurationString",
];

pub fn objects(found: &mut Found, options: &Options, objects: &[Object]) {
    for object in objects {
        match object.kind {
            ObjectKind::Connection => connection(found, options, object),
            ObjectKind::Executable => executable(found, options, object),
            ObjectKind::Component => component(found, options, object),
            ObjectKind::LogProvider => log_provider(found, options, object),
            ObjectKind::Configuration => configuration(found, options, object),
        }
        for (property, expression) in &object.expressions {
            if RUNTIME_PROPERTIES
                .iter()
                .any(|p| p.eq_ignore_ascii_case(property))
            {
                found.add(
                    options,
                    "DTU301",
                    Some(object),
                    format!("{property} is set by an expression when the package runs"),
                    format!("{property} = {expression}"),
                );
            }
        }
    }
}

fn connection(found: &mut Found, options: &Options, object: &Object) {
    let conn = Connection::of(object);
    let evidence = conn.evidence();
    for path in conn.paths() {
        if connection::is_absolute_or_unc(&path) {
            found.add(
                options,
                "1002",
                Some(object),
                format!("the connection reaches `{path}`, an absolute or UNC path"),
                evidence.clone(),
            );
        }
    }
    if let Some(host) = conn.host() {
        if let Some(why) = connection::host_problem(&host) {
            found.add(options, "1001", Some(object), why, evidence.clone());
        }
    }
    if let Some(auth) = conn.windows_auth() {
        found.add(
            options,
            "1003",
            Some(object),
            format!("the connection signs in with Windows authentication ({auth})"),
            evidence.clone(),
        );
    }
    if let Some(provider) = conn.foreign_provider() {
        found.add(options, "1004", Some(object), provider, evidence.clone());
    }
    if conn.is_analysis_services() {
        found.add(
            options,
            "1005",
            Some(object),
            "an Analysis Services connection: an account with MFA cannot sign in from the IR"
                .into(),
            evidence.clone(),
        );
    }
    for variable in connection::env_variables(conn.text()) {
        found.add(
            options,
            "1006",
            Some(object),
            format!("the connection uses the Windows environment variable %{variable}%"),
            evidence.clone(),
        );
    }
    if let Some(provider) = conn.snac_provider() {
        found.add(
            options,
            "1007",
            Some(object),
            format!("the connection uses SQL Server Native Client ({provider})"),
            evidence,
        );
    }
}

/// What a component or task calls itself, squashed: class ID, managed type and the
/// name in its contact information.
fn identity(object: &Object, type_property: &str) -> String {
    let contact_name = object
        .get("contactInfo")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default();
    squash(&format!(
        "{} {} {}",
        object.get(type_property).unwrap_or_default(),
        object.get("UserComponentTypeName").unwrap_or_default(),
        contact_name
    ))
}

fn enterprise(found: &mut Found, options: &Options, object: &Object, id: &str) -> bool {
    let Some((_, name)) = ENTERPRISE_COMPONENTS
        .iter()
        .find(|(key, _)| id.contains(key))
    else {
        return false;
    };
    if !options.enterprise {
        found.add(
            options,
            "2001",
            Some(object),
            format!("{name} needs the Enterprise Edition"),
            type_evidence(object),
        );
    }
    true
}

fn type_evidence(object: &Object) -> String {
    let mut parts = Vec::new();
    for key in [
        "componentClassID",
        "UserComponentTypeName",
        "ExecutableType",
        "CreationName",
        "contactInfo",
    ] {
        if let Some(v) = object.get(key).filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={v}"));
        }
    }
    parts.join("; ")
}

/// A .NET assembly-qualified name signed by someone other than Microsoft.
fn foreign_assembly(type_name: &str) -> bool {
    let lower = type_name.to_ascii_lowercase();
    match lower.split("publickeytoken=").nth(1) {
        Some(token) => {
            let token = token.trim().get(..16).unwrap_or(token.trim());
            !MICROSOFT_KEY_TOKENS.contains(&token)
        }
        None => false,
    }
}

fn is_guid(text: &str) -> bool {
    let t = text.trim();
    t.len() == 38 && t.starts_with('{') && t.ends_with('}')
}

fn executable(found: &mut Found, options: &Options, object: &Object) {
    let kind = object
        .get("ExecutableType")
        .or_else(|| object.get("CreationName"))
        .unwrap_or_default();
    if enterprise(found, options, object, &identity(object, "ExecutableType")) {
        return;
    }
    if squash(kind).contains("executeprocess") {
        for property in ["Executable", "WorkingDirectory"] {
            if let Some(path) = object
                .get(property)
                .filter(|p| connection::is_absolute_or_unc(p))
            {
                found.add(
                    options,
                    "3001",
                    Some(object),
                    format!("the Execute Process Task's {property} is `{path}`, an absolute or UNC path"),
                    format!("{property}={path}"),
                );
            }
        }
    }
    if foreign_assembly(kind) {
        found.add(
            options,
            "2003",
            Some(object),
            "a task that is not Microsoft's (its assembly is signed by another publisher)".into(),
            type_evidence(object),
        );
    }
}

fn component(found: &mut Found, options: &Options, object: &Object) {
    let id = identity(object, "componentClassID");
    if enterprise(found, options, object, &id) {
        return;
    }
    if AZURE_BLOB_COMPONENTS.iter().any(|k| id.contains(k)) {
        found.add(
            options,
            "2004",
            Some(object),
            "an Azure Blob source or destination".into(),
            type_evidence(object),
        );
    }
    let java_format = object.properties().find(|(name, value)| {
        name.to_ascii_lowercase().contains("format")
            && JAVA_FORMATS.contains(&value.trim().to_ascii_lowercase().as_str())
    });
    if let Some((name, value)) = java_format {
        found.add(
            options,
            "2002",
            Some(object),
            format!("the component reads or writes {value} files, which need a Java runtime"),
            format!("{name}={value}"),
        );
    }
    match publisher(object) {
        Publisher::Microsoft => {}
        Publisher::Other(who) => found.add(
            options,
            "2003",
            Some(object),
            format!("a component that is not Microsoft's ({who})"),
            type_evidence(object),
        ),
        Publisher::Unknown => found.add(
            options,
            "DTU301",
            Some(object),
            "the component is known only by a class ID; whether it is built in cannot be told from the package".into(),
            type_evidence(object),
        ),
    }
}

enum Publisher {
    Microsoft,
    Other(String),
    Unknown,
}

/// Who made a component: its contact information names the vendor (`Fuzzy
/// Lookup;Microsoft Corporation;...`); else a managed component's signing key; else
/// its class ID's form (`Microsoft.X`, `DTSAdapter.X.3`, `DTSTransform.X.3`).
fn publisher(object: &Object) -> Publisher {
    let class = object.get("componentClassID").unwrap_or_default();
    if MICROSOFT_SHIPPED_CLASS_IDS.contains(&class.trim().to_ascii_lowercase().as_str()) {
        return Publisher::Microsoft;
    }
    if let Some(vendor) = object
        .get("contactInfo")
        .and_then(|c| c.split(';').nth(1))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return if vendor.to_ascii_lowercase().contains("microsoft") {
            Publisher::Microsoft
        } else {
            Publisher::Other(format!("contact information names {vendor}"))
        };
    }
    if let Some(user_type) = object
        .get("UserComponentTypeName")
        .filter(|t| !t.is_empty())
    {
        return if foreign_assembly(user_type) {
            Publisher::Other("its assembly is signed by another publisher".into())
        } else {
            Publisher::Microsoft
        };
    }
    let class = object.get("componentClassID").unwrap_or_default();
    let lower = class.to_ascii_lowercase();
    if is_guid(class) {
        Publisher::Unknown
    } else if ["microsoft.", "dtsadapter.", "dtstransform.", "dts."]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        Publisher::Microsoft
    } else {
        Publisher::Other(format!("class ID {class}"))
    }
}

fn log_provider(found: &mut Found, options: &Options, object: &Object) {
    let kind = object
        .get("CreationName")
        .or_else(|| object.get("ClassID"))
        .unwrap_or_default();
    let lower = kind.trim().to_ascii_lowercase();
    let builtin = BUILTIN_LOG_PROVIDERS.iter().any(|b| {
        if b.starts_with('{') {
            lower == *b
        } else {
            squash(&lower).contains(b)
        }
    });
    if !builtin && !kind.trim().is_empty() {
        found.add(
            options,
            "2005",
            Some(object),
            format!(
                "the log provider `{}` is not one of the five built in",
                kind.trim()
            ),
            format!("CreationName={kind}"),
        );
    }
}

fn configuration(found: &mut Found, options: &Options, object: &Object) {
    let Some(kind) = object
        .get("ConfigurationType")
        .and_then(|t| t.trim().parse::<u32>().ok())
    else {
        return;
    };
    let location = object.get("ConfigurationString").unwrap_or_default().trim();
    let target = object.get("ConfigurationVariable").unwrap_or_default();
    let evidence = format!("ConfigurationType={kind}; ConfigurationString={location}");
    match kind {
        config_type::CONFIG_FILE | config_type::INI_FILE
            if connection::is_absolute_or_unc(location) =>
        {
            found.add(
                options,
                "4001",
                Some(object),
                format!("the configuration is read from `{location}`, an absolute or UNC path"),
                evidence,
            );
        }
        config_type::REG_ENTRY | config_type::I_REG_ENTRY => found.add(
            options,
            "4002",
            Some(object),
            "the configuration is read from the Windows registry".into(),
            evidence,
        ),
        config_type::ENV_VARIABLE => {
            if target.contains("Connections[") {
                found.add(
                    options,
                    "1006",
                    Some(object),
                    format!("a connection's property is set from the Windows environment variable {location}"),
                    format!("{evidence}; target {target}"),
                );
            } else {
                found.add(
                    options,
                    "DTU301",
                    Some(object),
                    format!("a value is read from the Windows environment variable {location} when the package runs"),
                    evidence,
                );
            }
        }
        config_type::I_CONFIG_FILE
        | config_type::I_PARENT_VARIABLE
        | config_type::I_SQL_SERVER
        | config_type::I_INI_FILE => found.add(
            options,
            "DTU301",
            Some(object),
            format!("where the configuration lives is read from the Windows environment variable {location} when the package runs"),
            evidence,
        ),
        _ => {}
    }
}
