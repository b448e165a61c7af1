//! The `dtutil` binary: command line in, exit code out.

use dtutil::plan::{Action, Command};
use dtutil::{cli, ops};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let mut printer = ops::printer_for(&args);
    let code = match cli::parse(args) {
        Err(error) => ops::fail(&mut printer, &error),
        Ok(Command::Dtutil(plan))
            if matches!(plan.action, Action::Help { .. }) && !plan.dry_run =>
        {
            let Action::Help { option } = &plan.action else {
                unreachable!()
            };
            match cli::help_text(option.as_deref()) {
                Ok(text) => {
                    print!("{text}");
                    0
                }
                Err(error) => ops::fail(&mut printer, &error),
            }
        }
        Ok(command) => match ops::run(command, &mut printer) {
            Ok(code) => code.code(),
            Err(error) => ops::fail(&mut printer, &error),
        },
    };
    std::process::exit(code);
}
