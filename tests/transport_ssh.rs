//! The SSH transport against real OpenSSH servers started by the test: commands, stdin, files,
//! key types, ssh-agent, host-key checking, jump hosts, retries and dead servers.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sshd::{Agent, ClientKeys, Sshd, free_port, keygen, public_key, run, user};
use seibi::transport::{
    ConnectSpec, Credentials, HostKey, HostKeyError, KnownHosts, Passphrase, SshTransport,
    Transport, TransportError, known_hosts, scan,
};
use sha2::Digest as _;

/// An upper bound for anything that should not hang.
const PATIENCE: Duration = Duration::from_secs(30);

fn spec(sshd: &Sshd) -> ConnectSpec {
    ConnectSpec::new("test-terminal", "127.0.0.1", user())
        .with_port(sshd.port)
        .with_connect_timeout(Duration::from_secs(5))
        .with_keepalive(Some(Duration::from_secs(1)))
        .with_retries(0, Duration::from_millis(100))
}

fn known_hosts_for(servers: &[&Sshd]) -> Arc<KnownHosts> {
    let text: String = servers
        .iter()
        .map(|s| s.known_hosts_line() + "\n")
        .collect();
    Arc::new(KnownHosts::parse("test_known_hosts", &text).expect("known_hosts parses"))
}

async fn connect(
    spec: &ConnectSpec,
    credentials: &Credentials,
    known_hosts: Arc<KnownHosts>,
) -> Result<SshTransport, TransportError> {
    tokio::time::timeout(
        PATIENCE,
        SshTransport::connect(spec, credentials, known_hosts),
    )
    .await
    .expect("connect must not hang")
}

async fn connected(sshd: &Sshd, keys: &ClientKeys) -> SshTransport {
    connect(
        &spec(sshd),
        &Credentials::key_file(&keys.ed25519),
        known_hosts_for(&[sshd]),
    )
    .await
    .expect("connects with ed25519")
}

#[tokio::test]
async fn exec_separates_stdout_stderr_and_exit_status() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await;

    let output = ssh
        .exec("echo out; echo err >&2; exit 3", None)
        .await
        .expect("exec");
    assert_eq!(output.stdout, b"out\n");
    assert_eq!(output.stderr, b"err\n");
    assert_eq!(output.exit_status, 3);
    assert!(!output.success());

    let output = ssh.exec("true", None).await.expect("exec");
    assert!(output.success());
    assert!(output.stdout.is_empty() && output.stderr.is_empty());

    let output = ssh.exec("kill -TERM $$", None).await.expect("exec");
    assert_eq!(output.exit_signal.as_deref(), Some("TERM"));
    assert_eq!(output.exit_status, 128 + 15);
    ssh.close().await.expect("close");
    assert!(matches!(
        ssh.exec("true", None).await,
        Err(TransportError::Closed { .. })
    ));
}

#[tokio::test]
async fn stdin_is_delivered_exactly() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await;

    // 1 MiB of every byte value, more than the SSH windows on either side.
    let payload: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let echoed = ssh.exec("cat", Some(&payload)).await.expect("cat");
    assert_eq!(echoed.exit_status, 0);
    assert_eq!(echoed.stdout.len(), payload.len());
    assert!(
        echoed.stdout == payload,
        "cat must echo the payload exactly"
    );

    let digest = ssh
        .exec("sha256sum", Some(&payload))
        .await
        .expect("sha256sum");
    let expected = hex::encode(sha2::Sha256::digest(&payload));
    assert_eq!(
        digest.stdout_text().split_whitespace().next(),
        Some(&*expected)
    );

    // Without stdin, stdin is closed at once: `cat` ends instead of waiting.
    let empty = ssh.exec("cat", None).await.expect("cat");
    assert!(empty.success() && empty.stdout.is_empty());

    // A command that ignores its stdin still finishes.
    let ignored = ssh.exec("exit 0", Some(&payload)).await.expect("exit");
    assert!(ignored.success());
}

