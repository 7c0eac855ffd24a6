//! seibi reads Ansible inventories as Ansible does, judged by ansible-core itself.
//!
//! Every folder under `tests/fixtures/ansible/` holds an Ansible inventory (`*.yml`, `*.ini`,
//! with `group_vars/` and `host_vars/`) and a seibi `sites.yml`. For each, `ansible-inventory
//! --list` (the real one: `.ci/run` installs ansible-core into `target/ansible-venv`) and
//! `seibi inventory show --format json` must agree on the hosts, the groups (members, children,
//! `ungrouped`, the top level), every effective variable of every host, and what seibi makes of
//! the connection variables: address, port, user, become and platform. Where a connection
//! variable holds a template (which `ansible-inventory` shows as written), the address, port,
//! user and become are what the `ansible` command itself templates (`debug` on every host, no
//! connection needed). Any difference fails.
//!
//! ansible-inventory is found through `SEIBI_ANSIBLE_INVENTORY`, else
//! `target/ansible-venv/bin/ansible-inventory`, else `PATH`. Without it the test fails and says
//! how to install it, unless `SEIBI_SKIP_ANSIBLE=1`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const INSTALL: &str = "python3 -m venv target/ansible-venv && target/ansible-venv/bin/pip install 'ansible-core>=2.19,<2.20' (or run .ci/run); set SEIBI_SKIP_ANSIBLE=1 to skip this test";

/// Inventories written as INI and as YAML that must read the same (in Ansible and in seibi).
const SAME_INVENTORY: &[(&str, &str)] =
    &[("city-ini", "city-yaml"), ("priority-ini", "priority-yaml")];

fn ansible_inventory() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SEIBI_ANSIBLE_INVENTORY") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let venv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ansible-venv/bin/ansible-inventory");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ansible-inventory"))
            .find(|p| p.is_file())
    })
}

/// The Ansible files of a case, in name order (seibi's `sites.yml` is not one).
fn sources(case: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case)
        .expect("case dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.is_file()
                && p.file_name().is_some_and(|n| n != "sites.yml")
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yml" | "yaml" | "ini")
                )
        })
        .collect();
    files.sort();
    files
}

/// An Ansible command (`program`) on the inventory `inputs`, run in `case` with its state in
/// `home` and no configuration file but ours: YAML and INI inventories only, an inventory it
/// cannot read fails.
fn ansible_command(program: PathBuf, case: &Path, inputs: &[PathBuf], home: &Path) -> Command {
    let mut cmd = Command::new(program);
    for source in inputs {
        cmd.arg("-i").arg(source);
    }
    cmd.env("ANSIBLE_HOME", home)
        .env("ANSIBLE_LOCAL_TEMP", home)
        .env("ANSIBLE_CONFIG", home.join("none.cfg"))
        .env("ANSIBLE_INVENTORY_ENABLED", "yaml,ini")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(case);
    cmd
}

/// `ansible-inventory --list` of `inputs` (files or a directory), run in `case`.
fn run_ansible(tool: &Path, case: &Path, inputs: &[PathBuf]) -> Value {
    let home = tempfile::tempdir().expect("tempdir");
    let out = ansible_command(tool.to_path_buf(), case, inputs, home.path())
        .arg("--list")
        .output()
        .expect("run ansible-inventory");
    assert!(
        out.status.success(),
        "ansible-inventory failed on {}:\n{}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ansible-inventory JSON")
}

fn run_seibi(case: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_seibi"))
        .arg("--inventory")
        .arg(case)
        .args(["inventory", "show", "--format", "json"])
        .output()
        .expect("run seibi");
    assert!(
        out.status.success(),
        "seibi failed on {}:\n{}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seibi JSON")
}

fn names(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Ansible's `boolean()`.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(
            s.to_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
        ),
        _ => false,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every difference between Ansible's reading and seibi's, one line each.
