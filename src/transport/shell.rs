//! [`CommandShell`]: one long-lived POSIX `sh` on one session channel per connection, to which
//! every command of a visit is sent, instead of a session channel (and a fresh login shell, and
//! `sudo`, and `flock`) per command.
//!
//! A session channel costs the terminal a fork of `sshd` and a login shell; with `become: sudo`
//! also a `sudo`; with a lease also a `flock`. The command shell pays these once: it is started
//! as `exec sh -c PROGRAM` (under `sudo -n -H` for `become: sudo`), and a command then costs one
//! fork of that shell (a subshell, so that `exit`, `cd`, `set -e` and traps stay the command's)
//! plus the command's own processes.
//!
//! # Framing
//! A request is a header line `TOKEN LINES LENGTH MODE`, then the command text as `LINES`
//! lines, then `LENGTH` bytes of stdin. `TOKEN` is 128 random bits, new per request. The shell
//! reads the header and the text with the `read` builtin (no process), then runs the text with
//! `eval` in a subshell whose stdin is `/dev/null` (no stdin) or a pipe from `head -c LENGTH`
//! (exactly the stdin bytes, whatever they are; after the command ends the subshell reads the
//! pipe to its end, so a command that does not read all of its stdin leaves nothing behind in
//! the request stream). Its stdout and stderr are the channel's. When it ends the shell prints
//! `TOKEN STATUS` on stdout and `TOKEN` on stderr: the reply is everything before the token on
//! each stream. A command's output cannot forge the end of its reply, since it cannot know the
//! token. Small text stdin (a password for `chpasswd`, a settings file) travels instead as a
//! quoted here-document after the command (`{ COMMAND\n} <<'DELIMITER'`), which the shell
//! turns into the command's stdin without any process. Mode `m` runs the text in the shell
//! itself rather than a subshell: that is how the lease opens its lock files once for all
//! commands ([`CommandShell::run_in_shell`]).
//!
//! # When it ends
//! A command that ends the shell (killing its parent), or a connection that drops, ends the
//! reply without a status: the command may still be running on the terminal, so this is
//! [`TransportError::Disconnected`] (a unit left *interrupted*), as for a dropped connection.
//! Nothing more can be sent after that. A shell that does not start at all (no `sh`, `sudo`
//! refused) is reported by [`CommandShell::start`] with the transport handed back, so the
//! caller can use a channel per command instead.
//!
//! Known difference from a channel per command: a command that leaves a background process
//! writing to its stdout is not waited for (a channel is held open by such a process); what
//! that process prints later lands in the next command's reply.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

use super::ssh::{SshTransport, StreamEvent, StreamReader, StreamWriter};
use super::{
    ExecOutput, RequestCounts, Transport, TransportError, TransportFuture, shell_quote,
    sudo_command,
};

/// The shell program: a loop that reads requests and answers them (see the module docs). Its
/// variables start with `_s` so that a main-shell request is unlikely to clobber them.
const PROGRAM: &str = r#"while IFS=' ' read -r _st _sn _sl _sm; do
_sc=
while [ "$_sn" -gt 0 ]; do IFS= read -r _sx || exit 0; _sc="$_sc$_sx
"; _sn=$((_sn-1)); done
if [ "$_sm" = m ]; then eval "$_sc"
elif [ "$_sl" -eq 0 ]; then ( eval "$_sc" ) </dev/null
else head -c "$_sl" | { ( eval "$_sc" ); _ss=$?; while IFS= read -r _sx; do :; done; exit $_ss; }
fi
_ss=$?
printf '%s %s\n' "$_st" "$_ss"
printf '%s\n' "$_st" >&2
done"#;

/// How a request's text runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// In a subshell: the command's own environment.
    Subshell,
    /// In the shell itself: what it opens and sets stays for later requests.
    Main,
}

/// Why the command shell did not start, and the transport, for a channel per command instead.
#[derive(Debug)]
pub struct ShellStart {
    /// The connection, unchanged.
    pub ssh: SshTransport,
    /// Why, for people.
    pub reason: String,
    /// When the shell's command exited before answering: its exit status and stderr (what
    /// `sudo` said when it refused).
    pub exited: Option<ExecOutput>,
}

