//! Audit queries: what the records say was done, by whom, and what is overdue.
//!
//! This module owns the auditors' view over seibi's records. It only reads: the password
//! store's plaintext metadata (never a value, so no identity is needed), the inventory and the
//! jobs. Everything here is a pure function of its inputs and of an explicit [`AsOf`] moment,
//! so reports are reproducible ("as of 2027-03-31") and tests control the clock.
//!
//! - [`rotations`]: per terminal and account, the last password rotation (when, by which
//!   operator, in which run), versions kept, unfinished rotations, and which accounts are
//!   overdue against their job's policy and the Japanese fiscal year.
//! - [`duties`]: per occurrence of every recurring job and terminal, done (by which verified
//!   run), upcoming, due, overdue or missed.

pub mod duties;
pub mod rotations;

use std::fmt;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _};
use serde::Serialize;

/// A Japanese fiscal year (年度): April 1 to March 31, named by the calendar year it starts in
/// (FY2026 runs from 2026-04-01 to 2027-03-31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiscalYear(i16);

impl FiscalYear {
    /// The fiscal year `date` falls in.
    pub fn of(date: Date) -> Self {
        if date.month() >= 4 {
            Self(date.year())
        } else {
            Self(date.year() - 1)
        }
    }

    /// The calendar year it starts in.
    pub fn year(self) -> i16 {
        self.0
    }

    /// April 1.
    pub fn start(self) -> Date {
        jiff::civil::date(self.0, 4, 1)
    }

    /// March 31 of the next calendar year.
    pub fn end(self) -> Date {
        jiff::civil::date(self.0 + 1, 3, 31)
    }

    /// Whether `date` is in this fiscal year.
    pub fn contains(self, date: Date) -> bool {
        Self::of(date) == self
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}", self.0)
    }
}

impl Serialize for FiscalYear {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("FiscalYear", 3)?;
        s.serialize_field("label", &self.to_string())?;
        s.serialize_field("start", &self.start())?;
        s.serialize_field("end", &self.end())?;
        s.end()
    }
}

/// The moment a report is made for: records after it are ignored, ages are counted up to its
/// day, and its day decides the current fiscal year. Days are Japan time (Asia/Tokyo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    date: Date,
    cutoff: Timestamp,
}

impl AsOf {
    /// At an instant (normally now).
    pub fn at(now: Timestamp) -> Self {
        Self {
            date: now.to_zoned(japan().clone()).date(),
            cutoff: now,
        }
    }

    /// At the end of a day in Japan: everything recorded on that day counts.
    pub fn end_of(date: Date) -> Self {
        let next_day = date
            .checked_add(1.day())
            .ok()
            .and_then(|d| d.to_zoned(japan().clone()).ok())
            .map(|z| z.timestamp());
        let cutoff = match next_day {
            Some(t) => t
                .checked_sub(jiff::SignedDuration::from_nanos(1))
                .unwrap_or(t),
            // Only the last representable day has no next day; anything then counts.
            None => Timestamp::MAX,
        };
        Self { date, cutoff }
    }

    /// The day in Japan.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The last instant that counts.
    pub fn cutoff(&self) -> Timestamp {
        self.cutoff
    }

    /// The fiscal year of the day.
    pub fn fiscal_year(&self) -> FiscalYear {
        FiscalYear::of(self.date)
    }
}

/// Asia/Tokyo.
pub(crate) fn japan() -> &'static jiff::tz::TimeZone {
    crate::roster::japan_time_zone()
}

/// The day of an instant in Japan.
pub(crate) fn japan_date(at: Timestamp) -> Date {
    at.to_zoned(japan().clone()).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn fiscal_year_runs_april_to_march() {
        assert_eq!(FiscalYear::of(date(2026, 4, 1)).year(), 2026);
        assert_eq!(FiscalYear::of(date(2027, 3, 31)).year(), 2026);
        assert_eq!(FiscalYear::of(date(2026, 3, 31)).year(), 2025);
        let fy = FiscalYear::of(date(2026, 11, 2));
        assert_eq!(
            (fy.start(), fy.end()),
            (date(2026, 4, 1), date(2027, 3, 31))
        );
        assert!(fy.contains(date(2027, 1, 5)) && !fy.contains(date(2027, 4, 1)));
        assert_eq!(fy.to_string(), "FY2026");
    }

    #[test]
    fn end_of_day_is_japan_midnight() {
        let as_of = AsOf::end_of(date(2026, 3, 31));
        // 2026-03-31 23:59:59 JST is 14:59:59 UTC; 15:00 UTC is already April 1 in Japan.
        let last: Timestamp = "2026-03-31T14:59:59.999999999Z".parse().expect("timestamp");
        assert_eq!(as_of.cutoff(), last);
        assert_eq!(as_of.fiscal_year().year(), 2025);
        let next = AsOf::at("2026-03-31T15:00:00Z".parse().expect("timestamp"));
        assert_eq!(next.date(), date(2026, 4, 1));
        assert_eq!(next.fiscal_year().year(), 2026);
    }
}
