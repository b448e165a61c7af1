//! Windows cmd variables left unexpanded in a location argument (a script translated
//! from a .cmd file into bash or PowerShell): found in any path, named with the form the
//! shell expands. Shared by the command line (destinations, folder paths: refused) and
//! the actions (a source found missing: named).

/// A path holding a Windows cmd variable the shell did not expand (a batch file's
/// `%%f`, a `for` loop's `%f` or `%~nf`, `%NAME%`), pasted into bash or PowerShell: said
/// with the form that shell expands, since "does not exist" alone sends the user looking
/// for a file named `%f`, and a destination named so takes every loop iteration's package.
pub fn cmd_variable_hint(path: &str) -> Option<String> {
    let variable = cmd_variable_in(path)?;
    let whole = if variable == path {
        format!("`{path}` is a cmd variable")
    } else {
        format!("`{path}` holds the cmd variable `{variable}`, which")
    };
    let was = if variable == path { "that was" } else { "was" };
    Some(format!(
        "; {whole} {was} not expanded: this shell writes a loop variable as \"$f\" (for f in *.dtsx; do dtutil /FILE \"$f\" ...; done), %~nf as \"$(basename \"$f\" .dtsx)\" and %NAME% as \"$NAME\" (PowerShell: $f, $f.BaseName, $env:NAME)"
    ))
}

/// The first cmd variable in `path`: `%NAME%`; `%~`/`%%~` with modifiers and a loop
/// variable (`%~nxf`, `%~dp0`, `%~$PATH:f`), anywhere; or a path part that is a loop
/// variable (`%f`, `%%f`), alone or before an extension (`%%f.bak`). No real package
/// name looks so; `100%.dtsx` or `a%b.dtsx` do not match.
pub fn cmd_variable_in(path: &str) -> Option<&str> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let percents: Vec<usize> = path.match_indices('%').map(|(at, _)| at).collect();
    for pair in percents.windows(2) {
        let name = &path[pair[0] + 1..pair[1]];
        // cmd names do not start with a digit: `My%20Package%20X` is URL encoding.
        if name.chars().next().is_some_and(|c| !c.is_ascii_digit()) && name.chars().all(name_char) {
            return Some(&path[pair[0]..=pair[1]]);
        }
    }
    for (at, _) in path.match_indices("%~") {
        let begin = if at > 0 && path.as_bytes()[at - 1] == b'%' {
            at - 1
        } else {
            at
        };
        let rest = &path[at + 2..];
        let len = modifiers_and_variable(rest);
        if len > 0 {
            return Some(&path[begin..at + 2 + len]);
        }
    }
    for part in path.split(['\\', '/']) {
        let variable = part.strip_prefix("%%").or_else(|| part.strip_prefix('%'));
        let Some(variable) = variable else { continue };
        let mut chars = variable.chars();
        let first = chars.next();
        let after = chars.as_str();
        if first.is_some_and(|c| c.is_ascii_alphabetic())
            && (after.is_empty() || after.starts_with('.'))
        {
            return Some(&part[..part.len() - after.len()]);
        }
    }
    None
}

/// The length of `nxf` in `%~nxf` (or `$PATH:f` in `%~$PATH:f`): modifier letters then
/// the variable, a letter or a batch argument's digit; 0 when `rest` is no such thing.
fn modifiers_and_variable(rest: &str) -> usize {
    let run = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    if run > 0 {
        return run;
    }
    if let Some(search) = rest.strip_prefix('$') {
        if let Some(colon) = search.find(':') {
            let name = &search[..colon];
            let variable = search[colon + 1..].chars().next();
            if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && variable.is_some_and(|c| c.is_ascii_alphabetic())
            {
                return colon + 3;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::{cmd_variable_hint, cmd_variable_in};

    #[test]
    fn cmd_variables_are_told_apart_from_paths() {
        for path in [
            "%f",
            "%%f",
            "%dtsxFile%",
            "%SSIS_DIR%\\Load.dtsx",
            "C:\\%Folder%\\x.dtsx",
        ] {
            assert!(cmd_variable_hint(path).is_some(), "{path}");
        }
        for path in [
            "Load.dtsx",
            "100%.dtsx",
            "a%b.dtsx",
            "%",
            "%%",
            "50% off 20%.dtsx",
        ] {
            assert!(cmd_variable_hint(path).is_none(), "{path}");
        }
    }

    /// Review user3 F3: the modifier forms a half-translated loop leaves in a path.
    #[test]
    fn cmd_variables_inside_paths_are_found() {
        for (path, variable) in [
            ("destFolder\\%~nf", "%~nf"),
            ("out\\%~nxf", "%~nxf"),
            ("%%~nxf", "%%~nxf"),
            ("%~dp0\\pkg.dtsx", "%~dp0"),
            ("backup_%~nf.dtsx", "%~nf"),
            ("%~$PATH:f", "%~$PATH:f"),
            ("out/%%f.bak", "%%f"),
            ("%PKGDIR%\\a.dtsx", "%PKGDIR%"),
            ("Folder\\%f", "%f"),
        ] {
            assert_eq!(cmd_variable_in(path), Some(variable), "{path}");
        }
        for path in [
            "100%~.dtsx",
            "a%b\\c%.dtsx",
            "My%20Package%20X.dtsx",
            "Folder\\%abc.dtsx",
            "x%.dtsx",
        ] {
            assert_eq!(cmd_variable_in(path), None, "{path}");
        }
    }
}
