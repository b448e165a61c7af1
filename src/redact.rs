//! What may be printed of text that carries names and URLs from elsewhere: an Azure
//! Files URL's query (a SAS token: `sig=` is a bearer credential, and its other fields
//! say what it grants) never, and control characters (a file named with a terminal
//! escape sequence) only escaped. Every line dtutil prints or writes to a report passes
//! through [`for_display`].

use std::borrow::Cow;

/// Replaces a URL's query.
pub const REDACTED_QUERY: &str = "?<SAS redacted>";

/// `text` with every `http(s)://` URL's query replaced, any stray `sig=VALUE` redacted,
/// a URL's `user:password@` redacted, and control characters other than newline and
/// tab escaped (`\x1b`, `\u009b`, bidi controls as `\u202e`).
pub fn for_display(text: &str) -> Cow<'_, str> {
    if !needs_work(text) {
        return Cow::Borrowed(text);
    }
    let mut redacted = redact_queries(text);
    if redacted.contains("://") {
        redacted = redact_userinfo(&redacted);
    }
    Cow::Owned(escape_controls(&redacted, false))
}

/// [`for_display`] for one value inside a line of a report (a name, a connection
/// string): newlines and tabs are escaped too, so a value cannot start a line of its
/// own that looks like the report's.
pub fn inline(text: &str) -> String {
    let shown = for_display(text);
    if shown.contains(['\n', '\t']) {
        escape_controls(&shown, true)
    } else {
        shown.into_owned()
    }
}

/// One name (a path, a package, a reason that quotes one) for a line of human output:
/// [`for_display`], and line breaks and tabs escaped too (`\x0a`), so that a file named
/// with a newline cannot forge log lines (`[9/9] ok ...`).
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.contains(['\n', '\r', '\t']) {
        return for_display(text);
    }
    let escaped = text
        .replace('\n', "\\x0a")
        .replace('\r', "\\x0d")
        .replace('\t', "\\x09");
    Cow::Owned(for_display(&escaped).into_owned())
}

/// Names of connection-string keys whose values are secrets (compared lowercased,
/// spaces and underscores removed; the short ones whole, the others as a substring:
/// `User Password`, `AccountKey`, `SharedAccessSignature`, `Client_Secret`...).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "accountkey",
    "accesskey",
    "sharedaccesssignature",
    "sastoken",
    "token",
    "sig",
];

/// A SQL Server name as given (`/SourceServer`, `sql://SERVER/`, a store
/// configuration's `<ServerName>`), fit to echo: a `user:password@` before it and any
/// `;Password=...` pasted from a connection string replaced by `<redacted>`.
pub fn sql_server(server: &str) -> String {
    let keyed = secret_pairs(server, 0);
    match keyed.rfind('@') {
        Some(at) => match keyed[..at].find(':') {
            Some(colon) => format!("{}<redacted>{}", &keyed[..=colon], &keyed[at..]),
            None => keyed,
        },
        None => keyed,
    }
}

/// Whether `text` holds a `key=value` pair whose key names a secret (`;Password=`,
/// `?password=`, `&pwd=`, `AccountKey=`...): text that must not be echoed at all. A
/// query's `&` ends a value here (`?user=etl&password=...`), where in a connection
/// string it is part of one.
pub fn holds_secret_pair(text: &str) -> bool {
    text.split(['?', '&'])
        .any(|part| secret_pairs(part, 0) != part)
}

/// A login name fit to show: what follows a `;` (a pasted `etl;Password=...`) or a
/// `:` (the URL habit `user:password`) is replaced, as it may be a password.
pub fn login_name(user: &str) -> String {
    match user.find([';', ':']) {
        Some(cut) => format!(
            "{}{}<redacted>",
            for_display(&user[..cut]),
            &user[cut..cut + 1]
        ),
        None => for_display(user).into_owned(),
    }
}

/// A connection string (or an expression holding one) with the value of every key
/// that names a secret replaced, then made fit to display ([`for_display`]: SAS
/// queries, control characters). `Password=abc;Data Source=x` becomes
/// `Password=<redacted>;Data Source=x`; quoted (`'..'`, `".."`) and braced (`{..}`)
/// values are replaced whole.
pub fn connection_string(text: &str) -> String {
    for_display(&secrets(text)).into_owned()
}

