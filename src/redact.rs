//! What may be printed of text that carries names and URLs from elsewhere: an Azure
//! Files URL's query (a SAS token: `sig=` is a bearer credential, and its other fields
//! say what it grants) never, and control characters (a file named with a terminal
//! escape sequence) only escaped. Every line dtutil prints or writes to a report passes
//! through [`for_display`].

use std::borrow::Cow;

/// Replaces a URL's query.
pub const REDACTED_QUERY: &str = "?<SAS redacted>";

/// `text` with every `http(s)://` URL's query replaced, any stray `sig=VALUE` redacted,
/// and control characters other than newline and tab escaped (`\x1b`, `\u{9b}`).
pub fn for_display(text: &str) -> Cow<'_, str> {
    if !needs_work(text) {
        return Cow::Borrowed(text);
    }
    let redacted = redact_queries(text);
    Cow::Owned(escape_controls(&redacted))
}

/// Names of connection-string keys whose values are secrets (compared lowercased,
/// spaces and underscores removed; the short ones whole, the others as a substring:
/// `User Password`, `AccountKey`, `SharedAccessSignature`, `Client_Secret`...).
const SECRET_KEYS: &[&str] = &[
    "password",
    "pwd",
    "secret",
    "accountkey",
    "accesskey",
    "sharedaccesssignature",
    "sastoken",
    "token",
    "sig",
];

/// A connection string (or an expression holding one) with the value of every key
/// that names a secret replaced, then made fit to display ([`for_display`]: SAS
/// queries, control characters). `Password=abc;Data Source=x` becomes
/// `Password=<redacted>;Data Source=x`; quoted (`'..'`, `".."`) and braced (`{..}`)
/// values are replaced whole.
pub fn connection_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq]
            .rfind([';', '"', '\'', '(', ',', '&', '?', '`', '{', '\n'])
            .map_or(0, |i| i + 1);
        let key: String = rest[key_start..eq]
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        // Prose before an `=` is not a key (`... signs in (Integrated Security=SSPI)`).
        let key = if rest[key_start..eq].split_whitespace().count() > 3 || key.len() > 40 {
            String::new()
        } else {
            key
        };
        let value_start = eq + 1;
        let value = &rest[value_start..];
        let trimmed = value.trim_start();
        let lead = value.len() - trimmed.len();
        let end = match trimmed.chars().next() {
            Some(q @ ('\'' | '"')) => trimmed[1..].find(q).map_or(trimmed.len(), |i| i + 2),
            Some('{') => trimmed.find('}').map_or(trimmed.len(), |i| i + 1),
            _ => trimmed.find(';').unwrap_or(trimmed.len()),
        };
        let value_end = value_start + lead + end;
        out.push_str(&rest[..value_start]);
        let secret = SECRET_KEYS.iter().any(|k| {
            if k.len() <= 3 {
                key == *k
            } else {
                key.contains(k)
            }
        });
        if secret && end > 0 {
            out.push_str(&rest[value_start..value_start + lead]);
            out.push_str("<redacted>");
        } else {
            out.push_str(&rest[value_start..value_end]);
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    for_display(&out).into_owned()
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
    c.is_control() && c != '\n' && c != '\t'
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

fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_escaped_control(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
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
            "bad\\x1b[31mname\\x0d.dtsx\nnext\tcol\\u{9b}"
        );
    }
}
