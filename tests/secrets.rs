//! The secrets store and password store against the real `age` CLI, `ssh-keygen` and
//! `openssl`: files round-trip both ways with X25519 and ssh-ed25519 keys, errors say what to
//! do, rekey follows the recipients list, the two-phase password store survives SIGKILL, and
//! no secret value ends up anywhere but in `.age` files.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser as _;
use seibi::cli::secrets::SecretsArgs;
use seibi::playbook::{CharClass, PasswordPolicy, PasswordStyle};
use seibi::secrets::{
    Account, Identity, PasswordStore, Provenance, PublicKey, Secret, SecretsError, SecretsStore,
    class_chars, generate_password, lint, sha512_crypt, word_list,
};

/// Runs a program and returns its stdout; fails the test with its stderr otherwise.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("program runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a program feeding `input` on stdin.
fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("program starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("program ends");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An age X25519 identity made by `age-keygen`: (identity file, public key).
fn age_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.agekey"));
    run(Command::new("age-keygen").arg("-o").arg(&path));
    let public = run(Command::new("age-keygen").arg("-y").arg(&path));
    (
        path,
        String::from_utf8(public).expect("utf8").trim().to_string(),
    )
}

/// An ed25519 SSH key made by `ssh-keygen`: (private key file, public key line).
fn ssh_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}_ed25519"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path));
    let public = fs::read_to_string(path.with_extension("pub")).expect("public key");
    (path, public.trim().to_string())
}

fn public(text: &str) -> PublicKey {
    PublicKey::parse(text).expect("public key")
}

fn identity(path: &Path) -> Identity {
    Identity::from_file(path).expect("identity")
}

/// A project whose secrets are encrypted to one key.
/// `seibi secrets` as the binary parses it.
#[derive(clap::Parser)]
struct SecretsCli {
    #[command(flatten)]
    args: SecretsArgs,
}

/// Parses `seibi secrets ARGS`.
fn cli(args: &[&str]) -> SecretsArgs {
    SecretsCli::try_parse_from(std::iter::once("seibi").chain(args.iter().copied()))
        .expect("parse")
        .args
}

fn project_for(dir: &Path, name: &str, key: &str) -> PathBuf {
    let secrets = dir.join("project").join("secrets");
    SecretsStore::init(&secrets, name, public(key)).expect("init");
    secrets
}

fn account() -> Account {
    Account::new("chuo-t01", "admin").expect("account")
}

fn provenance(run: &str) -> Provenance {
    Provenance {
        run: run.to_string(),
        operator: "山田".to_string(),
    }
}

fn age_decrypt(identity: &Path, file: &Path) -> String {
    String::from_utf8(run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)))
    .expect("utf8")
}

#[test]
fn seibi_writes_and_age_cli_reads_with_x25519_and_ssh_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let (ssh_id, ssh_pub) = ssh_key(dir.path(), "suzuki");
    let secrets = project_for(dir.path(), "山田 (operator)", &age_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    store
        .recipients_mut()
        .add("鈴木 (backup)", public(&ssh_pub))
        .expect("add");
    store.recipients().save().expect("save");
    store
        .set_in("prod", "ntp_auth_key", Secret::from("ntp-k3y: with colon"))
        .expect("set");
    store
        .set("syslog_token", Secret::from("tok-9f8e"))
        .expect("set");

    for id in [&age_id, &ssh_id] {
        let text = age_decrypt(id, &secrets.join("prod.age"));
        assert!(
            text.contains("ntp_auth_key: 'ntp-k3y: with colon'"),
            "{text}"
        );
        assert!(text.contains("syslog_token: tok-9f8e"), "{text}");
    }

    let passwords = PasswordStore::open(&secrets).expect("passwords");
    let begun = passwords
        .begin(&account(), Secret::from("Pw-1!x"), &provenance("r1"))
        .expect("begin");
    let version_file = secrets
        .join("passwords/chuo-t01/admin")
        .join(format!("v{}.age", begun.version));
    assert_eq!(age_decrypt(&ssh_id, &version_file), "Pw-1!x");
    assert_eq!(age_decrypt(&age_id, &version_file), "Pw-1!x");

    // The SSH identity reads through seibi too.
    let by_ssh = SecretsStore::open(&secrets, Some(identity(&ssh_id))).expect("open");
    assert_eq!(
        by_ssh.get("ntp_auth_key").expect("get").expose(),
        "ntp-k3y: with colon"
    );
}

