//! The overwrite prompt: asked on the terminal the answer is typed on, never a hang
//! without one.

use super::output::Printer;
use crate::error::{Error, Result};
use std::io::{BufRead, IsTerminal, Write};

/// dtutil asks before overwriting; `/Q` overwrites silently. Without a terminal to
/// ask on we must not hang, so we refuse and say how to allow it. `false`: the answer
/// was N ("the N reply ends the program", dtutil's documentation): not an error.
pub(super) fn confirm_overwrite(name: &str, quiet: bool, printer: &mut Printer) -> Result<bool> {
    if quiet {
        return Ok(true);
    }
    let no_terminal = || {
        Error::failure(format!(
            "{name} exists; nothing written. Add /Q to overwrite it (there is no terminal to ask on)"
        ))
    };
    if !std::io::stdin().is_terminal() {
        return Err(no_terminal());
    }
    printer.banner();
    crate::console::flush();
    let question = format!(
        "{} exists. Overwrite? (Y/N) ",
        crate::redact::for_display(name)
    );
    // A script that logs stdout and stderr (`> run.log 2>&1`) would swallow the question
    // and leave its user waiting at a silent screen: it goes to the terminal the answer
    // is typed on.
    let Some(mut terminal) = ask_on_terminal(&question) else {
        return Err(no_terminal());
    };
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    // Enter ends the prompt's line; an end of input (Ctrl-D) does not.
    if !answer.ends_with('\n') {
        let _ = terminal.write_all(b"\n");
    }
    let answer = answer.trim();
    Ok(answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes"))
}

/// Writes `question` to the terminal stdin reads from (stdin's own descriptor, else the
/// controlling terminal, else stderr or stdout when they are that terminal) and returns
/// where it went; `None` when none of them takes it.
fn ask_on_terminal(question: &str) -> Option<Box<dyn Write>> {
    let mut candidates: Vec<Box<dyn Write>> = Vec::new();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        // A terminal opened for reading only refuses the write and the next one is tried.
        if let Ok(stdin) = std::io::stdin().as_fd().try_clone_to_owned() {
            candidates.push(Box::new(std::fs::File::from(stdin)));
        }
        if let Ok(tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            candidates.push(Box::new(tty));
        }
    }
    #[cfg(windows)]
    if let Ok(console) = std::fs::OpenOptions::new().write(true).open("CONOUT$") {
        candidates.push(Box::new(console));
    }
    if std::io::stderr().is_terminal() {
        candidates.push(Box::new(std::io::stderr()));
    }
    if std::io::stdout().is_terminal() {
        candidates.push(Box::new(std::io::stdout()));
    }
    candidates.into_iter().find_map(|mut terminal| {
        (terminal.write_all(question.as_bytes()).is_ok() && terminal.flush().is_ok())
            .then_some(terminal)
    })
}
