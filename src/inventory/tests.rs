use std::path::Path;

use super::*;

fn load_text(files: &[(&str, &str)]) -> (Inventory, crate::source::Diagnostics) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    load(dir.path())
}

fn load_ok(files: &[(&str, &str)]) -> Inventory {
    let (inv, diags) = load_text(files);
    assert!(!diags.has_errors(), "unexpected errors:\n{diags}");
    inv
}

const LAYERED: &str = r#"
vars: { ntp: global.ntp, level: global, only_global: 1 }
sites:
  chuo: { name: 中央区役所, capacity: 2, vars: { level: site } }
  kita: { name: 北区役所, capacity: 2 }
groups:
  kiosks: { children: [lobby], vars: { level: group-kiosks, ntp: kiosk.ntp } }
  lobby: { vars: { level: group-lobby } }
  servers: { members: [kita-s1], vars: { level: group-servers } }
terminals:
  chuo-t1: { site: chuo, address: 10.0.0.1, user: admin, groups: [lobby], vars: { level: terminal } }
  chuo-t2: { site: chuo, address: 10.0.0.2, user: admin, groups: [lobby] }
  kita-s1: { site: kita, address: 10.0.1.1, user: admin, tags: [server] }
  kita-t1: { site: kita, address: 10.0.1.2, user: admin, groups: [kiosks], tags: [kiosk] }
"#;

#[test]
fn variable_precedence_global_group_site_terminal() {
    let inv = load_ok(&[("a.yml", LAYERED)]);
    let t1 = &inv.terminals["chuo-t1"];
    let t2 = &inv.terminals["chuo-t2"];
    let s1 = &inv.terminals["kita-s1"];
    let k1 = &inv.terminals["kita-t1"];
    assert_eq!(inv.vars_for(t1)["level"], "terminal");
    assert_eq!(inv.vars_for(t2)["level"], "site", "site beats groups");
    assert_eq!(
        inv.vars_for(s1)["level"],
        "group-servers",
        "group beats global"
    );
    // Nested groups: the child (lobby) is more specific than its parent (kiosks).
    let layers: Vec<String> = inv
        .var_layers(t2, "level")
        .into_iter()
        .map(|l| l.layer)
        .collect();
    assert_eq!(
        layers,
        ["global", "group:kiosks", "group:lobby", "site:chuo"],
        "layers lowest first"
    );
    assert_eq!(
        inv.vars_for(t2)["ntp"],
        "kiosk.ntp",
        "inherited from parent group"
    );
    assert_eq!(inv.vars_for(k1)["level"], "group-kiosks");
    assert_eq!(inv.vars_for(k1)["only_global"], 1);
}

#[test]
fn nested_group_membership() {
    let inv = load_ok(&[("a.yml", LAYERED)]);
    let ids = |t: &str| -> Vec<String> {
        inv.groups_of(&inv.terminals[t])
            .into_iter()
            .map(|g| g.id.clone())
            .collect()
    };
    assert_eq!(ids("chuo-t1"), ["kiosks", "lobby"]);
    assert_eq!(ids("kita-s1"), ["servers"]);
    assert!(ids("kita-t1") == ["kiosks"]);
}

#[test]
fn selectors_union_within_and_intersection_across_fields() {
    let inv = load_ok(&[("a.yml", LAYERED)]);
    let pick = |sel: Selector| -> Vec<String> {
        sel.select(&inv).into_iter().map(|t| t.id.clone()).collect()
    };
    assert_eq!(pick(Selector::default()).len(), 4);
    assert_eq!(
        pick(Selector {
            sites: vec!["kita".into()],
            ..Default::default()
        }),
        ["kita-s1", "kita-t1"]
    );
    assert_eq!(
        pick(Selector {
            groups: vec!["kiosks".into()],
            ..Default::default()
        }),
        ["chuo-t1", "chuo-t2", "kita-t1"],
        "nested group lobby counts as kiosks"
    );
    assert_eq!(
        pick(Selector {
            groups: vec!["kiosks".into()],
            sites: vec!["kita".into()],
            ..Default::default()
        }),
        ["kita-t1"]
    );
    assert_eq!(
        pick(Selector {
            tags: vec!["server".into(), "kiosk".into()],
            exclude: vec!["kita-t1".into()],
            ..Default::default()
        }),
        ["kita-s1"]
    );
    let problems = Selector {
        sites: vec!["chou".into()],
        tags: vec!["kiosks".into()],
        ..Default::default()
    }
    .problems(&inv, "job `x`");
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0].message, "job `x` names unknown site `chou`");
    assert_eq!(problems[0].hints, ["did you mean `chuo`?"]);
    assert_eq!(problems[1].hints, ["did you mean `kiosk`?"]);
}

