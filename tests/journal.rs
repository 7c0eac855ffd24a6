//! The signed journal against real OpenSSH keys and `ssh-keygen`: a good journal verifies; each
//! kind of tampering is detected and named; checkpoints verify with `ssh-keygen -Y verify` and
//! the roster's exported allowed_signers (and the documented jq recipe); signing works through a
//! real ssh-agent; writing fails closed; a crashed run resumes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};

use clap::Parser;
use seibi::journal::{
    self, Agent, CheckpointPolicy, GENESIS, Intent, JournalError, JournalWriter, OutputDigest,
    Problem, Record, Reveal, Rotation, RunEnd, RunStart, Signer, SignerError, Status, Tally,
    TaskResult, VerifyReport, WriterOptions, checkpoint_message, line_hash,
};
use seibi::roster::{JOURNAL_NAMESPACE, KeyError, PublicKey, Roster, Signature};

const RUN: &str = "2026-06-01-chuo";

/// Keys and a roster: alice (operator, valid 2020-2099), bob (operator, expired 2021-03-31),
/// carol (approver only), mallory (not on the roster).
struct Fixture {
    dir: tempfile::TempDir,
    roster: Roster,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("seibi-journal-test-")
            .tempdir()
            .expect("tempdir");
        for name in ["alice", "bob", "carol", "mallory"] {
            keygen(&dir.path().join("keys"), name, "");
        }
        let entry = |id: &str, name: &str, role: &str, from: &str, until: &str| {
            let key = fs::read_to_string(dir.path().join(format!("keys/{id}.pub"))).expect("pub");
            format!(
                "  - id: {id}\n    name: {name}\n    organisation: 中央区役所 情報政策課\n    role: {role}\n    key: {}\n    valid_from: {from}\n    valid_until: {until}\n",
                key.trim()
            )
        };
        let text = format!(
            "# 従事者名簿\npeople:\n{}{}{}",
            entry("alice", "有栖 愛子", "operator", "2020-01-01", "2099-12-31"),
            entry("bob", "坊 一郎", "operator", "2020-01-01", "2021-03-31"),
            entry("carol", "加藤 花子", "approver", "2020-01-01", "2099-12-31"),
        );
        let roster_path = dir.path().join("roster.yml");
        fs::write(&roster_path, text).expect("write roster");
        let roster = Roster::load(&roster_path).expect("roster loads");
        Self { dir, roster }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn key(&self, name: &str) -> PathBuf {
        self.path().join("keys").join(name)
    }

    fn public(&self, name: &str) -> PublicKey {
        PublicKey::read_file(&self.key(&format!("{name}.pub"))).expect("public key")
    }

    /// A signer for `key`, writing `operator` on the lines.
    fn signer(&self, key: &str, operator: &str) -> Signer {
        Signer::from_key_file(operator, &self.key(key), None).expect("signer")
    }

    fn logs(&self) -> PathBuf {
        self.path().join("logs")
    }
}

fn keygen(dir: &Path, name: &str, passphrase: &str) {
    fs::create_dir_all(dir).expect("key dir");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(dir.join(name))
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn intent(terminal: &str, task: &str) -> Record {
    Record::Intent(Intent {
        terminal: terminal.into(),
        host_key: format!("SHA256:hostkey-of-{terminal}"),
        job: "chrome-2026-06".into(),
        task: task.into(),
        action: "package".into(),
        change: "google-chrome-stable 125.0 -> 126.0".into(),
    })
}

fn result(terminal: &str, task: &str, intent: Option<u64>, status: Status) -> Record {
    Record::Result(TaskResult {
        terminal: terminal.into(),
        job: "chrome-2026-06".into(),
        task: task.into(),
        intent,
        status,
        changed: status == Status::Changed,
        stdout: OutputDigest::of(b"Setting up google-chrome-stable (126.0) ...\n"),
        stderr: OutputDigest::of(b""),
        duration_ms: 12_345,
        error: (status == Status::Failed).then(|| "dpkg exited with status 1".to_string()),
    })
}

/// Writes the same run every time (checkpoint every 3 records):
///  1 run_start  2 checkpoint  3 intent t01  4 result t01  5 intent t02  6 checkpoint
///  7 result t02  8 reveal  9 rotation  10 checkpoint  11 intent t03  12 result t03
///  13 run_end  14 checkpoint
fn write_run(dir: &Path, signer: Signer, options: WriterOptions) -> PathBuf {
    let start = RunStart {
        run: RUN.into(),
        plan_digest: "sha256:9f2c4e".into(),
        seibi_version: "0.1.0".into(),
        host: "ctl01".into(),
        unapproved_reason: None,
        selection: None,
    };
    let mut w = JournalWriter::create_with(dir, start, signer, options).expect("create");
    let i1 = w.append(intent("chuo-t01", "install")).expect("append");
    w.append(result("chuo-t01", "install", Some(i1.0), Status::Changed))
        .expect("append");
    let i2 = w.append(intent("chuo-t02", "install")).expect("append");
    w.append(result("chuo-t02", "install", Some(i2.0), Status::Failed))
        .expect("append");
    w.append(Record::Reveal(Reveal {
        terminal: Some("chuo-t02".into()),
        secret: "admin/chuo-t02".into(),
        reason: "窓口端末の復旧 (dpkg failed)".into(),
    }))
    .expect("append");
    w.append(Record::Rotation(Rotation {
        terminal: "chuo-t01".into(),
        account: "localadmin".into(),
        secret: "admin/chuo-t01".into(),
        reason: Some("quarterly rotation".into()),
        began_in: None,
    }))
    .expect("append");
    let i3 = w.append(intent("chuo-t03", "install")).expect("append");
    w.append(result(
        "chuo-t03",
        "install",
        Some(i3.0),
        Status::Unreachable,
    ))
    .expect("append");
    let mut tally = Tally::default();
    for s in [Status::Changed, Status::Failed, Status::Unreachable] {
        tally.add(s);
    }
    let last = w
        .finish(RunEnd {
            tally,
            stopped: None,
        })
        .expect("finish");
    assert_eq!(last.0, 14, "the layout the tamper tests rely on");
    dir.join(format!("{RUN}.jsonl"))
}

fn every_three() -> WriterOptions {
    WriterOptions {
        policy: CheckpointPolicy {
            every_records: 3,
            every: std::time::Duration::from_secs(3600),
        },
        clock: None,
    }
}

fn good_journal(fx: &Fixture) -> PathBuf {
    write_run(&fx.logs(), fx.signer("alice", "alice"), every_three())
}

fn read_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .expect("read journal")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    fs::write(path, text).expect("write journal");
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).expect("line is JSON")
}

