//! The SQL Server driver's own words, made fit for a dtutil user: its timeout errors end
//! with advice for programs that embed it (enable `tracing`, set `Config::command_timeout`,
//! pass `None`), which nobody running dtutil can follow (review kerberos F8, user F2).
//! dtutil's message names its own settings instead. Also the server-name mistake whose
//! driver error (a failed name lookup) would not say what went wrong.

/// A driver message without the sentences and clauses addressed to a programmer.
pub fn without_driver_advice(message: &str) -> String {
    // The driver's words for a peer that is not speaking TDS (review user F2).
    if message.trim() == "bytes remaining on stream" {
        return "the server answered with something that is not SQL Server's protocol; check that host,port is a SQL Server".to_string();
    }
    let for_programmers = |s: &str| {
        ["Config::", "`tracing`", "`None`", "out of sync"]
            .iter()
            .any(|word| s.contains(word))
    };
    let kept: Vec<&str> = message
        .split(". ")
        .flat_map(|sentence| sentence.split("; "))
        .map(|part| part.trim().trim_end_matches('.'))
        .filter(|part| !part.is_empty() && !for_programmers(part))
        .collect();
    kept.join("; ")
}

/// `host:port`, the usual form elsewhere on Linux, where SQL Server takes `host,port`
/// (review user F2): the message to give instead of a failed name lookup.
pub fn colon_port(raw: &str, host: &str, has_port: bool) -> Option<String> {
    let (h, p) = host.split_once(':')?;
    (!has_port && p.parse::<u16>().is_ok())
        .then(|| format!("server `{raw}`: SQL Server takes the port after a comma: `{h},{p}`"))
}

/// A server-name error without a password pasted into the name (`user:pw@host`,
/// `host;Password=x`): each part of the message (the name and any piece of it quoted
/// between backquotes) redacted on its own, so a value ends with its quote.
pub fn without_server_secrets(message: &str) -> String {
    message
        .split('`')
        .map(crate::redact::sql_server)
        .collect::<Vec<_>>()
        .join("`")
}

#[cfg(test)]
mod tests {
    use super::without_driver_advice as timeout;

    #[test]
    fn driver_advice_never_reaches_the_user() {
        let handshake = "the connection handshake (prelogin, TLS negotiation and login) did not complete within 5s; the server accepted the TCP connection but did not finish the handshake in time (it may have stalled, or be responding too slowly for the configured bound). Enable `tracing` at DEBUG to see which stage was last reached, or change the bound with `Config::handshake_timeout`.";
        let command = "the server did not send the next part of the command result within 1s (it may have stalled, or be responding too slowly for the configured bound); the connection is now out of sync and must be dropped. Adjust the bound with `Config::command_timeout`, or pass `None` to wait indefinitely.";
        for message in [handshake, command] {
            let shown = timeout(message);
            for word in ["Config::", "tracing", "None", "out of sync"] {
                assert!(!shown.contains(word), "{shown}");
            }
            assert!(shown.contains("within"), "{shown}");
        }
        assert_eq!(timeout("connection timed out"), "connection timed out");
        assert!(timeout("bytes remaining on stream").contains("not SQL Server's protocol"));
    }

    #[test]
    fn a_colon_port_says_to_use_a_comma() {
        use super::super::connect::ServerAddr;
        let e = ServerAddr::parse(Some("127.0.0.1:15001")).unwrap_err();
        assert!(
            e.contains("the port after a comma: `127.0.0.1,15001`"),
            "{e}"
        );
        for fine in ["tcp:srv,1433", "[::1],1433", "srv\\SQLEXPRESS", "localhost"] {
            assert!(ServerAddr::parse(Some(fine)).is_ok(), "{fine}");
        }
    }
}
