//! One argument holding a whole dtutil command line (`DTUTIL "/FILE x.dtsx /COPY SQL;y"`,
//! as Windows PowerShell passes a quoted string): dtutil parses its own command line,
//! so such an argument is split as dtutil splits one. Blanks outside double quotes
//! separate arguments; a wholly quoted piece loses its quotes (`""` inside stands for
//! `"`); quotes inside a piece stay for the semicolon-field parser (`FILE;".\x.dtsx"`).

/// The pieces of `token` when it holds several switches (it starts with `/` or `-`,
/// has a blank outside quotes, and its first piece is `is_switch`); `None` otherwise.
pub(super) fn split(token: &str, is_switch: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    if !(token.starts_with('/') || token.starts_with('-')) || token.starts_with("--") {
        return None;
    }
    let pieces = pieces(token);
    if pieces.len() < 2 || !is_switch(&pieces[0]) {
        return None;
    }
    Some(pieces.into_iter().map(unquote).collect())
}

fn pieces(token: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in token.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(piece: String) -> String {
    let inner = piece
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .filter(|inner| !inner.replace("\"\"", "").contains('"'));
    match inner {
        Some(inner) => inner.replace("\"\"", "\""),
        None => piece,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(p: &str) -> bool {
        matches!(
            p.to_ascii_lowercase().as_str(),
            "/file" | "/copy" | "/q" | "-sql"
        )
    }

    #[test]
    fn splits_a_whole_command_line_held_in_one_argument() {
        assert_eq!(
            split("/FILE C:\\p\\Pkg.dtsx /COPY SQL;Pkg", switch).unwrap(),
            ["/FILE", "C:\\p\\Pkg.dtsx", "/COPY", "SQL;Pkg"]
        );
        assert_eq!(
            split(
                "/FILE \"C:\\a b\\P.dtsx\"  /COPY file;\".\\x y.dtsx\" /Q",
                switch
            )
            .unwrap(),
            [
                "/FILE",
                "C:\\a b\\P.dtsx",
                "/COPY",
                "file;\".\\x y.dtsx\"",
                "/Q"
            ]
        );
        assert_eq!(
            split("-SQL \"a \"\"b\"\"\"", switch).unwrap(),
            ["-SQL", "a \"b\""]
        );
        assert_eq!(split("/FILE", switch), None);
        assert_eq!(split("/home/a b.dtsx", switch), None);
        assert_eq!(split("--dry-run x", switch), None);
        assert_eq!(split("plain words", switch), None);
    }
}
