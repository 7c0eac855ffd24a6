//! Recurring duties: a job's `recurrence:` and the occurrences it produces.
//!
//! Most of a maintenance contract is duties that come back: an inspection every month by the
//! tenth business day, the admin password rotation every year from October 1, a check every
//! business day or every week. A [`Recurrence`] says which; [`Recurrence::occurrences`] lists the
//! *occurrences* in a range of days, each with its key (`2026-10`, `2026`, `2026-W41`,
//! `2026-10-05`), its *period* (the month, the year from the start date, the ISO week, the day:
//! the time the duty belongs to) and its *window* (the days it may be done in: earliest start
//! and deadline). An occurrence's job id is `job@key` ([`occurrence_id`]).
//!
//! Business days are the national ones ([`Calendar::new`]: weekends, holidays, 年末年始), not a
//! site's own closed days: the contract's "Nth business day" is the city's. Everything here is
//! pure: no files, no clock.

use std::fmt;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::source::{Diagnostic, Location};

/// The character between a job id and an occurrence key (`monthly-inspection@2026-10`).
pub const OCCURRENCE_SEPARATOR: char = '@';

/// The id of an occurrence of `job` (`job@key`).
pub fn occurrence_id(job: &str, key: &str) -> String {
    format!("{job}{OCCURRENCE_SEPARATOR}{key}")
}

/// The job id an occurrence id belongs to (`monthly-inspection@2026-10` -> `monthly-inspection`);
/// a plain job id is returned as it is.
pub fn base_job_id(id: &str) -> &str {
    id.split_once(OCCURRENCE_SEPARATOR)
        .map_or(id, |(job, _)| job)
}

/// A month and day without a year (`10-01`), as a yearly duty's start and deadline are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: i8,
    day: i8,
}

impl MonthDay {
    /// A month and day that exist in every year (February 29 does not).
    pub fn new(month: i8, day: i8) -> Option<MonthDay> {
        // 2025 is not a leap year: a day valid in it is valid in every year.
        Date::new(2025, month, day).ok()?;
        Some(MonthDay { month, day })
    }

    /// This day in `year`.
    pub fn in_year(self, year: i16) -> Option<Date> {
        Date::new(year, self.month, self.day).ok()
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl std::str::FromStr for MonthDay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a month and day: write MM-DD, e.g. `10-01`");
        let (m, d) = s.split_once('-').ok_or_else(bad)?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let day: i8 = d.parse().map_err(|_| bad())?;
        if Date::new(2024, month, day).is_err() {
            return Err(bad());
        }
        MonthDay::new(month, day).ok_or_else(|| {
            format!("`{s}` is not a day of every year (February 29 is not; write 02-28 or 03-01)")
        })
    }
}

/// When a monthly duty must be done by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonthlyDeadline {
    /// By the Nth business day of the month.
    BusinessDay(u8),
    /// By the last day of the month.
    EndOfMonth,
}

/// How often a job comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Every month, on or after its `from_business_day`-th business day, by the deadline.
    Monthly {
        /// The first business day of the month it may be done on (1 = the first).
        from_business_day: u8,
        /// The deadline.
        by: MonthlyDeadline,
    },
    /// Every year from a day (the period is a year from that day), by a deadline.
    Yearly {
        /// The first day, each year.
        from: MonthDay,
        /// The deadline (the next one on or after `from`); none: the end of the period.
        by: Option<MonthDay>,
    },
    /// Every week (Monday to Sunday), on one of its business days.
    Weekly,
    /// Every business day.
    BusinessDay,
}

/// A job's `recurrence:`: the rule and the days the duty is in force.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recurrence {
    /// How often.
    pub rule: Rule,
    /// No occurrence whose period ends before this day (the contract's start).
    pub since: Option<Date>,
    /// No occurrence whose period begins after this day (the contract's end).
    pub until: Option<Date>,
}

/// An inclusive range of days.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// The first day.
    #[schemars(with = "String")]
    pub first: Date,
    /// The last day (inclusive).
    #[schemars(with = "String")]
    pub last: Date,
}

impl DateRange {
    /// The range from `first` to `last`, both included.
    pub fn new(first: Date, last: Date) -> DateRange {
        DateRange { first, last }
    }

    /// The whole month of `day`.
    pub fn month_of(day: Date) -> DateRange {
        DateRange::new(day.first_of_month(), day.last_of_month())
    }

    /// Whether `day` is in the range.
    pub fn contains(&self, day: Date) -> bool {
        self.first <= day && day <= self.last
    }