#[test]
fn age_cli_writes_and_seibi_reads_with_x25519_and_ssh_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let (ssh_id, ssh_pub) = ssh_key(dir.path(), "suzuki");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    {
        let mut store = SecretsStore::open(&secrets, None).expect("open");
        store
            .recipients_mut()
            .add("suzuki", public(&ssh_pub))
            .expect("add");
        store.recipients().save().expect("save");
    }
    let ssh_pub_file = dir.path().join("suzuki.pub");
    fs::write(&ssh_pub_file, format!("{ssh_pub}\n")).expect("pub file");
    let yaml = b"ntp_auth_key: from-age-cli\nsyslog_token: \"0042\"\n";
    // Binary with -r and -R; armored with -a.
    run_with_stdin(
        Command::new("age")
            .args(["-r", &age_pub, "-R"])
            .arg(&ssh_pub_file)
            .arg("-o")
            .arg(secrets.join("cli.age")),
        yaml,
    );
    run_with_stdin(
        Command::new("age")
            .args(["-a", "-r", &age_pub, "-R"])
            .arg(&ssh_pub_file)
            .arg("-o")
            .arg(secrets.join("armored.age")),
        b"armored_secret: yes-armored\n",
    );
    for id in [&age_id, &ssh_id] {
        let store = SecretsStore::open(&secrets, Some(identity(id))).expect("open");
        let map = store.read_file("cli").expect("read age CLI file");
        assert_eq!(map["ntp_auth_key"].expose(), "from-age-cli");
        assert_eq!(map["syslog_token"].expose(), "0042");
        let armored = store.read_file("armored.age").expect("armored");
        assert_eq!(armored["armored_secret"].expose(), "yes-armored");
    }
    // Files written by the CLI are not indexed until rekey indexes them.
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    assert!(store.get("ntp_auth_key").is_err());
    store.rekey().expect("rekey");
    assert_eq!(
        store.get("ntp_auth_key").expect("get").expose(),
        "from-age-cli"
    );
    assert_eq!(store.version("armored_secret"), Some(1));
}

#[test]
fn wrong_identity_names_the_file_and_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, age_pub) = age_key(dir.path(), "yamada");
    let (stranger, _) = ssh_key(dir.path(), "stranger");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let mut writer = SecretsStore::open(&secrets, None).expect("open");
    writer
        .set_in("prod", "k", Secret::from("v"))
        .expect("writing needs no identity for a new file");
    let reader = SecretsStore::open(&secrets, Some(identity(&stranger))).expect("open");
    let err = reader.get("k").expect_err("not for this identity");
    assert!(
        matches!(err, SecretsError::NotForIdentity { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&secrets.join("prod.age").display().to_string()),
        "{message}"
    );
    assert!(
        message.contains(&stranger.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("seibi secrets recipients add"),
        "{message}"
    );
    assert!(message.contains("seibi secrets rekey"), "{message}");
}

#[test]
fn missing_recipients_file_says_to_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = dir.path().join("secrets");
    fs::create_dir_all(&secrets).expect("dir");
    let err = SecretsStore::open(&secrets, None).expect_err("no recipients");
    let message = err.to_string();
    assert!(
        message.contains("recipients.txt does not exist"),
        "{message}"
    );
    assert!(message.contains("seibi secrets init"), "{message}");

    fs::write(secrets.join("recipients.txt"), "# nobody yet\n").expect("write");
    let message = SecretsStore::open(&secrets, None)
        .expect_err("empty list")
        .to_string();
    assert!(message.contains("lists no recipients"), "{message}");

    fs::write(secrets.join("recipients.txt"), "yamada: age1nope\n").expect("write");
    let message = SecretsStore::open(&secrets, None)
        .expect_err("bad key")
        .to_string();
    assert!(message.contains("recipients.txt:1:9"), "{message}");
    assert!(message.contains("recipient `yamada`"), "{message}");
}