#[test]
fn files_in_a_directory_merge_and_duplicates_are_reported() {
    let (inv, diags) = load_text(&[
        (
            "10-sites.yml",
            "sites:\n  chuo: { name: 中央区役所, capacity: 1 }\n",
        ),
        (
            "20-terminals.yml",
            "defaults: { user: admin, port: 2222 }\nterminals:\n  t1: { site: chuo, address: 10.0.0.1 }\n",
        ),
        (
            "30-more.yml",
            "terminals:\n  t1: { site: chuo, address: 10.0.0.9 }\n",
        ),
    ]);
    assert_eq!(inv.terminals["t1"].port, 2222);
    assert_eq!(inv.terminals["t1"].user, "admin");
    let errors: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("duplicate terminal id `t1`"));
    assert!(errors[0].contains("30-more.yml:2:3"), "{}", errors[0]);
    assert!(errors[0].contains("first defined at"), "{}", errors[0]);
    assert!(errors[0].contains("20-terminals.yml:3:3"), "{}", errors[0]);
}

#[test]
fn group_cycles_are_named() {
    let (_, diags) = load_text(&[(
        "a.yml",
        "groups:\n  a: { children: [b] }\n  b: { children: [c] }\n  c: { children: [a] }\n",
    )]);
    let text = diags.to_string();
    assert!(
        text.contains("groups contain each other: a -> b -> c -> a"),
        "{text}"
    );
}

#[test]
fn ansible_inventory_loads_to_the_same_terminals() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory");
    let (seibi, d1) = load(&fixtures.join("seibi"));
    let (ansible, d2) = load(&fixtures.join("ansible"));
    assert!(!d1.has_errors(), "{d1}");
    assert!(!d2.has_errors(), "{d2}");
    assert_eq!(seibi.terminals.len(), 4);
    // Definition order differs between the two files; the set of terminals must not.
    assert_eq!(
        seibi
            .terminals
            .keys()
            .collect::<std::collections::BTreeSet<_>>(),
        ansible
            .terminals
            .keys()
            .collect::<std::collections::BTreeSet<_>>()
    );
    for (id, s) in &seibi.terminals {
        let a = &ansible.terminals[id];
        assert_eq!(
            (
                &s.site,
                &s.address,
                s.port,
                &s.user,
                s.become_method,
                s.platform,
                &s.tags
            ),
            (
                &a.site,
                &a.address,
                a.port,
                &a.user,
                a.become_method,
                a.platform,
                &a.tags
            ),
            "{id}"
        );
        // An Ansible host keeps its connection variables as variables, as Ansible does.
        let mut avars = ansible.vars_for(a);
        avars.retain(|k, _| !k.starts_with("ansible_") && !k.starts_with("seibi_"));
        assert_eq!(seibi.vars_for(s), avars, "vars of {id}");
        let groups = |inv: &Inventory, t: &Terminal| -> Vec<String> {
            inv.groups_of(t).into_iter().map(|g| g.id.clone()).collect()
        };
        assert_eq!(groups(&seibi, s), groups(&ansible, a), "groups of {id}");
    }
    let become_of = |id: &str| seibi.terminals[id].become_method;
    assert_eq!(become_of("chuo-t01"), Become::Sudo);
    assert_eq!(
        become_of("teine-t01"),
        Become::None,
        "the terminal's own wins"
    );
    assert_eq!(
        become_of("teine-w01"),
        Become::None,
        "Windows takes no sudo"
    );
}

const BECOME: &str = r#"
defaults: { user: admin, become: sudo }
sites:
  chuo: { name: 中央区役所, capacity: 2 }
terminals:
  t1: { site: chuo, address: 10.0.0.1 }
  t2: { site: chuo, address: 10.0.0.2, user: root, become: none }
  w1: { site: chuo, address: 10.0.0.3, user: Administrator, platform: windows }
"#;