/// Text a server sent (an error's code or message), fit to go into one of dtutil's
/// messages: every secret the process holds for that exchange (`known`: the bearer
/// token, a client secret) and every secret-looking value replaced, newlines and all
/// other control characters escaped ([`inline`]), so a server can neither make dtutil
/// print a secret it echoes nor forge lines of dtutil's output; at most 1000 characters.
pub fn server_text(text: &str, known: &[&str]) -> String {
    let mut text = text.to_string();
    for k in known.iter().filter(|k| k.len() >= 6) {
        text = text.replace(k, "<redacted>");
    }
    let mut shown = inline(&secrets(&text));
    if let Some((cut, _)) = shown.char_indices().nth(1000) {
        shown.truncate(cut);
        shown.push_str("...");
    }
    shown
}

/// `text` with every secret replaced but nothing else changed (control characters
/// stay, for each output to escape its own way): connection-string secrets (also
/// inside quoted values and expressions: `ConnectionString = "..;Password=x;"`), the
/// password of a URL's `user:password@`, URL queries and stray `sig=` values.
pub fn secrets(text: &str) -> String {
    let keyed = secret_pairs(text, 0);
    let mut out = redact_queries(&keyed);
    if out.contains("://") {
        out = redact_userinfo(&out);
    }
    out
}

/// Quoted values nest (an expression's string literal holds a connection string
/// holding a quoted value): deeper than this, a quoted value is replaced whole.
const MAX_QUOTE_DEPTH: usize = 8;

fn secret_pairs(text: &str, depth: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq]
            .rfind([';', '"', '\'', '(', ',', '&', '?', '`', '{', '\n'])
            .map_or(0, |i| i + 1);
        // Prose before an `=` counts as a key too: a message that quotes a vendor's
        // `... Password=x` must not show x (at worst some prose is hidden).
        let key: String = rest[key_start..eq]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        let value_start = eq + 1;
        let value = &rest[value_start..];
        let trimmed = value.trim_start();
        let lead = value.len() - trimmed.len();
        let secret = SECRET_KEYS.iter().any(|k| {
            if k.len() <= 3 {
                key == *k
            } else {
                key.contains(k)
            }
        });
        let (end, inner) = value_extent(trimmed);
        let end = match inner {
            None if secret => unquoted_secret_end(trimmed, end),
            _ => end,
        };
        let value_end = value_start + lead + end;
        out.push_str(&rest[..value_start]);
        out.push_str(&rest[value_start..value_start + lead]);
        let value = &trimmed[..end];
        if secret && end > 0 {
            out.push_str("<redacted>");
        } else if let Some((open, close)) = inner {
            // A quoted value may itself hold `key=value` pairs (an expression's
            // literal connection string): its secrets are secrets too.
            if depth >= MAX_QUOTE_DEPTH {
                out.push_str("<redacted>");
            } else {
                out.push_str(&value[..open]);
                out.push_str(&secret_pairs(&value[open..close], depth + 1));
                out.push_str(&value[close..]);
            }
        } else {
            out.push_str(value);
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

/// Where a value (leading spaces trimmed) ends, and for a quoted or braced one where
/// its inside lies. A quote escaped with `\` (as in an SSIS expression's literal)
/// does not end it; with no end the value runs to the end of the text, so a secret is
/// never cut short.
fn value_extent(value: &str) -> (usize, Option<(usize, usize)>) {
    let closing = |from: usize, quote: &str| -> Option<usize> {
        let mut at = from;
        while let Some(i) = value[at..].find(quote) {
            let i = at + i;
            if quote.len() == 1 && i > 0 && value.as_bytes()[i - 1] == b'\\' {
                at = i + 1;
                continue;
            }
            // OLE DB and ADO.NET escape a quote inside a quoted value by doubling it,
            // ODBC a `}` inside braces: `'a''b'`, `{a}}b}` do not end at the first.
            if quote.len() == 1 && value[i + 1..].starts_with(quote) {
                at = i + 2;
                continue;
            }
            return Some(i);
        }
        None
    };
    let open = if value.starts_with("\\\"") {
        Some("\\\"")
    } else if value.starts_with('"') {
        Some("\"")
    } else if value.starts_with('\'') {
        Some("'")
    } else if value.starts_with('{') {
        Some("}")
    } else {
        None
    };
    match open {
        Some(quote) => {
            let start = if quote == "}" { 1 } else { quote.len() };
            match closing(start, quote) {
                Some(i) => (i + quote.len(), Some((start, i))),
                None => (value.len(), Some((start, value.len()))),
            }
        }
        None => (value.find(';').unwrap_or(value.len()), None),
    }
}

/// Where an unquoted secret value ends (`end`: at its `;` by the grammar) when the text
/// around it is malformed. A quote inside it (`a"b;c"`) may have been meant to open a
/// quoted part holding `;`: it runs to the end of the line. Parts after it that are no
/// `key=value` pair (`ab;Leak`) are most likely the rest of a password typed without
/// quotes: they are part of it. More is hidden, never less.
fn unquoted_secret_end(value: &str, end: usize) -> usize {
    let line_end = value.find('\n').unwrap_or(value.len());
    if value[..end].contains(['"', '\'']) {
        return line_end.max(end);
    }
    let mut end = end;
    while value[end..].starts_with(';') {
        let part_start = end + 1;
        let part_end = value[part_start..]
            .find([';', '"', '\'', '\n'])
            .map_or(value.len(), |i| part_start + i);
        let part = &value[part_start..part_end];
        if part.trim().is_empty() || part.contains('=') {
            break;
        }
        end = part_end;
    }
    end
}

/// `scheme://user:password@host` → `scheme://user:<redacted>@host`. The userinfo
/// ends at the last `@` before the URL ends (a `/` in a hand-written password does
/// not end it early: more is hidden, never less).
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = i + 3;
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after
            .find(|c: char| ends_url(c) || c == ';')
            .unwrap_or(after.len());
        let url = &after[..end];
        match (url.rfind('@'), url.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&url[..=colon]);
                out.push_str("<redacted>");
                out.push_str(&url[at..]);
            }
            _ => out.push_str(url),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn needs_work(text: &str) -> bool {
    text.chars().any(is_escaped_control)
        || text.contains("://")
        || contains_ignore_case(text, "sig=")
}

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.to_ascii_lowercase().contains(needle)
}

