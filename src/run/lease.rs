//! One run per terminal at a time, across machines: a lease taken on the terminal itself.
//!
//! Two crews with separate clones of a project (sharing it through git) cannot see each other's
//! project lock ([`super::lock`]), so before its first unit on a terminal a run takes a lease
//! on the terminal. The lease is two `flock(1)` locks in [`LEASE_DIR`] on the terminal (a
//! runtime directory: a reboot clears it, as it ends every process that could hold them):
//!
//! * `lease`, held exclusively by a small process the run leaves on the terminal, which lives
//!   exactly as long as the run's SSH connection (it watches that connection's `sshd` process):
//!   a second run waits for it a bounded time, then reports the terminal **busy**, naming the
//!   holder from `lease.holder` ("leased by run X of OPERATOR on HOST since T").
//! * `units`, held *shared* by every command the run starts there, so a command outlives a
//!   dropped connection with its lock: the terminal's command shell
//!   ([`crate::transport::shell`]) takes it once, on an fd every command inherits
//!   ([`LeaseRequest::shell_script`]); without a command shell, [`Leased`] wraps each command
//!   in `flock -s`. Taking the lease
//!   also waits for `units` exclusively: a later run, fresh or resumed, does not start before
//!   the commands of an interrupted one have ended, and then queries again, so a unit is
//!   applied once.
//!
//! The lease is taken when connecting ([`super::connector`]), as root when the terminal has
//! `become: sudo` (in the command shell started under sudo, or after `sudo` is checked); a login that is neither root nor has `become: sudo` keeps its lease under its own
//! home instead, and serializes only with runs that log in as the same account.

use std::time::Duration;

use crate::transport::{CommandShell, ExecOutput, Transport, TransportFuture, shell_quote};

/// Where the lease lives on a terminal.
pub const LEASE_DIR: &str = "/run/seibi";

/// The first word of every line the acquiring script prints about the lease.
const MARK: &str = "SEIBI-LEASE";

/// Who takes the lease, and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The run id.
    pub run: String,
    /// The operator's roster name.
    pub operator: String,
    /// This machine's name.
    pub host: String,
    /// When the run started (RFC 3339).
    pub since: String,
    /// How long to wait for another run's lease.
    pub wait: Duration,
    /// How long to wait for the commands of an interrupted run to end.
    pub commands_wait: Duration,
}

impl LeaseRequest {
    /// What the terminal keeps about the holder, and other runs show.
    pub fn holder(&self) -> String {
        format!(
            "run {} of {} on {} since {}",
            self.run, self.operator, self.host, self.since
        )
    }

    /// The POSIX `sh` script that takes the lease: prints `SEIBI-LEASE ok DIR`, or
    /// `SEIBI-LEASE busy` / `SEIBI-LEASE commands` followed by the holder, or
    /// `SEIBI-LEASE error WHY`. It runs on its own channel, and its commands are then wrapped
    /// by [`Leased`].
    pub fn script(&self) -> String {
        self.script_for(Holding::PerCommand)
    }

    /// The same script for a command shell ([`CommandShell::run_in_shell`]): on success the
    /// shell keeps the `units` lock shared on its fd 9 for its whole life, and every command it
    /// starts inherits it, so no command needs a `flock` of its own and one that outlives a
    /// dropped connection still holds the lock. It never `exit`s (that would end the shell),
    /// reads nothing from stdin, and closes what it opened when it refuses.
    pub fn shell_script(&self) -> String {
        self.script_for(Holding::InShell)
    }

