//! `LabError`: everything that can stop a lab fleet from starting or stopping, each variant
//! worded for the person who runs `seibi lab up` and carrying a hint where one helps.

use std::io;
use std::path::PathBuf;

/// Why a lab fleet could not be started, changed or stopped.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The fleet needs root: it mounts overlayfs and tmpfs in new mount namespaces.
    #[error(
        "seibi lab needs root (it mounts overlayfs in private mount namespaces); effective uid is {euid}\nhint: run it as root, e.g. with sudo"
    )]
    NotRoot {
        /// The effective uid found.
        euid: u32,
    },

    /// A program the fleet runs was not found.
    #[error("`{tool}` was not found\nhint: {hint}")]
    MissingTool {
        /// The program looked for.
        tool: String,
        /// How to install it.
        hint: String,
    },

    /// The kernel refused an overlayfs mount in a new mount namespace.
    #[error(
        "overlayfs is not permitted here: {detail}\nhint: seibi lab needs root with CAP_SYS_ADMIN, a kernel with overlayfs, and a state directory on a file system that can hold an overlay upper dir (not overlayfs itself)"
    )]
    OverlayNotPermitted {
        /// What `mount` said.
        detail: String,
    },

    /// A fleet is already recorded in the state directory and at least one of its hosts runs.
    #[error(
        "a lab fleet is already running from {}\nhint: run `seibi lab down` to stop it first",
        state_dir.display()
    )]
    AlreadyRunning {
        /// The state directory holding the running fleet.
        state_dir: PathBuf,
    },

    /// No fleet is recorded in the state directory.
    #[error("no lab fleet is recorded in {}\nhint: `seibi lab up` starts one", state_dir.display())]
    NotRecorded {
        /// The state directory looked in.
        state_dir: PathBuf,
    },

    /// The fleet's specification cannot work.
    #[error("invalid lab fleet: {0}")]
    InvalidSpec(String),

    /// A host index outside the fleet.
    #[error("the fleet has {hosts} hosts; there is no host #{index}")]
    NoSuchHost {
        /// The index asked for.
        index: usize,
        /// How many hosts the fleet has.
        hosts: usize,
    },

    /// A file operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A helper program ran but failed.
    #[error("`{command}` failed ({status}){}", stderr_suffix(stderr))]
    CommandFailed {
        /// The command line, for the reader.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },

    /// One host's sshd did not come up.
    #[error(
        "lab host {host} ({address}) did not start: {reason}\n--- last lines of {} ---\n{log}",
        log_path.display()
    )]
    HostDidNotStart {
        /// The host's name.
        host: String,
        /// Its `address:port`.
        address: String,
        /// What went wrong (exited, timed out).
        reason: String,
        /// The host's log (the start script's and sshd's stderr).
        log_path: PathBuf,
        /// The last lines of that log.
        log: String,
    },

    /// Processes of a lab host survived SIGTERM and SIGKILL.
    #[error("lab host processes still run after SIGKILL: {pids:?}")]
    StillRunning {
        /// Their process ids.
        pids: Vec<u32>,
    },

    /// The WAN relay in front of the hosts could not start or run.
    #[error("lab relay: {0}")]
    Relay(String),

    /// The state file exists but cannot be understood.
    #[error("cannot read lab state {}: {detail}\nhint: stop leftover hosts with `pgrep -af {}` and remove the file", path.display(), path.display())]
    BadState {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

impl LabError {
    /// Wraps an I/O error with what was being done and to which path.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> LabError {
        let path = path.into();
        move |source| LabError::Io {
            action,
            path,
            source,
        }
    }
}