#[test]
fn corrupted_file_is_reported_as_corrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    store
        .set_in("prod", "k", Secret::from("value"))
        .expect("set");
    let path = secrets.join("prod.age");
    let good = fs::read(&path).expect("read");

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    fs::write(&path, &flipped).expect("write");
    let message = store.get("k").expect_err("payload damaged").to_string();
    assert!(message.contains("prod.age is corrupted"), "{message}");
    assert!(message.contains("git checkout"), "{message}");

    fs::write(&path, &good[..good.len() / 2]).expect("truncate");
    let err = store.get("k").expect_err("truncated");
    assert!(matches!(err, SecretsError::Corrupt { .. }), "{err:?}");

    fs::write(&path, b"ntp_auth_key: plaintext!\n").expect("plaintext");
    let message = store.get("k").expect_err("not age").to_string();
    assert!(
        message.contains("does not start like an age file"),
        "{message}"
    );
    assert!(!message.contains("plaintext!"), "{message}");

    // A file that decrypts to something that is not a map: the error shows no content.
    let bad = run_with_stdin(
        Command::new("age").args(["-r", &age_pub]),
        b"- just a list with hunter2\n",
    );
    fs::write(&path, bad).expect("write");
    let message = store.read_file("prod").expect_err("not a map").to_string();
    assert!(message.contains("not a YAML mapping"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn rekey_follows_recipient_add_and_remove() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (yamada_id, yamada_pub) = age_key(dir.path(), "yamada");
    let (sato_id, sato_pub) = ssh_key(dir.path(), "sato");
    let project = dir.path().join("project");
    let secrets = project_for(dir.path(), "yamada", &yamada_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&yamada_id))).expect("open");
    store
        .set_in("prod", "ntp_auth_key", Secret::from("n1"))
        .expect("set");
    let passwords = PasswordStore::open(&secrets).expect("passwords");
    passwords
        .begin(&account(), Secret::from("admin-pw"), &provenance("r1"))
        .expect("begin");
    passwords.commit(&account(), 3).expect("commit");

    // Added but not yet rekeyed: sato cannot read, and lint says so.
    store
        .recipients_mut()
        .add("佐藤", public(&sato_pub))
        .expect("add");
    store.recipients().save().expect("save");
    let by_sato = SecretsStore::open(&secrets, Some(identity(&sato_id))).expect("open");
    assert!(matches!(
        by_sato.get("ntp_auth_key"),
        Err(SecretsError::NotForIdentity { .. })
    ));
    let findings = lint(&project, &secrets, None).expect("lint");
    assert_eq!(findings.error_count(), 2, "{findings}");
    assert!(
        findings
            .to_string()
            .contains("not encrypted to the current recipients")
    );

    let rewritten = store.rekey().expect("rekey");
    assert_eq!(rewritten.len(), 2);
    let by_sato = SecretsStore::open(&secrets, Some(identity(&sato_id))).expect("open");
    assert_eq!(by_sato.get("ntp_auth_key").expect("get").expose(), "n1");
    let shown = passwords
        .reveal(&account(), &identity(&sato_id), "sato", "rekey test")
        .expect("reveal");
    assert_eq!(shown.expose(), "admin-pw");
    assert_eq!(
        lint(&project, &secrets, None).expect("lint").error_count(),
        0
    );

    // Removed and rekeyed (by sato): yamada can no longer read the files.
    let mut by_sato = by_sato;
    by_sato.recipients_mut().remove("yamada").expect("remove");
    by_sato.recipients().save().expect("save");
    assert_eq!(
        lint(&project, &secrets, None).expect("lint").error_count(),
        2
    );
    by_sato.rekey().expect("rekey");
    let by_yamada = SecretsStore::open(&secrets, Some(identity(&yamada_id))).expect("open");
    assert!(matches!(
        by_yamada.get("ntp_auth_key"),
        Err(SecretsError::NotForIdentity { .. })
    ));
    assert!(
        passwords
            .reveal(&account(), &identity(&yamada_id), "y", "x")
            .is_err()
    );
    let passwords = PasswordStore::open(&secrets).expect("reopen");
    assert!(matches!(
        passwords.reveal(&account(), &identity(&yamada_id), "yamada", "after removal"),
        Err(SecretsError::NotForIdentity { .. })
    ));
    assert_eq!(
        lint(&project, &secrets, Some(&identity(&sato_id)))
            .expect("lint")
            .error_count(),
        0
    );
}