/// What a forger with a key would do: renumber, relink every `prev`, and re-sign every
/// checkpoint with `signer` (dated `backdate` if given).
fn rechain(lines: &mut [String], signer: &Signer, backdate: Option<&str>) {
    let mut prev = GENESIS.to_string();
    for (i, line) in lines.iter_mut().enumerate() {
        let mut v = json(line);
        let seq = i as u64 + 1;
        v["seq"] = seq.into();
        v["prev"] = prev.clone().into();
        if v["kind"] == "checkpoint" {
            if let Some(t) = backdate {
                v["time"] = t.into();
            }
            let run = v["run"].as_str().expect("run").to_string();
            let time = v["time"].as_str().expect("time").to_string();
            let message = checkpoint_message(&run, seq - 1, &prev, &time);
            let sig = signer.sign(message.as_bytes()).expect("sign");
            v["covers"] = (seq - 1).into();
            v["head"] = prev.clone().into();
            v["key"] = signer.public_key().fingerprint().into();
            v["signature"] = sig.to_armored().into();
        }
        *line = serde_json::to_string(&v).expect("serialize");
        prev = line_hash(line.as_bytes());
    }
}

fn check(fx: &Fixture, path: &Path) -> VerifyReport {
    let report = journal::verify(path, &fx.roster);
    eprintln!("{report}");
    report
}

#[test]
fn a_good_journal_verifies() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let report = check(&fx, &path);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 14);
    assert_eq!(report.valid_checkpoints, 4);
    assert_eq!(report.signed_through, Some(14));
    assert_eq!(report.signers, ["alice"]);
    assert!(report.finished);
    assert_eq!(report.run_id.as_deref(), Some(RUN));
    let head = line_hash(read_lines(&path)[13].as_bytes());
    assert!(
        report.to_string().ends_with(&format!(
            ": ok: run 2026-06-01-chuo, 14 records, 4 checkpoints signed by alice, head {head}\n"
        )),
        "{report}"
    );
    assert_eq!(report.head.as_deref(), Some(head.as_str()));
    // No secret value is on disk: reveals and rotations name the secret only.
    let text = fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"secret\":\"admin/chuo-t02\""));
    assert!(!text.contains("Setting up"), "outputs are kept as digests");
}

#[test]
fn an_edited_field_is_a_modified_record() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    assert!(lines[3].contains("\"changed\":true"));
    lines[3] = lines[3].replace("\"changed\":true", "\"changed\":false");
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [
            Problem::Modified { seq: 4, line: 4 },
            // Seq 3 is genuine, but the signature after it vouches for it only through seq 4.
            Problem::Unsigned { from: 3, to: 4 }
        ]
    );
    assert!(
        report.to_string().contains(
            "seq 4 (line 4): modified record: its SHA-256 does not match `prev` of seq 5"
        )
    );
}

#[test]
fn a_deleted_line_is_a_gap() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    lines.remove(7); // the reveal, seq 8
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    // Seq 7 is genuine, but the only signature over it chained through the deleted seq 8.
    assert_eq!(
        report.problems,
        [
            Problem::Deleted { from: 8, to: 8 },
            Problem::Unsigned { from: 7, to: 7 }
        ]
    );
    assert!(
        report
            .to_string()
            .contains("seq 8: deleted record: missing between seq 7 and seq 9")
    );
}

#[test]
fn swapped_lines_are_reordered_records() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    lines.swap(3, 4);
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [Problem::Reordered {
            seq: 4,
            line: 5,
            after_seq: 5
        }]
    );
}

