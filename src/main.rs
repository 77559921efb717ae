//! The `imgpolicy` binary: parse arguments, run, exit. Everything else is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    imgpolicy::run(std::env::args_os()).into()
}
