//! The `dtutil` binary: command line in, exit code out (see [`dtutil::app`]).

use dtutil::{app, config::Config};

fn main() {
    // The environment is read here, once; everything below is handed what it needs.
    let config = Config::from_env();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(app::run(args, &config));
}