#[test]
fn a_forged_line_appended_with_a_correct_prev_is_an_unsigned_tail() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    let mut forged = json(&lines[12]); // shaped like the run_end
    forged["seq"] = 15.into();
    forged["prev"] = line_hash(lines[13].as_bytes()).into();
    forged["kind"] = "reveal".into();
    let forged = serde_json::json!({
        "seq": 15, "prev": forged["prev"], "time": forged["time"], "operator": "alice",
        "kind": "reveal", "secret": "admin/chuo-t09", "reason": "nothing to see"
    });
    lines.push(serde_json::to_string(&forged).expect("serialize"));
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [Problem::UnsignedTail { from: 15, to: 15 }]
    );
}

#[test]
fn a_forged_line_inserted_and_rechained_loses_the_signatures() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    let forged = serde_json::to_string(&serde_json::json!({
        "seq": 8, "prev": "", "time": "2026-06-01T01:00:00.000Z", "operator": "alice",
        "kind": "reveal", "secret": "admin/chuo-t09", "reason": "nothing to see"
    }))
    .expect("serialize");
    lines.insert(7, forged);
    // Relink everything by hand, as a forger without a roster key must: checkpoint fields can
    // be rewritten, their signatures cannot.
    let mut prev = GENESIS.to_string();
    for (i, line) in lines.iter_mut().enumerate() {
        let mut v = json(line);
        v["seq"] = (i as u64 + 1).into();
        v["prev"] = prev.clone().into();
        if v["kind"] == "checkpoint" {
            v["covers"] = (i as u64).into();
            v["head"] = prev.clone().into();
        }
        *line = serde_json::to_string(&v).expect("serialize");
        prev = line_hash(line.as_bytes());
    }
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert_eq!(report.problems.len(), 3, "{report}");
    assert!(matches!(
        report.problems[0],
        Problem::BadSignature {
            seq: 11,
            line: 11,
            ..
        }
    ));
    assert!(matches!(
        report.problems[1],
        Problem::BadSignature {
            seq: 15,
            line: 15,
            ..
        }
    ));
    // Everything after the last good checkpoint (seq 6) is unproven, the forged seq 8 included.
    assert_eq!(
        report.problems[2],
        Problem::UnsignedTail { from: 7, to: 15 }
    );
    assert!(
        report
            .to_string()
            .contains("bad checkpoint signature: the signature does not match")
    );
}

#[test]
fn a_duplicated_seq_is_an_inserted_record() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    // A second seq 8 with a correct `prev`, but the chain goes on from the original.
    let mut forged = json(&lines[7]);
    forged["reason"] = "forged".into();
    lines.insert(8, serde_json::to_string(&forged).expect("serialize"));
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [Problem::Inserted {
            seq: 8,
            line: 9,
            original_line: 8
        }]
    );
}

#[test]
fn a_truncated_journal_has_a_torn_tail() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let bytes = fs::read(&path).expect("read");
    let cut = bytes.len() - 20;
    fs::write(&path, &bytes[..cut]).expect("truncate");
    let start_of_last = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("several lines")
        + 1;
    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [
            Problem::TornTail {
                line: 14,
                offset: start_of_last as u64,
                bytes: (cut - start_of_last) as u64
            },
            Problem::UnsignedTail { from: 11, to: 13 }
        ]
    );
}

/// Edits a result, rebuilds the chain and re-signs it with `key`: the chain is whole again, so
/// only the signer gives the forgery away.
fn resigned(fx: &Fixture, key: &str) -> (PathBuf, VerifyReport) {
    resigned_at(fx, key, None)
}

fn resigned_at(fx: &Fixture, key: &str, backdate: Option<&str>) -> (PathBuf, VerifyReport) {
    let path = good_journal(fx);
    let mut lines = read_lines(&path);
    lines[3] = lines[3].replace("\"changed\":true", "\"changed\":false");
    rechain(&mut lines, &fx.signer(key, key), backdate);
    write_lines(&path, &lines);
    let report = check(fx, &path);
    (path, report)
}

#[test]
fn re_signed_with_an_unknown_key() {
    let fx = Fixture::new();
    let (_, report) = resigned(&fx, "mallory");
    let fingerprint = fx.public("mallory").fingerprint();
    let expected: Vec<Problem> = [2, 6, 10, 14]
        .into_iter()
        .map(|seq| Problem::SignerNotOnRoster {
            seq,
            line: seq as usize,
            fingerprint: fingerprint.clone(),
        })
        .chain([Problem::UnsignedTail { from: 1, to: 14 }])
        .collect();
    assert_eq!(report.problems, expected);
    assert!(report.to_string().contains(&format!(
        "seq 2 (line 2): checkpoint signed by key {fingerprint}, which is not on the roster"
    )));
}

#[test]
fn re_signed_with_an_expired_key() {
    let fx = Fixture::new();
    let (_, report) = resigned(&fx, "bob");
    let today = jiff::Zoned::now()
        .with_time_zone(seibi::roster::japan_time_zone().clone())
        .date();
    let expected: Vec<Problem> = [2, 6, 10, 14]
        .into_iter()
        .map(|seq| Problem::SignerExpired {
            seq,
            line: seq as usize,
            person: "bob".into(),
            until: jiff::civil::date(2021, 3, 31),
            on: today,
        })
        .chain([Problem::UnsignedTail { from: 1, to: 14 }])
        .collect();
    assert_eq!(report.problems, expected);
    assert!(
        report
            .to_string()
            .contains("their roster entry ended on 2021-03-31 (expired key)")
    );
}