/// What Ansible itself connects with, for inventories whose connection variables hold templates
/// (`ansible-inventory --list` shows those as written): the `ansible` command next to
/// `ansible-inventory` runs `debug` (which needs no connection) on every host and prints the
/// templated address, port, user and become. `None` when no variable holds a template.
fn ansible_connections(
    tool: &Path,
    case: &Path,
    listed: &Value,
) -> Option<BTreeMap<String, Value>> {
    if !listed["_meta"].to_string().contains("{{") {
        return None;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let msg = r#"msg={{ {"address": ansible_host | default(ansible_ssh_host | default(inventory_hostname)), "port": ansible_port | default(ansible_ssh_port | default(22)), "user": ansible_user | default(ansible_ssh_user | default(None)), "become": ansible_become | default(False)} }}"#;
    let out = ansible_command(
        tool.with_file_name("ansible"),
        case,
        &sources(case),
        home.path(),
    )
    .arg("all")
    .args(["-m", "debug", "-a", msg])
    .output()
    .expect("run ansible");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible debug failed on {}:\n{text}\n{}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The default ad-hoc output: `HOST | SUCCESS => {` then JSON up to a `}` line.
    let mut found = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(host) = line.strip_suffix(" | SUCCESS => {") else {
            continue;
        };
        let mut json = String::from("{");
        for body in lines.by_ref() {
            json.push_str(body);
            if body == "}" {
                break;
            }
        }
        let result: Value = serde_json::from_str(&json).expect("ansible's JSON");
        found.insert(host.to_string(), result["msg"].clone());
    }
    Some(found)
}

