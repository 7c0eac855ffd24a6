//! The office calendar: which days a site is open (business days, 開庁日) and in which hours,
//! and arithmetic over business days. A [`Calendar`] closes weekends, Japanese national holidays
//! ([`holidays`]), the year-end days from December 29 to January 3 (年末年始) and a site's own
//! extra closed days; its open days have one office-hours [`Window`] each, as zoned times in
//! Asia/Tokyo. Everything here is pure and synchronous; the time-zone rules come from the
//! database bundled into jiff, so nothing depends on the host's zone files.

pub mod holidays;
mod month_view;
mod office_hours;
mod window;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

pub use month_view::{MonthView, render_month};
pub use office_hours::OfficeHours;
pub use window::{Window, Windows};

/// The IANA name of the time zone every site's office hours are in.
pub const TIME_ZONE_NAME: &str = "Asia/Tokyo";

static TOKYO: LazyLock<TimeZone> = LazyLock::new(|| {
    // jiff's `tzdb-bundle-always` feature compiles the zone database into the binary, so this
    // lookup cannot fail at run time; the test `tokyo_is_in_the_bundled_database` pins it.
    TimeZone::get(TIME_ZONE_NAME).expect("Asia/Tokyo is in jiff's bundled time-zone database")
});

/// Errors from building calendar values out of caller input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Office hours that would not contain any instant.
    #[error("office hours must open before they close, got {open} to {close}")]
    EmptyOfficeHours {
        /// The requested opening time.
        open: Time,
        /// The requested closing time.
        close: Time,
    },
    /// A year and month that do not name a month of the civil calendar.
    #[error("no such month: {year}-{month:02}")]
    InvalidMonth {
        /// The requested year.
        year: i16,
        /// The requested month (1..=12 would be valid).
        month: i8,
    },
}

/// Why a site is closed on a day. When several reasons apply, the first in this order wins:
/// `Holiday`, `YearEnd`, `Weekend`, `SiteClosed` (so January 1 reads as 元日, a Saturday
/// December 29 as 年末年始).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosedReason {
    /// A Saturday or a Sunday.
    Weekend,
    /// A national holiday, substitute holiday or citizens' holiday, with its official name.
    Holiday(&'static str),
    /// December 29 to January 3 (年末年始).
    YearEnd,
    /// A day the site itself is closed (e.g. building maintenance or an election).
    SiteClosed,
}

impl fmt::Display for ClosedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosedReason::Weekend => f.write_str("週末"),
            ClosedReason::Holiday(name) => f.write_str(name),
            ClosedReason::YearEnd => f.write_str("年末年始"),
            ClosedReason::SiteClosed => f.write_str("拠点休業日"),
        }
    }
}

/// Whether a site is open on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayStatus {
    /// A business day, open in these hours.
    Open(OfficeHours),
    /// Closed, for this reason.
    Closed(ClosedReason),
}

/// The one-kanji name of a weekday, as Japanese calendars and documents write it (`木` for
/// Thursday).
pub fn weekday_ja(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "月",
        Weekday::Tuesday => "火",
        Weekday::Wednesday => "水",
        Weekday::Thursday => "木",
        Weekday::Friday => "金",
        Weekday::Saturday => "土",
        Weekday::Sunday => "日",
    }
}

/// One day of a [`Calendar`], as listed by [`Calendar::month`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayInfo {
    /// The day.
    pub date: Date,
    /// Its day of the week.
    pub weekday: Weekday,
    /// Open (with hours) or closed (with the reason).
    pub status: DayStatus,
}

impl DayInfo {
    /// Whether this is a business day.
    pub fn is_business_day(&self) -> bool {
        matches!(self.status, DayStatus::Open(_))
    }
}

/// The business-day calendar of one site: national rules (weekends, holidays, 年末年始) plus the
/// site's own closed days and office hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    extra_closed: BTreeSet<Date>,
    hours: OfficeHours,
    time_zone: TimeZone,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::new()
    }
}

impl Calendar {
    /// The calendar shared by every site: no extra closed days, standard office hours.
    pub fn new() -> Self {
        Calendar::for_site([], None)
    }

    /// A site's calendar: the shared one plus `extra_closed` days, and `hours` instead of the
    /// standard office hours when given.
    pub fn for_site(
        extra_closed: impl IntoIterator<Item = Date>,
        hours: Option<OfficeHours>,
    ) -> Self {
        Calendar {
            extra_closed: extra_closed.into_iter().collect(),
            hours: hours.unwrap_or_default(),
            time_zone: TOKYO.clone(),
        }
    }