    /// Whether the two ranges share a day.
    pub fn overlaps(&self, other: &DateRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

impl std::str::FromStr for DateRange {
    type Err = String;

    /// `2026-10` (a month), `2026-10-05` (a day) or `2026-10-01..2026-12-31`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not a period: write a month (2026-10), a day (2026-10-05) or a range \
                 (2026-10-01..2026-12-31)"
            )
        };
        if let Some((a, b)) = s.split_once("..") {
            let first: Date = a.trim().parse().map_err(|_| bad())?;
            let last: Date = b.trim().parse().map_err(|_| bad())?;
            if last < first {
                return Err(format!("the period `{s}` ends before it begins"));
            }
            return Ok(DateRange::new(first, last));
        }
        if let Ok(day) = s.parse::<Date>() {
            return Ok(DateRange::new(day, day));
        }
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        let first = Date::new(year, month, 1).map_err(|_| bad())?;
        Ok(DateRange::month_of(first))
    }
}

/// One occurrence of a recurring duty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    /// Which one: `2026-10` (monthly), `2026` (yearly), `2026-W41` (weekly), `2026-10-05`.
    pub key: String,
    /// The time the duty belongs to: the month, the year from its start day, the week, the day.
    pub period: DateRange,
    /// When it may be done: from its earliest start to its deadline.
    pub window: DateRange,
}

