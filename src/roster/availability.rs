//! The days an operator on the roster can be sent to the sites (optional `availability:` of a
//! roster entry). The crew scheduler never gives a crew work on a day one of its members is
//! not available; the entry's validity dates bound it as well.
//!
//! ```yaml
//!     availability:
//!       weekdays: [mon, tue, wed, thu]   # default: every day (business days still apply)
//!       except: [2026-10-02]             # days off
//! ```

use jiff::civil::{Date, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A day of the week, as written in the roster.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Day {
    fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

/// When someone can be sent: the weekdays they work (all when empty), minus days off, within
/// an optional first and last day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// Weekdays they work; empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<Day>,
    /// Days off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub except: Vec<Date>,
    /// Not before this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub from: Option<Date>,
    /// Not after this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub until: Option<Date>,
}

impl Availability {
    /// Every day.
    pub fn always() -> Self {
        Availability::default()
    }

    /// Available on every day but these.
    pub fn except(days: impl IntoIterator<Item = Date>) -> Self {
        Availability {
            except: days.into_iter().collect(),
            ..Availability::default()
        }
    }

    /// Whether the person can be sent on `date`.
    pub fn on(&self, date: Date) -> bool {
        (self.weekdays.is_empty() || self.weekdays.contains(&Day::of(date.weekday())))
            && !self.except.contains(&date)
            && self.from.is_none_or(|f| f <= date)
            && self.until.is_none_or(|u| date <= u)
    }

    /// Available on the days both are.
    pub fn and(&self, other: &Availability) -> Availability {
        let weekdays = match (self.weekdays.is_empty(), other.weekdays.is_empty()) {
            (true, _) => other.weekdays.clone(),
            (_, true) => self.weekdays.clone(),
            _ => self
                .weekdays
                .iter()
                .copied()
                .filter(|d| other.weekdays.contains(d))
                .collect(),
        };
        let mut except = self.except.clone();
        except.extend(other.except.iter().copied());
        except.sort();
        except.dedup();
        Availability {
            weekdays,
            except,
            from: self.from.max(other.from),
            until: match (self.until, other.until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn weekdays_days_off_and_bounds_combine() {
        let a = Availability {
            weekdays: vec![Day::Mon, Day::Thu, Day::Fri],
            except: vec![date(2026, 10, 2)],
            from: None,
            until: Some(date(2026, 10, 31)),
        };
        assert!(a.on(date(2026, 10, 1))); // Thu
        assert!(!a.on(date(2026, 10, 2))); // Fri, a day off
        assert!(a.on(date(2026, 10, 5))); // Mon
        assert!(!a.on(date(2026, 10, 6))); // Tue
        assert!(!a.on(date(2026, 11, 2))); // after `until`
        let b = Availability {
            from: Some(date(2026, 10, 5)),
            ..Availability::except([date(2026, 10, 8)])
        };
        let both = a.and(&b);
        assert!(!both.on(date(2026, 10, 1)));
        assert!(both.on(date(2026, 10, 5)));
        assert!(!both.on(date(2026, 10, 8)));
        assert!(both.on(date(2026, 10, 9)));
        assert!(Availability::always().on(date(2026, 10, 4)));
    }
}
