//! The one place the command line writes to standard output and standard error.
//!
//! Every subcommand prints through a [`Printer`] instead of `println!`/`eprintln!`, which panic
//! when the reader has gone away (`seibi plan | head -1` closes the pipe after one line). A
//! printer never panics: when a stream's reader is gone (`BrokenPipe`), it stops writing to that
//! stream, quietly, and the command goes on to its normal exit status (like ripgrep, a closed
//! pipe is not an error worth a message). `seibi --quiet` hides status messages.
//!
//! Which method for what:
//!
//! | method | stream | hidden by `--quiet` | for |
//! |---|---|---|---|
//! | [`Printer::out`] | stdout | no | the command's answer, a line (what `println!` did) |
//! | [`Printer::out_str`] | stdout | no | text that brings its own newlines (what `print!` did) |
//! | [`Printer::out_bytes`] | stdout | no | bytes (an `.xlsx` written to a pipe) |
//! | [`Printer::stdout`] | stdout | no | a `Write` for code that takes one (a reporter) |
//! | [`Printer::status`] | stderr | yes | what happened, for people (`plan written to FILE`) |
//! | [`Printer::error`] | stderr | no | errors, warnings, hints: whatever explains the exit status |
//!
//! `main` calls [`Printer::install`] once with `--quiet`; everything else gets the same printer
//! with [`Printer::get`] (`let printer = Printer::get();` then `printer.out(format_args!(...))`
//! where there was `println!(...)`).

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: OnceLock<bool> = OnceLock::new();
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes the command line's output; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    quiet: bool,
}

impl Printer {
    /// Sets `--quiet` for the whole process (the first call wins) and returns the printer.
    pub fn install(quiet: bool) -> Printer {
        let _ = QUIET.set(quiet);
        Printer::get()
    }

    /// The process's printer (not quiet when [`Printer::install`] was never called).
    pub fn get() -> Printer {
        Printer {
            quiet: QUIET.get().copied().unwrap_or(false),
        }
    }

    /// Whether status messages are hidden.
    pub fn is_quiet(self) -> bool {
        self.quiet
    }

    /// A line on standard output.
    pub fn out(self, line: impl Display) {
        self.out_str(format_args!("{line}\n"));
    }

    /// Text on standard output, as it is (no newline added).
    pub fn out_str(self, text: impl Display) {
        write_to(&mut io::stdout().lock(), &STDOUT_CLOSED, |w| {
            write!(w, "{text}")
        });
    }

    /// Bytes on standard output.
    pub fn out_bytes(self, bytes: &[u8]) {
        write_to(&mut io::stdout().lock(), &STDOUT_CLOSED, |w| {
            w.write_all(bytes)
        });
    }

    /// Standard output as a [`Write`] that never fails because the reader went away.
    pub fn stdout(self) -> StdoutWriter {
        StdoutWriter
    }

    /// A status line on standard error, hidden by `--quiet`.
    pub fn status(self, line: impl Display) {
        if !self.quiet {
            self.error(line);
        }
    }

    /// A line on standard error that `--quiet` does not hide: an error, a warning, a hint.
    pub fn error(self, line: impl Display) {
        write_to(&mut io::stderr().lock(), &STDERR_CLOSED, |w| {
            writeln!(w, "{line}")
        });
    }
}

/// Standard output for code that writes to a [`Write`]; see [`Printer::stdout`]. Output after
/// the reader has gone is dropped; other write errors are returned.
#[derive(Debug)]
pub struct StdoutWriter;

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match io::stdout().lock().write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        match io::stdout().lock().flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

/// Writes with `f` and flushes, unless the stream is known closed. A closed pipe marks it
/// closed; any other error is dropped too, since there is nowhere left to report it.
fn write_to(
    w: &mut impl Write,
    closed: &AtomicBool,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = f(w).and_then(|()| w.flush())
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        closed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_remembered_not_a_panic() {
        let closed = AtomicBool::new(false);
        write_to(&mut Closed, &closed, |w| writeln!(w, "one"));
        assert!(closed.load(Ordering::Relaxed));
        // Later writes do not even try.
        write_to(&mut Closed, &closed, |_| panic!("must not write again"));
    }

    #[test]
    fn an_open_stream_gets_the_text() {
        let closed = AtomicBool::new(false);
        let mut buf = Vec::new();
        write_to(&mut buf, &closed, |w| write!(w, "plan"));
        assert_eq!(buf, b"plan");
        assert!(!closed.load(Ordering::Relaxed));
    }
}