#[test]
fn re_signed_with_an_expired_key_dated_while_it_was_valid() {
    let fx = Fixture::new();
    let (_, report) = resigned_at(&fx, "bob", Some("2021-03-01T00:00:00.000Z"));
    // bob was valid on 2021-03-01, but the records he signs were written later.
    let mismatched: Vec<u64> = report
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::CheckpointMismatch { seq, detail, .. }
                if detail.contains("is before the time") =>
            {
                Some(*seq)
            }
            _ => None,
        })
        .collect();
    assert_eq!(mismatched, [2, 6, 10, 14], "{report}");
    assert!(
        report
            .problems
            .contains(&Problem::UnsignedTail { from: 1, to: 14 })
    );
    assert_eq!(report.valid_checkpoints, 0);
}

#[test]
fn signed_by_an_approver_who_is_not_an_operator() {
    let fx = Fixture::new();
    let path = write_run(&fx.logs(), fx.signer("carol", "carol"), every_three());
    let report = check(&fx, &path);
    assert!(report.problems.iter().any(|p| matches!(
        p,
        Problem::SignerNotOperator { seq: 2, person, role: seibi::roster::Role::Approver, .. } if person == "carol"
    )), "{report}");
    assert_eq!(report.valid_checkpoints, 0);
}

#[test]
fn a_signer_other_than_the_named_operator_is_reported() {
    let fx = Fixture::new();
    // alice's key, but the lines claim bob ran it.
    let path = write_run(&fx.logs(), fx.signer("alice", "bob"), every_three());
    let report = check(&fx, &path);
    assert_eq!(report.problems.len(), 4, "{report}");
    assert!(report.problems.iter().all(|p| matches!(
        p,
        Problem::SignerMismatch { signer, operator, .. } if signer == "alice" && operator == "bob"
    )));
}

#[test]
fn json_report_names_problems_for_machines() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    lines.remove(7);
    write_lines(&path, &lines);
    let v = check(&fx, &path).to_json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["problem"], "deleted");
    assert_eq!(v["problems"][0]["from"], 8);
    assert_eq!(
        v["problems"][0]["message"],
        "seq 8: deleted record: missing between seq 7 and seq 9"
    );
}

// ---------------------------------------------------------------------------------------------
// Interoperability with OpenSSH.

fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn ssh_keygen_verify(
    allowed: &Path,
    principal: &str,
    sig: &Path,
    message: &[u8],
    verify_time: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", principal, "-n", JOURNAL_NAMESPACE, "-s"])
        .arg(sig);
    if let Some(t) = verify_time {
        cmd.arg(format!("-Overify-time={t}"));
    }
    run_with_stdin(&mut cmd, message)
}

/// The checkpoint at `seq`: (message, armored signature), extracted with jq exactly as
/// docs/journal.md tells a third party to (or in Rust when jq is missing).
fn extract_checkpoint(path: &Path, seq: u64) -> (Vec<u8>, Vec<u8>) {
    let jq = |filter: String| {
        Command::new("jq")
            .args(["-j", &filter])
            .arg(path)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
    };
    let message = jq(format!(
        r#"select(.seq == {seq}) | "seibi-journal v1 \(.run) seq=\(.covers) head=\(.head) time=\(.time)\n""#
    ));
    let signature = jq(format!("select(.seq == {seq}) | .signature"));
    match (message, signature) {
        (Some(m), Some(s)) => (m, s),
        _ => {
            eprintln!("jq not available: extracting the checkpoint in Rust");
            let line = json(&read_lines(path)[seq as usize - 1]);
            let s = |k: &str| line[k].as_str().expect("string").to_string();
            let covers = line["covers"].as_u64().expect("covers");
            (
                checkpoint_message(&s("run"), covers, &s("head"), &s("time")).into_bytes(),
                s("signature").into_bytes(),
            )
        }
    }
}

#[test]
fn ssh_keygen_verifies_checkpoints_with_the_exported_allowed_signers() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let allowed = fx.path().join("allowed_signers");
    fs::write(&allowed, fx.roster.allowed_signers()).expect("write allowed_signers");
    let sig = fx.path().join("checkpoint.sig");
    for seq in [2, 14] {
        let (message, signature) = extract_checkpoint(&path, seq);
        let text = String::from_utf8(message.clone()).expect("ASCII");
        assert!(
            text.starts_with(&format!("seibi-journal v1 {RUN} seq={} head=", seq - 1)),
            "{text}"
        );
        assert!(text.ends_with("Z\n"), "{text}");
        fs::write(&sig, &signature).expect("write sig");
        let good = ssh_keygen_verify(&allowed, "alice", &sig, &message, None);
        assert!(
            good.status.success(),
            "ssh-keygen rejected a good checkpoint: {}{}",
            String::from_utf8_lossy(&good.stdout),
            String::from_utf8_lossy(&good.stderr)
        );
        assert!(
            String::from_utf8_lossy(&good.stdout)
                .contains("Good \"seibi-journal@seibi\" signature for alice")
        );

        let mut tampered = message.clone();
        let at = text.find("head=").expect("head") + 5;
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        let bad = ssh_keygen_verify(&allowed, "alice", &sig, &tampered, None);
        assert!(
            !bad.status.success(),
            "ssh-keygen accepted a tampered message"
        );
        // Another principal's name does not match the key either.
        let wrong = ssh_keygen_verify(&allowed, "bob", &sig, &message, None);
        assert!(!wrong.status.success());
    }
}