#[test]
fn become_comes_from_the_terminal_then_the_defaults_for_linux_terminals() {
    let inv = load_ok(&[("a.yml", BECOME)]);
    assert_eq!(inv.terminals["t1"].become_method, Become::Sudo);
    assert_eq!(inv.terminals["t2"].become_method, Become::None);
    assert_eq!(inv.terminals["w1"].become_method, Become::None);
    let inv = load_ok(&[("a.yml", &BECOME.replace(", become: sudo", ""))]);
    assert_eq!(
        inv.terminals["t1"].become_method,
        Become::None,
        "absent: none"
    );
    // Serialized (the plan's inventory digest) only when set, so that inventories without
    // `become` keep their digests.
    let json = serde_json::to_value(&inv.terminals["t1"]).expect("json");
    assert!(json.get("become").is_none(), "{json}");
    let inv = load_ok(&[("a.yml", BECOME)]);
    let json = serde_json::to_value(&inv.terminals["t1"]).expect("json");
    assert_eq!(json["become"], "sudo");
}

#[test]
fn become_mistakes_are_explained() {
    let cases = [
        (
            BECOME.replace("become: sudo", "become: sodo"),
            ["unknown value `sodo`", "did you mean `sudo`?"],
        ),
        (
            BECOME.replace("become: sudo", "become: true"),
            ["not true", "write `become: sudo`"],
        ),
        (
            BECOME.replace("become: sudo", "becme: sudo"),
            ["unknown key `becme`", "did you mean `become`?"],
        ),
        (
            BECOME.replace("platform: windows", "platform: windows, become: sudo"),
            [
                "`w1` is a Windows terminal and cannot use `become: sudo`",
                "a.yml:8:3",
            ],
        ),
    ];
    for (text, expected) in cases {
        let (_, diags) = load_text(&[("a.yml", &text)]);
        let shown = diags.to_string();
        assert!(diags.has_errors(), "{text}");
        for part in expected {
            assert!(shown.contains(part), "`{part}` missing from:\n{shown}");
        }
    }
}

const ANSIBLE_SITES: &str = "sites:\n  chuo: { name: 中央区役所, capacity: 2 }\n";

#[test]
fn ansible_become_settings_are_read_and_checked() {
    let hosts = r#"
all:
  vars: { seibi_site: chuo, ansible_user: admin, ansible_become: yes }
  hosts:
    t1: { ansible_host: 10.0.0.1 }
    t2: { ansible_host: 10.0.0.2, ansible_become: false }
    t3: { ansible_host: 10.0.0.3, ansible_become_method: sudo, ansible_become_user: root }
    w1: { ansible_host: 10.0.0.4, ansible_shell_type: powershell, ansible_become_method: runas }
    t4: { ansible_host: 10.0.0.5, ansible_become_password: hunter2 }
"#;
    let (inv, diags) = load_text(&[("hosts.yml", hosts), ("sites.yml", ANSIBLE_SITES)]);
    assert!(!diags.has_errors(), "{diags}");
    let become_of = |id: &str| inv.terminals[id].become_method;
    assert_eq!(
        ["t1", "t2", "t3", "w1", "t4"].map(become_of),
        [
            Become::Sudo,
            Become::None,
            Become::Sudo,
            Become::None,
            Become::Sudo
        ]
    );
    let shown = diags.to_string();
    assert!(
        shown.contains("warning: Ansible host `t4`: `ansible_become_password` (set at ")
            && shown.contains("hosts.yml:9:35) is not used"),
        "{shown}"
    );
    assert!(shown.contains("NOPASSWD"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let vars = inv.vars_for(&inv.terminals["t4"]);
    assert!(!vars.contains_key("ansible_become_password"), "{vars:?}");

    for (host, expected) in [
        ("ansible_become_method: su", "seibi supports `sudo` only"),
        (
            "ansible_become_user: postgres",
            "is `postgres`; seibi becomes root only",
        ),
        ("ansible_become: maybe", "not a boolean"),
    ] {
        let text = format!(
            "all:\n  vars: {{ seibi_site: chuo, ansible_user: admin, ansible_become: true }}\n  hosts:\n    t1: {{ {host} }}\n"
        );
        let (_, diags) = load_text(&[("hosts.yml", &text), ("sites.yml", ANSIBLE_SITES)]);
        assert!(diags.has_errors(), "{host}");
        let shown = diags.to_string();
        assert!(shown.contains(expected), "{host}: {shown}");
        assert!(shown.contains("hosts.yml:4:"), "{host}: {shown}");
    }
}
