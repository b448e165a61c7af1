//! Authorization for the File service: SharedKey (version 2015-02-21+ string-to-sign) and
//! shared access signatures (service SAS, version 2015-04-05+; account SAS, with the
//! encryption-scope line from 2020-12-06 on). Pure functions: no I/O, no clock.

use std::cmp::Ordering;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::timefmt;

/// An account name and its decoded key.
#[derive(Clone)]
pub struct Credentials {
    pub account: String,
    key: Vec<u8>,
}

impl Credentials {
    /// `key_b64` is the account key as the portal shows it (base64).
    pub fn new(account: &str, key_b64: &str) -> Result<Self, String> {
        let key = B64
            .decode(key_b64.trim())
            .map_err(|e| format!("the account key is not valid base64: {e}"))?;
        Ok(Self {
            account: account.to_string(),
            key,
        })
    }

    /// Base64 HMAC-SHA256 of `string_to_sign` under the account key.
    pub fn sign(&self, string_to_sign: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(string_to_sign.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }
}

/// The parts of a request that a signature covers.
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The request path exactly as sent (still percent-encoded), e.g. `/acct/share/dir%20a/f`.
    pub raw_path: &'a str,
    /// Header names in lower case, values as received.
    pub headers: &'a [(String, String)],
    /// Query parameters, percent-decoded, in request order.
    pub query: &'a [(String, String)],
}