#[test]
fn ssh_keygen_enforces_the_roster_dates_too() {
    let fx = Fixture::new();
    let (path, _) = resigned(&fx, "bob");
    let allowed = fx.path().join("allowed_signers");
    fs::write(&allowed, fx.roster.allowed_signers()).expect("write allowed_signers");
    let (message, signature) = extract_checkpoint(&path, 14);
    let sig = fx.path().join("bob.sig");
    fs::write(&sig, signature).expect("write sig");
    // Today bob's key is outside its validity...
    let now = ssh_keygen_verify(&allowed, "bob", &sig, &message, None);
    assert!(!now.status.success(), "ssh-keygen accepted an expired key");
    // ...but a signature made while it was valid still verifies at its own time.
    let then = ssh_keygen_verify(&allowed, "bob", &sig, &message, Some("20210331145959Z"));
    assert!(
        then.status.success(),
        "{}",
        String::from_utf8_lossy(&then.stderr)
    );
    let after = ssh_keygen_verify(&allowed, "bob", &sig, &message, Some("20210331150000Z"));
    assert!(
        !after.status.success(),
        "valid-before is the last second of 2021-03-31 JST"
    );
}

#[test]
fn signatures_made_by_ssh_keygen_verify_in_seibi() {
    let fx = Fixture::new();
    let msg = fx.path().join("message");
    fs::write(
        &msg,
        checkpoint_message(RUN, 1, GENESIS, "2026-06-01T00:00:00.000Z"),
    )
    .expect("msg");
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", JOURNAL_NAMESPACE, "-f"])
        .arg(fx.key("alice"))
        .arg(&msg)
        .output()
        .expect("ssh-keygen -Y sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let armored = fs::read_to_string(fx.path().join("message.sig")).expect("sig");
    let sig = Signature::from_armored(&armored).expect("parses");
    assert_eq!(sig.public_key(), &fx.public("alice"));
    let message = fs::read(&msg).expect("msg");
    sig.verify(JOURNAL_NAMESPACE, &message).expect("verifies");
    assert!(matches!(
        sig.verify(JOURNAL_NAMESPACE, b"other"),
        Err(KeyError::BadSignature)
    ));
    assert!(matches!(
        sig.verify("file", &message),
        Err(KeyError::WrongNamespace { .. })
    ));
}

/// Runs docs/verify-journal.sh, the standard-tools-only check a third party can use.
fn third_party_check(fx: &Fixture, journal: &Path) -> (bool, String) {
    let allowed = fx.path().join("allowed_signers");
    fs::write(&allowed, fx.roster.allowed_signers()).expect("write allowed_signers");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/verify-journal.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(journal)
        .arg(&allowed)
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_documented_standard_tools_check_agrees() {
    assert!(
        Command::new("jq").arg("--version").output().is_ok(),
        "jq is not installed: `scripts/test` installs it (apt-get install jq)"
    );
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let head = line_hash(read_lines(&path)[13].as_bytes());
    let (ok, out) = third_party_check(&fx, &path);
    assert!(ok, "{out}");
    assert_eq!(out, format!("ok: run {RUN}, 14 lines, head {head}\n"));

    let mut edited = read_lines(&path);
    edited[3] = edited[3].replace("\"changed\":true", "\"changed\":false");
    write_lines(&path, &edited);
    let (ok, out) = third_party_check(&fx, &path);
    assert!(!ok);
    assert!(
        out.starts_with("line 5: prev does not match the SHA-256 of line 4\n"),
        "{out}"
    );

    fs::remove_file(&path).expect("start over");
    let (path, _) = resigned(&fx, "mallory");
    let (ok, out) = third_party_check(&fx, &path);
    assert!(!ok);
    assert!(
        out.starts_with("line 2: signature rejected by ssh-keygen"),
        "{out}"
    );

    fs::remove_file(&path).expect("start over");
    let (path, _) = resigned(&fx, "bob");
    let (ok, out) = third_party_check(&fx, &path);
    assert!(
        !ok,
        "an expired key is refused at the checkpoint's own time"
    );
    assert!(
        out.starts_with("line 2: signature rejected by ssh-keygen"),
        "{out}"
    );

    fs::remove_file(&path).expect("start over");
    let (path, _) = resigned_at(&fx, "bob", Some("2021-03-01T00:00:00.000Z"));
    let (ok, out) = third_party_check(&fx, &path);
    assert!(!ok);
    assert!(
        out.starts_with("line 2: checkpoint dated before the line it signs"),
        "{out}"
    );

    let bytes = fs::read(&path).expect("read");
    fs::write(&path, &bytes[..bytes.len() - 5]).expect("truncate");
    let (ok, out) = third_party_check(&fx, &path);
    assert!(!ok);
    assert!(out.starts_with("torn last line"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Signing through ssh-agent, and passphrase-protected keys.

struct AgentProcess {
    child: std::process::Child,
    socket: PathBuf,
}

impl AgentProcess {
    fn start(dir: &Path) -> Self {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "ssh-agent did not create its socket"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self { child, socket }
    }

    fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .expect("ssh-add");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn signing_through_ssh_agent() {
    let fx = Fixture::new();
    let agent = AgentProcess::start(fx.path());
    agent.add(&fx.key("alice"));
    let signer = Signer::from_agent("alice", Agent::new(&agent.socket), fx.public("alice"))
        .expect("agent holds alice's key");
    assert!(format!("{signer:?}").contains("ssh-agent"));
    let path = write_run(&fx.logs(), signer, every_three());
    let report = check(&fx, &path);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.valid_checkpoints, 4);

    let allowed = fx.path().join("allowed_signers");
    fs::write(&allowed, fx.roster.allowed_signers()).expect("write");
    let (message, signature) = extract_checkpoint(&path, 14);
    let sig = fx.path().join("agent.sig");
    fs::write(&sig, signature).expect("write");
    assert!(
        ssh_keygen_verify(&allowed, "alice", &sig, &message, None)
            .status
            .success()
    );

    let missing = Signer::from_agent("mallory", Agent::new(&agent.socket), fx.public("mallory"));
    assert!(
        matches!(missing, Err(SignerError::KeyNotInAgent { .. })),
        "{missing:?}"
    );
}

#[test]
fn passphrase_protected_keys() {
    let fx = Fixture::new();
    let dir = fx.path().join("locked");
    keygen(&dir, "dave", "correct horse");
    let key = dir.join("dave");
    let none = Signer::from_key_file("dave", &key, None);
    assert!(
        matches!(
            none,
            Err(SignerError::Key(KeyError::PassphraseNeeded { .. }))
        ),
        "{none:?}"
    );
    let wrong = Signer::from_key_file("dave", &key, Some(b"wrong"));
    assert!(
        matches!(wrong, Err(SignerError::Key(KeyError::Decrypt { .. }))),
        "{wrong:?}"
    );
    let signer = Signer::from_key_file("dave", &key, Some(b"correct horse")).expect("decrypts");
    let sig = signer.sign(b"hello\n").expect("signs");
    sig.verify(JOURNAL_NAMESPACE, b"hello\n").expect("verifies");
    assert_eq!(sig.public_key(), signer.public_key());
}

// ---------------------------------------------------------------------------------------------
// Failing closed, resuming.

fn started(fx: &Fixture) -> JournalWriter {
    let start = RunStart::new(RUN, "sha256:9f2c4e");
    JournalWriter::create(&fx.logs(), start, fx.signer("alice", "alice")).expect("create")
}

#[test]
fn appending_to_a_journal_replaced_by_a_directory_fails_and_keeps_failing() {
    let fx = Fixture::new();
    let mut w = started(&fx);
    w.append(intent("chuo-t01", "install")).expect("append");
    let path = w.path().to_path_buf();
    fs::remove_file(&path).expect("remove");
    fs::create_dir(&path).expect("directory in its place");
    let err = w
        .append(result("chuo-t01", "install", Some(3), Status::Ok))
        .expect_err("fails");
    assert!(matches!(err, JournalError::Replaced { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the run stops before its next change")
    );
    let again = w
        .append(intent("chuo-t02", "install"))
        .expect_err("still fails");
    assert!(matches!(again, JournalError::Broken { .. }), "{again}");
    assert!(matches!(
        w.finish(RunEnd::default()),
        Err(JournalError::Broken { .. })
    ));
}

#[test]
fn appending_to_a_moved_journal_fails() {
    let fx = Fixture::new();
    let mut w = started(&fx);
    let path = w.path().to_path_buf();
    fs::rename(&path, fx.path().join("elsewhere.jsonl")).expect("move");
    fs::write(&path, b"").expect("an impostor file at the same path");
    let err = w.append(intent("chuo-t01", "install")).expect_err("fails");
    assert!(matches!(err, JournalError::Replaced { .. }), "{err}");
    assert_eq!(
        fs::read(&path).expect("read"),
        b"",
        "nothing written to the impostor"
    );
}

#[test]
fn a_crashed_run_resumes_after_removing_the_torn_line() {
    let fx = Fixture::new();
    let mut w = started(&fx);
    let i = w.append(intent("chuo-t01", "install")).expect("append");
    w.append(result("chuo-t01", "install", Some(i.0), Status::Changed))
        .expect("append");
    let path = w.path().to_path_buf();
    drop(w); // the process dies...
    let torn = br#"{"seq":5,"prev":"ab12","time":"2026-06-01T01:"#;
    let mut bytes = fs::read(&path).expect("read");
    let clean_len = bytes.len();
    bytes.extend_from_slice(torn); // ...in the middle of a write
    fs::write(&path, &bytes).expect("write");

    let report = check(&fx, &path);
    assert_eq!(
        report.problems,
        [
            Problem::TornTail {
                line: 5,
                offset: clean_len as u64,
                bytes: torn.len() as u64
            },
            Problem::UnsignedTail { from: 3, to: 4 },
            Problem::Unfinished
        ]
    );

    let mut w = JournalWriter::open_for_resume(&path, fx.signer("alice", "alice")).expect("resume");
    assert_eq!(
        w.last_seq().0,
        6,
        "resume record (5) and its checkpoint (6)"
    );
    let saved = fx.logs().join(format!("{RUN}.jsonl.torn"));
    assert_eq!(fs::read(&saved).expect("torn bytes saved"), torn);
    let lines = read_lines(&path);
    let resume = json(&lines[4]);
    assert_eq!(resume["kind"], "resume");
    assert_eq!(resume["torn_bytes"], torn.len());
    assert_eq!(resume["torn_sha256"], line_hash(torn));
    assert_eq!(resume["torn_saved_to"], format!("{RUN}.jsonl.torn"));
    w.append(intent("chuo-t02", "install"))
        .expect("append after resume");
    w.finish(RunEnd::default()).expect("finish");
    let report = check(&fx, &path);
    assert!(report.is_ok(), "{report}");
    let shown = journal::render_run(&journal::read_run(&path).expect("read run"));
    assert!(
        shown.contains("resumed after an interruption; the torn last line (line 5"),
        "{shown}"
    );
}

#[test]
fn resume_refuses_tampered_and_finished_journals() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let finished = JournalWriter::open_for_resume(&path, fx.signer("alice", "alice"));
    assert!(
        matches!(finished, Err(JournalError::Finished { .. })),
        "{finished:?}"
    );

    let mut lines = read_lines(&path);
    lines.truncate(12); // an unfinished run...
    lines[3] = lines[3].replace("\"changed\":true", "\"changed\":false"); // ...with an edit
    write_lines(&path, &lines);
    let err =
        JournalWriter::open_for_resume(&path, fx.signer("alice", "alice")).expect_err("refuses");
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("seq 4 (line 4): modified record"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Showing a run, and the CLI.

#[test]
fn show_lists_each_terminal_in_japan_time() {
    let fx = Fixture::new();
    // A clock that starts at 2026-06-01 10:00:00 JST and ticks one second per call.
    let tick = AtomicI64::new(1_780_275_600);
    let clock: journal::Clock = Box::new(move || {
        jiff::Timestamp::from_second(tick.fetch_add(1, Ordering::SeqCst)).expect("in range")
    });
    let options = WriterOptions {
        clock: Some(clock),
        ..every_three()
    };
    let path = write_run(&fx.logs(), fx.signer("alice", "alice"), options);
    let run = journal::read_run(&path).expect("read");
    assert_eq!(run.run_id(), Some(RUN));
    assert_eq!(run.terminals.len(), 3);
    let t02 = &run.terminals["chuo-t02"];
    assert_eq!(t02.len(), 1);
    assert_eq!(
        t02[0].result.as_ref().map(|r| r.status),
        Some(Status::Failed)
    );
    insta::assert_snapshot!(journal::render_run(&run));
}

#[test]
fn the_example_roster_loads_and_exports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("roster.yml");
    let roster = Roster::load(&path).expect("the example roster is valid");
    let ids: Vec<&str> = roster.people().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["tanaka", "suzuki", "sato", "demo-operator", "demo-approver"]
    );
    let exported = roster.allowed_signers();
    // Operators only: the approver may not sign journals.
    assert!(exported.contains("\ntanaka namespaces=\"seibi-journal@seibi\",valid-after=\"20260331150000Z\",valid-before=\"20270331145959Z\" ssh-ed25519 "));
    assert!(exported.contains("\nsuzuki namespaces="));
    assert!(!exported.contains("\nsato "));
    assert!(exported.contains("\ndemo-operator namespaces="));
    assert!(!exported.contains("\ndemo-approver "));
}

#[derive(Parser)]
struct TestCli {
    #[command(subcommand)]
    command: TestCommand,
}

#[derive(clap::Subcommand)]
enum TestCommand {
    #[command(subcommand)]
    Journal(seibi::cli::journal::JournalCommand),
    #[command(subcommand)]
    Roster(seibi::cli::roster::RosterCommand),
}

/// Runs a subcommand as main.rs would (`seibi -C <project> ...`).
fn cli(args: &[&str], project: &Path) -> std::process::ExitCode {
    let parsed = TestCli::try_parse_from(std::iter::once("seibi").chain(args.iter().copied()))
        .expect("arguments parse");
    let project = TestProject::try_parse_from(["seibi", "-C", &project.to_string_lossy()])
        .expect("project parses")
        .project;
    match parsed.command {
        TestCommand::Journal(c) => seibi::cli::journal::run(c, &project).expect("runs"),
        TestCommand::Roster(c) => seibi::cli::roster::run(c, &project).expect("runs"),
    }
}

#[derive(Parser)]
struct TestProject {
    #[command(flatten)]
    project: seibi::cli::ProjectArgs,
}

#[test]
fn cli_verify_exits_non_zero_on_any_problem() {
    use std::process::ExitCode;
    let fx = Fixture::new();
    let path = good_journal(&fx);
    assert_eq!(cli(&["journal", "verify"], fx.path()), ExitCode::SUCCESS);
    assert_eq!(cli(&["journal", "show", RUN], fx.path()), ExitCode::SUCCESS);
    let mut lines = read_lines(&path);
    lines.swap(3, 4);
    write_lines(&path, &lines);
    assert_eq!(cli(&["journal", "verify"], fx.path()), ExitCode::FAILURE);
    let as_file = path.to_string_lossy().into_owned();
    assert_eq!(
        cli(
            &["journal", "verify", "--format", "json", &as_file],
            fx.path()
        ),
        ExitCode::FAILURE
    );
    assert_eq!(
        cli(&["journal", "show", &as_file], fx.path()),
        ExitCode::FAILURE
    );

    let out = fx.path().join("exported");
    let out_arg = out.to_string_lossy().into_owned();
    assert_eq!(
        cli(
            &["roster", "export-allowed-signers", "-o", &out_arg],
            fx.path()
        ),
        ExitCode::SUCCESS
    );
    assert_eq!(
        fs::read_to_string(&out).expect("exported"),
        fx.roster.allowed_signers()
    );
}

#[test]
fn every_byte_of_the_final_checkpoint_is_covered() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let good = read_lines(&path);
    let last = good.len() - 1;
    let mut cases: Vec<(&str, String)> = Vec::new();
    // A field added to the final checkpoint line (nothing hashes the last line).
    let mut added = json(&good[last]);
    added["note"] = "approved by the city".into();
    cases.push(("added field", serde_json::to_string(&added).expect("json")));
    // Its key label changed to another key's fingerprint.
    let mut relabelled = json(&good[last]);
    relabelled["key"] = fx.public("mallory").fingerprint().into();
    cases.push((
        "key label",
        serde_json::to_string(&relabelled).expect("json"),
    ));
    // The same fields, written in another form (a space after a colon).
    cases.push((
        "another form",
        good[last].replacen("\"kind\":\"checkpoint\"", "\"kind\": \"checkpoint\"", 1),
    ));
    for (what, line) in cases {
        let mut lines = good.clone();
        lines[last] = line;
        write_lines(&path, &lines);
        let report = check(&fx, &path);
        assert!(
            report
                .problems
                .iter()
                .any(|p| matches!(p, journal::Problem::CheckpointMismatch { seq: 14, .. })),
            "{what}: {report}"
        );
        if Command::new("jq").arg("--version").output().is_ok() {
            let (ok, out) = third_party_check(&fx, &path);
            assert!(!ok, "{what}: the standard-tools check passed it: {out}");
            assert!(out.contains("line 14: "), "{what}: {out}");
        }
    }
}

#[test]
fn a_journal_cut_after_its_end_is_sealed_late_and_verifies() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    lines.pop(); // killed between run_end and the final checkpoint
    write_lines(&path, &lines);
    let report = check(&fx, &path);
    assert!(
        report
            .problems
            .contains(&journal::Problem::UnsignedTail { from: 11, to: 13 }),
        "{report}"
    );
    // Sealed by another operator on the roster.
    let seq = JournalWriter::seal(&path, fx.signer("alice", "alice")).expect("seals");
    assert_eq!(seq.0, 15);
    let report = check(&fx, &path);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.seals.len(), 1);
    assert!(
        report.to_string().contains("sealed late by alice at"),
        "{report}"
    );
    let kinds: Vec<String> = read_lines(&path)
        .iter()
        .map(|l| json(l)["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(kinds[12..], ["run_end", "seal", "checkpoint"]);
    // Nothing more to seal; and a sealed run is finished.
    assert!(matches!(
        JournalWriter::seal(&path, fx.signer("alice", "alice")),
        Err(journal::JournalError::NothingToSeal { .. })
    ));
    if Command::new("jq").arg("--version").output().is_ok() {
        let (ok, out) = third_party_check(&fx, &path);
        assert!(ok, "{out}");
    }
}

#[test]
fn an_unfinished_journal_is_sealed_with_a_run_end_and_a_tampered_one_is_not() {
    let fx = Fixture::new();
    let path = good_journal(&fx);
    let mut lines = read_lines(&path);
    lines.truncate(11); // died after intent t03
    write_lines(&path, &lines);
    JournalWriter::seal(&path, fx.signer("alice", "alice")).expect("seals");
    let report = check(&fx, &path);
    assert!(report.is_ok(), "{report}");
    assert!(report.finished, "the seal ends the run");
    let end = read_lines(&path)
        .iter()
        .map(|l| json(l))
        .find(|v| v["kind"] == "run_end")
        .expect("run_end");
    assert!(
        end["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("sealed afterwards")),
        "{end}"
    );

    // A tampered journal is never signed over.
    let fx2 = Fixture::new();
    let path = good_journal(&fx2);
    let mut lines = read_lines(&path);
    lines.pop();
    lines[3] = lines[3].replace("\"changed\":true", "\"changed\":false");
    write_lines(&path, &lines);
    let before = fs::read(&path).expect("read");
    let refused = JournalWriter::seal(&path, fx2.signer("alice", "alice"));
    assert!(
        matches!(refused, Err(journal::JournalError::Corrupt { .. })),
        "{refused:?}"
    );
    assert_eq!(
        fs::read(&path).expect("read"),
        before,
        "nothing was written"
    );
}
