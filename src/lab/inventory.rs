//! Writing a fleet as a seibi inventory (sites and terminals), so that a playbook can be
//! rehearsed on the lab hosts like on a city's real terminals. The YAML is written by hand
//! (the schema is two flat maps) so that the YAML crate stays inside `source/`.

use super::{LabError, LabHost};

/// Renders an inventory that spreads `hosts` over `sites` in contiguous, balanced blocks:
/// 5 hosts over 2 sites give 3 to the first and 2 to the second.
pub(crate) fn render(hosts: &[LabHost], sites: &[&str]) -> Result<String, LabError> {
    if sites.is_empty() {
        return Err(LabError::InvalidSpec(
            "an inventory needs at least one site".into(),
        ));
    }
    let site_of = |index: usize| site_index(index, hosts.len(), sites.len());
    let mut yaml = format!(
        "# Written by seibi lab: {} hosts over {} sites.\nsites:\n",
        hosts.len(),
        sites.len()
    );
    for (number, site) in sites.iter().enumerate() {
        let capacity = (0..hosts.len()).filter(|&i| site_of(i) == number).count();
        yaml.push_str(&format!(
            "  {}: {{ name: {}, capacity: {} }}\n",
            scalar(site),
            scalar(&format!("Lab site {site}")),
            capacity.max(1)
        ));
    }
    yaml.push_str("terminals:\n");
    for (index, host) in hosts.iter().enumerate() {
        yaml.push_str(&format!(
            "  {}: {{ site: {}, address: {}, port: {}, user: root, platform: linux, tags: [lab] }}\n",
            scalar(host.name()),
            scalar(sites[site_of(index)]),
            host.address(),
            host.port()
        ));
    }
    Ok(yaml)
}

/// The site (index into `sites`) of host `index` of `hosts`: contiguous, balanced blocks.
fn site_index(index: usize, hosts: usize, sites: usize) -> usize {
    index * sites / hosts.max(1)
}

/// The site each of `hosts` hosts is placed in by the inventory a fleet writes
/// ([`Fleet::write_inventory`](super::Fleet::write_inventory), and so by `seibi lab up`).
pub fn spread<'a>(hosts: usize, sites: &[&'a str]) -> Vec<&'a str> {
    (0..hosts)
        .filter_map(|index| sites.get(site_index(index, hosts, sites.len())).copied())
        .collect()
}

/// A YAML scalar: plain when it is a simple name, else double-quoted (JSON string syntax is
/// valid YAML).
fn scalar(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !matches!(
            text,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_owned()
    } else {
        serde_json::Value::String(text.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::FleetSpec;

    #[test]
    fn spreads_hosts_over_sites_in_blocks() {
        let spec = FleetSpec::new(5, "/tmp/x");
        let hosts: Vec<LabHost> = (0..5)
            .map(|i| LabHost::for_tests(&spec.host_name(i), spec.host_address(i), 22))
            .collect();
        let yaml = render(&hosts, &["lab-a", "lab b"]).expect("two sites");
        assert_eq!(
            yaml,
            r#"# Written by seibi lab: 5 hosts over 2 sites.
sites:
  lab-a: { name: "Lab site lab-a", capacity: 3 }
  "lab b": { name: "Lab site lab b", capacity: 2 }
terminals:
  seibi-lab-01: { site: lab-a, address: 127.0.1.1, port: 22, user: root, platform: linux, tags: [lab] }
  seibi-lab-02: { site: lab-a, address: 127.0.1.2, port: 22, user: root, platform: linux, tags: [lab] }
  seibi-lab-03: { site: lab-a, address: 127.0.1.3, port: 22, user: root, platform: linux, tags: [lab] }
  seibi-lab-04: { site: "lab b", address: 127.0.1.4, port: 22, user: root, platform: linux, tags: [lab] }
  seibi-lab-05: { site: "lab b", address: 127.0.1.5, port: 22, user: root, platform: linux, tags: [lab] }
"#
        );
    }

    #[test]
    fn needs_a_site() {
        assert!(render(&[], &[]).is_err());
    }
}
