//! Office-hour windows: the instants in which a site can be visited, one window per business
//! day, as zoned times in Asia/Tokyo.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::Calendar;

/// One business day's office hours as a half-open interval of instants `[start, end)` in
/// Asia/Tokyo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    date: Date,
    start: Zoned,
    end: Zoned,
}

impl Window {
    pub(crate) fn new(date: Date, start: Zoned, end: Zoned) -> Self {
        Window { date, start, end }
    }

    /// The business day this window belongs to.
    pub fn date(&self) -> Date {
        self.date
    }

    /// When the site opens.
    pub fn start(&self) -> &Zoned {
        &self.start
    }

    /// When the site closes; the window does not contain this instant.
    pub fn end(&self) -> &Zoned {
        &self.end
    }

    /// How long the window lasts.
    pub fn duration(&self) -> SignedDuration {
        self.start.duration_until(&self.end)
    }

    /// Whether `instant` lies in the window (`start <= instant < end`).
    pub fn contains(&self, instant: Timestamp) -> bool {
        self.start.timestamp() <= instant && instant < self.end.timestamp()
    }
}

/// The windows of a [`Calendar`] from an instant on, in order; see [`Calendar::windows_from`].
///
/// Unbounded in practice: it ends only at the end of the civil calendar (year 9999).
#[derive(Debug, Clone)]
pub struct Windows<'a> {
    calendar: &'a Calendar,
    next_date: Option<Date>,
    after: Timestamp,
}

impl<'a> Windows<'a> {
    pub(super) fn new(calendar: &'a Calendar, after: Timestamp) -> Self {
        let local_date = after.to_zoned(calendar.time_zone().clone()).date();
        Windows {
            calendar,
            next_date: Some(local_date),
            after,
        }
    }
}

impl Iterator for Windows<'_> {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        // Business days recur within days (a site's extra closed days are finite), so this loop
        // is short except at the very end of the civil calendar.
        while let Some(date) = self.next_date {
            self.next_date = date.tomorrow().ok();
            if let Some(window) = self.calendar.window(date)
                && window.end.timestamp() > self.after
            {
                return Some(window);
            }
        }
        None
    }
}
