//! Warnings about what the user opted into that weakens security (a certificate not
//! verified, a login or a SAS sent in clear): one line on stderr each, once per
//! process however many connections a batch opens.

use std::collections::HashSet;
use std::sync::Mutex;

/// Prints `dtutil: warning: TEXT` on stderr the first time `TEXT` is given.
pub fn insecure_once(text: &str) {
    static SHOWN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    if shown
        .get_or_insert_with(HashSet::new)
        .insert(text.to_string())
    {
        eprintln!("dtutil: warning: {text}");
    }
}

/// Whether `host` (no port, IPv6 in brackets or not) is this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "127.3.2.1", "[::1]", "::1"] {
            assert!(super::is_loopback_host(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "acct.file.core.windows.net"] {
            assert!(!super::is_loopback_host(h), "{h}");
        }
    }
}