impl Recurrence {
    /// The occurrences whose period shares a day with `range`, in order, within `since` and
    /// `until`. Periods without a business day (a week of holidays) have none.
    pub fn occurrences(&self, calendar: &Calendar, range: DateRange) -> Vec<Occurrence> {
        let mut out = Vec::new();
        let mut day = self.period_start(range.first);
        while day <= range.last {
            let Some(period) = self.period_of(day) else {
                break;
            };
            let in_force = self.since.is_none_or(|s| period.last >= s)
                && self.until.is_none_or(|u| period.first <= u);
            if in_force && let Some(o) = self.occurrence(calendar, period) {
                out.push(o);
            }
            match period.last.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        out
    }

    /// The occurrences whose window shares a day with `range`: what a plan for `range` does.
    pub fn due_in(&self, calendar: &Calendar, range: DateRange) -> Vec<Occurrence> {
        // A yearly window may start up to a year before `range` and reach into it.
        let wide = DateRange::new(
            range.first.checked_sub(1.year()).unwrap_or(range.first),
            range.last,
        );
        self.occurrences(calendar, wide)
            .into_iter()
            .filter(|o| o.window.overlaps(&range))
            .collect()
    }

    /// The first day of the period `day` is in.
    fn period_start(&self, day: Date) -> Date {
        self.period_of(day).map_or(day, |p| p.first)
    }

    /// The period that contains `day`.
    fn period_of(&self, day: Date) -> Option<DateRange> {
        match self.rule {
            Rule::Monthly { .. } => Some(DateRange::month_of(day)),
            Rule::Yearly { from, .. } => {
                let this_year = from.in_year(day.year())?;
                let start = if day >= this_year {
                    this_year
                } else {
                    from.in_year(day.year() - 1)?
                };
                let next = from.in_year(start.year() + 1)?;
                Some(DateRange::new(start, next.yesterday().ok()?))
            }
            Rule::Weekly => {
                let monday = day
                    .checked_sub(i64::from(day.weekday().to_monday_zero_offset()).days())
                    .ok()?;
                Some(DateRange::new(monday, monday.checked_add(6.days()).ok()?))
            }
            Rule::BusinessDay => Some(DateRange::new(day, day)),
        }
    }

    /// The occurrence of `period`, if the period has a business day to do it on.
    fn occurrence(&self, calendar: &Calendar, period: DateRange) -> Option<Occurrence> {
        let business_days: Vec<Date> = period
            .first
            .series(1.day())
            .take_while(|d| *d <= period.last)
            .filter(|d| calendar.is_business_day(*d))
            .collect();
        let nth = |n: u8| -> Option<Date> {
            // A month with fewer business days than asked for: its last business day.
            let index = usize::from(n.max(1)) - 1;
            business_days
                .get(index)
                .or_else(|| business_days.last())
                .copied()
        };
        let (key, window) = match self.rule {
            Rule::Monthly {
                from_business_day,
                by,
            } => {
                let first = nth(from_business_day)?;
                let last = match by {
                    MonthlyDeadline::BusinessDay(n) => nth(n)?.max(first),
                    MonthlyDeadline::EndOfMonth => period.last,
                };
                (
                    format!("{:04}-{:02}", period.first.year(), period.first.month()),
                    DateRange::new(first, last),
                )
            }
            Rule::Yearly { by, .. } => {
                let last = match by {
                    None => period.last,
                    Some(md) => {
                        let same_year = md.in_year(period.first.year())?;
                        if same_year >= period.first {
                            same_year
                        } else {
                            md.in_year(period.first.year() + 1)?
                        }
                    }
                };
                (
                    format!("{:04}", period.first.year()),
                    DateRange::new(period.first, last),
                )
            }
            Rule::Weekly => {
                let (first, last) = (*business_days.first()?, *business_days.last()?);
                let week = period.first.iso_week_date();
                (
                    format!("{:04}-W{:02}", week.year(), week.week()),
                    DateRange::new(first, last),
                )
            }
            Rule::BusinessDay => {
                let day = *business_days.first()?;
                (day.to_string(), DateRange::new(day, day))
            }
        };
        Some(Occurrence {
            key,
            period,
            window,
        })
    }

    /// The occurrence with this key (`2026-10` for a monthly duty), if there is one.
    pub fn occurrence_by_key(&self, calendar: &Calendar, key: &str) -> Option<Occurrence> {
        let day = match self.rule {
            Rule::Monthly { .. } => format!("{key}-01").parse::<Date>().ok()?,
            Rule::Yearly { from, .. } => from.in_year(key.parse().ok()?)?,
            Rule::Weekly => {
                let (y, w) = key.split_once("-W")?;
                jiff::civil::ISOWeekDate::new(y.parse().ok()?, w.parse().ok()?, Weekday::Monday)
                    .ok()?
                    .date()
            }
            Rule::BusinessDay => key.parse::<Date>().ok()?,
        };
        self.occurrences(calendar, DateRange::new(day, day))
            .into_iter()
            .find(|o| o.key == key)
    }

    /// In words, for people: `every month, from business day 1 by business day 10`.
    pub fn describe(&self, lang: crate::language::Language) -> String {
        use crate::language::Language::{En, Ja};
        match (self.rule, lang) {
            (
                Rule::Monthly {
                    from_business_day,
                    by,
                },
                Ja,
            ) => {
                let by = match by {
                    MonthlyDeadline::BusinessDay(n) => format!("第{n}開庁日まで"),
                    MonthlyDeadline::EndOfMonth => "月末まで".to_string(),
                };
                format!("毎月（第{from_business_day}開庁日以降、{by}）")
            }
            (
                Rule::Monthly {
                    from_business_day,
                    by,
                },
                En,
            ) => {
                let by = match by {
                    MonthlyDeadline::BusinessDay(n) => format!("by business day {n}"),
                    MonthlyDeadline::EndOfMonth => "by the end of the month".to_string(),
                };
                format!("every month, from business day {from_business_day} {by}")
            }
            (Rule::Yearly { from, by }, Ja) => match by {
                Some(by) => format!("毎年（{from} から {by} まで）"),
                None => format!("毎年（{from} から1年以内）"),
            },
            (Rule::Yearly { from, by }, En) => match by {
                Some(by) => format!("every year, from {from} by {by}"),
                None => format!("every year, from {from} within the year"),
            },
            (Rule::Weekly, Ja) => "毎週".to_string(),
            (Rule::Weekly, En) => "every week".to_string(),
            (Rule::BusinessDay, Ja) => "毎開庁日".to_string(),
            (Rule::BusinessDay, En) => "every business day".to_string(),
        }
    }
}

/// How often, as written under `recurrence: { every: ... }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Every {
    Month,
    Year,
    Week,
    BusinessDay,
}

/// `recurrence:` as written in a playbook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecurrence {
    every: Every,
    from_business_day: Option<u8>,
    by_business_day: Option<u8>,
    from: Option<String>,
    by: Option<String>,
    since: Option<Date>,
    until: Option<Date>,
}

