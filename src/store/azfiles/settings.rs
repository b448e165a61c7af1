//! Where to connect and how to authorize: from the store configuration's variables.

use super::auth::Auth;
use super::client::Endpoint;
use super::path::AzPath;
use crate::retry::{RetryPolicy, RetrySettings};
use crate::store::{StoreError, StoreResult};

/// Where to connect and how to authorize, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub policy: RetryPolicy,
    /// Range uploads in flight at once (`DTUTIL_AZURE_PARALLEL`, default 4).
    pub parallel: usize,
    /// Entries per listing page (`DTUTIL_AZURE_LIST_PAGE_SIZE`, default and maximum 5000).
    pub page_size: u32,
}

/// A parsed `AZURE_STORAGE_CONNECTION_STRING`.
#[derive(Default)]
struct ConnectionString {
    account: Option<String>,
    key: Option<String>,
    sas: Option<String>,
    file_endpoint: Option<String>,
    protocol: Option<String>,
}

fn parse_connection_string(s: &str, var: &str) -> Result<ConnectionString, String> {
    let mut cs = ConnectionString::default();
    let parts = s.split(';').map(str::trim).enumerate();
    for (i, part) in parts.filter(|(_, p)| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            // Its text is not shown: a stray key or SAS fragment is a secret.
            return Err(format!(
                "{var}: part {} (counting `;`-separated parts from 1) is not Name=Value; not shown, since it may hold a key or SAS",
                i + 1
            ));
        };
        let v = v.trim().to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "accountname" => cs.account = Some(v),
            "accountkey" => cs.key = Some(v),
            "sharedaccesssignature" => cs.sas = Some(v),
            "fileendpoint" => cs.file_endpoint = Some(v),
            "defaultendpointsprotocol" => cs.protocol = Some(v.to_ascii_lowercase()),
            "usedevelopmentstorage" => {
                return Err(format!("{var}: UseDevelopmentStorage (Azurite) has no File service; give FileEndpoint=... for a test server"))
            }
            _ => {}
        }
    }
    Ok(cs)
}

const CONNECTION_STRING: &str = "AZURE_STORAGE_CONNECTION_STRING";
const KEY: &str = "AZURE_STORAGE_KEY";
const SAS_TOKEN: &str = "AZURE_STORAGE_SAS_TOKEN";
const ENDPOINT: &str = "DTUTIL_AZURE_FILES_ENDPOINT";

/// Which credential variables hold an account's credential. Each variable may be given
/// for one account with the account's name upper-cased as a suffix
/// (`AZURE_STORAGE_KEY_CONTOSOSSIS`), so stores on several accounts (an IR's package
/// stores, a batch between accounts) each have their own. When any per-account
/// credential variable is set for the account, only those are read: a shared variable
/// for another account can never be sent to this one.
struct CredentialVars {
    suffix: String,
    per_account: bool,
}

impl CredentialVars {
    fn for_account(account: &str, get: &dyn Fn(&str) -> Option<String>) -> Self {
        let suffix = account_suffix(account);
        let per_account = [CONNECTION_STRING, KEY, SAS_TOKEN]
            .iter()
            .any(|v| get(&format!("{v}_{suffix}")).is_some());
        Self {
            suffix,
            per_account,
        }
    }

    fn name(&self, var: &str) -> String {
        if self.per_account || var == ENDPOINT {
            format!("{var}_{}", self.suffix)
        } else {
            var.to_string()
        }
    }
}