fn is_escaped_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_layout_control(c)
}

/// Characters that change how the text around them is laid out without showing
/// themselves: bidirectional overrides, embeddings and isolates (a name that reorders
/// what a reviewer reads), and the Unicode line and paragraph separators.
pub fn is_layout_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Ends a URL (or a SAS value) as printed in messages, JSON and plans.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')' | ']' | '}' | ',')
}

fn redact_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme) = find_scheme(rest) {
        let url_end = rest[scheme..]
            .find(ends_url)
            .map_or(rest.len(), |i| scheme + i);
        let url = &rest[..url_end];
        match url[scheme..].find('?') {
            Some(q) => {
                out.push_str(&url[..scheme + q]);
                out.push_str(REDACTED_QUERY);
            }
            None => out.push_str(url),
        }
        rest = &rest[url_end..];
    }
    out.push_str(rest);
    redact_stray_sig(&out)
}

/// Offset of the next `http://` or `https://` (case-insensitive).
fn find_scheme(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

/// A `sig=` outside a URL (a SAS pasted on its own, or in an error's own words).
fn redact_stray_sig(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(i) = lower[from..].find("sig=").map(|i| from + i) {
        let value_start = i + 4;
        let value_end = text[value_start..]
            .find(|c: char| ends_url(c) || c == '&')
            .map_or(text.len(), |e| value_start + e);
        out.push_str(&text[last..value_start]);
        out.push_str("<redacted>");
        last = value_end;
        from = value_end.max(value_start);
    }
    out.push_str(&text[last..]);
    out
}

/// `value` as JSON by serde_json (which escapes quotes, backslashes and C0 controls),
/// with DEL, C1 and layout controls escaped as well (`\u007f`, `\u202e`): valid
/// JSON that decodes to the same value and that nothing can reach a terminal or a
/// code-review page raw through. Secrets are the caller's to redact first.
pub fn json<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .expect("plain data serialises");
    // Serialised, any such character is inside a string, where an escape means it.
    if text.chars().any(is_escaped_control) {
        escape_controls(&text, false)
    } else {
        text
    }
}

