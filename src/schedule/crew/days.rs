//! The working windows of each site, day by day, in seconds since the epoch: the office hours
//! of its business days merged with the out-of-hours windows the city approved. Computed once
//! per day and site, on demand, because the crew search asks for the same days many times.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::calendar::Calendar;

/// How many days past the first day the search looks before giving up (about ten years).
pub(super) const HORIZON_DAYS: usize = 3_660;

/// A site's windows on one day, merged and in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Day {
    pub date: Date,
    pub windows: Vec<(i64, i64)>,
}

/// One site's days, from the first day on.
pub(super) struct SiteDays<'a> {
    calendar: &'a Calendar,
    /// Approved out-of-hours windows by date: (start, end) local times.
    approved: BTreeMap<Date, Vec<(Time, Time)>>,
    days: Vec<Day>,
}

/// Every site's days from one first day.
pub(super) struct DayTable<'a> {
    first: Date,
    tz: TimeZone,
    sites: Vec<SiteDays<'a>>,
    /// The instant each day starts (local midnight), from the first day on, as far as asked:
    /// [`DayTable::index_at`] is asked for every unit the search places, and a time zone
    /// conversion each time was most of the crew search's time on a large fleet.
    midnights: Vec<i64>,
}

impl<'a> DayTable<'a> {
    pub fn new(first: Date, tz: TimeZone) -> Self {
        DayTable {
            first,
            tz,
            sites: Vec::new(),
            midnights: Vec::new(),
        }
    }

    /// Adds a site; its index is the order of adding.
    pub fn add_site(&mut self, calendar: &'a Calendar, approved: &[(Date, Time, Time)]) {
        let mut by_date: BTreeMap<Date, Vec<(Time, Time)>> = BTreeMap::new();
        for &(date, start, end) in approved {
            by_date.entry(date).or_default().push((start, end));
        }
        self.sites.push(SiteDays {
            calendar,
            approved: by_date,
            days: Vec::new(),
        });
    }

    /// The day index of `date` (0 for the first day; dates before it count as 0).
    #[cfg(test)]
    pub fn index_of(&self, date: Date) -> usize {
        let days = (date - self.first).get_days();
        usize::try_from(days.max(0)).unwrap_or(0)
    }

    /// The day index that contains the instant `t` (by local date; 0 before the first day).
    pub fn index_at(&mut self, t: i64) -> usize {
        // Days are added until one starts after `t` (or the horizon is reached).
        while self.midnights.len() <= HORIZON_DAYS + 1
            && self.midnights.last().is_none_or(|&m| m <= t)
        {
            let n = self.midnights.len();
            let Some(start) = self.midnight(n) else { break };
            self.midnights.push(start);
        }
        self.midnights
            .partition_point(|&m| m <= t)
            .saturating_sub(1)
    }

    /// The instant day `n` starts.
    fn midnight(&self, n: usize) -> Option<i64> {
        let date = self
            .first
            .checked_add(jiff::Span::new().days(i64::try_from(n).ok()?))
            .ok()?;
        let start = date.to_zoned(self.tz.clone()).ok()?;
        Some(start.timestamp().as_second())
    }

    /// Site `site`'s windows on day `i`, or `None` past the horizon.
    pub fn day(&mut self, site: usize, i: usize) -> Option<&Day> {
        if i > HORIZON_DAYS {
            return None;
        }
        let first = self.first;
        let tz = self.tz.clone();
        let s = &mut self.sites[site];
        while s.days.len() <= i {
            let n = i64::try_from(s.days.len()).ok()?;
            let date = first.checked_add(jiff::Span::new().days(n)).ok()?;
            let mut windows = Vec::new();
            if let Some(w) = s.calendar.window(date) {
                windows.push((
                    w.start().timestamp().as_second(),
                    w.end().timestamp().as_second(),
                ));
            }
            for &(start, end) in s.approved.get(&date).into_iter().flatten() {
                let at = |time: Time| {
                    date.to_datetime(time)
                        .to_zoned(tz.clone())
                        .map(|z| z.timestamp().as_second())
                };
                if let (Ok(a), Ok(b)) = (at(start), at(end))
                    && a < b
                {
                    windows.push((a, b));
                }
            }
            s.days.push(Day {
                date,
                windows: merge(windows),
            });
        }
        s.days.get(i)
    }
}

/// Sorted, with overlapping or touching windows joined.
fn merge(mut windows: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    windows.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
    for (a, b) in windows {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_falls_on_its_local_day() {
        let calendar = Calendar::new();
        let tz = calendar.time_zone().clone();
        let first = jiff::civil::date(2026, 10, 1);
        let mut table = DayTable::new(first, tz.clone());
        let at = |d: Date, h: i8, m: i8| {
            d.to_datetime(Time::constant(h, m, 0, 0))
                .to_zoned(tz.clone())
                .map_or(0, |z| z.timestamp().as_second())
        };
        for (date, h, m) in [
            (first, 0, 0),
            (first, 23, 59),
            (jiff::civil::date(2026, 10, 2), 0, 0),
            (jiff::civil::date(2026, 12, 31), 8, 45),
            (jiff::civil::date(2027, 3, 1), 17, 15),
        ] {
            let t = at(date, h, m);
            assert_eq!(table.index_at(t), table.index_of(date), "{date} {h}:{m}");
        }
        assert_eq!(
            table.index_at(at(first, 0, 0) - 1),
            0,
            "before the first day"
        );
    }

    #[test]
    fn touching_windows_are_joined() {
        assert_eq!(merge(vec![(5, 8), (0, 5), (10, 12)]), [(0, 8), (10, 12)]);
        assert_eq!(merge(vec![(0, 10), (2, 3)]), [(0, 10)]);
    }

    #[test]
    fn an_approved_window_extends_a_day_and_opens_a_closed_one() {
        let calendar = Calendar::new();
        let tz = calendar.time_zone().clone();
        let thu = jiff::civil::date(2026, 10, 1);
        let sat = jiff::civil::date(2026, 10, 3);
        let mut table = DayTable::new(thu, tz);
        table.add_site(
            &calendar,
            &[
                (
                    thu,
                    Time::constant(17, 15, 0, 0),
                    Time::constant(20, 0, 0, 0),
                ),
                (sat, Time::constant(9, 0, 0, 0), Time::constant(12, 0, 0, 0)),
            ],
        );
        let day = table.day(0, 0).cloned().unwrap_or_default();
        assert_eq!(
            day.windows.len(),
            1,
            "office hours and the evening are one window"
        );
        assert_eq!(
            day.windows[0].1 - day.windows[0].0,
            (20 * 60 - (8 * 60 + 45)) * 60
        );
        assert_eq!(table.day(0, 2).map(|d| d.windows.len()), Some(1));
        assert_eq!(table.day(0, 3).map(|d| d.windows.len()), Some(0), "Sunday");
    }
}