/// The reading and writing ends, used by one request at a time.
struct Stream {
    writer: StreamWriter,
    reader: StreamReader,
    /// Set once the shell has ended: why.
    ended: Option<String>,
    /// Bytes read past the last reply.
    carry: Carry,
}

/// A [`Transport`] that sends every command to one long-lived shell on the terminal.
pub struct CommandShell {
    ssh: SshTransport,
    stream: Mutex<Stream>,
    /// Requests sent, for [`Transport::counts`].
    requests: AtomicU64,
}

impl std::fmt::Debug for CommandShell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandShell")
            .field("target", &self.ssh.target())
            .finish_non_exhaustive()
    }
}

/// The command that starts the shell on the terminal: `sh` as the login user, or as root
/// through `sudo -n -H` (with root's home as its working directory, as [`sudo_command`] does).
pub fn start_command(become_root: bool) -> String {
    if become_root {
        format!("exec {}", sudo_command(PROGRAM))
    } else {
        format!("exec sh -c {}", shell_quote(PROGRAM))
    }
}

impl CommandShell {
    /// Starts the command shell on `ssh` (as root through sudo when `become_root`) and waits
    /// for its first answer. When it does not answer, the connection is handed back with the
    /// reason (sudo refused, no `sh`): the caller can fall back to a channel per command, whose
    /// own checks then say what is wrong in the user's terms.
    pub async fn start(ssh: SshTransport, become_root: bool) -> Result<Self, ShellStart> {
        Self::start_with(ssh, become_root, None)
            .await
            .map(|(shell, _)| shell)
    }

    /// Like [`start`](Self::start), and sends `first` (run as by
    /// [`run_in_shell`](Self::run_in_shell), e.g. the lease) in the same round trip as the
    /// shell's first answer: it runs only if the shell started. Its output, or why it could
    /// not be read, comes back with the shell.
    pub async fn start_with(
        ssh: SshTransport,
        become_root: bool,
        first: Option<&str>,
    ) -> Result<(Self, Option<Result<ExecOutput, TransportError>>), ShellStart> {
        let (writer, reader) = match ssh.open_stream(&start_command(become_root)).await {
            Ok(halves) => halves,
            Err(e) => {
                return Err(ShellStart {
                    ssh,
                    reason: e.to_string(),
                    exited: None,
                });
            }
        };
        let shell = CommandShell {
            ssh,
            stream: Mutex::new(Stream {
                writer,
                reader,
                ended: None,
                carry: Carry::default(),
            }),
            requests: AtomicU64::new(0),
        };
        let hello = new_token();
        let mut text = frame(&hello, ":", 0, Mode::Main);
        let first = first.map(|script| {
            let token = new_token();
            text.push_str(&frame(&token, script, 0, Mode::Main));
            (token, script)
        });
        let mut stream = shell.stream.lock().await;
        shell
            .requests
            .fetch_add(1 + u64::from(first.is_some()), Ordering::Relaxed);
        // Both frames are small: they fit the channel's window without reading first.
        let sent = stream.writer.send(text.as_bytes()).await;
        let Stream { reader, carry, .. } = &mut *stream;
        let answer = read_reply(reader, carry, &hello).await;
        let failure = match (sent, answer) {
            (_, Reply::Done(output)) if output.success() => None,
            (_, Reply::Done(output)) => Some((
                format!(
                    "the command shell's first answer was status {}",
                    output.exit_status
                ),
                None,
            )),
            (_, Reply::Ended(ended)) => Some((
                ended.why,
                ended.exit_status.map(|exit_status| ExecOutput {
                    stderr: ended.stderr,
                    exit_status,
                    ..ExecOutput::default()
                }),
            )),
        };
        if let Some((reason, exited)) = failure {
            drop(stream);
            return Err(ShellStart {
                ssh: shell.ssh,
                reason,
                exited,
            });
        }
        let first = match first {
            None => None,
            Some((token, script)) => {
                let Stream { reader, carry, .. } = &mut *stream;
                let reply = read_reply(reader, carry, &token).await;
                Some(match reply {
                    Reply::Done(output) => Ok(output),
                    Reply::Ended(ended) => {
                        stream.ended = Some(ended.why.clone());
                        let during = format!("running `{}`", abbreviate(script));
                        Err(shell.ended_error(during, ended.why))
                    }
                })
            }
        };
        drop(stream);
        Ok((shell, first))
    }