fn differences(
    ansible: &Value,
    connections: Option<&BTreeMap<String, Value>>,
    seibi: &Value,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let hostvars = ansible["_meta"]["hostvars"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let terminals = seibi["terminals"].as_object().cloned().unwrap_or_default();
    // Ansible lists a host without variables in its groups only.
    let mut ansible_hosts: BTreeSet<String> = hostvars.keys().cloned().collect();
    for (name, group) in ansible.as_object().into_iter().flatten() {
        if name != "_meta" {
            ansible_hosts.extend(names(group.get("hosts")));
        }
    }
    let seibi_hosts: BTreeSet<String> = terminals.keys().cloned().collect();
    if ansible_hosts != seibi_hosts {
        diffs.push(format!(
            "hosts: ansible {ansible_hosts:?}, seibi {seibi_hosts:?}"
        ));
    }
    for host in ansible_hosts.intersection(&seibi_hosts) {
        // `ansible-inventory` writes a `!unsafe` value as `{"__ansible_unsafe": text}`.
        let want: serde_json::Map<String, Value> = hostvars
            .get(host)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.get("__ansible_unsafe").unwrap_or(v).clone()))
            .collect();
        let want = &want;
        let t = &terminals[host];
        let got: serde_json::Map<String, Value> = t["vars"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v["value"].clone()))
            .collect();
        for key in want.keys().chain(got.keys()).collect::<BTreeSet<_>>() {
            if want.get(key) != got.get(key) {
                diffs.push(format!(
                    "{host}: variable `{key}`: ansible {:?}, seibi {:?}",
                    want.get(key),
                    got.get(key)
                ));
            }
        }
        let var = |names: &[&str]| names.iter().rev().find_map(|n| want.get(*n));
        let templated = connections.and_then(|c| c.get(host));
        let (address, port, user) = match templated {
            Some(c) => (
                text(&c["address"]),
                text(&c["port"]).parse::<u64>().expect("port"),
                Some(&c["user"]).filter(|u| !u.is_null()).map(text),
            ),
            None => (
                var(&["ansible_ssh_host", "ansible_host"]).map_or_else(|| host.clone(), text),
                var(&["ansible_ssh_port", "ansible_port"])
                    .map_or(22, |p| text(p).parse::<u64>().expect("port")),
                var(&["ansible_ssh_user", "ansible_user"]).map(text),
            ),
        };
        let windows = var(&["ansible_connection"])
            .is_some_and(|c| matches!(text(c).as_str(), "winrm" | "psrp"))
            || var(&["ansible_shell_type"])
                .is_some_and(|s| matches!(text(s).as_str(), "powershell" | "cmd"));
        let become_sudo = !windows
            && templated.map_or_else(
                || var(&["ansible_become"]).is_some_and(truthy),
                |c| truthy(&c["become"]),
            );
        let checks = [
            ("address", Value::from(address), t["address"].clone()),
            ("port", Value::from(port), t["port"].clone()),
            (
                "user",
                user.map_or(Value::Null, Value::from),
                t["user"].clone(),
            ),
            (
                "become",
                Value::from(if become_sudo { "sudo" } else { "none" }),
                t["become"].clone(),
            ),
            (
                "platform",
                Value::from(if windows { "windows" } else { "linux" }),
                t["platform"].clone(),
            ),
        ];
        for (what, want, got) in checks {
            if want != got {
                diffs.push(format!(
                    "{host}: {what}: ansible says {want}, seibi has {got}"
                ));
            }
        }
    }
    // Groups: members and children of each, and the two Ansible makes itself.
    let groups = seibi["groups"].as_object().cloned().unwrap_or_default();
    let mut ansible_groups = BTreeSet::new();
    for (name, group) in ansible.as_object().into_iter().flatten() {
        if name == "_meta" {
            continue;
        }
        ansible_groups.insert(name.clone());
        ansible_groups.extend(names(group.get("children")));
    }
    ansible_groups.remove("all");
    ansible_groups.remove("ungrouped");
    let seibi_groups: BTreeSet<String> = groups.keys().cloned().collect();
    if ansible_groups != seibi_groups {
        diffs.push(format!(
            "groups: ansible {ansible_groups:?}, seibi {seibi_groups:?}"
        ));
    }
    for g in ansible_groups.intersection(&seibi_groups) {
        for field in ["hosts", "children"] {
            let want = names(ansible.get(g).and_then(|x| x.get(field)));
            let got = names(groups[g].get(if field == "hosts" {
                "members"
            } else {
                "children"
            }));
            if want != got {
                diffs.push(format!(
                    "group {g}: {field}: ansible {want:?}, seibi {got:?}"
                ));
            }
        }
    }
    let ungrouped: BTreeSet<String> = terminals
        .iter()
        .filter(|(_, t)| names(t.get("groups")).is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    let want = names(ansible.get("ungrouped").and_then(|g| g.get("hosts")));
    if want != ungrouped {
        diffs.push(format!("ungrouped: ansible {want:?}, seibi {ungrouped:?}"));
    }
    let mut children_of_something = BTreeSet::new();
    for g in groups.values() {
        children_of_something.extend(names(g.get("children")));
    }
    let mut top: BTreeSet<String> = seibi_groups
        .difference(&children_of_something)
        .cloned()
        .collect();
    top.insert("ungrouped".to_string());
    // Ansible also lists under `all` the groups written under `all:` that are children of
    // another group too; seibi has no `all` group to keep that in (every terminal is in all).
    let want = names(ansible.get("all").and_then(|g| g.get("children")));
    if !top.is_subset(&want) {
        diffs.push(format!("top-level groups: ansible {want:?}, seibi {top:?}"));
    }
    diffs
}

