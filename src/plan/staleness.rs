//! The staleness check: what differs between the inputs of a saved plan and the plan the same
//! request makes now, said for people (`apply` refuses a stale plan and shows this).

use std::collections::{BTreeMap, BTreeSet};

use super::{InputFile, Plan};

/// What differs between the inputs of two plans made for the same request, for people.
pub fn changed_inputs(old: &Plan, new: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if old.seibi_version != new.seibi_version {
        out.push(format!(
            "seibi version: {} -> {}",
            old.seibi_version, new.seibi_version
        ));
    }
    if old.inputs.inventory_sha256 != new.inputs.inventory_sha256 {
        out.push(
            "inventory: the sites or terminals in the plan (or their variables) changed".into(),
        );
    }
    let files = |label: &str, a: &[InputFile], b: &[InputFile], out: &mut Vec<String>| {
        for f in a {
            match b.iter().find(|g| g.path == f.path) {
                Some(g) if g.sha256 != f.sha256 => out.push(format!("{label} {} changed", f.path)),
                None => out.push(format!("{label} {} is no longer used", f.path)),
                _ => {}
            }
        }
        for g in b {
            if !a.iter().any(|f| f.path == g.path) {
                out.push(format!("{label} {} is new", g.path));
            }
        }
    };
    files(
        "playbook",
        &old.inputs.playbooks,
        &new.inputs.playbooks,
        &mut out,
    );
    files(
        "template",
        &old.inputs.templates,
        &new.inputs.templates,
        &mut out,
    );
    for a in &old.inputs.artifacts {
        match new
            .inputs
            .artifacts
            .iter()
            .find(|b| b.job == a.job && b.name == a.name)
        {
            Some(b) if b.sha256 != a.sha256 => out.push(format!(
                "artifact {}/{}: SHA-256 {} -> {}",
                a.job, a.name, a.sha256, b.sha256
            )),
            None => out.push(format!("artifact {}/{} is no longer used", a.job, a.name)),
            _ => {}
        }
    }
    for s in &old.inputs.secrets {
        match new.inputs.secrets.iter().find(|t| t.name == s.name) {
            Some(t) if t.version != s.version => out.push(format!(
                "secret {}: version {:?} -> {:?}",
                s.name, s.version, t.version
            )),
            None => out.push(format!("secret {} is no longer used", s.name)),
            _ => {}
        }
    }
    let pins = |plan: &Plan| -> BTreeMap<String, String> {
        plan.inputs
            .host_keys
            .iter()
            .map(|p| (p.terminal.clone(), p.fingerprints.join(",")))
            .collect()
    };
    let (old_pins, new_pins) = (pins(old), pins(new));
    for terminal in old_pins
        .keys()
        .chain(new_pins.keys())
        .collect::<BTreeSet<_>>()
    {
        let (a, b) = (old_pins.get(terminal), new_pins.get(terminal));
        if a != b {
            out.push(format!(
                "host key pinned for {terminal}: {} -> {}",
                a.map_or("none", String::as_str),
                b.map_or("none", String::as_str)
            ));
        }
    }
    for (a, b) in old.jobs.iter().zip(&new.jobs) {
        if a != b {
            out.push(format!("job {}: its metadata or targets changed", a.id));
        }
    }
    if out.is_empty() && old.schedule != new.schedule {
        out.push(
            "schedule: the visits or the timetable differ (calendars, closed days, hours or \
             capacities changed)"
                .into(),
        );
    }
    if out.is_empty() {
        out.push("the planned tasks differ (for example a variable used by a template)".into());
    }
    out
}