#[tokio::test]
async fn many_commands_share_one_connection() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await;

    for i in 0..5 {
        let output = ssh.exec(&format!("echo {i}"), None).await.expect("exec");
        assert_eq!(output.stdout_text(), format!("{i}\n"));
    }
    // Several channels at once on the same connection.
    let runs = (0..6).map(|i| {
        let ssh = &ssh;
        async move { ssh.exec(&format!("sleep 0.5; echo {i}"), None).await }
    });
    let started = Instant::now();
    let outputs = futures_join_all(runs).await;
    for (i, output) in outputs.into_iter().enumerate() {
        assert_eq!(output.expect("exec").stdout_text(), format!("{i}\n"));
    }
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "commands on parallel channels should overlap, took {:?}",
        started.elapsed()
    );
    assert_eq!(
        sshd.connections(),
        1,
        "all commands must use one connection"
    );
}

/// Polls the futures together on this task (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut results: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, result) in set.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *result = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[tokio::test]
async fn upload_then_download_round_trips_with_mode() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await;
    let remote_dir = sshd.dir.path().join("remote dir");
    std::fs::create_dir(&remote_dir).expect("remote dir");
    let remote = remote_dir.join("it's a file.conf");
    let remote = remote.to_str().expect("utf-8 path");

    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    ssh.upload(&data, remote, 0o640).await.expect("upload");
    let mode = ssh
        .exec(
            &format!("stat -c %a {}", seibi::transport::shell_quote(remote)),
            None,
        )
        .await
        .expect("stat");
    assert_eq!(mode.stdout_text().trim(), "640");
    assert_eq!(ssh.download(remote).await.expect("download"), data);

    // Replacing the file is atomic and leaves no temporary file behind.
    let local = sshd.dir.path().join("local.txt");
    std::fs::write(&local, "second version\n").expect("local file");
    ssh.upload_file(&local, remote, 0o600)
        .await
        .expect("upload_file");
    assert_eq!(
        ssh.download(remote).await.expect("download"),
        b"second version\n"
    );
    let listing: Vec<_> = std::fs::read_dir(&remote_dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(listing.len(), 1, "{listing:?}");

    match ssh.download("/nonexistent/file").await {
        Err(TransportError::RemoteFile {
            operation, stderr, ..
        }) => {
            assert_eq!(operation, "download");
            assert!(stderr.contains("No such file"), "{stderr}");
        }
        other => panic!("expected RemoteFile error, got {other:?}"),
    }
    match ssh.upload(b"x", "/nonexistent/dir/file", 0o644).await {
        Err(TransportError::RemoteFile { operation, .. }) => assert_eq!(operation, "upload"),
        other => panic!("expected RemoteFile error, got {other:?}"),
    }
}

#[tokio::test]
async fn ed25519_ecdsa_and_passphrase_protected_keys() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let kh = known_hosts_for(&[&sshd]);

    for key in [&keys.ed25519, &keys.ecdsa] {
        let ssh = connect(&spec(&sshd), &Credentials::key_file(key), kh.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        assert!(ssh.exec("true", None).await.expect("exec").success());
    }

    let protected = Credentials::default().with_key_file(
        &keys.protected,
        Some(Passphrase::new(ClientKeys::PASSPHRASE)),
    );
    let ssh = connect(&spec(&sshd), &protected, kh.clone())
        .await
        .expect("passphrase-protected key");
    assert!(ssh.exec("true", None).await.expect("exec").success());

    let connections = sshd.connections();
    let missing = connect(
        &spec(&sshd),
        &Credentials::key_file(&keys.protected),
        kh.clone(),
    )
    .await
    .expect_err("encrypted key without passphrase");
    assert!(
        missing.to_string().contains("no passphrase was given"),
        "{missing}"
    );
    let wrong =
        Credentials::default().with_key_file(&keys.protected, Some(Passphrase::new("wrong")));
    let wrong = connect(&spec(&sshd), &wrong, kh)
        .await
        .expect_err("wrong passphrase");
    assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
    assert_eq!(
        sshd.connections(),
        connections,
        "key problems are found before connecting"
    );
}

