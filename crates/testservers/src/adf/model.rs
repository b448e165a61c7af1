//! The factory: integration runtimes, linked services behind package stores, pipelines
//! (validated as the service validates an Execute SSIS Package activity), and the ARM
//! resource bodies the service answers with (secrets masked). Pure: no I/O.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// What the service shows for a SecureString it keeps.
pub const MASK: &str = "**********";

/// An ARM error: status, `error.code`, `error.message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdfError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl AdfError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "target": null, "details": null}})
    }
}

/// A package store's linked service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// Account, share, optional directory inside the share.
    AzureFiles {
        account: String,
        share: String,
        dir: Option<String>,
    },
    /// `host,port` of a SQL Managed Instance.
    SqlMi { server: String },
}

impl StoreKind {
    /// `azurefiles:ACCOUNT:SHARE[:DIR]` or `sqlmi:HOST,PORT`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kind, rest) = spec.split_once(':').ok_or_else(|| {
            format!("store `{spec}`: expected azurefiles:ACCOUNT:SHARE[:DIR] or sqlmi:HOST,PORT")
        })?;
        match kind.to_ascii_lowercase().as_str() {
            "azurefiles" => {
                let mut parts = rest.splitn(3, ':');
                let account = parts.next().unwrap_or_default().to_string();
                let share = parts.next().unwrap_or_default().to_string();
                let dir = parts.next().map(|d| d.replace('/', "\\"));
                if account.is_empty() || share.is_empty() {
                    return Err(format!("store `{spec}`: azurefiles needs ACCOUNT:SHARE"));
                }
                Ok(StoreKind::AzureFiles {
                    account,
                    share,
                    dir: dir.filter(|d| !d.is_empty()),
                })
            }
            "sqlmi" if !rest.is_empty() => Ok(StoreKind::SqlMi {
                server: rest.to_string(),
            }),
            _ => Err(format!(
                "store `{spec}`: expected azurefiles:ACCOUNT:SHARE[:DIR] or sqlmi:HOST,PORT"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ir {
    pub name: String,
    pub state: String,
    /// (package store name, linked service name)
    pub stores: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    /// `properties` as PUT, secrets included (masked only when answered).
    pub properties: Value,
    pub etag: String,
}

/// Identifies the factory in ids and messages.
#[derive(Debug, Clone)]
pub struct FactoryId {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

impl FactoryId {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let parts: Vec<&str> = spec.split('/').collect();
        match parts.as_slice() {
            [s, rg, f] if !s.is_empty() && !rg.is_empty() && !f.is_empty() => Ok(Self {
                subscription: s.to_string(),
                resource_group: rg.to_string(),
                name: f.to_string(),
            }),
            _ => Err(format!(
                "--factory `{spec}`: expected SUBSCRIPTION/RESOURCE_GROUP/FACTORY"
            )),
        }
    }
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DataFactory/factories/{}",
            self.subscription, self.resource_group, self.name
        )
    }
    /// ARM's 404 for a factory this server does not hold: it names the factory the
    /// request asked for, as ARM does.
    pub fn not_found(&self, requested: &str) -> AdfError {
        AdfError::new(
            404,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.DataFactory/factories/{requested}' under resource group '{}' was not found.",
                self.resource_group
            ),
        )
    }
}

pub struct Factory {
    pub id: FactoryId,
    pub irs: Vec<Ir>,
    /// Lower-case name -> (name, properties with secrets).
    pub linked_services: BTreeMap<String, (String, Value)>,
    pub pipelines: BTreeMap<String, Pipeline>,
    etag_counter: u64,
}

fn child_not_found(f: &FactoryId, kind: &str, name: &str) -> AdfError {
    AdfError::new(
        404,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.DataFactory/factories/{}/{kind}/{name}' under resource group '{}' was not found.",
            f.name, f.resource_group
        ),
    )
}

impl Factory {
    pub fn new(id: FactoryId) -> Self {
        Self {
            id,
            irs: Vec::new(),
            linked_services: BTreeMap::new(),
            pipelines: BTreeMap::new(),
            etag_counter: 0,
        }
    }

    fn next_etag(&mut self) -> String {
        self.etag_counter += 1;
        format!(
            "\"{:08x}-0000-0100-0000-{:012x}\"",
            self.etag_counter, self.etag_counter
        )
    }

    pub fn add_ir(&mut self, name: &str, state: &str) {
        self.irs.push(Ir {
            name: name.into(),
            state: state.into(),
            stores: Vec::new(),
        });
    }