impl RequestParts<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A rejected request: status, the service's error code, message, and the
/// `AuthenticationErrorDetail` the service adds for signature mismatches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl AuthError {
    fn failed(detail: impl Into<String>) -> Self {
        Self {
            status: 403,
            code: "AuthenticationFailed",
            message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.".into(),
            detail: Some(detail.into()),
        }
    }
    fn sas(code: &'static str, message: &str) -> Self {
        Self {
            status: 403,
            code,
            message: message.into(),
            detail: None,
        }
    }
    /// No `Authorization` header and no SAS.
    pub fn missing() -> Self {
        Self {
            status: 401,
            code: "NoAuthenticationInformation",
            message: "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.".into(),
            detail: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// SharedKey

/// Collation weights the service uses to sort canonicalized header names (the same tables
/// the Azure SDKs ship to match the service). Level 0 ignores `-` and `'`; level 1 breaks
/// ties on them.
#[rustfmt::skip]
const TABLE_LV0: [u16; 128] = [
    0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
    0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
    0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x71c, 0x0, 0x71f, 0x721, 0x723, 0x725,
    0x0, 0x0, 0x0, 0x72d, 0x803, 0x0, 0x0, 0x733, 0x0, 0xd03, 0xd1a, 0xd1c, 0xd1e,
    0xd20, 0xd22, 0xd24, 0xd26, 0xd28, 0xd2a, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
    0xe02, 0xe09, 0xe0a, 0xe1a, 0xe21, 0xe23, 0xe25, 0xe2c, 0xe32, 0xe35, 0xe36, 0xe48, 0xe51,
    0xe70, 0xe7c, 0xe7e, 0xe89, 0xe8a, 0xe91, 0xe99, 0xe9f, 0xea2, 0xea4, 0xea6, 0xea7, 0xea9,
    0x0, 0x0, 0x0, 0x743, 0x744, 0x748, 0xe02, 0xe09, 0xe0a, 0xe1a, 0xe21, 0xe23, 0xe25,
    0xe2c, 0xe32, 0xe35, 0xe36, 0xe48, 0xe51, 0xe70, 0xe7c, 0xe7e, 0xe89, 0xe8a, 0xe91, 0xe99,
    0xe9f, 0xea2, 0xea4, 0xea6, 0xea7, 0xea9, 0x0, 0x74c, 0x0, 0x750, 0x0,
];

fn lv4(c: u8) -> u16 {
    match c {
        b'\'' => 0x8012,
        b'-' => 0x8212,
        _ => 0,
    }
}

fn weight(level: usize, s: &[u8], i: usize) -> u16 {
    match s.get(i) {
        None => 1,
        Some(&c) if c >= 128 => 0,
        Some(&c) => {
            if level == 0 {
                TABLE_LV0[c as usize]
            } else {
                lv4(c)
            }
        }
    }
}

/// The service's header-name ordering for canonicalized headers.
pub fn header_cmp(lhs: &str, rhs: &str) -> Ordering {
    let (l, r) = (lhs.as_bytes(), rhs.as_bytes());
    let (mut level, mut i, mut j) = (0usize, 0usize, 0usize);
    while level < 2 {
        if level == 1 && i != j {
            return j.cmp(&i);
        }
        let w1 = weight(level, l, i);
        let w2 = weight(level, r, j);
        if w1 == 1 && w2 == 1 {
            i = 0;
            j = 0;
            level += 1;
        } else if w1 == w2 {
            i += 1;
            j += 1;
        } else if w1 == 0 {
            i += 1;
        } else if w2 == 0 {
            j += 1;
        } else {
            return w1.cmp(&w2);
        }
    }
    Ordering::Equal
}

/// `x-ms-*` headers, lower-cased, sorted, `name:value\n` each (duplicates joined by `,`).
fn canonicalized_headers(headers: &[(String, String)]) -> String {
    let mut xms: Vec<(String, Vec<String>)> = Vec::new();
    for (n, v) in headers {
        let n = n.to_ascii_lowercase();
        if !n.starts_with("x-ms-") {
            continue;
        }
        let v = v.trim().to_string();
        match xms.iter_mut().find(|(k, _)| *k == n) {
            Some((_, vs)) => vs.push(v),
            None => xms.push((n, vec![v])),
        }
    }
    xms.sort_by(|a, b| header_cmp(&a.0, &b.0));
    let mut out = String::new();
    for (n, vs) in xms {
        out.push_str(&n);
        out.push(':');
        out.push_str(&vs.join(","));
        out.push('\n');
    }
    out
}

/// `/account/raw/path` then `\nname:v1,v2` per query parameter (names lower-cased and
/// sorted, values decoded and sorted).
fn canonicalized_resource(account: &str, raw_path: &str, query: &[(String, String)]) -> String {
    let mut out = format!("/{account}{raw_path}");
    let mut params: Vec<(String, Vec<&str>)> = Vec::new();
    for (n, v) in query {
        let n = n.to_ascii_lowercase();
        match params.iter_mut().find(|(k, _)| *k == n) {
            Some((_, vs)) => vs.push(v),
            None => params.push((n, vec![v])),
        }
    }
    params.sort_by(|a, b| a.0.cmp(&b.0));
    for (n, mut vs) in params {
        vs.sort();
        out.push('\n');
        out.push_str(&n);
        out.push(':');
        out.push_str(&vs.join(","));
    }
    out
}

/// The SharedKey string-to-sign (Blob, Queue and File services, version 2015-02-21+).
pub fn shared_key_string_to_sign(account: &str, req: &RequestParts) -> String {
    let h = |name: &str| req.header(name).unwrap_or("").trim().to_string();
    let content_length = match req.header("content-length").map(str::trim) {
        Some("0") | None => String::new(),
        Some(v) => v.to_string(),
    };
    let mut s = String::new();
    s.push_str(&req.method.to_ascii_uppercase());
    s.push('\n');
    for (i, name) in [
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
    ]
    .iter()
    .enumerate()
    {
        if i == 2 {
            s.push_str(&content_length);
        } else {
            s.push_str(&h(name));
        }
        s.push('\n');
    }
    s.push_str(&canonicalized_headers(req.headers));
    s.push_str(&canonicalized_resource(account, req.raw_path, req.query));
    s
}

fn sig_eq(a: &str, b: &str) -> bool {
    // Not secret-grade constant time, but no early exit on the first differing byte.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks `Authorization: SharedKey ACCOUNT:SIGNATURE`.
pub fn verify_shared_key(
    creds: &Credentials,
    req: &RequestParts,
    authorization: &str,
) -> Result<(), AuthError> {
    let Some(rest) = authorization.trim().strip_prefix("SharedKey ") else {
        return Err(AuthError::failed(format!(
            "Authorization scheme not supported by this test server (SharedKey only): '{authorization}'"
        )));
    };
    let Some((account, sig)) = rest.trim().rsplit_once(':') else {
        return Err(AuthError::failed(
            "Authorization header is not SharedKey ACCOUNT:SIGNATURE",
        ));
    };
    if account != creds.account {
        return Err(AuthError::failed(format!(
            "The account '{account}' in the Authorization header is not this server's account '{}'.",
            creds.account
        )));
    }
    if req.header("x-ms-date").is_none() && req.header("date").is_none() {
        return Err(AuthError::failed(
            "Request date header not specified: x-ms-date or Date is required with SharedKey.",
        ));
    }
    let sts = shared_key_string_to_sign(&creds.account, req);
    let expected = creds.sign(&sts);
    if sig_eq(&expected, sig) {
        Ok(())
    } else {
        Err(AuthError::failed(format!(
            "The MAC signature found in the HTTP request '{sig}' is not the same as any computed signature. Server used following string to sign: '{sts}'."
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Shared access signatures

/// The resource-type level of an operation (account SAS `srt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `s`: service-level operations (list shares).
    Service,
    /// `c`: share-level operations.
    Container,
    /// `o`: directories and files.
    Object,
}

/// What an operation needs from a SAS.
#[derive(Debug, Clone)]
pub struct AccessNeed<'a> {
    /// Any one of these permission letters suffices (e.g. create file: `c` or `w`).
    pub any_of: &'static str,
    pub level: Level,
    /// Share name (decoded), if the request addresses one.
    pub share: Option<&'a str>,
    /// Path inside the share (decoded, `/`-separated, no leading slash), `""` for the root.
    pub path: &'a str,
}

fn q<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// True if the query carries a SAS.
pub fn has_sas(query: &[(String, String)]) -> bool {
    q(query, "sig").is_some()
}

/// Checks a service or account SAS in the query string against the operation's needs.
/// `now` is the current time; `https` whether the request came over TLS.
pub fn verify_sas(
    creds: &Credentials,
    query: &[(String, String)],
    need: &AccessNeed,
    now: SystemTime,
    https: bool,
) -> Result<(), AuthError> {
    let get = |n: &str| q(query, n).unwrap_or("");
    let sig = get("sig");
    let sv = get("sv");
    if sv.is_empty() {
        return Err(AuthError::failed("sv is mandatory. It cannot be empty"));
    }
    if sv < "2015-04-05" {
        return Err(AuthError::failed(format!(
            "SAS version {sv} is not supported by this test server (2015-04-05 and later)"
        )));
    }
    if !get("si").is_empty() {
        return Err(AuthError::failed(
            "Stored access policies (si) are not supported by this test server",
        ));
    }
    let se = get("se");
    if se.is_empty() {
        return Err(AuthError::failed("se is mandatory. It cannot be empty"));
    }
    let expiry = timefmt::parse_iso(se)
        .ok_or_else(|| AuthError::failed(format!("se '{se}' is not a valid date")))?;
    let start = match get("st") {
        "" => None,
        st => Some(
            timefmt::parse_iso(st)
                .ok_or_else(|| AuthError::failed(format!("st '{st}' is not a valid date")))?,
        ),
    };
    let account_sas = q(query, "ss").is_some() || q(query, "srt").is_some();
    let (sts, resource) = if account_sas {
        let mut s = String::new();
        for v in [
            creds.account.as_str(),
            get("sp"),
            get("ss"),
            get("srt"),
            get("st"),
            se,
            get("sip"),
            get("spr"),
            sv,
        ] {
            s.push_str(v);
            s.push('\n');
        }
        if sv >= "2020-12-06" {
            s.push_str(get("ses"));
            s.push('\n');
        }
        (s, String::new())
    } else {
        let resource = match (get("sr"), need.share) {
            ("s", Some(share)) => format!("/file/{}/{share}", creds.account),
            ("f", Some(share)) => format!("/file/{}/{share}/{}", creds.account, need.path),
            ("s" | "f", None) => {
                return Err(AuthError::sas(
                    "AuthorizationResourceTypeMismatch",
                    "This request is not authorized to perform this operation using this resource type.",
                ))
            }
            (sr, _) => {
                return Err(AuthError::failed(format!(
                    "sr '{sr}' is not a File service resource (s or f)"
                )))
            }
        };
        let mut s = String::new();
        for v in [
            get("sp"),
            get("st"),
            se,
            resource.as_str(),
            "",
            get("sip"),
            get("spr"),
            sv,
        ] {
            s.push_str(v);
            s.push('\n');
        }
        for v in ["rscc", "rscd", "rsce", "rscl", "rsct"] {
            s.push_str(get(v));
            s.push('\n');
        }
        s.pop();
        (s, resource)
    };
    let expected = creds.sign(&sts);
    if !sig_eq(&expected, sig) {
        return Err(AuthError::failed(format!(
            "Signature did not match. String to sign used was {sts}"
        )));
    }
    if start.is_some_and(|s| now < s) || now > expiry {
        return Err(AuthError::failed(format!(
            "Signature not valid in the specified time frame: Start [{}] - Expiry [{}] - Current [{}]",
            get("st"),
            se,
            timefmt::rfc1123(now)
        )));
    }
    let spr = get("spr");
    if spr == "https" && !https {
        return Err(AuthError::sas(
            "AuthorizationProtocolMismatch",
            "This request is not authorized to perform this operation using this protocol.",
        ));
    }
    if account_sas {
        if !get("ss").contains('f') {
            return Err(AuthError::sas(
                "AuthorizationServiceMismatch",
                "This request is not authorized to perform this operation using this service.",
            ));
        }
        let letter = match need.level {
            Level::Service => 's',
            Level::Container => 'c',
            Level::Object => 'o',
        };
        if !get("srt").contains(letter) {
            return Err(AuthError::sas(
                "AuthorizationResourceTypeMismatch",
                "This request is not authorized to perform this operation using this resource type.",
            ));
        }
    } else if need.level != Level::Object || (resource.is_empty()) {
        return Err(AuthError::sas(
            "AuthorizationResourceTypeMismatch",
            "This request is not authorized to perform this operation using this resource type.",
        ));
    }
    let sp = get("sp");
    if !need.any_of.chars().any(|c| sp.contains(c)) {
        return Err(AuthError::sas(
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    // The well-known development-storage key (public, used by Azurite and the SDK docs).
    const KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    const ACC: &str = "devstoreaccount1";

    fn creds() -> Credentials {
        Credentials::new(ACC, KEY).unwrap()
    }

    fn hv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    // Vectors computed with azure-storage-file-share 12.27.1's SharedKeyCredentialPolicy.
    #[test]
    fn shared_key_put_range_matches_python_sdk() {
        let headers = hv(&[
            ("x-ms-version", "2025-11-05"),
            ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("x-ms-range", "bytes=0-1023"),
            ("x-ms-write", "update"),
            ("content-length", "1024"),
            ("content-type", "application/octet-stream"),
            ("x-ms-client-request-id", "abc"),
        ]);
        let query = hv(&[("comp", "range")]);
        let req = RequestParts {
            method: "PUT",
            raw_path: "/devstoreaccount1/share1/dir%20a/file.bin",
            headers: &headers,
            query: &query,
        };
        let sts = shared_key_string_to_sign(ACC, &req);
        assert_eq!(
            sts,
            "PUT\n\n\n1024\n\napplication/octet-stream\n\n\n\n\n\n\n\
             x-ms-client-request-id:abc\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n\
             x-ms-range:bytes=0-1023\nx-ms-version:2025-11-05\nx-ms-write:update\n\
             /devstoreaccount1/devstoreaccount1/share1/dir%20a/file.bin\ncomp:range"
        );
        let auth = "SharedKey devstoreaccount1:qmYwMet2vFsE32Sg1rapQlN3ONTOVv64+rQZLIOXTuI=";
        assert_eq!(verify_shared_key(&creds(), &req, auth), Ok(()));
        let bad = "SharedKey devstoreaccount1:rmYwMet2vFsE32Sg1rapQlN3ONTOVv64+rQZLIOXTuI=";
        let err = verify_shared_key(&creds(), &req, bad).unwrap_err();
        assert_eq!((err.status, err.code), (403, "AuthenticationFailed"));
        let wrong_key = Credentials::new(ACC, "AAAA").unwrap();
        assert!(verify_shared_key(&wrong_key, &req, auth).is_err());
    }

    #[test]
    fn shared_key_list_with_decoded_query_matches_python_sdk() {
        let headers = hv(&[
            ("x-ms-version", "2025-11-05"),
            ("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ]);
        // Query values arrive decoded (prefix=a%20b).
        let query = hv(&[
            ("restype", "directory"),
            ("comp", "list"),
            ("maxresults", "2"),
            ("prefix", "a b"),
        ]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/devstoreaccount1/share1/dir",
            headers: &headers,
            query: &query,
        };
        let auth = "SharedKey devstoreaccount1:HqqnrZFZyIuOcHmwN8lQeINbrVSoNM1YumEFAcZqIPM=";
        assert_eq!(verify_shared_key(&creds(), &req, auth), Ok(()));
    }

    #[test]
    fn shared_key_requires_a_date() {
        let headers = hv(&[("x-ms-version", "2025-11-05")]);
        let req = RequestParts {
            method: "GET",
            raw_path: "/a",
            headers: &headers,
            query: &[],
        };
        let sig = creds().sign(&shared_key_string_to_sign(ACC, &req));
        let err = verify_shared_key(&creds(), &req, &format!("SharedKey {ACC}:{sig}")).unwrap_err();
        assert_eq!(err.code, "AuthenticationFailed");
    }

    #[test]
    fn header_order_follows_service_collation() {
        let mut names = vec![
            "x-ms-version",
            "x-ms-file-attributes",
            "x-ms-file-creation-time",
            "x-ms-filepermission",
            "x-ms-date",
            "x-ms-content-length",
            "x-ms-type",
        ];
        names.sort_by(|a, b| header_cmp(a, b));
        assert_eq!(
            names,
            [
                "x-ms-content-length",
                "x-ms-date",
                "x-ms-file-attributes",
                "x-ms-file-creation-time",
                "x-ms-filepermission",
                "x-ms-type",
                "x-ms-version"
            ]
        );
    }

    fn parse_token(t: &str) -> Vec<(String, String)> {
        t.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (
                    k.to_string(),
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }
    const NOW: u64 = 1_750_000_000; // 2025-06-15

    // Tokens produced by the SDK's generate_share_sas / generate_account_sas /
    // generate_file_sas with the key above and expiry 2030-01-02T03:04:05Z.
    const SHARE_SAS: &str = "st=2024-01-01T00%3A00%3A00Z&se=2030-01-02T03%3A04%3A05Z&sp=rcwdl&sv=2026-10-06&sr=s&sig=bGhY%2BWSG3K6Z%2BttHobXxxwdDEwXmn9OfDfqYilD1%2BZw%3D";
    const ACCOUNT_SAS: &str = "se=2030-01-02T03%3A04%3A05Z&sp=rwdlc&sv=2026-10-06&ss=f&srt=sco&sig=QVs0fpRBGPmVbioxvcX7XcHkEG5ttQi4iciBdLkBz1w%3D";
    const FILE_SAS: &str = "se=2030-01-02T03%3A04%3A05Z&sp=r&sv=2026-10-06&sr=f&sig=H5gUID6ZJEmo2kjVQ9kWe2OEJ4Bqpef/vlkYSDs1Y9c%3D";

    fn need<'a>(
        any_of: &'static str,
        level: Level,
        share: &'a str,
        path: &'a str,
    ) -> AccessNeed<'a> {
        AccessNeed {
            any_of,
            level,
            share: Some(share),
            path,
        }
    }

    #[test]
    fn share_sas_from_python_sdk() {
        let q = parse_token(SHARE_SAS);
        let c = creds();
        let n = need("w", Level::Object, "share1", "dir/f");
        assert_eq!(verify_sas(&c, &q, &n, at(NOW), false), Ok(()));
        // Another share: the signature covers the share name.
        let other = need("w", Level::Object, "share2", "dir/f");
        assert_eq!(
            verify_sas(&c, &q, &other, at(NOW), false).unwrap_err().code,
            "AuthenticationFailed"
        );
        // Share-level operations need an account SAS.
        let n = need("c", Level::Container, "share1", "");
        assert_eq!(
            verify_sas(&c, &q, &n, at(NOW), false).unwrap_err().code,
            "AuthorizationResourceTypeMismatch"
        );
        // Expired, and not yet valid.
        let n = need("r", Level::Object, "share1", "x");
        let e = verify_sas(&c, &q, &n, at(1_900_000_000), false).unwrap_err();
        assert_eq!(e.code, "AuthenticationFailed");
        assert!(e.detail.unwrap().contains("time frame"));
        assert!(verify_sas(&c, &q, &n, at(1_600_000_000), false).is_err());
        // Tampered permissions.
        let mut t = q.clone();
        t.iter_mut().find(|(k, _)| k == "sp").unwrap().1 = "rcwdlx".into();
        assert!(verify_sas(&c, &t, &n, at(NOW), false).is_err());
    }

    #[test]
    fn account_sas_from_python_sdk() {
        let q = parse_token(ACCOUNT_SAS);
        let c = creds();
        assert_eq!(
            verify_sas(
                &c,
                &q,
                &need("c", Level::Container, "s", ""),
                at(NOW),
                false
            ),
            Ok(())
        );
        assert_eq!(
            verify_sas(&c, &q, &need("l", Level::Object, "s", "d"), at(NOW), false),
            Ok(())
        );
        let e =
            verify_sas(&c, &q, &need("p", Level::Object, "s", "d"), at(NOW), false).unwrap_err();
        assert_eq!(e.code, "AuthorizationPermissionMismatch");
        let wrong = Credentials::new(ACC, "AAAA").unwrap();
        assert_eq!(
            verify_sas(
                &wrong,
                &q,
                &need("l", Level::Object, "s", "d"),
                at(NOW),
                false
            )
            .unwrap_err()
            .code,
            "AuthenticationFailed"
        );
    }

    #[test]
    fn file_sas_from_python_sdk() {
        let q = parse_token(FILE_SAS);
        let c = creds();
        assert_eq!(
            verify_sas(
                &c,
                &q,
                &need("r", Level::Object, "share1", "dir/f.txt"),
                at(NOW),
                false
            ),
            Ok(())
        );
        assert!(verify_sas(
            &c,
            &q,
            &need("r", Level::Object, "share1", "dir/g.txt"),
            at(NOW),
            false
        )
        .is_err());
        assert_eq!(
            verify_sas(
                &c,
                &q,
                &need("w", Level::Object, "share1", "dir/f.txt"),
                at(NOW),
                false
            )
            .unwrap_err()
            .code,
            "AuthorizationPermissionMismatch"
        );
    }
}
