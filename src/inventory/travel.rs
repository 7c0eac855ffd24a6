//! What a site says about the people who do its work: whether a crew must be there
//! ([`WorkMode`]), how long the journey to it takes ([`Travel`]), and the out-of-hours windows
//! the city has approved for it ([`ApprovedWindow`]). The crew scheduler
//! ([`crate::schedule::crew`]) reads them; nothing here is needed to connect to a terminal.
//!
//! ```yaml
//! sites:
//!   chuo:
//!     work: on_site                  # default; `remote`: through the jump host, no travel
//!     travel: { base: 15, sites: { kita: 20, higashi: 25 } }   # minutes, either direction
//!     approved_windows:              # out-of-hours work the city agreed to beforehand
//!       - { date: 2026-10-03, start: "09:00", end: "12:00", approval: 情報政策課 2026-09-20 }
//! ```

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a crew must be at the site to do its work.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum WorkMode {
    /// A crew travels there and works in the office (the default).
    #[default]
    OnSite,
    /// A crew works from where it is, through the jump host: no travel, but its time is spent.
    Remote,
}

impl WorkMode {
    /// Whether a crew must be there.
    pub fn is_on_site(&self) -> bool {
        matches!(self, WorkMode::OnSite)
    }
}

/// Travel times from a site, in minutes: from the contractor's base office, and to other sites
/// (a time given on either of two sites applies both ways).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Travel {
    /// Minutes from the base office to this site.
    #[serde(default)]
    pub base: Option<u32>,
    /// Minutes from this site to others, by site id.
    #[serde(default)]
    pub sites: BTreeMap<String, u32>,
}

impl Travel {
    /// Whether nothing is given.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.sites.is_empty()
    }
}

/// Out-of-hours work the city approved for a site on a date (the contract allows it with the
/// city's prior consent). It is part of the plan (the inventory entry is pinned), so the plan's
/// approval covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovedWindow {
    /// The day.
    #[schemars(with = "String")]
    pub date: Date,
    /// When work may start (Japan time).
    #[schemars(with = "String")]
    pub start: Time,
    /// When work must end (Japan time, the same day).
    #[schemars(with = "String")]
    pub end: Time,
    /// Who approved it, when (a reference for the documents).
    #[serde(default)]
    pub approval: Option<String>,
}
