//! Travel times between sites and from the contractor's base office, from the inventory's
//! `travel:` of each site, with a fallback (by way of the base office, else a default) for a
//! journey it does not give.

use std::collections::HashMap;

use super::DEFAULT_TRAVEL_MINUTES;
use crate::inventory::Inventory;

/// Minutes between sites and from the base office, with a default for what is not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TravelTable {
    base: HashMap<String, u32>,
    between: HashMap<(String, String), u32>,
    default_minutes: u32,
}

impl TravelTable {
    /// An empty table: every journey takes `default_minutes`.
    pub fn new(default_minutes: u32) -> Self {
        TravelTable {
            default_minutes,
            ..TravelTable::default()
        }
    }

    /// The inventory's `travel:` of every site ([`DEFAULT_TRAVEL_MINUTES`] for the rest).
    pub fn from_inventory(inventory: &Inventory) -> Self {
        let mut table = TravelTable::new(DEFAULT_TRAVEL_MINUTES);
        for site in inventory.sites.values() {
            if let Some(minutes) = site.travel.base {
                table.set_base(&site.id, minutes);
            }
            for (other, &minutes) in &site.travel.sites {
                table.set(&site.id, other, minutes);
            }
        }
        table
    }

    /// Minutes assumed for a journey the table does not give (nor the base office's legs).
    pub fn default_minutes(&self) -> u32 {
        self.default_minutes
    }

    /// Minutes from the base office to `site`.
    pub fn set_base(&mut self, site: &str, minutes: u32) {
        self.base.insert(site.to_string(), minutes);
    }

    /// Minutes between `a` and `b`, both ways.
    pub fn set(&mut self, a: &str, b: &str, minutes: u32) {
        self.between.insert(pair(a, b), minutes);
    }

    /// Minutes from `from` (the base office when `None`) to `to`, and whether the table has it
    /// (when not: by way of the base office if it has both legs, else the default).
    pub fn minutes(&self, from: Option<&str>, to: &str) -> (u32, bool) {
        let known = match from {
            None => self.base.get(to),
            Some(from) if from == to => return (0, true),
            Some(from) => self.between.get(&pair(from, to)),
        };
        if let Some(&minutes) = known {
            return (minutes, true);
        }
        // No direct time: by way of the base office when both legs are known.
        match from.and_then(|f| Some(self.base.get(f)? + self.base.get(to)?)) {
            Some(via_base) => (via_base, false),
            None => (self.default_minutes, false),
        }
    }

    /// Sites the table names that are not among `sites`.
    pub fn unknown_sites<'a>(&'a self, sites: &[&str]) -> Vec<&'a str> {
        let mut out: Vec<&str> = self
            .base
            .keys()
            .map(String::as_str)
            .chain(
                self.between
                    .keys()
                    .flat_map(|(a, b)| [a.as_str(), b.as_str()]),
            )
            .filter(|s| !sites.contains(s))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}
