//! The token side: Microsoft Entra ID's client-credentials endpoint (with its OpenID
//! metadata, which MSAL reads first) and the managed-identity endpoints (IMDS and App
//! Service). Tokens are random strings remembered with their audience.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value};

/// `TENANT:CLIENT_ID:SECRET`
#[derive(Debug, Clone)]
pub struct ClientApp {
    pub tenant: String,
    pub client_id: String,
    pub secret: String,
}

impl ClientApp {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut p = spec.splitn(3, ':');
        let (t, c, s) = (p.next(), p.next(), p.next());
        match (t, c, s) {
            (Some(t), Some(c), Some(s)) if !t.is_empty() && !c.is_empty() && !s.is_empty() => {
                Ok(Self {
                    tenant: t.into(),
                    client_id: c.into(),
                    secret: s.into(),
                })
            }
            _ => Err(format!(
                "--client `{}`: expected TENANT:CLIENT_ID:SECRET",
                spec.split(':').next().unwrap_or("")
            )),
        }
    }
}

/// The audience of a scope or resource: `https://management.azure.com/.default` and
/// `https://management.azure.com/` are both `https://management.azure.com`.
pub fn audience(scope_or_resource: &str) -> String {
    let s = scope_or_resource.trim();
    let s = s.strip_suffix("/.default").unwrap_or(s);
    s.trim_end_matches('/').to_ascii_lowercase()
}

pub const ARM_AUDIENCE: &str = "https://management.azure.com";

/// Tokens this server issued, with their audience.
#[derive(Default)]
pub struct Issued {
    tokens: Mutex<HashMap<String, String>>,
}

impl Issued {
    pub fn issue(&self, audience: &str) -> String {
        let mut raw = [0u8; 32];
        for (i, b) in uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .chain(uuid::Uuid::new_v4().as_bytes())
            .enumerate()
        {
            raw[i] = *b;
        }
        let token = format!(
            "fx.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        self.tokens
            .lock()
            .unwrap()
            .insert(token.clone(), audience.to_string());
        token
    }

    /// The audiences of every token issued so far (for tests).
    pub fn audiences(&self) -> Vec<String> {
        self.tokens.lock().unwrap().values().cloned().collect()
    }

    pub fn audience_of(&self, token: &str) -> Option<String> {
        self.tokens.lock().unwrap().get(token).cloned()
    }
}

/// An Entra ID (AAD) error: `(status, body)`.
fn aad_error(status: u16, error: &str, code: u32, description: &str) -> (u16, Value) {
    (
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2026-12-01 00:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-12-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        }),
    )
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`
pub fn openid_configuration(base: &str, tenant: &str) -> Value {
    json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat"],
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    })
}

/// `POST /{tenant}/oauth2/v2.0/token` with a form body: client credentials, by secret or
/// by a client assertion equal to the secret (how the fixture plays workload identity).
pub fn client_credentials(
    apps: &[ClientApp],
    issued: &Issued,
    tenant: &str,
    form: &[(String, String)],
) -> (u16, Value) {
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if !apps.iter().any(|a| a.tenant.eq_ignore_ascii_case(tenant)) {
        return aad_error(400, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    }
    if field("grant_type") != "client_credentials" {
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let client_id = field("client_id");
    let Some(app) = apps
        .iter()
        .find(|a| a.tenant.eq_ignore_ascii_case(tenant) && a.client_id == client_id)
    else {
        return aad_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."));
    };
    let secret = field("client_secret");
    let assertion = field("client_assertion");
    let ok = if !assertion.is_empty() {
        field("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            && assertion == app.secret
    } else {
        secret == app.secret
    };
    if !ok {
        return if assertion.is_empty() {
            aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.")
        } else {
            aad_error(
                400,
                "invalid_client",
                700211,
                "No matching federated identity record found for presented assertion issuer.",
            )
        };
    }
    let scope = field("scope");
    if !scope.ends_with("/.default") {
        return aad_error(
            400,
            "invalid_scope",
            1002012,
            &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
        );
    }
    let token = issued.issue(&audience(scope));
    (
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
    )
}

/// The managed-identity answer (IMDS and App Service share its shape).
pub fn managed_identity(issued: &Issued, resource: &str) -> (u16, Value) {
    if resource.is_empty() {
        return (
            400,
            json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let token = issued.issue(&audience(resource));
    (
        200,
        json!({
            "access_token": token,
            "client_id": "00000000-0000-0000-0000-00000000f1x7",
            "expires_in": "86399",
            "expires_on": (now + 86_399).to_string(),
            "ext_expires_in": "86399",
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn client_credentials_flow() {
        let apps = vec![ClientApp::parse("t1:app:s3cret").unwrap()];
        let issued = Issued::default();
        let good = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s3cret"),
            ("scope", "https://management.azure.com/.default"),
        ]);
        let (status, body) = client_credentials(&apps, &issued, "t1", &good);
        assert_eq!(status, 200);
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(issued.audience_of(token).as_deref(), Some(ARM_AUDIENCE));
        let mut wrong = good.clone();
        wrong[2].1 = "nope".into();
        let (status, body) = client_credentials(&apps, &issued, "t1", &wrong);
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert_eq!(client_credentials(&apps, &issued, "t2", &good).0, 400);
        assert!(ClientApp::parse("t:c").is_err());
    }
}