    /// Runs `script` in the shell itself, not a subshell: files it opens and variables it sets
    /// stay for every later command. It must not read stdin (that is the request stream) and
    /// must not `exit` (that ends the shell); a function that `return`s is the way out.
    pub async fn run_in_shell(&self, script: &str) -> Result<ExecOutput, TransportError> {
        self.request(script, None, Mode::Main).await
    }

    /// The human label of the terminal.
    pub fn target(&self) -> &str {
        self.ssh.target()
    }

    async fn request(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        mode: Mode,
    ) -> Result<ExecOutput, TransportError> {
        match self.exchange(command, stdin, mode).await? {
            Reply::Done(output) => Ok(output),
            Reply::Ended(ended) => {
                Err(self.ended_error(format!("running `{}`", abbreviate(command)), ended.why))
            }
        }
    }

    /// Sends one request and reads its reply.
    async fn exchange(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        mode: Mode,
    ) -> Result<Reply, TransportError> {
        if command.contains('\0') {
            return Err(TransportError::Protocol {
                target: self.ssh.target().to_string(),
                reason: "a command with a NUL character cannot be sent".to_string(),
            });
        }
        let mut stream = self.stream.lock().await;
        let during = || format!("running `{}`", abbreviate(command));
        if let Some(why) = &stream.ended {
            return Err(self.ended_error(during(), why.clone()));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let token = new_token();
        let stdin = stdin.unwrap_or_default();
        let (text, stdin) = request_text(&token, command, stdin, mode);
        let reply = {
            let Stream {
                writer,
                reader,
                carry,
                ..
            } = &mut *stream;
            let send = async {
                writer.send(text.as_bytes()).await?;
                if !stdin.is_empty() {
                    writer.send(stdin).await?;
                }
                Ok::<(), TransportError>(())
            };
            let receive = read_reply(reader, carry, &token);
            tokio::pin!(send, receive);
            let mut sending = true;
            loop {
                tokio::select! {
                    // A failed write means the channel closed: the reply says why.
                    _ = &mut send, if sending => sending = false,
                    reply = &mut receive => break reply,
                }
            }
        };
        if let Reply::Ended(ended) = &reply {
            stream.ended = Some(ended.why.clone());
        }
        Ok(reply)
    }

    /// The error for a request the shell could not answer: the connection is gone, or the shell
    /// (perhaps killed by the command) is. Either way the command may still run there.
    fn ended_error(&self, during: String, why: String) -> TransportError {
        let reason = if self.ssh.is_disconnected() {
            self.ssh.lost_reason().unwrap_or(why)
        } else {
            why
        };
        TransportError::Disconnected {
            target: self.ssh.target().to_string(),
            during,
            reason,
        }
    }
}

/// The request's text, and the stdin bytes to send after it (none when stdin went into the
/// text as a here-document).
fn request_text<'a>(token: &str, command: &str, stdin: &'a [u8], mode: Mode) -> (String, &'a [u8]) {
    let delimiter = format!("SEIBI_{token}");
    match inline_stdin(stdin, &delimiter) {
        // Small text goes in the request as a here-document: no `head`, no pipeline.
        Some(body) if mode == Mode::Subshell => (
            frame(
                token,
                &format!("{{\n{command}\n}} <<'{delimiter}'\n{body}{delimiter}"),
                0,
                mode,
            ),
            &[],
        ),
        _ => (frame(token, command, stdin.len(), mode), stdin),
    }
}

/// Stdin up to this size may travel as a here-document (the shell writes it into a pipe itself
/// when it fits one, without a process).
const INLINE_STDIN_BYTES: usize = 4096;

