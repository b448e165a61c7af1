//! The IR's package stores and what their linked services point at (an Azure Files
//! share or an Azure SQL Managed Instance's msdb). Secrets in linked services come back
//! masked from ARM and are never read here.

use serde_json::Value;

use crate::arm::{Arm, Target};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// `\\ACCOUNT.file.core.windows.net\SHARE[\dir]`
    AzureFiles { unc: String },
    /// `host,port` of the managed instance.
    SqlMi { server: String },
    /// A linked service type dtutil does not read (named), or one it could not place.
    Other { what: String },
}

/// A linked-service secret kept in Key Vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVaultSecret {
    /// The `AzureKeyVault` linked service naming the vault.
    pub linked_service: String,
    pub secret_name: String,
    pub secret_version: Option<String>,
    /// Which property of the linked service it stands for (`password`, `accountKey`,
    /// `sasToken`, `sasUri`, `connectionString`).
    pub property: &'static str,
}

#[derive(Debug, Clone)]
pub struct PackageStore {
    pub name: String,
    pub linked_service: String,
    pub kind: StoreKind,
    /// Where the linked service keeps its secret when it is in Key Vault.
    pub key_vault_secret: Option<KeyVaultSecret>,
    /// The linked service's `properties` as ARM answered them (secrets masked).
    pub properties: Value,
}

impl PackageStore {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            StoreKind::AzureFiles { .. } => "AzureFiles",
            StoreKind::SqlMi { .. } => "SqlMI",
            StoreKind::Other { .. } => "Other",
        }
    }
    pub fn location(&self) -> &str {
        match &self.kind {
            StoreKind::AzureFiles { unc } => unc,
            StoreKind::SqlMi { server } => server,
            StoreKind::Other { what } => what,
        }
    }
}

