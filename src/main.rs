//! The `capsim` binary: parse, dispatch, map errors to exit codes.

#![forbid(unsafe_code)]

use capsim::cli::{Cli, EXIT_FAILURE, dispatch, report_error};
use clap::Parser;

fn main() {
    let cli = Cli::parse();
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            EXIT_FAILURE
        }
    };
    std::process::exit(code);
}
