//! `seibi plan` on fixture projects: the documents themselves (snapshots), the JSON schema,
//! round trips, and a digest that moves whenever an input moves.

mod common;

use common::{fixture_dir, overlay_project, run_seibi};
use seibi::plan::Plan;

fn plan_json(dir: &std::path::Path, extra: &[&str]) -> Plan {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let out = run_seibi(dir, &args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    Plan::from_json(&out.stdout).expect("a valid plan")
}

#[test]
fn text_markdown_and_json_documents() {
    let dir = overlay_project(None);
    let text = run_seibi(dir.path(), &["plan", "--verbose"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("base_text", text.stdout);
    let ja = run_seibi(
        dir.path(),
        &["plan", "--format", "markdown", "--lang", "ja"],
    );
    insta::assert_snapshot!("base_markdown_ja", ja.stdout);
    let en = run_seibi(dir.path(), &["plan", "--format", "markdown"]);
    assert!(en.stdout.starts_with("# Work procedure\n"));
    assert!(ja.stdout.starts_with("# 作業手順書\n"));
    let json = run_seibi(dir.path(), &["plan", "--format", "json"]);
    insta::assert_snapshot!("base_json", json.stdout);
}

#[test]
fn order_needs_and_skips() {
    let dir = overlay_project(None);
    let plan = plan_json(dir.path(), &[]);
    let chuo_t01 = &plan.sites[0].terminals[0];
    assert_eq!(chuo_t01.id, "chuo-t01");
    let keys: Vec<&str> = chuo_t01.tasks.iter().map(|t| t.key.as_str()).collect();
    // The update job comes first by kind, but its install needs settings/ntp, which moves up.
    assert_eq!(
        keys,
        [
            "settings/ntp",
            "update/install",
            "update/restart",
            "settings/syslog",
            "settings/lock"
        ]
    );
    assert_eq!(chuo_t01.tasks[1].needs, ["settings/ntp"]);
    assert!(chuo_t01.tasks[2].handler);
    let chuo_t02 = &plan.sites[0].terminals[1];
    let lock = chuo_t02
        .tasks
        .iter()
        .find(|t| t.key == "settings/lock")
        .expect("lock task");
    assert_eq!(
        lock.skip.as_deref(),
        Some("when `'counter' in terminal.groups` is false")
    );
    assert_eq!(plan.totals.skipped, 1);
    // Secrets appear by name only.
    let pins: Vec<(&str, Option<u64>)> = plan
        .inputs
        .secrets
        .iter()
        .map(|s| (s.name.as_str(), s.version))
        .collect();
    assert_eq!(
        pins,
        [("syslog_token", None)],
        "no store in the base project: no version"
    );
    let syslog = &chuo_t01.tasks[3];
    let content = syslog.args["content"].as_str().expect("rendered content");
    assert!(content.contains("[[secret:syslog_token]]"), "{content}");
    assert!(
        content.contains("log01.city.example"),
        "site variable rendered: {content}"
    );
}

#[test]
fn selection_narrows_jobs_and_terminals() {
    let dir = overlay_project(None);
    let plan = plan_json(dir.path(), &["--job", "update", "--site", "kita"]);
    assert_eq!(plan.jobs.len(), 1);
    assert_eq!(plan.totals.terminals, 1);
    assert_eq!(plan.sites[0].terminals[0].id, "kita-t01");
    // The update's install needs settings/ntp, which this plan leaves out: said, not hidden.
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("needs `settings/ntp`, which is not in this plan")),
        "{:?}",
        plan.warnings
    );
    let out = run_seibi(dir.path(), &["plan", "--job", "updte"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no job `updte`"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `update`?"),
        "{}",
        out.stderr
    );
    let out = run_seibi(dir.path(), &["plan", "--site", "kitaa"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("did you mean `kita`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn json_round_trips_and_matches_the_documented_schema() {
    let dir = overlay_project(None);
    let out = run_seibi(dir.path(), &["plan", "--format", "json"]);
    let plan = Plan::from_json(&out.stdout).expect("plan");
    assert_eq!(
        plan.to_json() + "\n",
        out.stdout,
        "serializing again gives the same bytes"
    );

    let documented: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json"),
        )
        .expect("docs/plan.schema.json"),
    )
    .expect("schema is JSON");
    assert_eq!(
        documented,
        Plan::json_schema(),
        "docs/plan.schema.json is out of date: regenerate it with `cargo test --test plan -- --ignored write_schema`"
    );
    let validator = jsonschema::validator_for(&documented).expect("a valid JSON Schema");
    let instance: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // A plan with an unknown field or a wrong type is not a plan.
    let mut broken = instance.clone();
    broken["totals"]["tasks"] = serde_json::json!("many");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn become_shows_beside_the_login_user_and_only_when_set() {
    let dir = overlay_project(None);
    let without = run_seibi(dir.path(), &["plan", "--format", "json"]);
    assert!(
        !without.stdout.contains("\"become\""),
        "a plan without become says nothing of it, so its digest stays what it was"
    );
    common::replace_in_file(
        &dir.path().join("inventory/sites.yml"),
        "defaults: { user: admin }",
        "defaults: { user: admin, become: sudo }",
    );

    let plan = plan_json(dir.path(), &[]);
    let before = Plan::from_json(&without.stdout).expect("plan");
    assert_ne!(plan.digest, before.digest);
    assert_ne!(plan.inputs.inventory_sha256, before.inputs.inventory_sha256);
    let terminal = |id: &str| {
        plan.sites
            .iter()
            .flat_map(|s| &s.terminals)
            .find(|t| t.id == id)
            .expect("planned")
    };
    assert_eq!(
        terminal("chuo-t01").become_method,
        seibi::inventory::Become::Sudo
    );
    // Windows terminals are in no plan (their jobs are refused); the inventory says it.
    let shown = run_seibi(
        dir.path(),
        &["inventory", "show", "kita-w01", "--format", "json"],
    );
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).expect("json");
    assert_eq!(
        shown["become"], "none",
        "the defaults' become is for Linux terminals"
    );

    let text = run_seibi(dir.path(), &["plan", "--verbose"]);
    assert!(
        text.stdout
            .contains("\n  chuo-t01 admin@10.1.0.11:22 (sudo) linux\n"),
        "{}",
        text.stdout
    );
    let markdown = run_seibi(dir.path(), &["plan", "--format", "markdown"]);
    assert!(
        markdown
            .stdout
            .contains("| chuo-t01 | 10.1.0.11:22 | admin (sudo) |"),
        "{}",
        markdown.stdout
    );

    let json = run_seibi(dir.path(), &["plan", "--format", "json"]);
    let instance: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(instance["sites"][0]["terminals"][0]["become"], "sudo");
    let validator = jsonschema::validator_for(&Plan::json_schema()).expect("schema");
    assert!(validator.is_valid(&instance));
    let mut broken = instance.clone();
    broken["sites"][0]["terminals"][0]["become"] = serde_json::json!("su");
    assert!(
        !validator.is_valid(&broken),
        "only none and sudo are documented"
    );
}

#[test]
#[ignore = "writes docs/plan.schema.json; run when the plan types change"]
fn write_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json");
    let text = serde_json::to_string_pretty(&Plan::json_schema()).expect("schema") + "\n";
    std::fs::write(path, text).expect("write schema");
}

#[test]
fn edited_plan_is_refused() {
    let dir = overlay_project(None);
    let out = run_seibi(dir.path(), &["plan", "--format", "json"]);
    let edited = out
        .stdout
        .replace("/etc/seibi/ntp.conf", "/etc/seibi/evil.conf");
    let err = Plan::from_json(&edited).expect_err("digest mismatch");
    assert!(err.contains("edited after it was made"), "{err}");
}

#[test]
fn digest_moves_with_every_input_and_only_then() {
    let base = overlay_project(None);
    let digest = |dir: &std::path::Path| plan_json(dir, &[]).digest;
    let original = digest(base.path());
    assert_eq!(original, digest(base.path()), "same inputs, same digest");

    let edits: [(&str, &str, &str); 4] = [
        (
            "inventory/sites.yml",
            "ntp.city.example",
            "ntp2.city.example",
        ),
        ("inventory/terminals.yml", "10.2.0.11", "10.2.0.21"),
        ("playbooks/templates/forward.j2", ":6514", ":514"),
        (
            "playbooks/settings.yml",
            "title: Time and log settings",
            "title: Time settings",
        ),
    ];
    for (file, from, to) in edits {
        let dir = overlay_project(None);
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} contains {from}");
        std::fs::write(&path, text.replace(from, to)).expect("write");
        assert_ne!(
            digest(dir.path()),
            original,
            "editing {file} changes the digest"
        );
    }
}

