//! dtutil's semicolon arguments: `FILE;"C:\x y\p.dtsx";2;pw` or a whole quoted
//! `"FILE;path;3;key"`. Quotes are removed, `;` inside quotes is literal, and `""`
//! inside a quoted string stands for one `"`.

/// Splits one argument into its fields.
pub fn split(arg: &str) -> Result<Vec<String>, String> {
    if let Some(inner) = unwrap_whole(arg) {
        // Everything was inside the quotes: `;` separates, `""` is one quote.
        return Ok(inner.split(';').map(|f| f.replace("\"\"", "\"")).collect());
    }
    let inner = arg;
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ';' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

/// A whole argument in quotes (when a shell passed them through) is unwrapped once,
/// so its semicolons separate fields.
fn unwrap_whole(arg: &str) -> Option<&str> {
    let bytes = arg.as_bytes();
    if bytes.len() < 2 || bytes[0] != b'"' || bytes[bytes.len() - 1] != b'"' {
        return None;
    }
    // The opening quote must close at the very end (doubled quotes are escapes).
    let inner = &arg[1..arg.len() - 1];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
            } else {
                return None;
            }
        }
    }
    Some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Vec<String> {
        split(s).unwrap()
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(f("FILE;a.dtsx"), ["FILE", "a.dtsx"]);
        assert_eq!(
            f("FILE;\"C:\\x y\\p.dtsx\";2;pw"),
            ["FILE", "C:\\x y\\p.dtsx", "2", "pw"]
        );
        assert_eq!(
            f("FILE;\"a;b.dtsx\";3;\"p;w\""),
            ["FILE", "a;b.dtsx", "3", "p;w"]
        );
        assert_eq!(
            f("\"FILE;/tmp/p.dtsx;3;key\""),
            ["FILE", "/tmp/p.dtsx", "3", "key"]
        );
        assert_eq!(f("FILE;\"say \"\"hi\"\"\""), ["FILE", "say \"hi\""]);
        assert_eq!(f("\"FILE;x;2;a\"\"b\""), ["FILE", "x", "2", "a\"b"]);
        assert_eq!(f("SQL"), ["SQL"]);
        assert_eq!(f("SQL;"), ["SQL", ""]);
        assert_eq!(f("\"a\";\"b\""), ["a", "b"]);
        assert!(split("FILE;\"open").is_err());
    }
}