/// `packageStores[]` of the IR's definition: (store name, linked service name).
pub fn store_refs(ir: &Value) -> Vec<(String, String)> {
    ir.pointer("/properties/typeProperties/ssisProperties/packageStores")
        .and_then(Value::as_array)
        .map(|stores| {
            stores
                .iter()
                .filter_map(|s| {
                    let name = s.get("name")?.as_str()?.to_string();
                    let ls = s
                        .pointer("/packageStoreLinkedService/referenceName")?
                        .as_str()?
                        .to_string();
                    Some((name, ls))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every package store of the IR with its linked service read.
pub fn list(arm: &Arm, ir: &Value) -> Result<Vec<PackageStore>> {
    let mut out = Vec::new();
    for (name, ls) in store_refs(ir) {
        let path = format!("/linkedservices/{}", crate::arm::encode(&ls));
        let v = arm.call("GET", &path, None, Target::LinkedService(&ls))?;
        out.push(describe(
            &name,
            &ls,
            v.get("properties").unwrap_or(&Value::Null),
        ));
    }
    Ok(out)
}

/// A string property that may be given plainly or as `{"type":"SecureString","value"}`
/// (masked values are useless and count as absent).
fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.get("value")?.as_str()?.to_string(),
        _ => return None,
    };
    (!s.is_empty() && !s.starts_with("****")).then_some(s)
}

/// `Key=Value;...` lookup, case-insensitive on keys.
pub fn conn_field(conn: &str, keys: &[&str]) -> Option<String> {
    conn.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        keys.iter()
            .any(|key| k.trim().eq_ignore_ascii_case(key))
            .then(|| v.trim().to_string())
    })
}

/// The linked service's secret in Key Vault, if it keeps one there.
fn key_vault_ref(tp: &Value) -> Option<KeyVaultSecret> {
    [
        "password",
        "accountKey",
        "sasToken",
        "connectionString",
        "sasUri",
    ]
    .iter()
    .find_map(|&property| {
        let s = tp.get(property)?;
        (s.get("type")?.as_str()? == "AzureKeyVaultSecret").then_some(())?;
        Some(KeyVaultSecret {
            linked_service: s.pointer("/store/referenceName")?.as_str()?.to_string(),
            secret_name: text(s.get("secretName"))?,
            secret_version: text(s.get("secretVersion")),
            property,
        })
    })
}

pub fn describe(name: &str, ls: &str, props: &Value) -> PackageStore {
    let kind = props.get("type").and_then(Value::as_str).unwrap_or("");
    let tp = props.get("typeProperties").unwrap_or(&Value::Null);
    let location = match kind {
        "AzureFileStorage" => azure_files(tp),
        "AzureSqlMI" => sql_mi(tp),
        _ => None,
    };
    // A line break in a host or server is no location (and would forge output lines).
    let garbled = location
        .as_deref()
        .is_some_and(|l| l.chars().any(char::is_control));
    let store_kind = match (kind, location) {
        (_, Some(_)) if garbled => StoreKind::Other {
            what: format!("a {kind} linked service whose location holds a control character"),
        },
        ("AzureFileStorage", Some(unc)) => StoreKind::AzureFiles { unc },
        ("AzureSqlMI", Some(server)) => StoreKind::SqlMi { server },
        _ => StoreKind::Other {
            what: if kind.is_empty() {
                "a linked service without a type".into()
            } else {
                format!("a {kind} linked service dtutil cannot place")
            },
        },
    };
    PackageStore {
        name: name.into(),
        linked_service: ls.into(),
        kind: store_kind,
        key_vault_secret: key_vault_ref(tp),
        properties: props.clone(),
    }
}

fn azure_files(tp: &Value) -> Option<String> {
    if let Some(host) = text(tp.get("host")) {
        if host.starts_with(r"\\") {
            return Some(host.trim_end_matches('\\').to_string());
        }
    }
    let share = text(tp.get("fileShare"));
    if let Some(conn) = text(tp.get("connectionString")) {
        let account = conn_field(&conn, &["AccountName"])?;
        let suffix =
            conn_field(&conn, &["EndpointSuffix"]).unwrap_or_else(|| "core.windows.net".into());
        let share = share?;
        return Some(format!(r"\\{account}.file.{suffix}\{share}"));
    }
    // A SAS URI: https://ACCOUNT.file.core.windows.net/SHARE?sv=... (the query is a secret).
    let sas = text(tp.get("sasUri"))?;
    let rest = sas.split_once("://")?.1.split('?').next()?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let share = share.or_else(|| {
        path.split('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })?;
    Some(format!(r"\\{host}\{share}"))
}

fn sql_mi(tp: &Value) -> Option<String> {
    let server = text(tp.get("server")).or_else(|| {
        let conn = text(tp.get("connectionString"))?;
        conn_field(&conn, &["Data Source", "Server", "Address", "Addr"])
    })?;
    let server = server
        .strip_prefix("tcp:")
        .unwrap_or(&server)
        .trim()
        .to_string();
    (!server.is_empty()).then_some(server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn linked_services_are_placed() {
        let host = json!({"type": "AzureFileStorage", "typeProperties": {"host": r"\\acct.file.core.windows.net\pkgs\ssis", "password": {"type": "SecureString", "value": "**********"}}});
        let s = describe("FILES", "LS", &host);
        assert_eq!(s.location(), r"\\acct.file.core.windows.net\pkgs\ssis");
        let conn = json!({"type": "AzureFileStorage", "typeProperties": {"connectionString": "DefaultEndpointsProtocol=https;AccountName=acct2;EndpointSuffix=core.chinacloudapi.cn;", "fileShare": "share"}});
        assert_eq!(
            describe("A", "L", &conn).location(),
            r"\\acct2.file.core.chinacloudapi.cn\share"
        );
        let mi = json!({"type": "AzureSqlMI", "typeProperties": {"connectionString": "Data Source=tcp:mi.x.database.windows.net,1433;Initial Catalog=msdb;"}});
        assert_eq!(
            describe("MI", "L", &mi).location(),
            "mi.x.database.windows.net,1433"
        );
        let masked = json!({"type": "AzureSqlMI", "typeProperties": {"connectionString": {"type": "SecureString", "value": "**********"}}});
        assert_eq!(describe("MI", "L", &masked).kind_name(), "Other");
        let kv = json!({"type": "AzureFileStorage", "typeProperties": {"host": r"\\a.file.core.windows.net\ssis",
            "password": {"type": "AzureKeyVaultSecret", "store": {"referenceName": "KV", "type": "LinkedServiceReference"}, "secretName": "files-key"}}});
        assert_eq!(
            describe("F", "L", &kv).key_vault_secret,
            Some(KeyVaultSecret {
                linked_service: "KV".into(),
                secret_name: "files-key".into(),
                secret_version: None,
                property: "password",
            })
        );
    }
}