    /// Adds a package store (and its linked service) to every IR.
    pub fn add_store(&mut self, name: &str, kind: &StoreKind) {
        let ls_name = format!("LS_{name}");
        let props = match kind {
            StoreKind::AzureFiles {
                account,
                share,
                dir,
            } => {
                let mut host = format!(r"\\{account}.file.core.windows.net\{share}");
                if let Some(d) = dir {
                    host.push('\\');
                    host.push_str(d);
                }
                json!({
                    "type": "AzureFileStorage",
                    "annotations": [],
                    "typeProperties": {
                        "host": host,
                        "userId": format!("AZURE\\{account}"),
                        "password": {"type": "SecureString", "value": format!("fixture-key-{}", uuid::Uuid::new_v4())},
                    }
                })
            }
            StoreKind::SqlMi { server } => json!({
                "type": "AzureSqlMI",
                "annotations": [],
                "typeProperties": {
                    "connectionString": format!("Data Source={server};Initial Catalog=msdb;Integrated Security=False;User ID=ssisadmin;"),
                    "authenticationType": "SQL",
                    "userName": "ssisadmin",
                    "password": {"type": "SecureString", "value": format!("fixture-pw-{}", uuid::Uuid::new_v4())},
                }
            }),
        };
        self.linked_services
            .insert(ls_name.to_ascii_lowercase(), (ls_name.clone(), props));
        for ir in &mut self.irs {
            ir.stores.push((name.to_string(), ls_name.clone()));
        }
    }

    /// An `AzureKeyVault` linked service `LS_<VAULT>` at `base_url`.
    pub fn add_key_vault(&mut self, vault: &str, base_url: &str) {
        let ls_name = format!("LS_{vault}");
        let props = json!({
            "type": "AzureKeyVault",
            "annotations": [],
            "typeProperties": {"baseUrl": base_url}
        });
        self.linked_services
            .insert(ls_name.to_ascii_lowercase(), (ls_name, props));
    }

    /// The store's linked service keeps its secret (`password`) in Key Vault.
    pub fn keep_store_secret_in_vault(
        &mut self,
        store: &str,
        vault: &str,
        secret: &str,
    ) -> Result<(), String> {
        let key = format!("ls_{}", store.to_ascii_lowercase());
        let (_, props) = self
            .linked_services
            .get_mut(&key)
            .ok_or_else(|| format!("--store-secret: no --store named `{store}`"))?;
        props["typeProperties"]["password"] = json!({
            "type": "AzureKeyVaultSecret",
            "store": {"referenceName": format!("LS_{vault}"), "type": "LinkedServiceReference"},
            "secretName": secret,
        });
        Ok(())
    }

