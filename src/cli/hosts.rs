//! `seibi hosts scan` and `seibi hosts trust`: collecting terminals' host keys for review, and
//! pinning reviewed keys in the project's `known_hosts`. Nothing is ever trusted silently: a
//! scan only writes a file for a person to compare with the fingerprints the terminals show at
//! their consoles; `trust` then adds what was reviewed, and refuses to replace a pinned key
//! unless told to with `--replace` (a reinstalled terminal).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Printer;
use super::plan::SelectionArgs;
use super::{ProjectArgs, print_diagnostics};
use crate::inventory::{self, Terminal};
use crate::transport::known_hosts::{self, HostKeyCheck, format_line};
use crate::transport::{ConnectSpec, Credentials, HostKey, KnownHosts, scan};

/// Host-key subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HostsCommand {
    /// Connect to the selected terminals (without logging in) and write the keys they offer.
    Scan {
        /// Which terminals.
        #[command(flatten)]
        selection: SelectionArgs,
        /// Where to write the scanned keys for review.
        #[arg(short, long, default_value = "scanned_hosts", value_name = "FILE")]
        output: PathBuf,
        /// Seconds for one connection attempt.
        #[arg(long, default_value_t = 10)]
        connect_timeout: u64,
    },
    /// Pin reviewed keys from a scan file in the project's known_hosts.
    Trust {
        /// Terminals whose scanned keys were reviewed (all in the file if none given).
        terminals: Vec<String>,
        /// The reviewed scan file.
        #[arg(long, default_value = "scanned_hosts", value_name = "FILE")]
        from: PathBuf,
        /// The known_hosts file to add to [default: PROJECT/known_hosts].
        #[arg(long, value_name = "FILE")]
        known_hosts: Option<PathBuf>,
        /// Replace a different key already pinned for the terminal (after a verified reinstall).
        #[arg(long)]
        replace: bool,
    },
}

/// Runs a hosts subcommand.
pub fn run(command: HostsCommand, project: &ProjectArgs) -> anyhow::Result<ExitCode> {
    match command {
        HostsCommand::Scan {
            selection,
            output,
            connect_timeout,
        } => scan_hosts(project, &selection, &output, connect_timeout),
        HostsCommand::Trust {
            terminals,
            from,
            known_hosts,
            replace,
        } => {
            let target = known_hosts.unwrap_or_else(|| project.paths().root.join("known_hosts"));
            trust(&terminals, &from, &target, replace)
        }
    }
}

/// A scanned key with the spec it was scanned with, or why not.
type ScanResult = Result<(ConnectSpec, HostKey), String>;