#[test]
fn seibi_reads_every_inventory_of_the_corpus_as_ansible_does() {
    let Some(tool) = ansible_inventory() else {
        if std::env::var("SEIBI_SKIP_ANSIBLE").as_deref() == Ok("1") {
            eprintln!("skipped: ansible-inventory not found and SEIBI_SKIP_ANSIBLE=1");
            return;
        }
        panic!("ansible-inventory (ansible-core 2.19) is needed for this test: {INSTALL}");
    };
    let corpus = common::fixture_dir("ansible");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "a corpus of at least 20 inventories, found {}",
        cases.len()
    );
    // ansible-inventory takes about a second to start: run the cases two at a time.
    type CaseResult = (Value, Option<BTreeMap<String, Value>>, Value);
    let results: BTreeMap<String, CaseResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|chunk| {
                let tool = &tool;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|case| {
                            let name = case
                                .file_name()
                                .expect("name")
                                .to_string_lossy()
                                .into_owned();
                            let listed = run_ansible(tool, case, &sources(case));
                            let connections = ansible_connections(tool, case, &listed);
                            (name, (listed, connections, run_seibi(case)))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread"))
            .collect()
    });
    let mut report = Vec::new();
    let mut checked = 0;
    let mut templated = 0;
    for (name, (ansible, connections, seibi)) in &results {
        templated += connections.as_ref().map_or(0, BTreeMap::len);
        let diffs = differences(ansible, connections.as_ref(), seibi);
        checked += seibi["terminals"].as_object().map_or(0, |t| t.len());
        for d in diffs {
            report.push(format!("{name}: {d}"));
        }
    }
    for (ini, yaml) in SAME_INVENTORY {
        let (a_ini, _, s_ini) = &results[*ini];
        let (a_yaml, _, s_yaml) = &results[*yaml];
        if a_ini["_meta"] != a_yaml["_meta"] {
            report.push(format!(
                "{ini} and {yaml} are not the same inventory to Ansible"
            ));
        }
        let strip = |v: &Value| {
            let mut v = v.clone();
            for t in v["terminals"].as_object_mut().into_iter().flatten() {
                for var in t.1["vars"].as_object_mut().into_iter().flatten() {
                    var.1.as_object_mut().expect("var").remove("at");
                }
            }
            v
        };
        if strip(s_ini) != strip(s_yaml) {
            report.push(format!("{ini} and {yaml} read differently in seibi"));
        }
    }
    assert!(
        report.is_empty(),
        "seibi and ansible-inventory disagree ({} differences):\n{}",
        report.len(),
        report.join("\n")
    );
    assert!(
        templated >= 4,
        "the corpus has hosts with templated connection variables, checked by `ansible` itself"
    );
    eprintln!(
        "{} inventories, {checked} hosts ({templated} with templated connection variables): seibi agrees with Ansible",
        results.len()
    );
}

/// An inventory directory is read as Ansible reads one: `hosts` without an extension is INI,
/// `*.json` is YAML, `*.bak`, `*.md`, hidden files and the like are skipped, `group_vars/`
/// applies; an `ansible.cfg` whose `remote_user` every host overrides is no error. (`hosts`
/// was skipped once: the classic Ansible layout gave no terminals and no word.)
#[test]
fn an_inventory_directory_is_read_as_ansible_reads_a_directory() {
    let Some(tool) = ansible_inventory() else {
        if std::env::var("SEIBI_SKIP_ANSIBLE").as_deref() == Ok("1") {
            return;
        }
        panic!("ansible-inventory (ansible-core 2.19) is needed for this test: {INSTALL}");
    };
    let dir = common::fixture_dir("ansible-directory");
    let mut ansible = run_ansible(&tool, &dir, std::slice::from_ref(&dir));
    // Ansible reads seibi's own sites.yml as a group `sites` with keys it skips; seibi knows
    // the file as its sites.
    ansible.as_object_mut().expect("groups").remove("sites");
    if let Some(top) = ansible["all"]["children"].as_array_mut() {
        top.retain(|g| g != "sites");
    }
    let seibi = run_seibi(&dir);
    let diffs = differences(&ansible, None, &seibi);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let hosts: BTreeSet<&String> = seibi["terminals"]
        .as_object()
        .expect("terminals")
        .keys()
        .collect();
    assert_eq!(
        hosts.len(),
        3,
        "w1 (hosts), w2 (hosts) and j1 (more.json): {hosts:?}"
    );
}

/// `seibi inventory show HOST` names the place of each winning value (no ansible-core needed).
#[test]
fn inventory_show_names_where_each_variable_comes_from() {
    let out = Command::new(env!("CARGO_BIN_EXE_seibi"))
        .current_dir(common::fixture_dir("ansible"))
        .args([
            "--inventory",
            "measured-host-over-later-group",
            "inventory",
            "show",
            "h1",
        ])
        .output()
        .expect("run seibi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}
