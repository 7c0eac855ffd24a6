//! Serde types exactly as written in seibi's inventory files; [`super::load`] validates them.

use serde::Deserialize;

use super::{ApprovedWindow, Become, Hours, JumpHost, Platform, SiteKind, Travel, Vars, WorkMode};

/// The keys a seibi inventory file may have at its top level.
pub const TOP_LEVEL_KEYS: &[&str] = &["vars", "defaults", "sites", "groups", "terminals"];

/// Values that apply to every terminal that does not set its own.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub port: Option<u16>,
    pub user: Option<String>,
    pub platform: Option<Platform>,
    #[serde(rename = "become")]
    pub become_method: Option<Become>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub name: String,
    pub name_en: Option<String>,
    #[serde(default)]
    pub kind: SiteKind,
    pub jump: Option<JumpHost>,
    pub capacity: u32,
    #[serde(default)]
    pub closed_days: Vec<jiff::civil::Date>,
    pub hours: Option<RawHours>,
    pub bandwidth_mbps: Option<f64>,
    #[serde(default)]
    pub vars: Vars,
    #[serde(default)]
    pub work: WorkMode,
    #[serde(default)]
    pub travel: Travel,
    #[serde(default)]
    pub approved_windows: Vec<ApprovedWindow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    pub open: jiff::civil::Time,
    pub close: jiff::civil::Time,
}

impl From<RawHours> for Hours {
    fn from(raw: RawHours) -> Self {
        Hours {
            open: raw.open,
            close: raw.close,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTerminal {
    pub site: String,
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub platform: Option<Platform>,
    #[serde(rename = "become")]
    pub become_method: Option<Become>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub vars: Vars,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub description: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub children: Vec<String>,
    #[serde(default)]
    pub vars: Vars,
}
