//! The roster (従事者名簿): who may apply changes and approve plans, with which SSH key, and
//! when.
//!
//! This module owns `roster.yml` (at the project root): reading it through
//! [`crate::source::YamlDocument`] into validated [`Person`] entries, answering "may this key act
//! as an operator at this instant?" ([`Roster::authorize_operator`]), and exporting the roster as
//! an OpenSSH `allowed_signers` file ([`Roster::allowed_signers`]) so that `ssh-keygen -Y verify`
//! enforces the same rules as seibi: the key, the namespace the role allows, and the validity
//! dates. [`key`] holds the key and signature types.
//!
//! # Format
//! ```yaml
//! people:
//!   - id: tanaka            # principal in allowed_signers and `operator` in journals
//!     name: 田中 太郎
//!     organisation: 中央区役所 情報政策課
//!     role: operator        # operator | approver | both
//!     key: ssh-ed25519 AAAAC3Nza... tanaka@ws01
//!     valid_from: 2026-04-01   # inclusive, Japan time
//!     valid_until: 2027-03-31  # inclusive, Japan time
//! ```
//! Validity dates are calendar days in Asia/Tokyo and both ends are inclusive: a key listed until
//! 2027-03-31 signs until 23:59:59 JST that day. A key belongs to one entry. The same `id` may
//! appear in several entries when a person's key is replaced (old key with its end date, new key
//! from its start date).
//!
//! An optional top-level `approval:` sets how many different approvers must sign a plan before
//! `seibi apply --plan` runs it ([`Roster::approvals_required`], default 1):
//! ```yaml
//! approval:
//!   required: 2
//! ```

pub mod availability;
pub mod key;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::source::{Diagnostic, Diagnostics, Location, SourceFile, YamlDocument};

pub use availability::{Availability, Day};
pub use key::{KeyError, PublicKey, Signature, SigningKey};

/// The SSHSIG namespace of journal checkpoint signatures. Written into `allowed_signers` for
/// operators and passed to `ssh-keygen -Y verify -n`.
pub const JOURNAL_NAMESPACE: &str = "seibi-journal@seibi";

/// The file name of the roster at the project root.
pub const ROSTER_FILE: &str = "roster.yml";

static TOKYO: LazyLock<TimeZone> = LazyLock::new(|| {
    // jiff's `tzdb-bundle-always` feature compiles the zone database into the binary, so this
    // lookup cannot fail at run time (the calendar's tests pin the same lookup).
    TimeZone::get(crate::calendar::TIME_ZONE_NAME)
        .expect("Asia/Tokyo is in jiff's bundled time-zone database")
});

/// The time zone the roster's dates are in (Asia/Tokyo).
pub fn japan_time_zone() -> &'static TimeZone {
    &TOKYO
}

/// What a person on the roster may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs `seibi apply` and signs its journal.
    Operator,
    /// Approves plans.
    Approver,
    /// Both.
    Both,
}

impl Role {
    /// Whether the role allows applying changes.
    pub fn is_operator(self) -> bool {
        matches!(self, Role::Operator | Role::Both)
    }

    /// Whether the role allows approving plans.
    pub fn is_approver(self) -> bool {
        matches!(self, Role::Approver | Role::Both)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Both => "both",
        })
    }
}

/// One roster entry: a person with one key and the days it is valid.
#[derive(Debug, Clone)]
pub struct Person {
    /// Short id (`tanaka`): the principal in `allowed_signers`, the `operator` in journals.
    pub id: String,
    /// Full name (`田中 太郎`).
    pub name: String,
    /// Organisation (department or contractor).
    pub organisation: String,
    /// What the person may do.
    pub role: Role,
    /// The person's SSH public key.
    pub key: PublicKey,
    /// First valid day (inclusive, Japan time).
    pub valid_from: Date,
    /// Last valid day (inclusive, Japan time).
    pub valid_until: Date,
    /// The days an operator can be sent to the sites (every day when absent).
    pub availability: Option<Availability>,
    /// Where the entry is in the roster file.
    pub location: Location,
}