#[test]
fn the_shipped_example_checks_and_plans() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run_seibi(root, &["check"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ok: 11 sites, 72 terminals, 3 groups, 7 jobs, 16 tasks\n"
    );
    let plan = plan_json(root, &[]);
    assert_eq!(plan.totals.sites, 11);
    let names: Vec<&str> = plan.sites.iter().map(|s| s.name.as_str()).collect();
    for ward in [
        "中央区役所",
        "北区役所",
        "東区役所",
        "白石区役所",
        "厚別区役所",
        "豊平区役所",
        "清田区役所",
        "南区役所",
        "西区役所",
        "手稲区役所",
        "定山渓出張所",
    ] {
        assert!(names.contains(&ward), "{ward} in {names:?}");
    }
    let kinds: std::collections::BTreeSet<String> =
        plan.jobs.iter().map(|j| format!("{:?}", j.kind)).collect();
    assert_eq!(kinds.len(), 6, "one job of each kind: {kinds:?}");
    assert!(fixture_dir("base").is_dir());
    // The example has a secrets store: the plan pins the version from its index.
    let pin = &plan.inputs.secrets[0];
    assert_eq!((pin.name.as_str(), pin.version), ("syslog_token", Some(1)));
}

#[test]
fn a_changed_host_key_pin_makes_the_plan_stale_and_is_named() {
    let dir = overlay_project(None);
    let pin = |key: &str| {
        std::fs::write(
            dir.path().join("known_hosts"),
            format!("10.1.0.11 ssh-ed25519 {key}\n"),
        )
        .expect("known_hosts")
    };
    // Two real-format ed25519 keys (32 zero bytes and 32 0x01 bytes).
    pin("AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let before = plan_json(dir.path(), &[]);
    let pinned = &before.inputs.host_keys;
    assert_eq!(pinned.len(), 1, "only chuo-t01 has a pin: {pinned:?}");
    assert_eq!(pinned[0].terminal, "chuo-t01");
    assert!(pinned[0].fingerprints[0].starts_with("SHA256:"));
    pin("AAAAC3NzaC1lZDI1NTE5AAAAIAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB");
    let after = plan_json(dir.path(), &[]);
    assert_ne!(before.digest, after.digest);
    let changes = seibi::plan::changed_inputs(&before, &after);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0].starts_with("host key pinned for chuo-t01: SHA256:"),
        "{changes:?}"
    );
}