/// `stdin` as the body of a here-document ending at `delimiter`, when that keeps it exact: text
/// without NUL, ending with a newline (a here-document always does), no line equal to the
/// delimiter, and small.
fn inline_stdin<'a>(stdin: &'a [u8], delimiter: &str) -> Option<&'a str> {
    let text = std::str::from_utf8(stdin).ok()?;
    let fits = !text.is_empty()
        && text.len() <= INLINE_STDIN_BYTES
        && text.ends_with('\n')
        && !text.contains('\0')
        && !text.lines().any(|line| line == delimiter);
    fits.then_some(text)
}

/// A new request's token: 128 random bits in hex.
fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A request: header, the command's lines, (stdin follows separately).
fn frame(token: &str, command: &str, stdin_len: usize, mode: Mode) -> String {
    let lines: Vec<&str> = command.split('\n').collect();
    let mode = match mode {
        Mode::Subshell => 's',
        Mode::Main => 'm',
    };
    let mut text = format!("{token} {} {stdin_len} {mode}\n", lines.len());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// How a request ended.
enum Reply {
    /// The shell answered.
    Done(ExecOutput),
    /// The shell or the channel ended first.
    Ended(Ended),
}

/// A shell that ended before its answer.
struct Ended {
    /// Why, for people.
    why: String,
    /// Its exit status, when the channel said.
    exit_status: Option<u32>,
    /// What it printed on stderr for the request.
    stderr: Vec<u8>,
}

/// What was read past the end of one reply: the start of the next (pipelined requests).
#[derive(Default)]
struct Carry {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Reads one reply: stdout up to `TOKEN STATUS\n`, stderr up to `TOKEN\n`; what follows on
/// either stream is kept in `carry` for the next reply.
async fn read_reply(reader: &mut StreamReader, carry: &mut Carry, token: &str) -> Reply {
    let err_marker = format!("{token}\n");
    let mut stdout = std::mem::take(&mut carry.stdout);
    let mut stderr = std::mem::take(&mut carry.stderr);
    let mut status: Option<u32> = None;
    let mut stderr_done = false;
    let mut shell_exit = None;
    // Where to look for the markers from: a marker may have arrived in part.
    let (mut out_from, mut err_from) = (0, 0);
    loop {
        if status.is_none()
            && let Some((at, parsed, end)) = find_status(&stdout[out_from..], token)
        {
            carry.stdout = stdout.split_off(out_from + end);
            stdout.truncate(out_from + at);
            status = Some(parsed);
        }
        if !stderr_done && let Some(at) = find(&stderr[err_from..], err_marker.as_bytes()) {
            carry.stderr = stderr.split_off(err_from + at + err_marker.len());
            stderr.truncate(err_from + at);
            stderr_done = true;
        }
        if let Some(status) = status
            && stderr_done
        {
            return Reply::Done(ExecOutput {
                stdout,
                stderr,
                exit_status: status,
                exit_signal: None,
            });
        }
        match reader.next().await {
            StreamEvent::Stdout(data) if status.is_none() => {
                out_from = stdout.len().saturating_sub(token.len() + 16);
                stdout.extend_from_slice(&data);
            }
            StreamEvent::Stdout(data) => carry.stdout.extend_from_slice(&data),
            StreamEvent::Stderr(data) if !stderr_done => {
                err_from = stderr.len().saturating_sub(err_marker.len());
                stderr.extend_from_slice(&data);
            }
            StreamEvent::Stderr(data) => carry.stderr.extend_from_slice(&data),
            StreamEvent::Exited(code) => shell_exit = Some(code),
            StreamEvent::Closed => {
                let said = String::from_utf8_lossy(&stderr).trim().to_string();
                let mut why = match shell_exit {
                    Some(code) => format!("the command shell ended (exit status {code})"),
                    None => "the command shell's channel closed".to_string(),
                };
                if !said.is_empty() {
                    why.push_str(&format!(": {}", abbreviate(&said)));
                }
                return Reply::Ended(Ended {
                    why,
                    exit_status: shell_exit,
                    stderr,
                });
            }
        }
    }
}

/// Where `TOKEN STATUS\n` starts in `data`, the status, and where the line ends; `None` until
/// all of it is there.
fn find_status(data: &[u8], token: &str) -> Option<(usize, u32, usize)> {
    let at = find(data, token.as_bytes())?;
    let rest = &data[at + token.len()..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    let status = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some((at, status, at + token.len() + end + 1))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A command shortened for messages: first line, at most 60 characters.
fn abbreviate(command: &str) -> String {
    let first_line = command.lines().next().unwrap_or_default();
    let mut short: String = first_line.chars().take(60).collect();
    if short.len() < command.len() {
        short.push('…');
    }
    short
}

impl Transport for CommandShell {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        Box::pin(self.request(command, stdin, Mode::Subshell))
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        Box::pin(async move {
            {
                let stream = self.stream.lock().await;
                stream.writer.eof().await;
            }
            self.ssh.close().await
        })
    }

    fn counts(&self) -> RequestCounts {
        RequestCounts {
            commands: self.requests.load(Ordering::Relaxed),
            ..self.ssh.counts()
        }
    }

    fn how(&self) -> String {
        "one command shell".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the shell program here with `sh`, feeding it `input`: what a terminal would do.
    fn run_program(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .args(["-c", PROGRAM])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write");
        let output = child.wait_with_output().expect("sh ends");
        (output.stdout, output.stderr)
    }

    #[test]
    fn frames_carry_lines_length_and_mode() {
        assert_eq!(
            frame("t0", "echo a\necho b", 3, Mode::Subshell),
            "t0 2 3 s\necho a\necho b\n"
        );
        assert_eq!(frame("t1", ":", 0, Mode::Main), "t1 1 0 m\n:\n");
    }

    #[test]
    fn the_program_answers_requests_in_order_with_exact_stdin() {
        let binary: Vec<u8> = (0..=255u8).collect();
        let mut input = Vec::new();
        input.extend_from_slice(frame("aa", "printf x; exit 3", 0, Mode::Subshell).as_bytes());
        input.extend_from_slice(frame("bb", "od -An -tx1 | wc -w", 256, Mode::Subshell).as_bytes());
        input.extend_from_slice(&binary);
        input.extend_from_slice(frame("cc", "exit 0", 5, Mode::Subshell).as_bytes());
        input.extend_from_slice(b"12345");
        input.extend_from_slice(frame("dd", "v=kept", 0, Mode::Main).as_bytes());
        input.extend_from_slice(frame("ee", "echo \"$v\" >&2", 0, Mode::Subshell).as_bytes());
        let (stdout, stderr) = run_program(&input);
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            "xaa 3\n256\nbb 0\ncc 0\ndd 0\nee 0\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&stderr),
            "aa\nbb\ncc\ndd\nkept\nee\n"
        );
    }

    #[test]
    fn small_text_stdin_travels_as_a_here_document_and_stays_exact() {
        let cases: [(&str, &[u8]); 4] = [
            ("cat", b"user:pa$$ `w` \\ 'q'\n\n  second line \n"),
            ("read -r a; echo \"[$a]\"", b"first\nrest\n"),
            ("exit 5", b"unread\n"),
            ("cat", b"no final newline"),
        ];
        let mut input = Vec::new();
        for (i, (command, stdin)) in cases.iter().enumerate() {
            let (text, rest) = request_text(&format!("t{i}"), command, stdin, Mode::Subshell);
            assert_eq!(rest.is_empty(), stdin.ends_with(b"\n"), "{command}");
            input.extend_from_slice(text.as_bytes());
            input.extend_from_slice(rest);
        }
        let (stdout, _) = run_program(&input);
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            "user:pa$$ `w` \\ 'q'\n\n  second line \nt0 0\n[first]\nt1 0\nt2 5\nno final newlinet3 0\n"
        );
    }

    #[test]
    fn status_and_token_are_found_across_chunks() {
        assert_eq!(find_status(b"out\nabc 0\nnext", "abc"), Some((4, 0, 10)));
        assert_eq!(find_status(b"outabc 12", "abc"), None);
        assert_eq!(find_status(b"abc 127\n", "abc"), Some((0, 127, 8)));
    }
}