impl RawRecurrence {
    /// The validated recurrence, or every problem with it; `at(key)` is where `key` is written
    /// (the mapping itself for a key that is not).
    pub(super) fn validate(
        self,
        at: impl Fn(&str) -> Location,
    ) -> Result<Recurrence, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String, hint: &str| {
            problems.push(
                Diagnostic::error(message)
                    .at(Some(at(key)))
                    .hint(hint.to_string()),
            );
        };
        let not_for =
            |key: &str, every: &str| format!("`{key}` does not apply to `every: {every}`");
        let rule = match self.every {
            Every::Month => {
                for (key, set) in [("from", self.from.is_some()), ("by", self.by.is_some())] {
                    if set {
                        problem(
                            key,
                            not_for(key, "month"),
                            "a monthly duty uses `from_business_day` and `by_business_day` (absent: by the end of the month)",
                        );
                    }
                }
                let from = self.from_business_day.unwrap_or(1);
                let limit = 23;
                if from == 0 || from > limit {
                    problem(
                        "from_business_day",
                        format!("`from_business_day: {from}` is not a business day of a month"),
                        "a month has about 20 business days: write 1 to 20",
                    );
                }
                if let Some(by) = self.by_business_day
                    && (by < from || by > limit)
                {
                    problem(
                        "by_business_day",
                        format!(
                            "`by_business_day: {by}` comes before `from_business_day: {from}` or past the month"
                        ),
                        "write a business day from `from_business_day` to 20, or leave it out for the end of the month",
                    );
                }
                Rule::Monthly {
                    from_business_day: from,
                    by: self
                        .by_business_day
                        .map_or(MonthlyDeadline::EndOfMonth, MonthlyDeadline::BusinessDay),
                }
            }
            Every::Year => {
                for (key, set) in [
                    ("from_business_day", self.from_business_day.is_some()),
                    ("by_business_day", self.by_business_day.is_some()),
                ] {
                    if set {
                        problem(
                            key,
                            not_for(key, "year"),
                            "a yearly duty uses `from: MM-DD` and `by: MM-DD`",
                        );
                    }
                }
                let parse = |s: &Option<String>| s.as_deref().map(str::parse::<MonthDay>);
                let from = match parse(&self.from) {
                    Some(Ok(md)) => md,
                    Some(Err(e)) => {
                        problem("from", e, "e.g. `from: 10-01` for October 1");
                        MonthDay { month: 1, day: 1 }
                    }
                    None => {
                        problem(
                            "every",
                            "a yearly duty needs `from: MM-DD`, the day its year begins".into(),
                            "e.g. `from: 10-01` for every year from October 1",
                        );
                        MonthDay { month: 1, day: 1 }
                    }
                };
                let by = match parse(&self.by) {
                    Some(Ok(md)) => Some(md),
                    Some(Err(e)) => {
                        problem("by", e, "e.g. `by: 10-30` for October 30");
                        None
                    }
                    None => None,
                };
                Rule::Yearly { from, by }
            }
            every @ (Every::Week | Every::BusinessDay) => {
                let name = if every == Every::Week {
                    "week"
                } else {
                    "business_day"
                };
                for (key, set) in [
                    ("from_business_day", self.from_business_day.is_some()),
                    ("by_business_day", self.by_business_day.is_some()),
                    ("from", self.from.is_some()),
                    ("by", self.by.is_some()),
                ] {
                    if set {
                        problem(
                            key,
                            not_for(key, name),
                            "only `since` and `until` go with it",
                        );
                    }
                }
                if every == Every::Week {
                    Rule::Weekly
                } else {
                    Rule::BusinessDay
                }
            }
        };
        if let (Some(s), Some(u)) = (self.since, self.until)
            && u < s
        {
            problem(
                "until",
                format!("`until: {u}` comes before `since: {s}`"),
                "`since` and `until` are the first and last days of the contract",
            );
        }
        if problems.is_empty() {
            Ok(Recurrence {
                rule,
                since: self.since,
                until: self.until,
            })
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().expect("date")
    }

    fn monthly(from: u8, by: MonthlyDeadline) -> Recurrence {
        Recurrence {
            rule: Rule::Monthly {
                from_business_day: from,
                by,
            },
            since: None,
            until: None,
        }
    }

    fn windows(r: &Recurrence, range: &str) -> Vec<(String, String)> {
        r.occurrences(&Calendar::new(), range.parse().expect("range"))
            .into_iter()
            .map(|o| (o.key, o.window.to_string()))
            .collect()
    }

    #[test]
    fn monthly_windows_count_business_days_across_month_ends_and_golden_week() {
        let r = monthly(2, MonthlyDeadline::BusinessDay(5));
        assert_eq!(
            windows(&r, "2026-04-20..2026-06-10"),
            vec![
                // April 1 is a Wednesday.
                ("2026-04".into(), "2026-04-02..2026-04-07".into()),
                // May 1 (Fri) is the first; Golden Week closes May 2 to 6.
                ("2026-05".into(), "2026-05-07..2026-05-12".into()),
                ("2026-06".into(), "2026-06-02..2026-06-05".into()),
            ]
        );
    }