    pub fn ir(&self, name: &str) -> Result<&Ir, AdfError> {
        self.irs
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| child_not_found(&self.id, "integrationRuntimes", name))
    }

    pub fn ir_json(&self, ir: &Ir) -> Value {
        let stores: Vec<Value> = ir
            .stores
            .iter()
            .map(|(n, ls)| {
                json!({"name": n, "packageStoreLinkedService": {"type": "LinkedServiceReference", "referenceName": ls}})
            })
            .collect();
        json!({
            "id": format!("{}/integrationruntimes/{}", self.id.id(), ir.name),
            "name": ir.name,
            "type": "Microsoft.DataFactory/factories/integrationruntimes",
            "properties": {
                "type": "Managed",
                "state": ir.state,
                "typeProperties": {
                    "computeProperties": {
                        "location": "EastUS",
                        "nodeSize": "Standard_D2_v3",
                        "numberOfNodes": 2,
                        "maxParallelExecutionsPerNode": 2
                    },
                    "ssisProperties": {
                        "edition": "Standard",
                        "licenseType": "LicenseIncluded",
                        "packageStores": stores
                    }
                }
            },
            "etag": "\"0000a1b2-0000-0100-0000-000000000001\""
        })
    }

    /// The answer of `getStatus`: nodes follow the state (two Available nodes when Started).
    pub fn ir_status_json(&self, ir: &Ir) -> Value {
        let node_status = match ir.state.as_str() {
            "Started" => Some("Available"),
            "Starting" => Some("Starting"),
            "Stopping" => Some("Recycling"),
            _ => None,
        };
        let nodes: Vec<Value> = node_status
            .map(|s| {
                (1..=2)
                    .map(|i| json!({"nodeId": format!("tvm-0000000{i}_20261201t000000z"), "status": s, "errors": []}))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "name": ir.name,
            "properties": {
                "type": "Managed",
                "dataFactoryName": self.id.name,
                "state": ir.state,
                "typeProperties": {
                    "createTime": "2026-12-01T00:00:00Z",
                    "nodes": nodes,
                    "otherErrors": [],
                }
            }
        })
    }

    pub fn linked_service_json(&self, name: &str) -> Result<Value, AdfError> {
        let (name, props) = self
            .linked_services
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| child_not_found(&self.id, "linkedservices", name))?;
        Ok(json!({
            "id": format!("{}/linkedservices/{name}", self.id.id()),
            "name": name,
            "type": "Microsoft.DataFactory/factories/linkedservices",
            "properties": masked(props),
            "etag": "\"0000c3d4-0000-0100-0000-000000000001\""
        }))
    }

    pub fn pipeline_json(&self, p: &Pipeline) -> Value {
        json!({
            "id": format!("{}/pipelines/{}", self.id.id(), p.name),
            "name": p.name,
            "type": "Microsoft.DataFactory/factories/pipelines",
            "properties": masked(&p.properties),
            "etag": p.etag,
        })
    }

    pub fn pipeline(&self, name: &str) -> Result<&Pipeline, AdfError> {
        self.pipelines
            .get(&name.to_ascii_lowercase())
            .ok_or_else(|| child_not_found(&self.id, "pipelines", name))
    }

    /// PUT: validates, then creates or replaces. Returns the stored pipeline.
    pub fn put_pipeline(&mut self, name: &str, body: &Value) -> Result<&Pipeline, AdfError> {
        check_entity_name(name, "pipeline")?;
        let props = body
            .get("properties")
            .filter(|p| p.is_object())
            .ok_or_else(|| {
                AdfError::bad_request("BadRequest", "The request body must carry 'properties'.")
            })?;
        self.validate_pipeline(props)?;
        let etag = self.next_etag();
        let key = name.to_ascii_lowercase();
        // A pipeline keeps the name it was created with, as the service does.
        let stored_name = self
            .pipelines
            .get(&key)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| name.to_string());
        self.pipelines.insert(
            key.clone(),
            Pipeline {
                name: stored_name,
                properties: props.clone(),
                etag,
            },
        );
        Ok(&self.pipelines[&key])
    }

    fn validate_pipeline(&self, props: &Value) -> Result<(), AdfError> {
        let activities = props
            .get("activities")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                AdfError::bad_request("BadRequest", "Pipeline 'activities' must be an array.")
            })?;
        let mut names = Vec::new();
        for a in activities {
            let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                return Err(AdfError::bad_request(
                    "BadRequest",
                    "Activity name is required.",
                ));
            }
            if names.iter().any(|n: &String| n.eq_ignore_ascii_case(name)) {
                return Err(AdfError::bad_request(
                    "BadRequest",
                    format!("Activity name '{name}' is used more than once."),
                ));
            }
            names.push(name.to_string());
            let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
            match kind {
                "ExecuteSSISPackage" => self.validate_ssis_activity(name, a)?,
                "Wait" | "SetVariable" | "AppendVariable" | "Fail" => {}
                _ => {
                    return Err(AdfError::bad_request(
                        "InvalidActivityType",
                        format!("Activity '{name}' has an invalid type '{kind}'."),
                    ))
                }
            }
        }
        Ok(())
    }

    fn validate_ssis_activity(&self, name: &str, a: &Value) -> Result<(), AdfError> {
        let bad = |m: String| Err(AdfError::bad_request("BadRequest", m));
        let Some(tp) = a.get("typeProperties").filter(|t| t.is_object()) else {
            return bad(format!("Activity '{name}': 'typeProperties' is required."));
        };
        let via = tp.get("connectVia");
        let via_type = via.and_then(|v| v.get("type")).and_then(Value::as_str);
        let via_name = via
            .and_then(|v| v.get("referenceName"))
            .and_then(Value::as_str);
        let (Some("IntegrationRuntimeReference"), Some(ir_name)) = (via_type, via_name) else {
            return bad(format!(
                "Activity '{name}': 'connectVia' must be an IntegrationRuntimeReference naming an Azure-SSIS integration runtime."
            ));
        };
        let Ok(ir) = self.ir(ir_name) else {
            return Err(AdfError::bad_request(
                "ReferencedResourceNotFound",
                format!("Activity '{name}': the integration runtime '{ir_name}' referenced by 'connectVia' does not exist."),
            ));
        };
        if let Some(r) = tp.get("runtime").and_then(Value::as_str) {
            if r != "x64" && r != "x86" {
                return bad(format!(
                    "Activity '{name}': 'runtime' must be x64 or x86, not '{r}'."
                ));
            }
        }
        if let Some(l) = tp.get("loggingLevel").and_then(Value::as_str) {
            if !["None", "Basic", "Performance", "Verbose"].contains(&l) {
                return bad(format!("Activity '{name}': 'loggingLevel' '{l}' is not one of None, Basic, Performance, Verbose."));
            }
        }
        let Some(loc) = tp.get("packageLocation").filter(|l| l.is_object()) else {
            return bad(format!("Activity '{name}': 'packageLocation' is required."));
        };
        let kind = loc.get("type").and_then(Value::as_str).unwrap_or("SSISDB");
        let path = loc
            .get("packagePath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match kind {
            "PackageStore" => {
                let mut segs = path.split('/');
                let store = segs.next().unwrap_or_default();
                let rest: Vec<&str> = segs.collect();
                if !ir.stores.iter().any(|(s, _)| s.eq_ignore_ascii_case(store)) {
                    return Err(AdfError::bad_request(
                        "BadRequest",
                        format!("Activity '{name}': package store '{store}' of packagePath '{path}' is not a package store of integration runtime '{}'.", ir.name),
                    ));
                }
                if rest.is_empty() || rest.iter().any(|s| s.is_empty()) {
                    return bad(format!("Activity '{name}': packagePath '{path}' must be STORE/Folder/Package."));
                }
            }
            "File" | "SSISDB" if path.is_empty() => {
                return bad(format!("Activity '{name}': 'packagePath' is required."));
            }
            "File" | "SSISDB" | "InlinePackage" => {}
            other => {
                return bad(format!("Activity '{name}': packageLocation type '{other}' is not one of SSISDB, File, InlinePackage, PackageStore."))
            }
        }
        Ok(())
    }

    pub fn delete_pipeline(&mut self, name: &str) -> bool {
        self.pipelines.remove(&name.to_ascii_lowercase()).is_some()
    }
}