fn scan_hosts(
    project: &ProjectArgs,
    selection: &SelectionArgs,
    output: &std::path::Path,
    timeout: u64,
) -> anyhow::Result<ExitCode> {
    let (inv, diags) = inventory::load(&project.paths().inventory);
    if diags.has_errors() {
        print_diagnostics(&diags);
        return Ok(ExitCode::from(1));
    }
    let limit = selection.request().limit;
    let problems = limit.problems(&inv, "the selection");
    if !problems.is_empty() {
        for d in problems {
            Printer::get().error(format_args!("{d}"));
        }
        return Ok(ExitCode::from(1));
    }
    let terminals: Vec<&Terminal> = limit.select(&inv);
    let known_path = project.paths().root.join("known_hosts");
    let known = if known_path.is_file() {
        KnownHosts::load(&known_path)?
    } else {
        KnownHosts::empty()
    };
    let known = Arc::new(known);
    let credentials = Credentials::default().with_agent_from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let results: Vec<(String, ScanResult)> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for t in &terminals {
            let mut spec = ConnectSpec::new(&t.id, &t.address, &t.user)
                .with_port(t.port)
                .with_connect_timeout(Duration::from_secs(timeout))
                .with_retries(1, Duration::from_millis(300));
            if let Some(j) = inv.sites.get(&t.site).and_then(|s| s.jump.as_ref()) {
                spec = spec.with_jump(
                    ConnectSpec::new(format!("{} jump host", t.site), &j.address, &j.user)
                        .with_port(j.port),
                );
            }
            let known = known.clone();
            let credentials = credentials.clone();
            let id = t.id.clone();
            tasks.push(tokio::spawn(async move {
                let r = scan(&spec, &credentials, known)
                    .await
                    .map(|k| (spec, k))
                    .map_err(|e| e.to_string());
                (id, r)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            if let Ok(r) = t.await {
                out.push(r);
            }
        }
        out
    });
    let mut text = String::from(
        "# Host keys offered by the terminals, collected by `seibi hosts scan`.\n\
         # Compare each fingerprint with the one shown at the terminal's console\n\
         # (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`), then run `seibi hosts trust`.\n",
    );
    let mut failures = 0;
    for (id, r) in &results {
        match r {
            Ok((spec, key)) => {
                let status = match known.check(&spec.address, spec.port, key) {
                    HostKeyCheck::Match { .. } => "already pinned",
                    HostKeyCheck::Unknown { .. } => "new",
                    HostKeyCheck::Changed { .. } => "CHANGED from the pinned key",
                    HostKeyCheck::Revoked { .. } => "REVOKED",
                };
                Printer::get().out(format_args!("{id:<16} {} {status}", key.fingerprint()));
                text.push_str(&format!(
                    "# {id} {} ({status})\n{}\n",
                    key.fingerprint(),
                    format_line(&spec.address, spec.port, key)
                ));
            }
            Err(e) => {
                failures += 1;
                Printer::get().error(format_args!("{id:<16} not scanned: {e}"));
            }
        }
    }
    std::fs::write(output, text).with_context(|| format!("cannot write {}", output.display()))?;
    Printer::get().status(format_args!(
        "{} keys written to {} for review; {failures} terminals not scanned",
        results.len() - failures,
        output.display()
    ));
    Ok(if failures > 0 {
        ExitCode::from(5)
    } else {
        ExitCode::SUCCESS
    })
}

fn trust(
    terminals: &[String],
    from: &std::path::Path,
    target: &std::path::Path,
    replace: bool,
) -> anyhow::Result<ExitCode> {
    let scanned = std::fs::read_to_string(from)
        .with_context(|| format!("cannot read the scan file {}", from.display()))?;
    // Pairs of "# <id> <fingerprint> (...)" and the key line after it.
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut pending: Option<String> = None;
    for line in scanned.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let id = rest.split_whitespace().next().unwrap_or("");
            pending = (!id.is_empty() && rest.contains("SHA256:")).then(|| id.to_string());
        } else if !line.trim().is_empty()
            && let Some(id) = pending.take()
        {
            entries.push((id, line.to_string()));
        }
    }
    let chosen: Vec<&(String, String)> = entries
        .iter()
        .filter(|(id, _)| terminals.is_empty() || terminals.contains(id))
        .collect();
    for t in terminals {
        if !entries.iter().any(|(id, _)| id == t) {
            bail!(
                "{t} is not in {}: scan it first with `seibi hosts scan --terminal {t}`",
                from.display()
            );
        }
    }
    let existing = if target.is_file() {
        std::fs::read_to_string(target)?
    } else {
        String::new()
    };
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut added = 0;
    for (id, line) in chosen {
        let mut parts = line.split_whitespace();
        let (Some(host), Some(alg), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("malformed line for {id} in {}", from.display());
        };
        let key = HostKey::from_openssh(&format!("{alg} {blob}"))
            .with_context(|| format!("bad key for {id} in {}", from.display()))?;
        // Hashed (`|1|salt|hash`) and plain lines alike: what each pins for this host.
        let pinned = |l: &String| known_hosts::pinned_key(l, host);
        if lines.iter().any(|l| pinned(l).as_ref() == Some(&key)) {
            Printer::get().out(format_args!("{id}: already pinned ({})", key.fingerprint()));
            continue;
        }
        let others: Vec<String> = lines
            .iter()
            .filter_map(pinned)
            .map(|k| format!("{} {}", k.algorithm(), k.fingerprint()))
            .collect();
        if !others.is_empty() {
            if !replace {
                bail!(
                    "{id} ({host}) already has a different pinned key in {}: {}; the scan found {} {}. If the terminal was reinstalled and you verified the new fingerprint at its console, run `seibi hosts trust {id} --replace`",
                    target.display(),
                    others.join(", "),
                    key.algorithm(),
                    key.fingerprint()
                );
            }
            lines.retain(|l| pinned(l).is_none());
            Printer::get().status(format_args!("{id}: replaced {}", others.join(", ")));
        }
        lines.push(line.clone());
        added += 1;
        Printer::get().out(format_args!("{id}: pinned {}", key.fingerprint()));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(target, text).with_context(|| format!("cannot write {}", target.display()))?;
    Printer::get().status(format_args!("{added} keys added to {}", target.display()));
    Ok(ExitCode::SUCCESS)
}
