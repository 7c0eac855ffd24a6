//! Command-line subcommands: one file per verb, each an argument type and a short `run` that
//! parses, delegates to the library and maps the outcome to an exit code.

pub mod secrets;