#[test]
fn lint_finds_plaintext_secrets_in_the_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let project = dir.path().join("project");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    store.set_in("prod", "k", Secret::from("v")).expect("set");
    assert_eq!(
        lint(&project, &secrets, None).expect("lint").iter().count(),
        0
    );

    fs::write(secrets.join("prod.yml"), "k: v\n").expect("plaintext yaml");
    fs::create_dir_all(project.join("notes")).expect("dir");
    fs::copy(&age_id, project.join("notes").join("key.txt")).expect("age key");
    let (ssh_id, _) = ssh_key(dir.path(), "leaked");
    fs::copy(&ssh_id, project.join("id_ed25519")).expect("ssh key");
    fs::copy(&age_id, secrets.join("demo-identity.txt")).expect("demo key");
    fs::write(secrets.join("fake.age"), "not encrypted at all\n").expect("fake");

    let findings = lint(&project, &secrets, None).expect("lint");
    let text = findings.to_string();
    assert_eq!(findings.error_count(), 4, "{text}");
    assert!(text.contains("prod.yml is plaintext YAML"), "{text}");
    assert!(
        text.contains("key.txt contains an age private key"),
        "{text}"
    );
    assert!(
        text.contains("id_ed25519 contains an OpenSSH private key"),
        "{text}"
    );
    assert!(text.contains("fake.age is not an age file"), "{text}");
    assert!(
        text.contains("warning: ") && text.contains("demo-identity.txt"),
        "{text}"
    );

    // Through the CLI entry point: lint fails the command.
    let code = seibi::cli::secrets::run(cli(&["lint"]), &project).expect("runs");
    assert_eq!(code, ExitCode::FAILURE);
}

#[test]
fn cli_init_recipients_and_rekey() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("project");
    let id_path = dir.path().join("me.agekey");
    let id_arg = id_path.display().to_string();
    seibi::cli::secrets::run(
        cli(&["init", "--name", "山田", "--new-identity", &id_arg]),
        &project,
    )
    .expect("init");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        fs::metadata(&id_path)
            .expect("identity")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let me = identity(&id_path);
    let recipients = fs::read_to_string(project.join("secrets/recipients.txt")).expect("list");
    assert!(
        recipients.contains(&format!("山田: {}", me.public_keys()[0])),
        "{recipients}"
    );

    let (other_id, other_pub) = ssh_key(dir.path(), "other");
    let pub_file = other_id.with_extension("pub").display().to_string();
    seibi::cli::secrets::run(
        cli(&["recipients", "add", "other (backup)", &pub_file]),
        &project,
    )
    .expect("add from file");
    let recipients = fs::read_to_string(project.join("secrets/recipients.txt")).expect("list");
    let normalized = other_pub
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        recipients.contains(&format!("other (backup): {normalized}")),
        "{recipients}"
    );
    assert!(seibi::cli::secrets::run(cli(&["recipients", "remove", "nobody"]), &project).is_err());
    assert!(
        SecretsCli::try_parse_from(["seibi", "reveal", "chuo-t01"]).is_err(),
        "reveal without --reason is refused"
    );

    let mut store = SecretsStore::open(&project.join("secrets"), Some(me)).expect("open");
    store.set("k", Secret::from("v")).expect("set");
    let code = seibi::cli::secrets::run(cli(&["-i", &id_arg, "rekey"]), &project).expect("rekey");
    assert_eq!(code, ExitCode::SUCCESS);
    let by_other =
        SecretsStore::open(&project.join("secrets"), Some(identity(&other_id))).expect("open");
    assert_eq!(by_other.get("k").expect("get").expose(), "v");
}