    /// The site's office hours on every business day.
    pub fn hours(&self) -> OfficeHours {
        self.hours
    }

    /// The time zone of the office hours (Asia/Tokyo).
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Whether the site is open on `date`.
    pub fn is_business_day(&self, date: Date) -> bool {
        self.why_closed(date).is_none()
    }

    /// Why the site is closed on `date`, or `None` if it is a business day. See
    /// [`ClosedReason`] for which reason is given when several apply.
    pub fn why_closed(&self, date: Date) -> Option<ClosedReason> {
        if let Some(name) = holidays::holiday_name(date) {
            Some(ClosedReason::Holiday(name))
        } else if is_year_end(date) {
            Some(ClosedReason::YearEnd)
        } else if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
            Some(ClosedReason::Weekend)
        } else if self.extra_closed.contains(&date) {
            Some(ClosedReason::SiteClosed)
        } else {
            None
        }
    }

    /// The first business day strictly after `date`.
    ///
    /// `None` only past the end of the civil calendar (9999-12-31), as for every method here
    /// that returns an optional date.
    pub fn next_business_day(&self, date: Date) -> Option<Date> {
        self.business_day_on_or_after(date.tomorrow().ok()?)
    }

    /// `date` itself if it is a business day, otherwise the next business day.
    pub fn business_day_on_or_after(&self, date: Date) -> Option<Date> {
        let mut day = date;
        while !self.is_business_day(day) {
            day = day.tomorrow().ok()?;
        }
        Some(day)
    }

    /// The `n`-th business day after `date`, not counting `date` itself: with `n = 1` the next
    /// business day, with `n = 0` `date` unchanged (business day or not).
    ///
    /// For `n >= 0`, `business_days_between(date, add_business_days(date, n)) == n`.
    pub fn add_business_days(&self, date: Date, n: u32) -> Option<Date> {
        let mut day = date;
        for _ in 0..n {
            day = self.next_business_day(day)?;
        }
        Some(day)
    }

    /// The number of business days `d` with `from < d <= to`; negative (the count of
    /// `to < d <= from`) when `to` is before `from`.
    ///
    /// This counts the days [`add_business_days`](Self::add_business_days) steps over, so a
    /// request received on `from` and due on `to` has this many business days to be done in.
    pub fn business_days_between(&self, from: Date, to: Date) -> i32 {
        let (low, high, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let count = low
            .series(jiff::ToSpan::days(1))
            .skip(1)
            .take_while(|day| *day <= high)
            .filter(|day| self.is_business_day(*day))
            .count();
        // At most 3.7 million days lie between any two civil dates, so the count fits in i32.
        sign * i32::try_from(count).unwrap_or(i32::MAX)
    }

    /// The office-hours window of `date`, or `None` if the site is closed that day.
    pub fn window(&self, date: Date) -> Option<Window> {
        if !self.is_business_day(date) {
            return None;
        }
        let start = date
            .to_datetime(self.hours.open())
            .to_zoned(self.time_zone.clone())
            .ok()?;
        let end = date
            .to_datetime(self.hours.close())
            .to_zoned(self.time_zone.clone())
            .ok()?;
        Some(Window::new(date, start, end))
    }

    /// The windows from `instant` on: the window in progress at `instant` or later that day if
    /// any, then every following business day's window, in order.
    pub fn windows_from(&self, instant: Timestamp) -> Windows<'_> {
        Windows::new(self, instant)
    }

    /// Every day of a month, for listing.
    pub fn month(&self, year: i16, month: i8) -> Result<Vec<DayInfo>, CalendarError> {
        let first =
            Date::new(year, month, 1).map_err(|_| CalendarError::InvalidMonth { year, month })?;
        Ok(first
            .series(jiff::ToSpan::days(1))
            .take(usize::try_from(first.days_in_month()).unwrap_or(0))
            .map(|date| DayInfo {
                date,
                weekday: date.weekday(),
                status: match self.why_closed(date) {
                    Some(reason) => DayStatus::Closed(reason),
                    None => DayStatus::Open(self.hours),
                },
            })
            .collect())
    }
}

/// December 29 to January 3: the year-end and new-year closure of public offices (行政機関の
/// 休日に関する法律).
fn is_year_end(date: Date) -> bool {
    (date.month() == 12 && date.day() >= 29) || (date.month() == 1 && date.day() <= 3)
}

#[cfg(test)]
mod tests;