#[tokio::test]
async fn rsa_key_files_are_refused_with_a_reason() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let rsa = keygen(keys.dir.path(), "id_rsa", "rsa", "");
    let error = connect(
        &spec(&sshd),
        &Credentials::key_file(&rsa),
        known_hosts_for(&[&sshd]),
    )
    .await
    .expect_err("rsa is not built in");
    assert!(error.to_string().contains("not supported"), "{error}");
}

#[tokio::test]
async fn ssh_agent_keys() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let agent = Agent::start(&[&keys.agent_only]);

    let credentials = Credentials::default().with_agent(&agent.socket);
    let ssh = connect(&spec(&sshd), &credentials, known_hosts_for(&[&sshd]))
        .await
        .expect("agent auth");
    assert_eq!(
        ssh.exec("echo agent", None).await.expect("exec").stdout,
        b"agent\n"
    );
    assert!(
        sshd.log_text().contains("Accepted publickey"),
        "{}",
        sshd.log_text()
    );

    // A key file that is refused falls through to the agent.
    let credentials = Credentials::key_file(&keys.stranger).with_agent(&agent.socket);
    connect(&spec(&sshd), &credentials, known_hosts_for(&[&sshd]))
        .await
        .expect("agent after a refused key file");
}

#[tokio::test]
async fn unknown_host_key_is_refused() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let other = keygen(keys.dir.path(), "other_host", "ed25519", "");
    // known_hosts knows another host, not this one.
    let kh = KnownHosts::parse(
        "kh",
        &format!("[127.0.0.1]:{} {}\n", free_port(), public_key(&other)),
    )
    .expect("parse");
    let spec = spec(&sshd).with_retries(3, Duration::from_millis(500));
    let error = connect(&spec, &Credentials::key_file(&keys.ed25519), Arc::new(kh))
        .await
        .expect_err("unknown host");
    let offered = HostKey::from_openssh(&sshd.host_key).expect("host key");
    match &error {
        TransportError::HostKey(HostKeyError::Unknown { offered: fp, .. }) => {
            assert_eq!(fp, &offered.fingerprint());
        }
        other => panic!("expected unknown host key, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("seibi hosts scan"), "{message}");
    assert_eq!(sshd.connections(), 1, "host-key refusals are not retried");
    assert!(
        !sshd.log_text().contains("Accepted"),
        "no authentication to an unverified host"
    );
}

#[tokio::test]
async fn changed_host_key_is_refused_with_both_fingerprints() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let old = keygen(keys.dir.path(), "old_host", "ed25519", "");
    let old_key = HostKey::from_openssh(&public_key(&old)).expect("old key");
    let text = format!(
        "# reinstalled since\nother {}\n{}\n",
        old_key.to_openssh(),
        known_hosts::format_line("127.0.0.1", sshd.port, &old_key)
    );
    let kh = KnownHosts::parse("/etc/seibi/known_hosts", &text).expect("parse");
    let error = connect(
        &spec(&sshd),
        &Credentials::key_file(&keys.ed25519),
        Arc::new(kh),
    )
    .await
    .expect_err("changed key");
    let message = error.to_string();
    let offered = HostKey::from_openssh(&sshd.host_key).expect("host key");
    assert!(message.contains("CHANGED"), "{message}");
    assert!(message.contains(&offered.fingerprint()), "{message}");
    assert!(message.contains(&old_key.fingerprint()), "{message}");
    assert!(message.contains("/etc/seibi/known_hosts:3"), "{message}");
    assert!(
        message.contains("seibi hosts trust test-terminal"),
        "{message}"
    );
}

#[tokio::test]
async fn revoked_host_key_is_refused() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let text = format!(
        "{}\n@revoked * {}\n",
        sshd.known_hosts_line(),
        sshd.host_key
    );
    let kh = KnownHosts::parse("kh", &text).expect("parse");
    let error = connect(
        &spec(&sshd),
        &Credentials::key_file(&keys.ed25519),
        Arc::new(kh),
    )
    .await
    .expect_err("revoked");
    assert!(
        matches!(error, TransportError::HostKey(HostKeyError::Revoked { .. })),
        "{error}"
    );
}