/// C0 controls as `\x1b`; DEL, C1 and layout controls as `\u009b` (a JSON escape
/// too: a JSON line this passes through stays valid and keeps its value).
fn escape_controls(text: &str, lines_too: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped_control(c) || (lines_too && matches!(c, '\n' | '\t')) {
            if (c as u32) < 0x20 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::for_display;

    #[test]
    fn doubled_quotes_and_braces_do_not_end_a_secret_value() {
        for (text, leak) in [
            ("Data Source=x;Password='a''b;LeakC3';User ID=sa", "LeakC3"),
            (
                "Data Source=x;Password=\"a\"\";LeakC4\";User ID=sa",
                "LeakC4",
            ),
            ("Server=tcp:srv;Uid=sa;Pwd={a}}LeakB1};Database=d", "LeakB1"),
            ("Pwd={a}}}};LeakB2}", "LeakB2"),
            ("Password='LeakD1''", "LeakD1"),
        ] {
            let shown = super::connection_string(text);
            assert!(!shown.contains(leak), "{text} -> {shown}");
            assert!(shown.contains("<redacted>"), "{text} -> {shown}");
        }
        // What follows the value is still shown.
        assert_eq!(
            super::connection_string("Password='a''b';User ID=sa"),
            "Password=<redacted>;User ID=sa"
        );
        assert_eq!(
            super::connection_string("Pwd={a}}b};Uid=sa"),
            "Pwd=<redacted>;Uid=sa"
        );
        assert_eq!(
            super::connection_string("Password='';User ID=sa"),
            "Password=<redacted>;User ID=sa"
        );
    }

    /// Verify2 F2: a password typed without quotes that holds `;` or a quote.
    #[test]
    fn an_unquoted_password_with_a_semicolon_or_quote_is_hidden_whole() {
        use super::connection_string as cs;
        assert_eq!(
            cs("Server=srv;Password=ab;LeakE1"),
            "Server=srv;Password=<redacted>"
        );
        assert_eq!(
            cs("Server=srv;Password=ab;Leak E2;Leak3;User ID=sa"),
            "Server=srv;Password=<redacted>;User ID=sa"
        );
        assert_eq!(
            cs("Server=srv;Password=a\"b;LeakC8\""),
            "Server=srv;Password=<redacted>"
        );
        assert_eq!(
            cs("Server=srv;Pwd=a'b;User ID=LeakC9';Database=d"),
            "Server=srv;Pwd=<redacted>"
        );
        assert_eq!(
            cs("ConnectionString=Server=srv;Password=ab;LeakE1\nnext line"),
            "ConnectionString=Server=srv;Password=<redacted>\nnext line"
        );
        // A well-formed string keeps what follows the password.
        assert_eq!(
            cs("Password=ab;User ID=sa;;Provider=SQLNCLI11.1;"),
            "Password=<redacted>;User ID=sa;;Provider=SQLNCLI11.1;"
        );
        assert_eq!(cs("Password=ab; ;x=1"), "Password=<redacted>; ;x=1");
    }

    #[test]
    fn a_secret_pair_is_seen_in_a_query_or_pasted_after_a_name() {
        use super::holds_secret_pair as holds;
        assert!(holds("L5?user=etl&password=x"));
        assert!(holds("L5;Pwd=x"));
        assert!(holds("L5?token=x"));
        assert!(!holds("L5?user=etl&db=x"));
        assert!(!holds("Sales;2024"));
    }

    #[test]
    fn sql_server_names_hide_a_password_in_userinfo_or_pasted_pairs() {
        assert_eq!(
            super::sql_server("etl:PwLeak1@127.0.0.1,15022"),
            "etl:<redacted>@127.0.0.1,15022"
        );
        assert_eq!(
            super::sql_server("127.0.0.1,15022;Password=PwLeak6"),
            "127.0.0.1,15022;Password=<redacted>"
        );
        assert_eq!(super::sql_server("db1\\INST,1433"), "db1\\INST,1433");
        assert_eq!(super::sql_server("etl@db1"), "etl@db1");
    }

    #[test]
    fn sas_queries_are_redacted_wherever_a_url_is() {
        let url = "https://a.file.core.windows.net/share/x.dtsx?sv=2022-11-02&sp=rw&sig=AbC%3D";
        let shown = for_display(&format!("error: `{url}`: no such file")).into_owned();
        assert_eq!(
            shown,
            "error: `https://a.file.core.windows.net/share/x.dtsx?<SAS redacted>`: no such file"
        );
        let json = format!(r#"{{"path":"{url}","n":1}}"#);
        assert!(!for_display(&json).contains("AbC"));
        assert!(!for_display(&json).contains("sp=rw"));
        assert_eq!(
            for_display("token sig=AbC&se=1 x"),
            "token sig=<redacted>&se=1 x"
        );
        assert_eq!(
            for_display("HTTP://h/p?SIG=x y"),
            "HTTP://h/p?<SAS redacted> y"
        );
        assert_eq!(for_display("no url here"), "no url here");
    }

    #[test]
    fn connection_string_secrets_are_redacted() {
        use super::connection_string as cs;
        assert_eq!(
            cs("Data Source=db1;User ID=sa;Password=p@ss;Provider=SQLNCLI11.1;"),
            "Data Source=db1;User ID=sa;Password=<redacted>;Provider=SQLNCLI11.1;"
        );
        assert_eq!(
            cs("Server=x; pwd = 'a;b' ;Trusted_Connection=no"),
            "Server=x; pwd = <redacted> ;Trusted_Connection=no"
        );
        assert_eq!(
            cs("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=AbC==;"),
            "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=<redacted>;"
        );
        assert_eq!(
            cs("User Password={x;y};A=1"),
            "User Password=<redacted>;A=1"
        );
        let sas = cs("BlobEndpoint=https://a.blob.core.windows.net/?sv=1&sig=S3cr3t;SharedAccessSignature=sv=1&sig=S3cr3t");
        assert!(!sas.contains("S3cr3t"), "{sas}");
        assert_eq!(cs("C:\\data\\in.csv"), "C:\\data\\in.csv");
        assert_eq!(
            cs("it signs in with Windows authentication (Integrated Security=SSPI)"),
            "it signs in with Windows authentication (Integrated Security=SSPI)"
        );
        assert_eq!(
            cs("\"Data Source=\" + @[User::S] + \";Password=hunter2;\""),
            "\"Data Source=\" + @[User::S] + \";Password=<redacted>;\""
        );
    }

    #[test]
    fn control_characters_are_escaped_but_lines_kept() {
        assert_eq!(
            for_display("bad\x1b[31mname\r.dtsx\nnext\tcol\u{9b}"),
            "bad\\x1b[31mname\\x0d.dtsx\nnext\tcol\\u009b"
        );
    }

    #[test]
    fn secrets_inside_quoted_values_and_expressions_are_redacted() {
        use super::secrets;
        for (text, secret) in [
            (
                "ConnectionString = \"Data Source=H;Password=S3cretX3;Provider=MSOLEDBSQL;\"",
                "S3cretX3",
            ),
            (
                "Extended Properties='a=1;pwd=S3cretX3';Data Source=x",
                "S3cretX3",
            ),
            ("X = \"Data Source=x;Password=\\\"S3c;retX3\\\";\"", "retX3"),
            ("X = \"Data Source=x;Password=\\\"S3c;retX3\\\";\"", "S3c"),
            ("Driver={d};Other={Server=h;PWD={S3cretX3}};", "S3cretX3"),
            ("X = \"a\" + \";Password=S3cretX3", "S3cretX3"),
            ("ftp://user:S3cretX3@ftphost:21", "S3cretX3"),
            ("ftp://user:S3c/ret@X3@ftphost:21/dir", "ret"),
            ("see https://u:S3cretX3@h/p?sig=AbC x", "S3cretX3"),
        ] {
            let shown = secrets(text);
            assert!(!shown.contains(secret), "{text} -> {shown}");
            assert!(shown.contains("<redacted>"), "{text} -> {shown}");
        }
        assert_eq!(
            secrets("ftp://user:S3cretX3@ftphost:21"),
            "ftp://user:<redacted>@ftphost:21"
        );
        assert_eq!(secrets("ftp://ftphost/a@b:c"), "ftp://ftphost/a@b:c");
        // Ambiguous (a port, or a password holding `/`?): more is hidden, never less.
        assert_eq!(
            secrets("ftp://ftphost:21/a@b"),
            "ftp://ftphost:<redacted>@b"
        );
        assert_eq!(
            secrets("ConnectionString = \"Data Source=H;Password=S3cretX3;\" + @[User::X]"),
            "ConnectionString = \"Data Source=H;Password=<redacted>;\" + @[User::X]"
        );
        assert_eq!(
            secrets("a\u{7f}b\nc"),
            "a\u{7f}b\nc",
            "secrets() changes nothing else"
        );
    }

    #[test]
    fn inline_values_cannot_start_a_line_or_reorder_one() {
        assert_eq!(
            super::inline("a\nerror 4003\tX\u{202e}cba\u{85}"),
            "a\\x0aerror 4003\\x09X\\u202ecba\\u0085"
        );
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw() {
        let text = super::json(
            &serde_json::json!({"n": "a\u{7f}\u{9b}\u{202e}\u{2028}\n\"b"}),
            false,
        );
        assert_eq!(text, r#"{"n":"a\u007f\u009b\u202e\u2028\n\"b"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["n"], "a\u{7f}\u{9b}\u{202e}\u{2028}\n\"b");
    }
}