impl Person {
    /// Whether `at` falls on a day from `valid_from` to `valid_until` (Japan time).
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        let day = at.to_zoned(TOKYO.clone()).date();
        self.valid_from <= day && day <= self.valid_until
    }

    /// The days the person can be sent: the roster's `availability`, within the validity dates.
    pub fn available(&self) -> Availability {
        let valid = Availability {
            from: Some(self.valid_from),
            until: Some(self.valid_until),
            ..Availability::always()
        };
        self.availability
            .as_ref()
            .map_or_else(|| valid.clone(), |a| a.and(&valid))
    }

    /// The first instant of validity (00:00 JST on `valid_from`).
    pub fn valid_after(&self) -> Option<Timestamp> {
        self.valid_from
            .to_zoned(TOKYO.clone())
            .ok()
            .map(|z| z.timestamp())
    }

    /// The last second of validity (23:59:59 JST on `valid_until`).
    pub fn valid_before(&self) -> Option<Timestamp> {
        let next = self.valid_until.tomorrow().ok()?;
        let start = next.to_zoned(TOKYO.clone()).ok()?.timestamp();
        start.checked_sub(SignedDuration::from_secs(1)).ok()
    }
}

/// Why a key may not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// No entry has the key.
    #[error(
        "key {fingerprint} is not on the roster {}; sign with a key listed there, or ask for the key to be added",
        roster.display()
    )]
    NotOnRoster {
        /// The key's fingerprint.
        fingerprint: String,
        /// The roster file.
        roster: PathBuf,
    },
    /// The entry ended before the instant.
    #[error("{id} ({name}) was on the roster only until {until}; the key had expired on {on}")]
    Expired {
        /// Person id.
        id: String,
        /// Person name.
        name: String,
        /// Last valid day.
        until: Date,
        /// The day (Japan time) the key was used.
        on: Date,
    },
    /// The entry starts after the instant.
    #[error("{id} ({name}) is on the roster only from {from}; the key is not yet valid on {on}")]
    NotYetValid {
        /// Person id.
        id: String,
        /// Person name.
        name: String,
        /// First valid day.
        from: Date,
        /// The day (Japan time) the key was used.
        on: Date,
    },
    /// The person may not apply changes.
    #[error(
        "{id} ({name}) is on the roster as {role}, not as an operator; only operators may apply and sign journals"
    )]
    NotAnOperator {
        /// Person id.
        id: String,
        /// Person name.
        name: String,
        /// The person's role.
        role: Role,
    },
    /// The person may not approve plans.
    #[error("{id} ({name}) is on the roster as {role}, not as an approver")]
    NotAnApprover {
        /// Person id.
        id: String,
        /// Person name.
        name: String,
        /// The person's role.
        role: Role,
    },
}

/// A roster that could not be loaded; every problem found, with places.
#[derive(Debug, thiserror::Error)]
#[error("{diagnostics}")]
pub struct RosterLoadError {
    /// The problems.
    pub diagnostics: Diagnostics,
}

