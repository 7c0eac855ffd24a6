//! The command shell ([`CommandShell`]) against a real OpenSSH server: every command of a visit
//! on one long-lived `sh`, with exact stdin and separate stdout, stderr and status, whatever
//! the command prints or does to its shell.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::sshd::{ClientKeys, Sshd, user};
use seibi::transport::{
    CommandShell, ConnectSpec, Credentials, KnownHosts, SshTransport, Transport, TransportError,
};
use sha2::Digest as _;

/// An upper bound for anything that should not hang.
const PATIENCE: Duration = Duration::from_secs(30);

async fn shell(sshd: &Sshd, keys: &ClientKeys) -> CommandShell {
    let spec = ConnectSpec::new("test-terminal", "127.0.0.1", user())
        .with_port(sshd.port)
        .with_connect_timeout(Duration::from_secs(5))
        .with_keepalive(Some(Duration::from_secs(1)))
        .with_retries(0, Duration::from_millis(100));
    let known = Arc::new(
        KnownHosts::parse("test_known_hosts", &(sshd.known_hosts_line() + "\n"))
            .expect("known_hosts parses"),
    );
    let ssh = SshTransport::connect(&spec, &Credentials::key_file(&keys.ed25519), known)
        .await
        .expect("connects");
    tokio::time::timeout(PATIENCE, CommandShell::start(ssh, false))
        .await
        .expect("no hang")
        .map_err(|e| e.reason)
        .expect("the command shell starts")
}

async fn exec(
    shell: &CommandShell,
    command: &str,
    stdin: Option<&[u8]>,
) -> seibi::transport::ExecOutput {
    tokio::time::timeout(PATIENCE, shell.exec(command, stdin))
        .await
        .expect("no hang")
        .expect("exec")
}

#[tokio::test]
async fn one_channel_carries_every_command_with_separate_streams_and_status() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let shell = shell(&sshd, &keys).await;

    let out = exec(&shell, "echo out; echo err >&2; exit 3", None).await;
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"out\n"[..], &b"err\n"[..])
    );
    assert_eq!(out.exit_status, 3);

    // Output without a final newline, and empty output.
    let out = exec(&shell, "printf 'no newline'; printf 'e' >&2", None).await;
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"no newline"[..], &b"e"[..])
    );
    assert!(out.success());
    let out = exec(&shell, "true", None).await;
    assert!(out.success() && out.stdout.is_empty() && out.stderr.is_empty());

    // `exit`, `cd`, `set -e` and variables stay the command's.
    let home = exec(&shell, "pwd", None).await.stdout_text();
    assert_ne!(home, "/\n");
    exec(&shell, "cd /; x=1; set -e; false; exit 0", None).await;
    let out = exec(&shell, "echo \"[$x]\"; pwd; false; echo still", None).await;
    assert_eq!(out.stdout_text(), format!("[]\n{home}still\n"));

    // A syntax error is the command's failure, not the shell's.
    let out = exec(&shell, "if then fi (", None).await;
    assert_eq!(out.exit_status, 2, "{}", out.stderr_text());
    assert!(exec(&shell, "true", None).await.success());

    // Multi-line scripts, quotes and backslashes arrive unchanged.
    let script =
        "a='it'\\''s'\nprintf '%s|%s\\n' \"$a\" 'back\\slash'\ncat <<'EOF'\n$HOME `x` \\\nEOF";
    let out = exec(&shell, script, None).await;
    assert_eq!(out.stdout_text(), "it's|back\\slash\n$HOME `x` \\\n");

    // Output that looks like the framing does not end the reply early.
    let out = exec(
        &shell,
        "echo '0123456789abcdef0123456789abcdef 0'; echo 'x 1' >&2",
        None,
    )
    .await;
    assert_eq!(out.stdout_text(), "0123456789abcdef0123456789abcdef 0\n");
    assert_eq!(out.stderr_text(), "x 1\n");

    let counts = shell.counts();
    assert_eq!((counts.connections, counts.channels), (1, 1), "{counts}");
    assert_eq!(counts.commands, 11, "{counts}");
    shell.close().await.expect("close");
    assert!(shell.exec("true", None).await.is_err());
    assert_eq!(sshd.connections(), 1, "{}", sshd.log_text());
}