    #[test]
    fn the_end_of_the_month_is_its_last_day_and_january_starts_after_new_year() {
        let r = monthly(1, MonthlyDeadline::EndOfMonth);
        assert_eq!(
            windows(&r, "2026-12-15..2027-01-15"),
            vec![
                ("2026-12".into(), "2026-12-01..2026-12-31".into()),
                ("2027-01".into(), "2027-01-04..2027-01-31".into()),
            ]
        );
    }

    #[test]
    fn silver_week_2026_moves_the_business_days_of_september() {
        // September 2026: 21 (敬老の日), 22 (国民の休日), 23 (秋分の日) are closed.
        let r = monthly(14, MonthlyDeadline::BusinessDay(15));
        assert_eq!(
            windows(&r, "2026-09"),
            vec![("2026-09".into(), "2026-09-18..2026-09-24".into())]
        );
    }

    #[test]
    fn yearly_periods_begin_on_their_day_and_cross_the_fiscal_year() {
        let r = Recurrence {
            rule: Rule::Yearly {
                from: "04-01".parse().expect("md"),
                by: Some("06-30".parse().expect("md")),
            },
            since: None,
            until: None,
        };
        let found = r.occurrences(&Calendar::new(), "2027-03".parse().expect("range"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "2026");
        assert_eq!(found[0].period.to_string(), "2026-04-01..2027-03-31");
        assert_eq!(found[0].window.to_string(), "2026-04-01..2026-06-30");
        // A deadline before the start day is the next year's.
        let r = Recurrence {
            rule: Rule::Yearly {
                from: "10-01".parse().expect("md"),
                by: Some("01-31".parse().expect("md")),
            },
            since: None,
            until: None,
        };
        assert_eq!(
            windows(&r, "2026-10"),
            vec![("2026".into(), "2026-10-01..2027-01-31".into())]
        );
    }

    #[test]
    fn weekly_and_daily_duties_skip_closed_days() {
        let week = Recurrence {
            rule: Rule::Weekly,
            since: None,
            until: None,
        };
        // The week of May 4, 2026 has business days May 7 and 8 only.
        assert_eq!(
            windows(&week, "2026-05-04..2026-05-10"),
            vec![("2026-W19".into(), "2026-05-07..2026-05-08".into())]
        );
        // The week of December 28, 2026: only the 28th; January 1 to 3 closed.
        assert_eq!(
            windows(&week, "2026-12-28..2027-01-03"),
            vec![("2026-W53".into(), "2026-12-28..2026-12-28".into())]
        );
        let daily = Recurrence {
            rule: Rule::BusinessDay,
            since: None,
            until: None,
        };
        let days: Vec<String> = windows(&daily, "2026-09-18..2026-09-25")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(days, ["2026-09-18", "2026-09-24", "2026-09-25"]);
    }

    #[test]
    fn since_and_until_bound_the_occurrences() {
        let mut r = monthly(1, MonthlyDeadline::EndOfMonth);
        r.since = Some(d("2026-04-01"));
        r.until = Some(d("2026-06-30"));
        let keys: Vec<String> = windows(&r, "2026-01-01..2026-12-31")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["2026-04", "2026-05", "2026-06"]);
    }

    #[test]
    fn due_in_finds_a_yearly_window_that_began_before_the_range() {
        let r = Recurrence {
            rule: Rule::Yearly {
                from: "10-01".parse().expect("md"),
                by: Some("10-30".parse().expect("md")),
            },
            since: None,
            until: None,
        };
        let due = r.due_in(
            &Calendar::new(),
            "2026-10-15..2026-10-31".parse().expect("r"),
        );
        assert_eq!(due.len(), 1);
        assert!(
            r.due_in(&Calendar::new(), "2026-11".parse().expect("r"))
                .is_empty()
        );
        assert_eq!(
            r.occurrence_by_key(&Calendar::new(), "2026"),
            Some(due[0].clone())
        );
    }

    #[test]
    fn ids_and_periods_parse() {
        assert_eq!(occurrence_id("insp", "2026-10"), "insp@2026-10");
        assert_eq!(base_job_id("insp@2026-10"), "insp");
        assert_eq!(base_job_id("insp"), "insp");
        assert!("02-29".parse::<MonthDay>().is_err());
        assert!("2026-13".parse::<DateRange>().is_err());
        assert!("2026-10-31..2026-10-01".parse::<DateRange>().is_err());
        assert_eq!(
            "2026-02".parse::<DateRange>().expect("month").to_string(),
            "2026-02-01..2026-02-28"
        );
    }
}