/// The service's entity-name rule (letters, digits, `_`, `-`, space; 1-140 characters;
/// not ending in a space).
pub fn check_entity_name(name: &str, what: &str) -> Result<(), AdfError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 140
        && !name.ends_with(' ')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ' '));
    if ok {
        Ok(())
    } else {
        Err(AdfError::bad_request(
            "InvalidResourceName",
            format!("The {what} name '{name}' is invalid."),
        ))
    }
}

/// A copy with every SecureString value replaced by the mask.
pub fn masked(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let secure = m.get("type").and_then(Value::as_str) == Some("SecureString");
            let out: Map<String, Value> = m
                .iter()
                .map(|(k, x)| {
                    if secure && k == "value" {
                        (k.clone(), Value::String(MASK.into()))
                    } else {
                        (k.clone(), masked(x))
                    }
                })
                .collect();
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(masked).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factory() -> Factory {
        let mut f = Factory::new(FactoryId::parse("sub/rg/adf").unwrap());
        f.add_ir("SsisIr", "Started");
        f.add_store(
            "FILES",
            &StoreKind::parse("azurefiles:acct:pkgs:ssis").unwrap(),
        );
        f
    }

    fn ssis(path_type: &str, path: &str, ir: &str) -> Value {
        json!({"properties": {"activities": [{"name": "A", "type": "ExecuteSSISPackage",
            "typeProperties": {"connectVia": {"referenceName": ir, "type": "IntegrationRuntimeReference"},
            "packageLocation": {"type": path_type, "packagePath": path,
                "typeProperties": {"packagePassword": {"type": "SecureString", "value": "s3cret"}}}}}]}})
    }

    #[test]
    fn validates_ssis_activities() {
        let mut f = factory();
        assert!(f
            .put_pipeline("P", &ssis("PackageStore", "FILES/Fin/Load", "ssisir"))
            .is_ok());
        let e = f
            .put_pipeline("P", &ssis("PackageStore", "OTHER/Fin/Load", "SsisIr"))
            .unwrap_err();
        assert!(e.message.contains("package store 'OTHER'"), "{e:?}");
        let e = f
            .put_pipeline("P", &ssis("PackageStore", "FILES/Fin/Load", "Nope"))
            .unwrap_err();
        assert_eq!(e.code, "ReferencedResourceNotFound");
        let e = f
            .put_pipeline("P", &ssis("Bogus", "x", "SsisIr"))
            .unwrap_err();
        assert!(e.message.contains("Bogus"));
        let mut wrong = ssis("File", "x.dtsx", "SsisIr");
        wrong["properties"]["activities"][0]["type"] = json!("Execution");
        assert_eq!(
            f.put_pipeline("P", &wrong).unwrap_err().code,
            "InvalidActivityType"
        );
        assert!(f
            .put_pipeline("bad/name", &ssis("File", "x", "SsisIr"))
            .is_err());
    }

    #[test]
    fn masks_secrets_on_get() {
        let mut f = factory();
        let p = f
            .put_pipeline("P", &ssis("PackageStore", "FILES/Fin/Load", "SsisIr"))
            .unwrap()
            .clone();
        let shown = f.pipeline_json(&p).to_string();
        assert!(!shown.contains("s3cret") && shown.contains(MASK));
        let ls = f.linked_service_json("ls_files").unwrap().to_string();
        assert!(!ls.contains("fixture-key") && ls.contains(MASK));
        assert!(
            ls.contains(r"acct.file.core.windows.net\\pkgs\\ssis"),
            "{ls}"
        );
    }
}