#[test]
fn edit_reencrypts_only_changes_and_bumps_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    store
        .set_in("prod", "keep_me", Secret::from("same"))
        .expect("set");
    store
        .set_in("prod", "change_me", Secret::from("old"))
        .expect("set");
    store
        .set_in("prod", "drop_me", Secret::from("gone"))
        .expect("set");
    let before = fs::read(secrets.join("prod.age")).expect("read");

    // `true` leaves the text as it was: nothing is written.
    assert_eq!(
        store.edit("prod", "true").expect("edit"),
        seibi::secrets::EditOutcome::Unchanged
    );
    assert_eq!(fs::read(secrets.join("prod.age")).expect("read"), before);

    let editor =
        "sed -i -e 's/^change_me: old$/change_me: new/' -e '/^drop_me/d' -e '1i added: fresh'";
    let outcome = store.edit("prod", editor).expect("edit");
    assert_eq!(
        outcome,
        seibi::secrets::EditOutcome::Changed {
            bumped: vec!["added".to_string(), "change_me".to_string()],
            removed: vec!["drop_me".to_string()],
        }
    );
    let reopened = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    assert_eq!(reopened.get("change_me").expect("get").expose(), "new");
    assert_eq!(reopened.version("change_me"), Some(2));
    assert_eq!(reopened.version("keep_me"), Some(1));
    assert_eq!(reopened.version("added"), Some(1));
    assert_eq!(reopened.version("drop_me"), None);

    // Broken YAML from the editor leaves the file alone and quotes nothing.
    let after = fs::read(secrets.join("prod.age")).expect("read");
    let err = store
        .edit("prod", "sed -i '1i [unclosed: hunter2'")
        .expect_err("bad yaml");
    let message = err.to_string();
    assert!(message.contains("left unchanged"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert_eq!(fs::read(secrets.join("prod.age")).expect("read"), after);
}

/// Env var that turns [`crash_child_begins_then_waits`] into the child of the crash test.
const CRASH_DIR_VAR: &str = "SEIBI_TEST_CRASH_SECRETS_DIR";

#[test]
#[ignore = "run as a child process by begin_is_durable_across_sigkill"]
fn crash_child_begins_then_waits() {
    let Some(dir) = std::env::var_os(CRASH_DIR_VAR) else {
        return;
    };
    let store = PasswordStore::open(Path::new(&dir)).expect("open");
    let begun = store
        .begin(
            &account(),
            Secret::from("survives-kill-9"),
            &provenance("run-crash"),
        )
        .expect("begin");
    println!("BEGUN {}", begun.version);
    std::io::stdout().flush().expect("flush");
    std::thread::sleep(Duration::from_secs(120));
}

#[test]
fn begin_is_durable_across_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let store = PasswordStore::open(&secrets).expect("open");
    store
        .begin(
            &account(),
            Secret::from("before-crash"),
            &provenance("run-0"),
        )
        .expect("begin");
    store.commit(&account(), 5).expect("commit");

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "crash_child_begins_then_waits",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_VAR, &secrets)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let started = Instant::now();
    let mut version = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        // libtest prints `test NAME ... ` without a newline before the test's own output.
        if let Some((_, v)) = line.split_once("BEGUN ") {
            version = Some(v.trim().parse::<u64>().expect("version"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child never began"
        );
    }
    // SIGKILL right after begin returned: no destructor, no buffered write gets a chance.
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(9));
    let version = version.expect("child reported begin");

    let after = PasswordStore::open(&secrets).expect("reopen");
    let pending = after.pending().expect("pending");
    assert_eq!(pending.len(), 1);
    let (acct, entry) = &pending[0];
    assert_eq!(acct, &account());
    assert_eq!((entry.version, entry.run.as_str()), (version, "run-crash"));
    let value = after
        .value(acct, entry.version, &identity(&age_id))
        .expect("value");
    assert_eq!(value.expose(), "survives-kill-9");
    // The current password is untouched until reconciliation decides.
    let state = after.state(&account()).expect("state");
    let current = state.current.expect("current");
    assert_eq!(
        after
            .value(&account(), current.version, &identity(&age_id))
            .expect("v")
            .expose(),
        "before-crash"
    );
    after.commit(&account(), 5).expect("commit after crash");
    assert_eq!(
        after
            .reveal(&account(), &identity(&age_id), "yamada", "post-crash check")
            .expect("reveal")
            .expose(),
        "survives-kill-9"
    );
}

