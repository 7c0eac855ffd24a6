//! Host-key trust without traps, against a real OpenSSH server: `seibi hosts scan --terminal X`
//! then `seibi hosts trust X` refuses to pin a new key over an old one whether the old line is
//! plain or hashed by `ssh-keygen -H`, and with `--replace` removes the old line in either form
//! (checked with `ssh-keygen -F`, the peer); a terminal that offers only a key type other than
//! the pinned one is refused as a host-key problem naming both fingerprints and the commands
//! that fix it. The messages are snapshots (ports and fingerprints masked).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::run_seibi;
use common::sshd::{ClientKeys, Sshd, keygen, public_key, user};
use seibi::transport::{
    ConnectSpec, Credentials, HostKey, HostKeyError, KnownHosts, SshTransport, TransportError,
    known_hosts,
};

/// A project whose one terminal `t1` is the test's sshd.
fn project(sshd: &Sshd) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("inventory")).expect("inventory dir");
    fs::create_dir_all(dir.path().join("playbooks")).expect("playbooks dir");
    fs::write(
        dir.path().join("inventory/lab.yml"),
        format!(
            "sites:\n  lab: {{ name: 検証, capacity: 1 }}\nterminals:\n  t1: {{ site: lab, address: 127.0.0.1, port: {}, user: {} }}\n",
            sshd.port,
            user()
        ),
    )
    .expect("inventory");
    dir
}

/// The message with what changes from run to run masked.
fn masked(text: &str, sshd: &Sshd, keys: &[&HostKey]) -> String {
    let mut text = text.replace(&sshd.port.to_string(), "PORT");
    for (i, key) in keys.iter().enumerate() {
        text = text.replace(&key.fingerprint(), &format!("SHA256:<key {i}>"));
    }
    text
}

/// `ssh-keygen -F`: the lines of `known_hosts` that OpenSSH finds for the sshd.
fn openssh_finds(known_hosts: &Path, sshd: &Sshd) -> Vec<String> {
    let out = Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", sshd.port))
        .arg("-f")
        .arg(known_hosts)
        .output()
        .expect("ssh-keygen runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn trust_over_an_old_pin(hashed: bool) {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    let dir = project(&sshd);
    let root = dir.path();
    let scan = run_seibi(root, &["hosts", "scan", "--terminal", "t1"]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let offered = HostKey::from_openssh(&sshd.host_key).expect("host key");
    assert!(
        scan.stdout.contains(&offered.fingerprint()),
        "{}",
        scan.stdout
    );

    // The terminal's old key, pinned before its reinstall; hashed by ssh-keygen -H, or plain.
    let old = keygen(keys.dir.path(), "old_host", "ed25519", "");
    let old_key = HostKey::from_openssh(&public_key(&old)).expect("old key");
    let known = root.join("known_hosts");
    fs::write(
        &known,
        format!(
            "other.example {}\n{}\n",
            old_key.to_openssh(),
            known_hosts::format_line("127.0.0.1", sshd.port, &old_key)
        ),
    )
    .expect("known_hosts");
    if hashed {
        let out = Command::new("ssh-keygen")
            .arg("-H")
            .arg("-f")
            .arg(&known)
            .output()
            .expect("ssh-keygen -H");
        assert!(out.status.success());
        let text = fs::read_to_string(&known).expect("hashed");
        assert!(text.lines().all(|l| l.starts_with("|1|")), "{text}");
    }

    let refused = run_seibi(root, &["hosts", "trust", "t1"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let before = fs::read_to_string(&known).expect("known_hosts");
    assert_eq!(openssh_finds(&known, &sshd).len(), 1);
    insta::assert_snapshot!(
        if hashed {
            "trust_refused_over_hashed_pin"
        } else {
            "trust_refused_over_plain_pin"
        },
        masked(&refused.stderr, &sshd, &[&offered, &old_key])
    );

    let replaced = run_seibi(root, &["hosts", "trust", "t1", "--replace"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    let after = fs::read_to_string(&known).expect("known_hosts");
    assert_ne!(before, after);
    let found = openssh_finds(&known, &sshd);
    assert_eq!(found.len(), 1, "{after}");
    let pinned = found[0]
        .split_once(' ')
        .map(|(_, key)| key)
        .unwrap_or_default();
    assert_eq!(
        HostKey::from_openssh(pinned).expect("the pinned key"),
        offered,
        "{found:?}"
    );
    // The other host's pin is untouched.
    assert_eq!(after.lines().count(), 2, "{after}");
    let again = run_seibi(root, &["hosts", "trust", "t1"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("already pinned"), "{}", again.stdout);
}

#[test]
fn trust_refuses_a_new_key_over_a_hashed_pin_and_replaces_it() {
    trust_over_an_old_pin(true);
}

#[test]
fn trust_refuses_a_new_key_over_a_plain_pin_and_replaces_it() {
    trust_over_an_old_pin(false);
}

#[tokio::test]
async fn a_pinned_key_of_another_type_is_a_host_key_problem() {
    let keys = ClientKeys::generate();
    let sshd = Sshd::start(&keys);
    // known_hosts pins only an ECDSA key; the server offers ed25519 only.
    let ecdsa = keygen(keys.dir.path(), "old_ecdsa", "ecdsa", "");
    let pinned = HostKey::from_openssh(&public_key(&ecdsa)).expect("ecdsa key");
    let text = format!(
        "{}\n",
        known_hosts::format_line("127.0.0.1", sshd.port, &pinned)
    );
    let kh = KnownHosts::parse("/etc/seibi/known_hosts", &text).expect("parse");
    let spec = ConnectSpec::new("t1", "127.0.0.1", user())
        .with_port(sshd.port)
        .with_connect_timeout(Duration::from_secs(5))
        .with_retries(0, Duration::from_millis(100));
    let error = tokio::time::timeout(
        Duration::from_secs(30),
        SshTransport::connect(&spec, &Credentials::key_file(&keys.ed25519), Arc::new(kh)),
    )
    .await
    .expect("no hang")
    .expect_err("refused");
    assert!(
        matches!(
            &error,
            TransportError::HostKey(HostKeyError::KeyTypeMismatch(_))
        ),
        "{error:?}"
    );
    let offered = HostKey::from_openssh(&sshd.host_key).expect("host key");
    let message = error.to_string();
    assert!(message.contains(&offered.fingerprint()), "{message}");
    assert!(message.contains(&pinned.fingerprint()), "{message}");
    assert!(!message.contains("No common"), "{message}");
    insta::assert_snapshot!(masked(&message, &sshd, &[&offered, &pinned]));
}
