//! Standard output for every command. `print!` panics when a write fails and a bare
//! `writeln!` result is easy to drop: here the first failure is remembered, later
//! writes are not tried, and [`finish`] turns it into the exit code as Unix tools do.
//! A reader that went away (`dtutil /? | head -1`, `| grep -q`) ends the output
//! quietly; any other failure (`> /dev/full`, a full disk, an I/O error) is said on
//! stderr and exits 1, so a script never reads exit 0 for result lines that were not
//! written.

use std::io::{self, Write};
use std::sync::Mutex;

/// The first write to stdout that failed.
static FAILED: Mutex<Option<(io::ErrorKind, String)>> = Mutex::new(None);

fn failed() -> bool {
    FAILED.lock().map(|f| f.is_some()).unwrap_or(true)
}

fn remember(error: io::Error) {
    if let Ok(mut first) = FAILED.lock() {
        first.get_or_insert((error.kind(), error.to_string()));
    }
}

/// Writes `text` as it is (the caller has redacted it) and flushes, so a failure is
/// seen at the line that failed.
pub fn print(text: &str) {
    if failed() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        remember(e);
    }
}

/// [`print`] with a line end.
pub fn println(text: &str) {
    print(&format!("{text}\n"));
}

/// Flushes what is buffered (before a prompt, say).
pub fn flush() {
    if failed() {
        return;
    }
    if let Err(e) = io::stdout().lock().flush() {
        remember(e);
    }
}

/// The exit code once the command is done: `code` as it is unless stdout failed for
/// another reason than a closed pipe, which is said on stderr and exits 1 (or keeps a
/// failure's own code).
pub fn finish(code: i32) -> i32 {
    flush();
    let first = FAILED.lock().ok().and_then(|f| f.clone());
    match first {
        None => code,
        Some((io::ErrorKind::BrokenPipe, _)) => code,
        Some((_, error)) => {
            // Not eprintln!: a stderr that fails too must not panic either.
            let _ = writeln!(
                io::stderr(),
                "dtutil: error: cannot write to standard output: {error}; the output above is incomplete"
            );
            if code == 0 {
                1
            } else {
                code
            }
        }
    }
}