#[test]
fn commit_keeps_the_newest_n_versions_of_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let store = PasswordStore::open(&secrets).expect("open");
    for i in 1..=6 {
        store
            .begin(
                &account(),
                Secret::new(format!("pw-{i}")),
                &provenance(&format!("run-{i}")),
            )
            .expect("begin");
        store.commit(&account(), 3).expect("commit");
    }
    let state = store.state(&account()).expect("state");
    assert_eq!(state.current.as_ref().map(|c| c.version), Some(6));
    let history: Vec<u64> = state.history.iter().map(|h| h.version).collect();
    assert_eq!(history, vec![5, 4, 3]);
    assert_eq!(state.history[0].run, "run-5");
    let dir_of = secrets.join("passwords/chuo-t01/admin");
    let mut files: Vec<String> = fs::read_dir(&dir_of)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec!["state.yml", "v3.age", "v4.age", "v5.age", "v6.age"]
    );
    let id = identity(&age_id);
    for v in [3, 4, 5] {
        assert_eq!(
            store
                .value(&account(), v, &id)
                .expect("history value")
                .expose(),
            &format!("pw-{v}")
        );
    }
}

#[test]
fn generated_passwords_respect_the_policy() {
    let policy = PasswordPolicy {
        length: 16,
        classes: vec![
            CharClass::Lower,
            CharClass::Upper,
            CharClass::Digit,
            CharClass::Symbol,
        ],
        avoid: "0O1lI|:;".to_string(),
        ..PasswordPolicy::default()
    };
    let mut seen = BTreeSet::new();
    for _ in 0..2000 {
        let pw = generate_password(&policy).expect("generate");
        let pw = pw.expose();
        assert_eq!(pw.chars().count(), 16, "{pw}");
        for class in &policy.classes {
            assert!(
                pw.chars().any(|c| class_chars(*class).contains(c)),
                "{class:?} missing in {pw}"
            );
        }
        assert!(
            !pw.chars().any(|c| policy.avoid.contains(c)),
            "avoided char in {pw}"
        );
        seen.insert(pw.to_string());
    }
    assert_eq!(seen.len(), 2000, "passwords repeat");

    let digits_only = PasswordPolicy {
        length: 12,
        classes: vec![CharClass::Digit],
        avoid: "9".to_string(),
        ..PasswordPolicy::default()
    };
    let mut digits = BTreeSet::new();
    for _ in 0..500 {
        let pw = generate_password(&digits_only).expect("generate");
        assert!(pw.expose().chars().all(|c| c.is_ascii_digit() && c != '9'));
        digits.extend(pw.expose().chars());
    }
    assert_eq!(digits.len(), 9, "every allowed digit shows up");

    let words: BTreeSet<&str> = word_list().collect();
    let passphrase = PasswordPolicy {
        style: PasswordStyle::Passphrase,
        words: 6,
        ..PasswordPolicy::default()
    };
    for _ in 0..500 {
        let pw = generate_password(&passphrase).expect("generate");
        let parts: Vec<&str> = pw.expose().split('-').collect();
        assert_eq!(parts.len(), 6, "{pw:?}");
        assert!(parts.iter().all(|w| words.contains(w)));
    }
}

#[test]
fn sha512_crypt_matches_openssl() {
    let policy = PasswordPolicy::default();
    let mut samples: Vec<Secret<String>> = (0..20)
        .map(|_| generate_password(&policy).expect("generate"))
        .collect();
    samples.push(Secret::from("パスワード-日本語"));
    samples.push(Secret::from("a"));
    for pw in &samples {
        let hash = sha512_crypt(pw).expect("hash");
        let salt = hash.expose()[3..]
            .split('$')
            .next()
            .expect("salt")
            .to_string();
        assert_eq!(salt.len(), 16);
        let openssl = run_with_stdin(
            Command::new("openssl").args(["passwd", "-6", "-salt", &salt, "-stdin"]),
            format!("{}\n", pw.expose()).as_bytes(),
        );
        assert_eq!(
            String::from_utf8(openssl).expect("utf8").trim(),
            hash.expose()
        );
    }
}