    fn script_for(&self, holding: Holding) -> String {
        // Builtins where they do: the whole script costs the terminal three `flock`s and the
        // watcher, not a process per step.
        let (keep_units, watcher_fds) = match holding {
            Holding::PerCommand => ("flock -u 9; exec 9>&-", ""),
            Holding::InShell => ("flock -s 9", " 9>&-"),
        };
        format!(
            r#"seibi_lease() {{
info={info}
d={dir}
if ! {{ {{ [ -d "$d" ] || mkdir -p "$d" 2>/dev/null; }} && [ -w "$d" ]; }}; then
  d="${{HOME:-/tmp}}/.seibi-lease"
  {{ [ -d "$d" ] || mkdir -p "$d" 2>/dev/null; }} || {{ echo "{MARK} error cannot create $d"; return 0; }}
fi
command -v flock >/dev/null 2>&1 || {{ echo '{MARK} error flock(1) is not installed on the terminal (package util-linux)'; return 0; }}
command exec 8>>"$d/lease" 9>>"$d/units" || {{ exec 8>&- 9>&-; echo "{MARK} error cannot open the lock files in $d"; return 0; }}
if ! flock -w {wait} 8; then exec 8>&- 9>&-; echo '{MARK} busy'; cat "$d/lease.holder" </dev/null 2>/dev/null; return 0; fi
if ! flock -w {commands_wait} 9; then exec 8>&- 9>&-; echo '{MARK} commands'; cat "$d/units.holder" </dev/null 2>/dev/null; return 0; fi
{keep_units}
p=$$; s=
while [ "$p" -gt 1 ] 2>/dev/null; do
  c=; IFS= read -r c <"/proc/$p/comm" 2>/dev/null
  case $c in sshd*) s=$p; break;; esac
  st=; IFS= read -r st <"/proc/$p/stat" 2>/dev/null || break
  st=${{st##*) }}; set -- $st; p=$2
done
[ -n "$s" ] || {{ exec 8>&- 9>&-; echo '{MARK} error cannot find the sshd process of this connection'; return 0; }}
printf '%s\n' "$info" > "$d/lease.holder"
printf '%s\n' "$info" > "$d/units.holder"
( trap '' HUP INT; while [ -d "/proc/$s" ]; do sleep 1; done ) </dev/null >/dev/null 2>&1{watcher_fds} &
exec 8>&-
echo "{MARK} ok $d"
}}
seibi_lease
"#,
            info = shell_quote(&self.holder()),
            dir = shell_quote(LEASE_DIR),
            wait = self.wait.as_secs().max(1),
            commands_wait = self.commands_wait.as_secs().max(1),
        )
    }
}

/// Who holds the `units` lock for the run's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holding {
    /// Each command, through `flock -s` ([`Leased`]).
    PerCommand,
    /// The command shell, on an fd its commands inherit.
    InShell,
}

/// Why the lease was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseRefused {
    /// Another run holds it.
    #[error("busy: leased by {holder} (waited {waited}s; run again when it has finished)")]
    Busy {
        /// What the terminal says about the holder.
        holder: String,
        /// Seconds waited.
        waited: u64,
    },
    /// Commands of an earlier, interrupted run are still running there.
    #[error(
        "busy: a command of {holder} is still running on the terminal after {waited}s; let it finish (or stop it), then run again"
    )]
    Commands {
        /// What the terminal says about the run that started them.
        holder: String,
        /// Seconds waited.
        waited: u64,
    },
    /// The lease could not be taken at all.
    #[error("cannot take the terminal's lease: {0}")]
    Error(String),
}

impl LeaseRefused {
    /// Whether another run (or its commands) holds the terminal, as opposed to an error.
    pub fn is_busy(&self) -> bool {
        !matches!(self, LeaseRefused::Error(_))
    }
}

/// Reads what the acquiring script printed: the lease directory, or why not.
pub fn parse(request: &LeaseRequest, output: &ExecOutput) -> Result<String, LeaseRefused> {
    let text = output.stdout_text();
    let mut lines = text.lines().skip_while(|l| !l.starts_with(MARK));
    let Some(first) = lines.next() else {
        return Err(LeaseRefused::Error(format!(
            "the lease script said nothing (exit status {}): {}",
            output.exit_status,
            output.stderr_text().trim()
        )));
    };
    let rest = first[MARK.len()..].trim();
    let mut holder = || {
        lines
            .next()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or("another run (it left no name)")
            .to_string()
    };
    match rest.split_once(' ').unwrap_or((rest, "")) {
        ("ok", dir) if !dir.is_empty() => Ok(dir.to_string()),
        ("busy", _) => Err(LeaseRefused::Busy {
            holder: holder(),
            waited: request.wait.as_secs().max(1),
        }),
        ("commands", _) => Err(LeaseRefused::Commands {
            holder: holder(),
            waited: request.commands_wait.as_secs().max(1),
        }),
        ("error", why) => Err(LeaseRefused::Error(why.to_string())),
        _ => Err(LeaseRefused::Error(format!("unexpected answer `{first}`"))),
    }
}

/// Takes the lease in a command shell, which then holds the `units` lock for all its commands.
pub async fn acquire_in_shell(
    shell: &CommandShell,
    request: &LeaseRequest,
) -> Result<Result<String, LeaseRefused>, crate::transport::TransportError> {
    let output = shell.run_in_shell(&request.shell_script()).await?;
    Ok(parse(request, &output))
}