#[tokio::test]
async fn hashed_known_hosts_entry_is_accepted() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let path = keys.dir.path().join("known_hosts");
    std::fs::write(&path, sshd.known_hosts_line() + "\n").expect("write");
    run(std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&path));
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.starts_with("|1|") && !text.contains("127.0.0.1"),
        "{text}"
    );
    let kh = KnownHosts::load(&path).expect("load hashed");
    let ssh = connect(
        &spec(&sshd),
        &Credentials::key_file(&keys.ed25519),
        Arc::new(kh),
    )
    .await
    .expect("hashed entry matches");
    assert!(ssh.exec("true", None).await.expect("exec").success());
}

#[tokio::test]
async fn scan_returns_the_offered_key_without_logging_in() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let key = tokio::time::timeout(
        PATIENCE,
        scan(
            &spec(&sshd),
            &Credentials::default(),
            Arc::new(KnownHosts::empty()),
        ),
    )
    .await
    .expect("no hang")
    .expect("scan");
    assert_eq!(
        key,
        HostKey::from_openssh(&sshd.host_key).expect("host key")
    );
    let line = known_hosts::format_line("127.0.0.1", sshd.port, &key);
    assert_eq!(line, sshd.known_hosts_line());
    assert!(!sshd.log_text().contains("Accepted"));
}