#[test]
fn no_secret_value_outside_age_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (age_id, age_pub) = age_key(dir.path(), "yamada");
    let project = dir.path().join("project");
    let secrets = project_for(dir.path(), "yamada", &age_pub);
    let mut store = SecretsStore::open(&secrets, Some(identity(&age_id))).expect("open");
    let values = [
        "ntp-VALUE-7c1e",
        "syslog-VALUE-99ab",
        "edited-VALUE-42",
        "pw-VALUE-first",
        "pw-VALUE-second",
    ];
    store
        .set_in("prod", "ntp_auth_key", Secret::from(values[0]))
        .expect("set");
    store
        .set_in("prod", "syslog_token", Secret::from(values[1]))
        .expect("set");
    store
        .edit(
            "prod",
            &format!("sed -i 's/^ntp_auth_key: .*/ntp_auth_key: {}/'", values[2]),
        )
        .expect("edit");
    let passwords = PasswordStore::open(&secrets).expect("passwords");
    let first = passwords
        .begin(&account(), Secret::from(values[3]), &provenance("r1"))
        .expect("begin");
    passwords.commit(&account(), 2).expect("commit");
    let second = passwords
        .begin(&account(), Secret::from(values[4]), &provenance("r2"))
        .expect("begin");
    passwords.commit(&account(), 2).expect("commit");
    passwords
        .reveal(&account(), &identity(&age_id), "yamada", "audit")
        .expect("reveal");
    store.rekey().expect("rekey");
    lint(&project, &secrets, Some(&identity(&age_id))).expect("lint");

    let mut checked = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_some_and(|e| e == "age") {
                continue;
            }
            let bytes = fs::read(&path).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            for value in values {
                assert!(
                    !text.contains(value),
                    "{value} leaked into {}",
                    path.display()
                );
            }
            // Nor the shadow hashes, which could be attacked offline.
            for hash in [first.shadow_hash.expose(), second.shadow_hash.expose()] {
                assert!(
                    !text.contains(hash.as_str()),
                    "hash leaked into {}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    // recipients.txt, index.yml, state.yml, reveals.jsonl and the identity files were looked at.
    assert!(checked >= 5, "only {checked} files checked");
    assert!(secrets.join("reveals.jsonl").is_file());
}

#[test]
fn shipped_example_reads_with_the_demo_identity_and_lints_clean() {
    let secrets = Path::new(env!("CARGO_MANIFEST_DIR")).join("secrets");
    let demo = secrets.join("demo-identity.txt");
    let first_line = fs::read_to_string(&demo).expect("demo identity");
    assert!(
        first_line.starts_with("# DEMO ONLY — never use for real terminals"),
        "{first_line}"
    );
    let without_identity = SecretsStore::open(&secrets, None).expect("open");
    let names: Vec<String> = without_identity
        .keys()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, vec!["ntp_auth_key", "syslog_token"]);
    let store = SecretsStore::open(&secrets, Some(identity(&demo))).expect("open");
    assert!(
        store
            .get("ntp_auth_key")
            .expect("get")
            .expose()
            .starts_with("demo-")
    );
    assert!(
        store
            .get("syslog_token")
            .expect("get")
            .expose()
            .starts_with("demo-")
    );
    // Also with the age CLI.
    assert!(age_decrypt(&demo, &secrets.join("example.age")).contains("syslog_token: demo-"));
    let findings = lint(&secrets, &secrets, Some(&identity(&demo))).expect("lint");
    assert_eq!(findings.error_count(), 0, "{findings}");
    let text = findings.to_string();
    assert!(
        text.contains("demo-identity.txt") && text.contains("a demo key"),
        "{text}"
    );
}