/// `contosossis` -> `CONTOSOSSIS` (account names are lower-case letters and digits;
/// anything else becomes `_` so the name stays a valid variable name).
pub fn account_suffix(account: &str) -> String {
    account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl Settings {
    /// Credentials (each variable also per account, see [`CredentialVars`]), in this
    /// order: `AZURE_STORAGE_CONNECTION_STRING` (AccountName +
    /// AccountKey, or SharedAccessSignature; FileEndpoint), `AZURE_STORAGE_KEY` (with
    /// `AZURE_STORAGE_ACCOUNT`, which defaults to the path's account),
    /// `AZURE_STORAGE_SAS_TOKEN`, a SAS in an https path. The endpoint is
    /// `DTUTIL_AZURE_FILES_ENDPOINT_<ACCOUNT>`, else `DTUTIL_AZURE_FILES_ENDPOINT`, else
    /// the connection string's FileEndpoint, else
    /// `https://` + the path's host. Retries and timeouts are the user's `retry`
    /// settings over the store's defaults.
    pub fn from_env(
        path: &AzPath,
        get: &dyn Fn(&str) -> Option<String>,
        retry: &RetrySettings,
    ) -> StoreResult<Self> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let failed = StoreError::Failed;
        let vars = CredentialVars::for_account(&path.account, &get);
        let cs_var = vars.name(CONNECTION_STRING);
        let cs = match get(&cs_var) {
            Some(s) => Some(parse_connection_string(&s, &cs_var).map_err(failed)?),
            None => None,
        };
        let check_account = |account: &str, from: &str| {
            if account.eq_ignore_ascii_case(&path.account) {
                Ok(())
            } else {
                Err(StoreError::Failed(format!(
                    "{from} names storage account `{account}`, but the path names `{}`; set credentials for `{}`",
                    path.account, path.account
                )))
            }
        };
        let auth = match &cs {
            Some(ConnectionString {
                key: Some(key),
                account,
                ..
            }) => {
                let account = account.clone().unwrap_or_else(|| path.account.clone());
                check_account(&account, &cs_var)?;
                Auth::shared_key(&account, key).map_err(failed)?
            }
            Some(ConnectionString { sas: Some(sas), .. }) => Auth::sas(sas).map_err(failed)?,
            Some(_) => {
                return Err(failed(format!(
                    "{cs_var} has neither AccountKey nor SharedAccessSignature"
                )))
            }
            None => {
                if let Some(key) = get(&vars.name(KEY)) {
                    // A per-account key names its account already.
                    let account = if vars.per_account {
                        path.account.clone()
                    } else {
                        get("AZURE_STORAGE_ACCOUNT").unwrap_or_else(|| path.account.clone())
                    };
                    check_account(account.trim(), "AZURE_STORAGE_ACCOUNT")?;
                    Auth::shared_key(account.trim(), &key).map_err(failed)?
                } else if let Some(sas) = get(&vars.name(SAS_TOKEN)) {
                    Auth::sas(&sas).map_err(failed)?
                } else if let Some(sas) = &path.sas {
                    Auth::sas(sas).map_err(failed)?
                } else {
                    return Err(StoreError::PermissionDenied(format!(
                        "no credentials for Azure Files account `{}`: set AZURE_STORAGE_KEY_{} (its account key; or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY), AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING (each also with the _{} suffix)",
                        path.account, vars.suffix, vars.suffix
                    )));
                }
            }
        };
        let explicit = [vars.name(ENDPOINT), ENDPOINT.to_string()]
            .into_iter()
            .find_map(|var| get(&var).map(|e| (var, e)))
            .or_else(|| {
                cs.as_ref()
                    .and_then(|c| c.file_endpoint.clone())
                    .map(|e| ("the connection string's FileEndpoint".to_string(), e))
            });
        let endpoint = match explicit {
            Some((from, url)) => {
                Endpoint::parse(&url).map_err(|e| failed(format!("{from}: {e}")))?
            }
            // The account's key or SAS goes only to a documented Azure cloud's host.
            None if !path.cloud => {
                return Err(failed(format!(
                    "`{}` is not an Azure Files host: after ACCOUNT. must come {}; nothing was sent to it. For another endpoint (Azure Stack, Azurite, a test server) set {ENDPOINT}",
                    path.host,
                    super::path::CLOUD_SUFFIXES.join(", ")
                )))
            }
            None => {
                let http = cs.as_ref().and_then(|c| c.protocol.as_deref()) == Some("http");
                let scheme = if http { "http" } else { "https" };
                Endpoint {
                    origin: format!("{scheme}://{}", path.host),
                    base_path: String::new(),
                }
            }
        };
        if auth.is_sas() && !endpoint.is_https() {
            let host = endpoint.origin["http://".len()..].to_string();
            let host = match host.rfind(':') {
                Some(colon) if !host[colon..].contains(']') => host[..colon].to_string(),
                _ => host,
            };
            if !crate::warnings::is_loopback_host(&host) {
                crate::warnings::insecure_once(&format!(
                    "the SAS token goes to `{}` over plain http: anyone on the network path can read it and use it until it expires (use https)",
                    endpoint.origin
                ));
            }
        }
        let policy = retry.policy(RetryPolicy::AZURE_FILES).map_err(failed)?;
        let parallel = match get("DTUTIL_AZURE_PARALLEL") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    failed(format!("DTUTIL_AZURE_PARALLEL must be 1 to 64, not `{v}`"))
                })?,
            None => 4,
        };
        let page_size = match get("DTUTIL_AZURE_LIST_PAGE_SIZE") {
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=5000).contains(n))
                .ok_or_else(|| {
                    failed(format!(
                        "DTUTIL_AZURE_LIST_PAGE_SIZE must be 1 to 5000, not `{v}`"
                    ))
                })?,
            None => 5000,
        };
        Ok(Self {
            endpoint,
            auth,
            policy,
            parallel,
            page_size,
        })
    }
}