impl From<Diagnostic> for RosterLoadError {
    fn from(d: Diagnostic) -> Self {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(d);
        Self { diagnostics }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoster {
    #[serde(default)]
    #[allow(dead_code)] // read entry by entry below so every entry's problems are reported
    people: serde::de::IgnoredAny,
    #[serde(default)]
    approval: Option<RawApprovalPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovalPolicy {
    required: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    id: String,
    name: String,
    organisation: String,
    role: Role,
    key: String,
    valid_from: Date,
    valid_until: Date,
    #[serde(default)]
    availability: Option<Availability>,
}

/// The validated roster.
#[derive(Debug, Clone)]
pub struct Roster {
    path: PathBuf,
    people: Vec<Person>,
    approvals_required: usize,
}

impl Roster {
    /// Reads and validates a roster file. Any problem rejects the whole roster: a half-read
    /// list of who may change the city's terminals is worse than none.
    pub fn load(path: &Path) -> Result<Roster, RosterLoadError> {
        let file = SourceFile::read(path).map_err(|d| {
            d.hint(format!(
                "the roster (従事者名簿) lists operators and their SSH keys; create `{ROSTER_FILE}` at the project root"
            ))
        })?;
        Self::parse(file)
    }

    /// Validates a roster from text already read (`file` names where it came from).
    pub fn parse(file: Arc<SourceFile>) -> Result<Roster, RosterLoadError> {
        let path = file.path().to_path_buf();
        let doc = YamlDocument::parse(file)?;
        let mut diags = Diagnostics::new();
        let root = doc.root();
        let mut approvals_required = 1;
        if let Some(raw) = diags.take(root.deserialize::<RawRoster>())
            && let Some(policy) = raw.approval
        {
            if policy.required == 0 {
                let at = root
                    .get("approval")
                    .and_then(|n| n.get("required"))
                    .map(|n| n.location());
                diags.push(
                    Diagnostic::error("`approval.required` must be at least 1")
                        .at(at)
                        .hint("emergency work without approval is `seibi apply --unapproved --reason ...`, recorded in the journal"),
                );
            }
            approvals_required = policy.required as usize;
        }
        let mut people: Vec<Person> = Vec::new();
        let items = match root.get("people") {
            None => {
                diags.push(
                    Diagnostic::error("the roster has no `people:`")
                        .at(Some(root.location()))
                        .hint("add `people:` with one entry per operator or approver"),
                );
                Vec::new()
            }
            Some(node) => match node.items() {
                Some(items) => items,
                None => {
                    diags.push(
                        Diagnostic::error(format!(
                            "`people` must be a list, found {}",
                            node.kind()
                        ))
                        .at(Some(node.location())),
                    );
                    Vec::new()
                }
            },
        };
        for node in &items {
            let Some(raw) = diags.take(node.deserialize::<RawPerson>()) else {
                continue;
            };
            let at = |k: &str| {
                node.get(k)
                    .map_or_else(|| node.location(), |n| n.location())
            };
            let mut ok = true;
            if !crate::inventory::load_valid_id(&raw.id) {
                diags.push(
                    Diagnostic::error(format!("invalid person id `{}`", raw.id))
                        .at(Some(at("id")))
                        .hint("ids use ASCII letters, digits, `-`, `_` and `.` (they become principals in allowed_signers)"),
                );
                ok = false;
            }
            let key = match PublicKey::from_openssh(&raw.key) {
                Ok(key) => Some(key),
                Err(err) => {
                    diags.push(
                        Diagnostic::error(format!("bad key for `{}`: {err}", raw.id))
                            .at(Some(at("key")))
                            .hint("paste the whole line of the person's `.pub` file"),
                    );
                    None
                }
            };
            if raw.valid_from > raw.valid_until {
                diags.push(
                    Diagnostic::error(format!(
                        "`{}` is valid from {} but until {}, which is earlier",
                        raw.id, raw.valid_from, raw.valid_until
                    ))
                    .at(Some(at("valid_until"))),
                );
                ok = false;
            }
            if raw.valid_until.year() >= 9999 {
                diags.push(
                    Diagnostic::error("`valid_until` must be before year 9999")
                        .at(Some(at("valid_until")))
                        .hint("use the end of the contract or of the fiscal year"),
                );
                ok = false;
            }
            let Some(key) = key else { continue };
            if let Some(other) = people.iter().find(|p| p.key == key) {
                diags.push(
                    Diagnostic::error(format!(
                        "the key of `{}` is already listed for `{}`",
                        raw.id, other.id
                    ))
                    .at(Some(at("key")))
                    .hint(format!("first listed at {}", other.location))
                    .hint("a key belongs to one person; give each person their own key"),
                );
                continue;
            }
            if let Some(other) = people.iter().find(|p| p.id == raw.id && p.name != raw.name) {
                diags.push(
                    Diagnostic::error(format!(
                        "id `{}` is used for both `{}` and `{}`",
                        raw.id, other.name, raw.name
                    ))
                    .at(Some(at("id")))
                    .hint(format!("first used at {}", other.location))
                    .hint("an id may repeat only for the same person with a new key"),
                );
                continue;
            }
            if ok {
                people.push(Person {
                    id: raw.id,
                    name: raw.name,
                    organisation: raw.organisation,
                    role: raw.role,
                    key,
                    valid_from: raw.valid_from,
                    valid_until: raw.valid_until,
                    availability: raw.availability,
                    location: node.location(),
                });
            }
        }
        if diags.is_empty() && people.is_empty() {
            diags.push(
                Diagnostic::error("the roster lists nobody")
                    .at(Some(root.location()))
                    .hint("add at least one operator under `people:`"),
            );
        }
        if diags.has_errors() {
            return Err(RosterLoadError { diagnostics: diags });
        }
        Ok(Roster {
            path,
            people,
            approvals_required,
        })
    }

    /// The file the roster was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, in file order.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// How many different approvers must approve a plan before it is applied (`approval:
    /// required:`, default 1).
    pub fn approvals_required(&self) -> usize {
        self.approvals_required
    }

    /// The name of the person with roster id `id` (the first entry with that id).
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.people
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str())
    }

    /// The entry holding `key`, whatever its dates and role.
    pub fn find_by_key(&self, key: &PublicKey) -> Option<&Person> {
        self.people.iter().find(|p| &p.key == key)
    }

    /// The operator holding `key`, if the entry is valid at `at` and its role allows applying.
    pub fn authorize_operator(
        &self,
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<&Person, RosterError> {
        let person = self.authorize(key, at)?;
        if !person.role.is_operator() {
            return Err(RosterError::NotAnOperator {
                id: person.id.clone(),
                name: person.name.clone(),
                role: person.role,
            });
        }
        Ok(person)
    }

    /// The approver holding `key`, if the entry is valid at `at` and its role allows approving.
    pub fn authorize_approver(
        &self,
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<&Person, RosterError> {
        let person = self.authorize(key, at)?;
        if !person.role.is_approver() {
            return Err(RosterError::NotAnApprover {
                id: person.id.clone(),
                name: person.name.clone(),
                role: person.role,
            });
        }
        Ok(person)
    }

    fn authorize(&self, key: &PublicKey, at: Timestamp) -> Result<&Person, RosterError> {
        let person = self
            .find_by_key(key)
            .ok_or_else(|| RosterError::NotOnRoster {
                fingerprint: key.fingerprint(),
                roster: self.path.clone(),
            })?;
        let on = at.to_zoned(TOKYO.clone()).date();
        if on < person.valid_from {
            return Err(RosterError::NotYetValid {
                id: person.id.clone(),
                name: person.name.clone(),
                from: person.valid_from,
                on,
            });
        }
        if on > person.valid_until {
            return Err(RosterError::Expired {
                id: person.id.clone(),
                name: person.name.clone(),
                until: person.valid_until,
                on,
            });
        }
        Ok(person)
    }

    /// The roster as an OpenSSH `allowed_signers` file for journal checkpoints: one line per
    /// operator entry, principal = person id, `namespaces="seibi-journal@seibi"`, and
    /// `valid-after`/`valid-before` in UTC so `ssh-keygen -Y verify` enforces the roster's dates.
    pub fn allowed_signers(&self) -> String {
        self.allowed_signers_for(JOURNAL_NAMESPACE, |p| p.role.is_operator())
    }

    /// An `allowed_signers` file granting `namespace` to the entries `may_sign` picks (e.g.
    /// approvers for plan approvals).
    pub fn allowed_signers_for(
        &self,
        namespace: &str,
        may_sign: impl Fn(&Person) -> bool,
    ) -> String {
        let mut out = format!(
            "# allowed_signers exported by seibi from {}\n\
             # namespace {namespace}; validity from the roster's dates (Asia/Tokyo, inclusive) in UTC.\n\
             # Verify old signatures at their own time: ssh-keygen -Y verify ... -Overify-time=YYYYMMDDHHMMSSZ\n",
            self.path.display()
        );
        for person in self.people.iter().filter(|p| may_sign(p)) {
            let mut options = format!("namespaces=\"{namespace}\"");
            if let Some(after) = person.valid_after() {
                options.push_str(&format!(",valid-after=\"{}\"", ssh_time(after)));
            }
            if let Some(before) = person.valid_before() {
                options.push_str(&format!(",valid-before=\"{}\"", ssh_time(before)));
            }
            out.push_str(&format!(
                "# {} ({}), {}, {} to {}\n{} {options} {}\n",
                sanitize_comment(&person.name),
                sanitize_comment(&person.organisation),
                person.role,
                person.valid_from,
                person.valid_until,
                person.id,
                person.key.to_openssh()
            ));
        }
        out
    }
}

/// A timestamp the way `ssh-keygen` reads times in `allowed_signers` and `-Overify-time`:
/// `YYYYMMDDHHMMSSZ`, UTC.
pub fn ssh_time(at: Timestamp) -> String {
    at.strftime("%Y%m%d%H%M%SZ").to_string()
}

/// Keeps a roster field on one comment line.
fn sanitize_comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdU8NJAeswxoF946GivXy0dC+yGhLMXnFg/PWOH910V alice@pc";

    fn roster(text: &str) -> Result<Roster, RosterLoadError> {
        Roster::parse(SourceFile::new("roster.yml", text))
    }

    fn alice_roster(role: &str, from: &str, until: &str) -> Roster {
        roster(&format!(
            "people:\n  - id: alice\n    name: 有栖 アリス\n    organisation: 中央区役所\n    role: {role}\n    key: {ALICE}\n    valid_from: {from}\n    valid_until: {until}\n"
        ))
        .expect("valid roster")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn validity_is_inclusive_in_japan_time() {
        let r = alice_roster("operator", "2026-04-01", "2027-03-31");
        let key = PublicKey::from_openssh(ALICE).expect("key");
        // 2026-03-31T15:00Z is 2026-04-01 00:00 JST: the first valid instant.
        assert_eq!(
            r.authorize_operator(&key, at("2026-03-31T15:00:00Z"))
                .expect("valid")
                .id,
            "alice"
        );
        assert_eq!(
            r.authorize_operator(&key, at("2026-03-31T14:59:59Z"))
                .expect_err("too early"),
            RosterError::NotYetValid {
                id: "alice".into(),
                name: "有栖 アリス".into(),
                from: jiff::civil::date(2026, 4, 1),
                on: jiff::civil::date(2026, 3, 31),
            }
        );
        // 2027-03-31 23:59:59 JST is still valid; a second later it is not.
        assert!(
            r.authorize_operator(&key, at("2027-03-31T14:59:59Z"))
                .is_ok()
        );
        let err = r
            .authorize_operator(&key, at("2027-03-31T15:00:00Z"))
            .expect_err("expired");
        assert_eq!(
            err.to_string(),
            "alice (有栖 アリス) was on the roster only until 2027-03-31; the key had expired on 2027-04-01"
        );
    }

    #[test]
    fn roles_gate_operators_and_approvers() {
        let key = PublicKey::from_openssh(ALICE).expect("key");
        let now = at("2026-06-01T00:00:00Z");
        let approver = alice_roster("approver", "2026-01-01", "2026-12-31");
        assert!(matches!(
            approver.authorize_operator(&key, now),
            Err(RosterError::NotAnOperator {
                role: Role::Approver,
                ..
            })
        ));
        assert!(approver.authorize_approver(&key, now).is_ok());
        let both = alice_roster("both", "2026-01-01", "2026-12-31");
        assert!(
            both.authorize_operator(&key, now).is_ok()
                && both.authorize_approver(&key, now).is_ok()
        );
        // Approvers get no line in the journal allowed_signers.
        assert!(!approver.allowed_signers().contains("ssh-ed25519"));
    }

    #[test]
    fn allowed_signers_carries_namespace_and_utc_validity() {
        let r = alice_roster("operator", "2026-04-01", "2027-03-31");
        let text = r.allowed_signers();
        let line = text
            .lines()
            .find(|l| l.starts_with("alice "))
            .expect("alice's line");
        assert_eq!(
            line,
            "alice namespaces=\"seibi-journal@seibi\",valid-after=\"20260331150000Z\",valid-before=\"20270331145959Z\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdU8NJAeswxoF946GivXy0dC+yGhLMXnFg/PWOH910V"
        );
    }

    #[test]
    fn load_errors_have_places() {
        let err = roster(
            "people:\n  - id: bob\n    name: B\n    organisation: X\n    role: operatr\n    key: nonsense\n    valid_from: 2026-01-01\n    valid_until: 2026-12-31\n  - id: carol\n    name: C\n    organisation: X\n    role: operator\n    key: nonsense\n    valid_from: 2026-05-01\n    valid_until: 2026-04-01\n    colour: red\n",
        )
        .expect_err("invalid");
        let all: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(
            all[0].contains("unknown value `operatr`") && all[0].contains("roster.yml:5:"),
            "{}",
            all[0]
        );
        assert!(all[0].contains("did you mean `operator`?"), "{}", all[0]);
        assert!(
            all[1].contains("unknown key `colour`") && all[1].contains("roster.yml:16:5"),
            "{}",
            all[1]
        );

        let err = roster(&format!(
            "people:\n  - id: carol\n    name: C\n    organisation: X\n    role: operator\n    key: nonsense\n    valid_from: 2026-05-01\n    valid_until: 2026-04-01\n  - id: dave\n    name: D\n    organisation: X\n    role: operator\n    key: {ALICE}\n    valid_from: 2026-01-01\n    valid_until: 2026-04-01\n  - id: erin\n    name: E\n    organisation: X\n    role: operator\n    key: {ALICE}\n    valid_from: 2026-01-01\n    valid_until: 2026-04-01\n"
        ))
        .expect_err("invalid");
        let all: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(all.len(), 3, "{all:#?}");
        assert!(
            all[0].contains("bad key for `carol`") && all[0].contains("roster.yml:6:10"),
            "{}",
            all[0]
        );
        assert!(
            all[1].contains("valid from 2026-05-01 but until 2026-04-01"),
            "{}",
            all[1]
        );
        assert!(
            all[2].contains("the key of `erin` is already listed for `dave`"),
            "{}",
            all[2]
        );
    }

    #[test]
    fn unknown_key_is_not_on_roster() {
        let r = alice_roster("operator", "2026-04-01", "2027-03-31");
        let other = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCkK0ToYMNZ3hAG3ZWCYyBYNpqlYHnuQpS8ZAS2L7Ky",
        )
        .expect("key");
        let err = r
            .authorize_operator(&other, at("2026-06-01T00:00:00Z"))
            .expect_err("unknown");
        assert!(matches!(err, RosterError::NotOnRoster { .. }));
        assert!(err.to_string().contains(&other.fingerprint()));
        assert!(r.find_by_key(&other).is_none());
    }

    #[test]
    fn availability_is_read_and_bounded_by_the_validity_dates() {
        let base = format!(
            "people:\n  - id: alice\n    name: 有栖 アリス\n    organisation: 中央区役所\n    role: operator\n    key: {ALICE}\n    valid_from: 2026-04-01\n    valid_until: 2027-03-31\n"
        );
        let with =
            format!("{base}    availability: {{ weekdays: [mon, tue], except: [2026-10-05] }}\n");
        let r = roster(&with).expect("roster");
        let days = r.people()[0].available();
        assert!(days.on(jiff::civil::date(2026, 10, 6)), "a Tuesday");
        assert!(!days.on(jiff::civil::date(2026, 10, 5)), "a day off");
        assert!(!days.on(jiff::civil::date(2026, 10, 7)), "a Wednesday");
        assert!(
            !days.on(jiff::civil::date(2027, 4, 5)),
            "a Monday after the entry ends"
        );
        let typo = format!("{base}    availability: {{ weekday: [mon] }}\n");
        let err = roster(&typo).expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("roster.yml:9:21"), "{text}");
        assert!(text.contains("did you mean `weekdays`?"), "{text}");
    }
}