#[test]
fn unusable_identities_are_explained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let protected = dir.path().join("protected_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
        .arg(&protected));
    let message = Identity::from_file(&protected)
        .expect_err("passphrase")
        .to_string();
    assert!(message.contains("passphrase"), "{message}");
    assert!(message.contains("age-keygen"), "{message}");

    let ecdsa = dir.path().join("id_ecdsa");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ecdsa", "-N", "", "-f"])
        .arg(&ecdsa));
    let message = Identity::from_file(&ecdsa).expect_err("ecdsa").to_string();
    assert!(message.contains("ecdsa-sha2-nistp256"), "{message}");
    assert!(message.contains("ed25519"), "{message}");

    let junk = dir.path().join("junk.txt");
    fs::write(
        &junk,
        "# comment\nAGE-SECRET-KEY-1 not really a key hunter2\n",
    )
    .expect("write");
    let message = Identity::from_file(&junk).expect_err("junk").to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let message = Identity::from_file(&dir.path().join("absent"))
        .expect_err("absent")
        .to_string();
    assert!(message.contains("does not exist"), "{message}");
}

#[test]
fn reveal_needs_an_operator_on_the_roster_and_a_signed_journal_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (id_path, id_pub) = age_key(dir.path(), "me");
    let secrets = project_for(dir.path(), "me", &id_pub);
    let project = secrets.parent().expect("project").to_path_buf();
    let passwords = PasswordStore::open(&secrets).expect("passwords");
    passwords
        .begin(&account(), Secret::from("Kx7-admin-pw"), &provenance("r1"))
        .expect("begin");
    passwords.commit(&account(), 3).expect("commit");
    let (operator_key, operator_pub) = ssh_key(dir.path(), "yamada");
    let (stranger_key, _) = ssh_key(dir.path(), "stranger");
    fs::write(
        project.join("roster.yml"),
        format!(
            "people:\n  - id: yamada\n    name: 山田 一郎\n    organisation: 保守委託先\n    role: operator\n    key: {operator_pub}\n    valid_from: 2020-01-01\n    valid_until: 2099-12-31\n"
        ),
    )
    .expect("roster");
    let id_arg = id_path.display().to_string();
    let reveal = |key: &Path| {
        let key = key.display().to_string();
        seibi::cli::secrets::run(
            cli(&[
                "-i",
                &id_arg,
                "reveal",
                "chuo-t01",
                "--reason",
                "窓口端末の復旧",
                "--sign-key",
                &key,
            ]),
            &project,
        )
    };

    // A key off the roster sees nothing, and nothing is logged as revealed.
    let refused = reveal(&stranger_key).expect_err("a stranger is refused");
    assert!(
        format!("{refused:#}").contains("only operators on the roster"),
        "{refused:#}"
    );
    assert!(!project.join("logs").exists(), "no journal for a refusal");
    assert!(!secrets.join("reveals.jsonl").exists());

    // The operator's reveal is journaled and signed by them; the value is never written.
    assert_eq!(reveal(&operator_key).expect("revealed"), ExitCode::SUCCESS);
    let journals: Vec<PathBuf> = fs::read_dir(project.join("logs"))
        .expect("logs")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let roster = seibi::roster::Roster::load(&project.join("roster.yml")).expect("roster");
    let report = seibi::journal::verify(&journals[0], &roster);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(report.finished);
    assert_eq!(report.signers, ["yamada"]);
    let run = seibi::journal::read_run(&journals[0]).expect("read");
    assert_eq!(
        run.start.as_ref().map(|(_, s)| s.plan_digest.as_str()),
        Some(seibi::journal::NO_PLAN)
    );
    let text = fs::read_to_string(&journals[0]).expect("journal");
    assert!(
        text.contains(r#""kind":"reveal","terminal":"chuo-t01","secret":"passwords/chuo-t01/admin","reason":"窓口端末の復旧""#),
        "{text}"
    );
    assert!(!text.contains("Kx7-admin-pw"));
    let log = fs::read_to_string(secrets.join("reveals.jsonl")).expect("store log");
    assert!(log.contains("山田 一郎"), "{log}");
}