/// Takes the lease on a connected terminal.
pub async fn acquire(
    transport: &dyn Transport,
    request: &LeaseRequest,
) -> Result<Result<String, LeaseRefused>, crate::transport::TransportError> {
    let output = transport.exec(&request.script(), None).await?;
    Ok(parse(request, &output))
}

/// A transport whose every command holds the terminal's `units` lock shared while it runs (see
/// the module docs), so that a later run waits for it even if this run's connection drops.
pub struct Leased {
    inner: Box<dyn Transport>,
    units: String,
}

impl Leased {
    /// Wraps `inner`, whose lease is in `dir`.
    pub fn new(inner: Box<dyn Transport>, dir: &str) -> Self {
        Self {
            inner,
            units: format!("{dir}/units"),
        }
    }

    /// The command as the terminal runs it.
    pub fn wrap(&self, command: &str) -> String {
        format!(
            "exec flock -s {} sh -c {}",
            shell_quote(&self.units),
            shell_quote(command)
        )
    }
}

impl Transport for Leased {
    fn exec<'a>(
        &'a self,
        command: &'a str,
        stdin: Option<&'a [u8]>,
    ) -> TransportFuture<'a, ExecOutput> {
        Box::pin(async move { self.inner.exec(&self.wrap(command), stdin).await })
    }

    fn close(&self) -> TransportFuture<'_, ()> {
        self.inner.close()
    }

    fn counts(&self) -> crate::transport::RequestCounts {
        self.inner.counts()
    }

    fn how(&self) -> String {
        self.inner.how()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> LeaseRequest {
        LeaseRequest {
            run: "20261005T010000Z-42".into(),
            operator: "山田 太郎".into(),
            host: "ctl01".into(),
            since: "2026-10-05T01:00:00.000Z".into(),
            wait: Duration::from_secs(30),
            commands_wait: Duration::from_secs(600),
        }
    }

    #[test]
    fn answers_are_read() {
        let r = request();
        assert_eq!(
            parse(&r, &ExecOutput::ok("SEIBI-LEASE ok /run/seibi\n")),
            Ok("/run/seibi".to_string())
        );
        let busy = parse(
            &r,
            &ExecOutput::ok(
                "SEIBI-LEASE busy\nrun 20261005T000000Z-7 of 佐藤 on ctl02 since 2026-10-05T00:00:00.000Z\n",
            ),
        )
        .expect_err("busy");
        assert_eq!(
            busy.to_string(),
            "busy: leased by run 20261005T000000Z-7 of 佐藤 on ctl02 since 2026-10-05T00:00:00.000Z (waited 30s; run again when it has finished)"
        );
        assert!(busy.is_busy());
        let commands = parse(&r, &ExecOutput::ok("SEIBI-LEASE commands\n")).expect_err("cmd");
        assert!(
            commands
                .to_string()
                .contains("a command of another run (it left no name) is still running"),
            "{commands}"
        );
        let error = parse(&r, &ExecOutput::failed(127, "sh: not found")).expect_err("error");
        assert!(!error.is_busy());
    }

    #[test]
    fn the_script_is_valid_sh_and_quotes_the_holder() {
        for script in [request().script(), request().shell_script()] {
            assert!(script.contains("info='run 20261005T010000Z-42 of 山田 太郎 on ctl01 since"));
            let status = std::process::Command::new("sh")
                .args(["-n", "-c", &script])
                .status()
                .expect("sh");
            assert!(status.success(), "sh -n rejects the lease script");
            assert!(
                !script.contains("exit"),
                "a shell-mode script must not exit"
            );
        }
    }

    #[test]
    fn commands_run_under_the_shared_lock() {
        struct Echo;
        impl Transport for Echo {
            fn exec<'a>(
                &'a self,
                command: &'a str,
                _stdin: Option<&'a [u8]>,
            ) -> TransportFuture<'a, ExecOutput> {
                Box::pin(async move { Ok(ExecOutput::ok(command.as_bytes().to_vec())) })
            }
            fn close(&self) -> TransportFuture<'_, ()> {
                Box::pin(async { Ok(()) })
            }
        }
        let leased = Leased::new(Box::new(Echo), "/run/seibi");
        assert_eq!(
            leased.wrap("echo 'a b'"),
            "exec flock -s '/run/seibi/units' sh -c 'echo '\\''a b'\\'''"
        );
    }
}
