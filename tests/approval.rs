//! Plan approval with real OpenSSH keys: an approver on the roster approves a saved plan and
//! `apply --plan` accepts it; an edited or stale plan, an approval by a key off the roster, out
//! of its validity or with a forged line, and too few approvers are refused; `ssh-keygen -Y
//! verify` accepts seibi's approval signatures and seibi accepts `ssh-keygen -Y sign`'s;
//! emergency work needs `--unapproved --reason`, which the journal records.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{overlay_project, run_seibi};
use seibi::approval::{
    self, ApprovalError, Authorization, PLAN_NAMESPACE, approval_message, approvals_path,
};
use seibi::journal::{Line, Record};
use seibi::plan::Plan;
use seibi::roster::{PublicKey, Roster};

/// A copy of the base fixture with keys and a roster: sato and kato (approvers, valid
/// 2020-2099), hoshi (approver, valid only in 2020), tanaka (operator). mallory has a key but is
/// not on the roster.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(extra_roster: &str) -> Self {
        let dir = overlay_project(None);
        let keys = dir.path().join("keys");
        for name in ["sato", "kato", "hoshi", "tanaka", "mallory"] {
            keygen(&keys, name);
        }
        let entry = |id: &str, name: &str, role: &str, from: &str, until: &str| {
            let key = fs::read_to_string(keys.join(format!("{id}.pub"))).expect("pub");
            format!(
                "  - id: {id}\n    name: {name}\n    organisation: 情報政策課\n    role: {role}\n    key: {}\n    valid_from: {from}\n    valid_until: {until}\n",
                key.trim()
            )
        };
        let roster = format!(
            "{extra_roster}people:\n{}{}{}{}",
            entry("sato", "佐藤 花子", "approver", "2020-01-01", "2099-12-31"),
            entry("kato", "加藤 一郎", "approver", "2020-01-01", "2099-12-31"),
            entry("hoshi", "星 三郎", "approver", "2020-01-01", "2020-12-31"),
            entry(
                "tanaka",
                "田中 太郎",
                "operator",
                "2020-01-01",
                "2099-12-31"
            ),
        );
        fs::write(dir.path().join("roster.yml"), roster).expect("roster");
        let project = Self { dir };
        let out = run_seibi(
            project.path(),
            &["plan", "--format", "json", "-o", "plan.json"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        project
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn key(&self, name: &str) -> PathBuf {
        self.path().join("keys").join(name)
    }

    fn plan_path(&self) -> PathBuf {
        self.path().join("plan.json")
    }

    fn plan(&self) -> Plan {
        Plan::from_json(&fs::read_to_string(self.plan_path()).expect("plan")).expect("valid plan")
    }

    fn roster(&self) -> Roster {
        Roster::load(&self.path().join("roster.yml")).expect("roster")
    }

    fn approve(&self, who: &str) -> common::Output {
        let key = self.key(who);
        run_seibi(
            self.path(),
            &[
                "approve",
                "plan.json",
                "--key",
                key.to_str().expect("utf-8"),
            ],
        )
    }

    /// `seibi apply --plan plan.json` as tanaka; approval is checked before any connection.
    fn apply(&self, extra: &[&str]) -> common::Output {
        let key = self.key("tanaka");
        let mut args = vec![
            "apply",
            "--key",
            key.to_str().expect("utf-8"),
            "--connect-timeout",
            "1",
            "--progress",
            "plain",
            // Approval is checked whatever the time; the tests must not depend on the clock.
            "--outside-window",
        ];
        args.extend_from_slice(extra);
        // A case that leaves out --reason on purpose (a usage error) keeps it out.
        if !extra.contains(&"--reason") && !extra.contains(&"--unapproved") {
            args.extend_from_slice(&["--reason", "test run outside office hours"]);
        }
        run_seibi(self.path(), &args)
    }

    /// An approvals line signed by `ssh-keygen -Y sign` with `who`'s key, naming `approver`.
    fn keygen_approval(&self, who: &str, approver: &str, time: &str) -> String {
        let plan = self.plan();
        let message = approval_message(&plan.digest, approver, time);
        let message_file = self.path().join("message");
        fs::write(&message_file, &message).expect("message");
        let out = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", PLAN_NAMESPACE, "-f"])
            .arg(self.key(who))
            .arg(&message_file)
            .output()
            .expect("ssh-keygen runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signature =
            fs::read_to_string(self.path().join("message.sig")).expect("signature file");
        fs::remove_file(self.path().join("message.sig")).expect("remove");
        let key = PublicKey::read_file(&self.key(&format!("{who}.pub"))).expect("key");
        serde_json::json!({
            "plan_digest": plan.digest,
            "approver": approver,
            "name": approver,
            "key": key.fingerprint(),
            "time": time,
            "signature": signature,
        })
        .to_string()
            + "\n"
    }
}

fn keygen(dir: &Path, name: &str) {
    fs::create_dir_all(dir).expect("key dir");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C"])
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

#[test]
fn an_approved_plan_passes_the_check_and_apply_accepts_it() {
    let p = Project::new("");
    let out = p.approve("sato");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan = p.plan();
    assert!(out.stdout.contains(&plan.digest), "{}", out.stdout);
    assert!(out.stdout.contains("佐藤 花子 (sato)"), "{}", out.stdout);

    // The approvals file: one JSON line naming sato, with sato's key fingerprint.
    let text = fs::read_to_string(approvals_path(&p.plan_path())).expect("approvals file");
    assert_eq!(text.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect("json line");
    let sato = PublicKey::read_file(&p.key("sato.pub")).expect("key");
    assert_eq!(line["approver"], "sato");
    assert_eq!(line["plan_digest"], plan.digest.as_str());
    assert_eq!(line["key"], sato.fingerprint().as_str());

    let roster = p.roster();
    let approvals = approval::check(&p.plan_path(), &plan, &roster, 1).expect("approved");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0].approver, "sato");
    assert_eq!(approvals[0].name, "佐藤 花子");
    assert_eq!(approvals[0].key, sato.fingerprint());

    // A second approval by the same person adds nothing.
    let again = p.approve("sato");
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already approved"),
        "{}",
        again.stderr
    );
    assert_eq!(
        fs::read_to_string(approvals_path(&p.plan_path()))
            .expect("approvals")
            .lines()
            .count(),
        1
    );

    // apply accepts the plan, says who approved it, and the run's journal records the approval
    // with sato's signature. (A plan of the update job alone needs no secrets; the fixture's
    // terminals are unreachable, so nothing changes anywhere.)
    let out = run_seibi(
        p.path(),
        &[
            "plan",
            "--job",
            "update",
            "--format",
            "json",
            "-o",
            "update.json",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let key = p.key("sato");
    let out = run_seibi(
        p.path(),
        &[
            "approve",
            "update.json",
            "--key",
            key.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let update_plan =
        Plan::from_json(&fs::read_to_string(p.path().join("update.json")).expect("plan"))
            .expect("plan");
    let update_approvals =
        approval::check(&p.path().join("update.json"), &update_plan, &roster, 1).expect("approved");
    fs::write(p.path().join("known_hosts"), "").expect("known_hosts");
    let out = p.apply(&["--plan", "update.json"]);
    assert!(
        out.stderr.contains(&format!(
            "plan {} approved by 佐藤 花子 (sato)",
            update_plan.digest
        )),
        "{}",
        out.stderr
    );
    let journal = fs::read_dir(p.path().join("logs"))
        .expect("logs")
        .next()
        .expect("a journal")
        .expect("entry")
        .path();
    let lines: Vec<Line> = fs::read_to_string(&journal)
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    let approval = lines
        .iter()
        .find_map(|l| match &l.record {
            Record::Approval(a) => Some(a),
            _ => None,
        })
        .expect("an approval record");
    assert_eq!(approval.approver, "sato");
    assert_eq!(approval.plan_digest, update_plan.digest);
    assert_eq!(
        approval.signature.as_deref(),
        Some(update_approvals[0].signature.as_str())
    );
    match &lines[0].record {
        Record::RunStart(s) => {
            assert_eq!(s.plan_digest, update_plan.digest);
            assert_eq!(s.unapproved_reason, None);
        }
        other => panic!("line 1 is {other:?}"),
    }
    let verify = run_seibi(p.path(), &["journal", "verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn unapproved_plans_are_refused_before_anything_runs() {
    let p = Project::new("");
    let out = p.apply(&["--plan", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is not approved"), "{}", out.stderr);
    assert!(
        out.stderr.contains("seibi approve plan.json"),
        "{}",
        out.stderr
    );
    assert!(!p.path().join("logs").exists(), "no journal was started");

    // Without a saved plan there is nothing approved either.
    let out = p.apply(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was approved"),
        "{}",
        out.stderr
    );

    let err = approval::check(&p.plan_path(), &p.plan(), &p.roster(), 1).expect_err("refused");
    assert!(matches!(
        err,
        ApprovalError::NotApproved { required: 1, .. }
    ));

    // A dry run needs no approval, but says the plan could not be applied as it is.
    let out = p.apply(&["--plan", "plan.json", "--check"]);
    assert!(
        out.stderr
            .contains("check mode: nothing is changed, no approval needed")
            && out.stderr.contains("is not approved"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_edited_job_makes_the_approved_plan_stale_and_names_the_job() {
    let p = Project::new("");
    assert_eq!(p.approve("sato").code, 0);
    let playbook = p.path().join("playbooks/settings.yml");
    let text = fs::read_to_string(&playbook).expect("playbook");
    fs::write(
        &playbook,
        text.replace("title: Time and log settings", "title: Time settings"),
    )
    .expect("edit");
    let out = p.apply(&["--plan", "plan.json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is stale"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("job settings: its metadata or targets changed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("playbook playbooks/settings.yml changed"),
        "{}",
        out.stderr
    );
    // A stale plan cannot be approved either.
    let out = p.approve("kato");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is stale"), "{}", out.stderr);
    assert!(out.stderr.contains("job settings"), "{}", out.stderr);

    // Editing the plan file itself breaks its digest.
    fs::write(&playbook, text).expect("restore");
    let plan_text = fs::read_to_string(p.plan_path()).expect("plan");
    fs::write(
        p.plan_path(),
        plan_text.replace("\"minutes_per_terminal\": 5", "\"minutes_per_terminal\": 1"),
    )
    .expect("edit plan");
    let out = p.apply(&["--plan", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("plan digest mismatch"),
        "{}",
        out.stderr
    );
}

#[test]
fn approvals_off_the_roster_out_of_validity_or_forged_are_refused() {
    let p = Project::new("");
    let plan = p.plan();
    let roster = p.roster();
    let file = approvals_path(&p.plan_path());
    let now = jiff::Timestamp::now();
    let recent = seibi::journal::format_time(now);

    // mallory is not on the roster.
    fs::write(&file, p.keygen_approval("mallory", "mallory", &recent)).expect("write");
    let err = approval::check(&p.plan_path(), &plan, &roster, 1).expect_err("refused");
    let message = err.to_string();
    assert!(matches!(err, ApprovalError::Invalid { .. }), "{message}");
    assert!(message.contains("is not on the roster"), "{message}");
    let out = p.apply(&["--plan", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is not on the roster"),
        "{}",
        out.stderr
    );

    // hoshi's entry ended in 2020: an approval signed today is refused ...
    fs::write(&file, p.keygen_approval("hoshi", "hoshi", &recent)).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("expired")
        .to_string();
    assert!(message.contains("only until 2020-12-31"), "{message}");
    // ... one signed while the entry was valid is accepted (validity at approval time).
    fs::write(
        &file,
        p.keygen_approval("hoshi", "hoshi", "2020-06-01T01:00:00.000Z"),
    )
    .expect("write");
    let ok = approval::check(&p.plan_path(), &plan, &roster, 1).expect("valid then");
    assert_eq!(ok[0].approver, "hoshi");

    // tanaka is on the roster but only as an operator.
    fs::write(&file, p.keygen_approval("tanaka", "tanaka", &recent)).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("operator")
        .to_string();
    assert!(message.contains("not as an approver"), "{message}");

    // mallory signs a line claiming to be sato.
    fs::write(&file, p.keygen_approval("mallory", "sato", &recent)).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("impostor")
        .to_string();
    assert!(message.contains("is not on the roster"), "{message}");

    // A good line with its time edited no longer verifies; one bad line refuses the file even
    // next to a good one.
    fs::remove_file(&file).expect("remove");
    assert_eq!(p.approve("sato").code, 0);
    let good = fs::read_to_string(&file).expect("approvals");
    let mut edited: serde_json::Value = serde_json::from_str(good.trim()).expect("json");
    edited["time"] = "2020-06-01T01:00:00.000Z".into();
    fs::write(&file, format!("{good}{edited}\n")).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("forged")
        .to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("does not verify"), "{message}");

    // An approval dated in the future is refused.
    let future = seibi::journal::format_time(
        now.checked_add(jiff::SignedDuration::from_hours(24))
            .expect("time"),
    );
    fs::write(&file, p.keygen_approval("sato", "sato", &future)).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("future")
        .to_string();
    assert!(message.contains("in the future"), "{message}");

    // An approval of another plan is refused (the plan file was replaced after approval).
    fs::write(&file, good.replace(&plan.digest, "sha256:0000")).expect("write");
    let message = approval::check(&p.plan_path(), &plan, &roster, 1)
        .expect_err("other plan")
        .to_string();
    assert!(message.contains("is for plan sha256:0000"), "{message}");
}

#[test]
fn two_approvals_required_one_given_is_refused() {
    let p = Project::new("approval:\n  required: 2\n");
    let roster = p.roster();
    assert_eq!(roster.approvals_required(), 2);
    let out = p.approve("sato");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("1 of 2 required"), "{}", out.stdout);

    let err = approval::check(&p.plan_path(), &p.plan(), &roster, 2).expect_err("one of two");
    assert!(matches!(err, ApprovalError::TooFew { required: 2, .. }));
    let out = p.apply(&["--plan", "plan.json"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("needs approvals by 2 different approvers")
            && out.stderr.contains("has 1 (佐藤 花子 (sato))"),
        "{}",
        out.stderr
    );

    // The same approver twice still counts once.
    let again = p.keygen_approval(
        "sato",
        "sato",
        &seibi::journal::format_time(jiff::Timestamp::now()),
    );
    let file = approvals_path(&p.plan_path());
    let mut text = fs::read_to_string(&file).expect("approvals");
    text.push_str(&again);
    fs::write(&file, &text).expect("write");
    assert!(matches!(
        approval::check(&p.plan_path(), &p.plan(), &roster, 2),
        Err(ApprovalError::TooFew { .. })
    ));
    fs::write(&file, text.lines().next().expect("line").to_string() + "\n").expect("write");

    assert_eq!(p.approve("kato").code, 0);
    let approvals = approval::check(&p.plan_path(), &p.plan(), &roster, 2).expect("two");
    let who: Vec<&str> = approvals.iter().map(|a| a.approver.as_str()).collect();
    assert_eq!(who, ["sato", "kato"]);
    match approval::authorize_apply(
        &p.plan(),
        Some(&p.plan_path()),
        &p.path().join("roster.yml"),
        false,
        None,
    ) {
        Ok(Authorization::Approved { approvals, .. }) => assert_eq!(approvals.len(), 2),
        other => panic!("{other:?}"),
    }

    // `required: 0` is a roster error.
    fs::write(
        p.path().join("roster.yml"),
        fs::read_to_string(p.path().join("roster.yml"))
            .expect("roster")
            .replace("required: 2", "required: 0"),
    )
    .expect("write");
    let err = Roster::load(&p.path().join("roster.yml")).expect_err("invalid");
    assert!(
        err.to_string()
            .contains("`approval.required` must be at least 1")
            && err.to_string().contains("roster.yml:2:"),
        "{err}"
    );
}

#[test]
fn ssh_keygen_verifies_approval_signatures() {
    let p = Project::new("");
    assert_eq!(p.approve("sato").code, 0);
    let line: serde_json::Value = serde_json::from_str(
        fs::read_to_string(approvals_path(&p.plan_path()))
            .expect("approvals")
            .trim(),
    )
    .expect("json");
    let s = |k: &str| line[k].as_str().expect("string").to_string();
    let dir = p.path();
    let out = run_seibi(
        dir,
        &[
            "roster",
            "export-allowed-signers",
            "--approvers",
            "-o",
            "allowed_signers",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The documented recipe: rebuild the message from the line's fields.
    fs::write(
        dir.join("message"),
        format!(
            "seibi-plan v1 {} approver={} time={}\n",
            s("plan_digest"),
            s("approver"),
            s("time")
        ),
    )
    .expect("message");
    fs::write(dir.join("message.sig"), s("signature")).expect("sig");
    let verify_time = seibi::roster::ssh_time(s("time").parse().expect("time"));
    let verify = |principal: &str, namespace: &str| {
        let message = fs::File::open(dir.join("message")).expect("message");
        Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(dir.join("allowed_signers"))
            .args(["-I", principal, "-n", namespace, "-s"])
            .arg(dir.join("message.sig"))
            .arg(format!("-Overify-time={verify_time}"))
            .stdin(Stdio::from(message))
            .output()
            .expect("ssh-keygen runs")
    };
    let good = verify("sato", PLAN_NAMESPACE);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        stdout.contains("Good \"seibi-plan@seibi\" signature for sato"),
        "{stdout}"
    );
    // Not for another principal, nor as a journal signature.
    assert!(!verify("kato", PLAN_NAMESPACE).status.success());
    assert!(!verify("sato", "seibi-journal@seibi").status.success());
}

#[test]
fn emergency_work_needs_a_reason_and_is_recorded_and_flagged() {
    let p = Project::new("");
    // `--unapproved` alone is a usage error; an empty reason is refused.
    let out = p.apply(&["--job", "update", "--unapproved"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = p.apply(&["--job", "update", "--unapproved", "--reason", "  "]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("needs a `--reason`"), "{}", out.stderr);

    // The fixture's terminals are unreachable: the run records that, after the reason.
    fs::write(p.path().join("known_hosts"), "").expect("known_hosts");
    let reason = "窓口端末の障害対応（課長口頭承認済み）";
    let out = p.apply(&["--job", "update", "--unapproved", "--reason", reason]);
    assert!(out.stderr.contains("UNAPPROVED run"), "{}", out.stderr);
    let journal = fs::read_dir(p.path().join("logs"))
        .expect("logs")
        .next()
        .expect("a journal")
        .expect("entry")
        .path();
    let first: Line = serde_json::from_str(
        fs::read_to_string(&journal)
            .expect("journal")
            .lines()
            .next()
            .expect("line 1"),
    )
    .expect("line");
    match first.record {
        Record::RunStart(s) => assert_eq!(s.unapproved_reason.as_deref(), Some(reason)),
        other => panic!("line 1 is {other:?}"),
    }
    let run = journal
        .file_stem()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    // The journal still verifies, and every report says the run was unapproved.
    let verify = run_seibi(p.path(), &["journal", "verify"]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let show = run_seibi(p.path(), &["journal", "show", &run]);
    assert!(
        show.stdout.contains(&format!(
            "UNAPPROVED: applied without prior approval: {reason}"
        )),
        "{}",
        show.stdout
    );
    let report = run_seibi(p.path(), &["report", "result", &run]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(
        report.stdout.contains(&format!(
            "> **事前承認なしで実施された作業です（理由: {reason}）**"
        )),
        "{}",
        report.stdout
    );
    let month = first
        .time
        .parse::<jiff::Timestamp>()
        .expect("time")
        .to_zoned(seibi::roster::japan_time_zone().clone())
        .strftime("%Y-%m")
        .to_string();
    let monthly = run_seibi(p.path(), &["report", "monthly", &month, "--lang", "en"]);
    assert_eq!(monthly.code, 0, "{}", monthly.stderr);
    assert!(
        monthly.stdout.contains(&format!(
            "UNAPPROVED: run {run} was applied without prior approval (reason: {reason})"
        )),
        "{}",
        monthly.stdout
    );
}
