//! Credentials and request signing for the File service.
//!
//! SharedKey follows the published "Authorize with Shared Key" rules (version
//! 2015-02-21 and later): the verb, eleven standard headers (`Content-Length` empty when
//! 0), the canonicalized `x-ms-*` headers, and the canonicalized resource
//! (`/ACCOUNT` + the encoded request path + sorted query parameters), signed with
//! HMAC-SHA256 under the base64-decoded account key. A SAS is appended to the query as it is.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// How requests are authorized.
#[derive(Clone)]
pub enum Auth {
    /// Account name and decoded account key.
    SharedKey {
        account: String,
        key: Zeroizing<Vec<u8>>,
    },
    /// A shared access signature: the query string, without a leading `?`.
    Sas(Zeroizing<String>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SharedKey { account, .. } => write!(f, "SharedKey({account}, ***)"),
            Self::Sas(_) => f.write_str("Sas(***)"),
        }
    }
}

impl Auth {
    /// SharedKey from a base64 account key, as the portal shows it.
    pub fn shared_key(account: &str, key_b64: &str) -> Result<Self, String> {
        let key = B64.decode(key_b64.trim()).map_err(|_| {
            format!("the storage account key for `{account}` is not valid base64 (copy it from the portal's Access keys page)")
        })?;
        if key.is_empty() {
            return Err(format!("the storage account key for `{account}` is empty"));
        }
        Ok(Self::SharedKey {
            account: account.to_string(),
            key: Zeroizing::new(key),
        })
    }

    /// A SAS token, with or without its leading `?`.
    pub fn sas(token: &str) -> Result<Self, String> {
        let token = token.trim().trim_start_matches('?');
        if !token.split('&').any(|p| p.starts_with("sig=")) {
            return Err("the SAS token has no `sig=` parameter (give the whole token, e.g. `sv=...&sig=...`)".into());
        }
        Ok(Self::Sas(Zeroizing::new(token.to_string())))
    }

    /// A SAS is a bearer credential: whoever reads it off the wire can use it.
    pub fn is_sas(&self) -> bool {
        matches!(self, Self::Sas(_))
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::SharedKey { .. } => "account key (SharedKey)",
            Self::Sas(_) => "SAS token",
        }
    }
}

/// Base64 HMAC-SHA256 of `string_to_sign` under `key`.
pub fn sign(key: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// The SharedKey string-to-sign.
///
/// `headers`: every header the request carries (names in any case); `encoded_path`: the
/// request path exactly as sent, e.g. `/share/dir%20a/f`; `query`: the decoded query
/// parameters.
pub fn string_to_sign(
    method: &str,
    headers: &[(String, String)],
    account: &str,
    encoded_path: &str,
    query: &[(String, String)],
) -> String {
    let header = |name: &str| {
        let values: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        values.join(",")
    };
    let mut s = String::with_capacity(256);
    s.push_str(&method.to_ascii_uppercase());
    s.push('\n');
    for name in [
        "content-encoding",
        "content-language",
        "content-length",
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        let value = header(name);
        if name == "content-length" && value == "0" {
            // Version 2015-02-21 and later: an empty string when the length is zero.
        } else {
            s.push_str(&value);
        }
        s.push('\n');
    }
    // Canonicalized headers: x-ms-* names lower-cased, sorted, `name:value`, values
    // trimmed, repeated headers joined with `,`.
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| n.starts_with("x-ms-"))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        s.push_str(&name);
        s.push(':');
        s.push_str(&header(&name));
        s.push('\n');
    }
    // Canonicalized resource.
    s.push('/');
    s.push_str(account);
    s.push_str(encoded_path);
    let mut params: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in query {
        let name = name.to_ascii_lowercase();
        match params.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => params.push((name, vec![value])),
        }
    }
    params.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut values) in params {
        values.sort_unstable();
        s.push('\n');
        s.push_str(&name);
        s.push(':');
        s.push_str(&values.join(","));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn string_to_sign_layout() {
        let sts = string_to_sign(
            "put",
            &h(&[
                ("x-ms-version", "2023-01-03"),
                ("Content-Length", "0"),
                ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                ("x-ms-type", "file"),
                ("x-ms-content-length", "10"),
            ]),
            "acct",
            "/share/dir%20a/p.dtsx",
            &h(&[("comp", "range"), ("Timeout", "30")]),
        );
        assert_eq!(
            sts,
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-content-length:10\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-type:file\nx-ms-version:2023-01-03\n/acct/share/dir%20a/p.dtsx\ncomp:range\ntimeout:30"
        );
    }

    #[test]
    fn content_length_kept_when_not_zero() {
        let sts = string_to_sign(
            "PUT",
            &h(&[("content-length", "5"), ("x-ms-date", "d")]),
            "a",
            "/s/f",
            &[],
        );
        assert!(sts.starts_with("PUT\n\n\n5\n\n\n\n\n\n\n\n\nx-ms-date:d\n/a/s/f"));
    }

    #[test]
    fn sas_needs_a_signature() {
        assert!(Auth::sas("?sv=2022-11-02&sig=abc").is_ok());
        assert!(Auth::sas("sv=2022-11-02").is_err());
        assert!(Auth::shared_key("a", "not base64!").is_err());
    }
}