#[tokio::test]
async fn stdin_is_exact_for_binary_empty_large_and_unread_input() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let shell = shell(&sshd, &keys).await;

    // All 256 byte values, no trailing newline.
    let every: Vec<u8> = (0..=255u8).rev().collect();
    let out = exec(&shell, "cat", Some(&every)).await;
    assert!(out.stdout == every, "cat must echo all 256 byte values");

    // Empty stdin is EOF at once, as no stdin is.
    assert!(exec(&shell, "cat", Some(b"")).await.stdout.is_empty());
    assert!(exec(&shell, "cat", None).await.stdout.is_empty());

    // 1 MiB, more than the SSH windows and pipe buffers on either side, read until EOF.
    let payload: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let out = exec(&shell, "cat", Some(&payload)).await;
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload, "cat must echo the payload exactly");
    let out = exec(&shell, "sha256sum", Some(&payload)).await;
    assert_eq!(
        out.stdout_text().split_whitespace().next(),
        Some(hex::encode(sha2::Sha256::digest(&payload)).as_str())
    );

    // Commands that read part of their stdin, or none, leave nothing behind for the next.
    let out = exec(&shell, "head -c 3", Some(&payload)).await;
    assert_eq!(out.stdout, payload[..3]);
    let out = exec(&shell, "exit 4", Some(&payload)).await;
    assert_eq!(out.exit_status, 4);
    let out = exec(
        &shell,
        "read -r line; echo \"[$line]\"",
        Some(b"first\nsecond\n"),
    )
    .await;
    assert_eq!(out.stdout_text(), "[first]\n");
    let out = exec(&shell, "echo next", None).await;
    assert_eq!(out.stdout_text(), "next\n");

    // The default upload through the shell: exact bytes, mode, no trailing newline added.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("every-byte.bin");
    let path = path.to_str().expect("utf-8 path");
    shell.upload(&every, path, 0o640).await.expect("upload");
    assert_eq!(std::fs::read(path).expect("uploaded"), every);
    assert_eq!(shell.download(path).await.expect("download"), every);
    let out = exec(&shell, &format!("stat -c %a '{path}'"), None).await;
    assert_eq!(out.stdout_text(), "640\n");
    shell.close().await.expect("close");
}

#[tokio::test]
async fn a_command_that_kills_its_shell_or_a_dropped_connection_is_a_disconnection() {
    let keys = ClientKeys::generate();
    let mut sshd = Sshd::start(&keys);

    // `$$` in a subshell is the command shell itself.
    let first = shell(&sshd, &keys).await;
    assert!(exec(&first, "true", None).await.success());
    let killed = tokio::time::timeout(PATIENCE, first.exec("kill -KILL $$", None))
        .await
        .expect("no hang");
    match killed {
        Err(error @ TransportError::Disconnected { .. }) => {
            assert!(error.to_string().contains("command shell ended"), "{error}");
        }
        other => panic!("expected a disconnection, got {other:?}"),
    }
    // Nothing more is sent to a shell that is gone; the error comes at once.
    let next = tokio::time::timeout(Duration::from_secs(5), first.exec("true", None))
        .await
        .expect("no hang");
    assert!(
        matches!(next, Err(TransportError::Disconnected { .. })),
        "{next:?}"
    );
    first.close().await.expect("close");

    // A connection dropped mid-command.
    let second = shell(&sshd, &keys).await;
    assert!(exec(&second, "true", None).await.success());
    let running = second.exec("sleep 60", None);
    let kill = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sshd.kill_all();
    };
    let (result, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(running, kill) })
        .await
        .expect("a killed server must not hang the client");
    match result {
        Err(error @ TransportError::Disconnected { .. }) => {
            assert!(error.is_connection_failure());
            assert!(error.to_string().contains("sleep 60"), "{error}");
        }
        other => panic!("expected a disconnection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_first_script_runs_in_the_shell_itself_in_the_same_round_trip() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let spec = ConnectSpec::new("test-terminal", "127.0.0.1", user())
        .with_port(sshd.port)
        .with_connect_timeout(Duration::from_secs(5))
        .with_retries(0, Duration::from_millis(100));
    let known = Arc::new(
        KnownHosts::parse("test_known_hosts", &(sshd.known_hosts_line() + "\n"))
            .expect("known_hosts parses"),
    );
    let ssh = SshTransport::connect(&spec, &Credentials::key_file(&keys.ed25519), known)
        .await
        .expect("connects");
    let dir = tempfile::tempdir().expect("tempdir");
    let lock = dir.path().join("units");
    // What the lease does: an fd opened in the shell stays open for every later command.
    let first = format!("exec 9>>'{}'; kept=yes; echo opened", lock.display());
    let (shell, answer) = CommandShell::start_with(ssh, false, Some(&first))
        .await
        .map_err(|e| e.reason)
        .expect("starts");
    let answer = answer.expect("the first script's answer").expect("read");
    assert_eq!(answer.stdout_text(), "opened\n");
    let out = exec(
        &shell,
        "echo \"$kept\"; readlink /proc/self/fd/9 </dev/null",
        None,
    )
    .await;
    assert_eq!(out.stdout_text(), format!("yes\n{}\n", lock.display()));
    let main = shell.run_in_shell("kept=changed").await.expect("main");
    assert!(main.success());
    assert_eq!(
        exec(&shell, "echo \"$kept\"", None).await.stdout_text(),
        "changed\n"
    );
    let counts = shell.counts();
    assert_eq!((counts.channels, counts.commands), (1, 5), "{counts}");
    shell.close().await.expect("close");
}