#[tokio::test]
async fn jump_host_tunnels_with_host_key_checks_on_both_hops() {
    let keys = ClientKeys::generate();
    // At DEBUG1, sshd logs the direct-tcpip requests it serves.
    let jump = Sshd::start_with(&keys, "LogLevel DEBUG1");
    let inner = Sshd::start(&keys);
    let credentials = Credentials::key_file(&keys.ed25519);
    let through_jump = spec(&inner).with_jump(ConnectSpec {
        name: "bastion".to_string(),
        ..spec(&jump)
    });

    let ssh = connect(
        &through_jump,
        &credentials,
        known_hosts_for(&[&jump, &inner]),
    )
    .await
    .expect("connect through the jump host");
    let output = ssh.exec("echo $SSH_CONNECTION", None).await.expect("exec");
    assert_eq!(output.exit_status, 0);
    assert_eq!(
        output.stdout_text().split_whitespace().nth(3),
        Some(&*inner.port.to_string())
    );
    let payload = vec![7u8; 300_000];
    assert_eq!(
        ssh.exec("cat", Some(&payload)).await.expect("cat").stdout,
        payload
    );
    assert!(
        jump.log_text()
            .contains(&format!("target 127.0.0.1 port {}", inner.port)),
        "the jump host opened a tunnel: {}",
        jump.log_text()
    );
    ssh.close().await.expect("close");

    // The inner host's key is checked too: a known_hosts that only knows the jump host refuses.
    let error = connect(&through_jump, &credentials, known_hosts_for(&[&jump]))
        .await
        .expect_err("inner host unknown");
    assert!(
        matches!(&error, TransportError::HostKey(HostKeyError::Unknown { target, .. }) if target.contains(&inner.port.to_string())),
        "{error}"
    );
    // And the jump host's.
    let error = connect(&through_jump, &credentials, known_hosts_for(&[&inner]))
        .await
        .expect_err("jump host unknown");
    assert!(
        matches!(&error, TransportError::HostKey(HostKeyError::Unknown { target, .. }) if target.contains("bastion")),
        "{error}"
    );

    // A jump host that does not forward says so, and is not retried.
    let closed_jump = Sshd::start_with(&keys, "AllowTcpForwarding no");
    let through_closed = spec(&inner)
        .with_retries(2, Duration::from_millis(100))
        .with_jump(spec(&closed_jump));
    let error = connect(
        &through_closed,
        &credentials,
        known_hosts_for(&[&closed_jump, &inner]),
    )
    .await
    .expect_err("forwarding disabled");
    assert!(matches!(error, TransportError::Tunnel { .. }), "{error:?}");
    assert!(error.to_string().contains("AllowTcpForwarding"), "{error}");
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    let keys = ClientKeys::generate();
    let port = free_port(); // nothing listens here
    let spec = ConnectSpec::new("kita-t09", "127.0.0.1", user())
        .with_port(port)
        .with_retries(2, Duration::from_millis(200));
    let started = Instant::now();
    let error = connect(
        &spec,
        &Credentials::key_file(&keys.ed25519),
        Arc::new(KnownHosts::empty()),
    )
    .await
    .expect_err("nothing listens");
    let elapsed = started.elapsed();
    match &error {
        TransportError::Connect {
            attempts, reason, ..
        } => {
            assert_eq!(*attempts, 3);
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    // Backoff 200 ms, then 400 ms.
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("kita-t09 (127.0.0.1:{port}) after 3 attempt(s)")),
        "{message}"
    );

    // Through a jump host, a target that refuses is a connection failure too, and retried.
    let jump = Sshd::start(&keys);
    let through_jump = spec
        .with_retries(1, Duration::from_millis(100))
        .with_jump(ConnectSpec {
            name: "bastion".to_string(),
            ..ConnectSpec::new("", "127.0.0.1", user()).with_port(jump.port)
        });
    let error = connect(
        &through_jump,
        &Credentials::key_file(&keys.ed25519),
        known_hosts_for(&[&jump]),
    )
    .await
    .expect_err("nothing listens behind the jump host");
    match &error {
        TransportError::Connect {
            attempts, reason, ..
        } => {
            assert_eq!(*attempts, 2);
            assert!(reason.contains("could not reach"), "{reason}");
            assert!(reason.contains("bastion"), "{reason}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert_eq!(
        jump.connections(),
        1,
        "the jump session is reused across retries"
    );
}

#[tokio::test]
async fn authentication_failures_are_not_retried() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let spec = spec(&sshd).with_retries(3, Duration::from_secs(5));
    let started = Instant::now();
    let error = connect(
        &spec,
        &Credentials::key_file(&keys.stranger),
        known_hosts_for(&[&sshd]),
    )
    .await
    .expect_err("stranger key");
    assert!(matches!(error, TransportError::Auth { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("id_stranger"), "{message}");
    assert!(message.contains("server accepts: publickey"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no backoff happened"
    );
    assert_eq!(sshd.connections(), 1, "{}", sshd.log_text());
}

#[tokio::test]
async fn killed_server_gives_an_error_not_a_hang() {
    let keys = ClientKeys::generate();
    let mut sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await;
    assert!(ssh.exec("true", None).await.expect("exec").success());

    let running = ssh.exec("sleep 60", None);
    let kill = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        sshd.kill_all();
    };
    let (result, ()) = tokio::time::timeout(PATIENCE, async { tokio::join!(running, kill) })
        .await
        .expect("a killed server must not hang the client");
    match result {
        Err(error @ TransportError::Disconnected { .. }) => {
            assert!(error.to_string().contains("sleep 60"), "{error}");
        }
        other => panic!("expected a disconnection, got {other:?}"),
    }
    // And the next command fails at once.
    let next = tokio::time::timeout(Duration::from_secs(5), ssh.exec("true", None))
        .await
        .expect("no hang");
    assert!(next.is_err());
}

#[tokio::test]
async fn silent_server_is_detected_by_keepalives() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let ssh = connected(&sshd, &keys).await; // keepalive every second
    assert!(ssh.exec("true", None).await.expect("exec").success());

    let started = Instant::now();
    sshd.freeze();
    let result = tokio::time::timeout(PATIENCE, ssh.exec("sleep 60", None))
        .await
        .expect("a frozen server must be detected");
    let error = result.expect_err("frozen server");
    assert!(
        matches!(error, TransportError::Disconnected { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("keepalive"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn missing_credentials_and_agent_are_clear_errors() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let error = connect(
        &spec(&sshd),
        &Credentials::default(),
        known_hosts_for(&[&sshd]),
    )
    .await
    .expect_err("no credentials");
    assert!(
        matches!(error, TransportError::NoCredentials { .. }),
        "{error}"
    );

    let credentials = Credentials::default().with_agent(Path::new("/nonexistent/agent.sock"));
    let error = connect(&spec(&sshd), &credentials, known_hosts_for(&[&sshd]))
        .await
        .expect_err("no agent");
    assert!(matches!(error, TransportError::Agent { .. }), "{error}");
}
