//! Japanese national holidays (国民の祝日) and the other days off that the national-holiday law
//! creates (振替休日, 国民の休日), computed offline from the rules of the 国民の祝日に関する法律 and
//! the special laws for one-off days.
//!
//! The rules are a table of dated rules (`RULES`) plus two derived kinds of day off:
//! - 振替休日 (from 1973-04-12): until 2006 the day after a holiday that falls on a Sunday;
//!   from 2007 the first following day that is not itself a holiday.
//! - 国民の休日 (from 1985-12-27): a day that is not a Sunday or a holiday, between two holidays.
//!
//! Both are named `休日`, as in the Cabinet Office's official list (syukujitsu.csv). The names of
//! the other days are the official list's, including its two idiosyncrasies for 2019:
//! `体育の日（スポーツの日）` for 2019-10-14 and `休日（祝日扱い）` for 2019-05-01 and 2019-10-22.
//!
//! Holidays are computed for [`SUPPORTED_YEARS`] (1955..=2099; the equinox formula used here is
//! the one valid for 1900..=2099), and tests check every day against the official list from 1955
//! to its last full year (2027 in the 2026-02-02 edition) and against holiday-jp's list to 2050
//! (`tests/calendar_oracle.rs`). Outside the supported years this module knows no holidays:
//! [`holiday_name`] returns `None` and [`holidays_in_year`] an empty list, so a calendar built on
//! it still closes weekends and the year-end days there but nothing else. Equinox days are fixed
//! each February for the following year by the Cabinet; the formula matches the official list
//! for every year it covers, but later years stay predictions.

use std::ops::RangeInclusive;

use jiff::civil::{Date, Weekday, date};

/// The years for which [`holiday_name`] and [`holidays_in_year`] compute holidays.
///
/// Dates outside these years have no holidays here (see the module documentation).
pub const SUPPORTED_YEARS: RangeInclusive<i16> = 1955..=2099;

/// The name the official list uses for substitute holidays (振替休日) and citizens' holidays
/// (国民の休日).
pub const DAY_OFF_NAME: &str = "休日";

/// The first day on which a Sunday holiday moved to the next day (law of 1973-04-12).
const SUBSTITUTE_SINCE: Date = date(1973, 4, 12);
/// From this day a substitute holiday is the next day that is not a holiday (law of 2005, in
/// force 2007-01-01); before it, only the very next day.
const SUBSTITUTE_NEXT_FREE_DAY_SINCE: Date = date(2007, 1, 1);
/// The first day on which a day between two holidays became a day off (law of 1985-12-27); the
/// first such day was 1988-05-04.
const CITIZENS_HOLIDAY_SINCE: Date = date(1985, 12, 27);

/// Years without an upper or lower bound that matters: the law dates from 1948 and this module
/// answers only for [`SUPPORTED_YEARS`].
const ALWAYS: RangeInclusive<i16> = i16::MIN..=i16::MAX;

/// When a rule's holiday falls within a year.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A fixed month and day.
    Fixed(i8, i8),
    /// The n-th Monday of a month (ハッピーマンデー).
    NthMonday(i8, i8),
    /// 春分の日: the day of the vernal equinox.
    VernalEquinox,
    /// 秋分の日: the day of the autumnal equinox.
    AutumnalEquinox,
}

/// One rule of the holiday law: a name, the years it applies to and its day in those years.
#[derive(Debug, Clone)]
struct Rule {
    name: &'static str,
    years: RangeInclusive<i16>,
    when: When,
}

const fn rule(name: &'static str, years: RangeInclusive<i16>, when: When) -> Rule {
    Rule { name, years, when }
}

/// The national holidays, in calendar order, each with the years it applies to. A one-off day
/// is a rule for a single year.
const RULES: &[Rule] = &[
    rule("元日", ALWAYS, When::Fixed(1, 1)),
    rule("成人の日", i16::MIN..=1999, When::Fixed(1, 15)),
    rule("成人の日", 2000..=i16::MAX, When::NthMonday(1, 2)),
    rule("建国記念の日", 1967..=i16::MAX, When::Fixed(2, 11)),
    rule("天皇誕生日", 2020..=i16::MAX, When::Fixed(2, 23)),
    // 昭和天皇の大喪の礼.
    rule("大喪の礼", 1989..=1989, When::Fixed(2, 24)),
    rule("春分の日", ALWAYS, When::VernalEquinox),
    // 皇太子明仁親王の結婚の儀.
    rule("結婚の儀", 1959..=1959, When::Fixed(4, 10)),
    rule("天皇誕生日", i16::MIN..=1988, When::Fixed(4, 29)),
    rule("みどりの日", 1989..=2006, When::Fixed(4, 29)),
    rule("昭和の日", 2007..=i16::MAX, When::Fixed(4, 29)),
    // 天皇の即位の日: by special law a holiday that counts as a national holiday, which makes
    // 2019-04-30 and 2019-05-02 国民の休日.
    rule("休日（祝日扱い）", 2019..=2019, When::Fixed(5, 1)),
    rule("憲法記念日", ALWAYS, When::Fixed(5, 3)),
    rule("みどりの日", 2007..=i16::MAX, When::Fixed(5, 4)),
    rule("こどもの日", ALWAYS, When::Fixed(5, 5)),
    // 皇太子徳仁親王の結婚の儀.
    rule("結婚の儀", 1993..=1993, When::Fixed(6, 9)),
    rule("海の日", 1996..=2002, When::Fixed(7, 20)),
    rule("海の日", 2003..=2019, When::NthMonday(7, 3)),
    // Tokyo Olympics: 2020 and 2021 moved 海の日, スポーツの日 and 山の日 by special law.
    rule("海の日", 2020..=2020, When::Fixed(7, 23)),
    rule("スポーツの日", 2020..=2020, When::Fixed(7, 24)),
    rule("海の日", 2021..=2021, When::Fixed(7, 22)),
    rule("スポーツの日", 2021..=2021, When::Fixed(7, 23)),
    rule("海の日", 2022..=i16::MAX, When::NthMonday(7, 3)),
    rule("山の日", 2021..=2021, When::Fixed(8, 8)),
    rule("山の日", 2020..=2020, When::Fixed(8, 10)),
    rule("山の日", 2016..=2019, When::Fixed(8, 11)),
    rule("山の日", 2022..=i16::MAX, When::Fixed(8, 11)),
    rule("敬老の日", 1966..=2002, When::Fixed(9, 15)),
    rule("敬老の日", 2003..=i16::MAX, When::NthMonday(9, 3)),
    rule("秋分の日", ALWAYS, When::AutumnalEquinox),
    rule("体育の日", 1966..=1999, When::Fixed(10, 10)),
    rule("体育の日", 2000..=2018, When::NthMonday(10, 2)),
    // The official list names 2019's day this way: the rename to スポーツの日 was law by then
    // but took effect in 2020.
    rule(
        "体育の日（スポーツの日）",
        2019..=2019,
        When::NthMonday(10, 2),
    ),
    rule("スポーツの日", 2022..=i16::MAX, When::NthMonday(10, 2)),
    // 即位礼正殿の儀の行われる日.
    rule("休日（祝日扱い）", 2019..=2019, When::Fixed(10, 22)),
    rule("文化の日", ALWAYS, When::Fixed(11, 3)),
    // 即位礼正殿の儀 of Emperor Akihito.
    rule("即位礼正殿の儀", 1990..=1990, When::Fixed(11, 12)),
    rule("勤労感謝の日", ALWAYS, When::Fixed(11, 23)),
    rule("天皇誕生日", 1989..=2018, When::Fixed(12, 23)),
];

/// The name of the holiday on `date`, if it is one: a national holiday, a one-off holiday, or a
/// substitute or citizens' holiday (named [`DAY_OFF_NAME`], `休日`).
///
/// Returns `None` for every date outside [`SUPPORTED_YEARS`].
pub fn holiday_name(date: Date) -> Option<&'static str> {
    if !SUPPORTED_YEARS.contains(&date.year()) {
        return None;
    }
    national_holiday(date).or_else(|| {
        (is_substitute_holiday(date) || is_citizens_holiday(date)).then_some(DAY_OFF_NAME)
    })
}

/// Whether `date` is a holiday (see [`holiday_name`]).
pub fn is_holiday(date: Date) -> bool {
    holiday_name(date).is_some()
}

/// Every holiday of `year` in date order, with its name (see [`holiday_name`]).
///
/// Empty for years outside [`SUPPORTED_YEARS`].
pub fn holidays_in_year(year: i16) -> Vec<(Date, &'static str)> {
    if !SUPPORTED_YEARS.contains(&year) {
        return Vec::new();
    }
    date(year, 1, 1)
        .series(jiff::ToSpan::days(1))
        .take_while(|day| day.year() == year)
        .filter_map(|day| holiday_name(day).map(|name| (day, name)))
        .collect()
}

/// The national holiday (国民の祝日) or one-off holiday on `date`, without substitute and
/// citizens' holidays and without the [`SUPPORTED_YEARS`] check.
fn national_holiday(date: Date) -> Option<&'static str> {
    let (year, month, day) = (date.year(), date.month(), date.day());
    RULES
        .iter()
        .find(|rule| {
            rule.years.contains(&year)
                && match rule.when {
                    When::Fixed(m, d) => (month, day) == (m, d),
                    When::NthMonday(m, n) => {
                        month == m && date.weekday() == Weekday::Monday && (day - 1) / 7 + 1 == n
                    }
                    When::VernalEquinox => month == 3 && day == vernal_equinox_day(year),
                    When::AutumnalEquinox => month == 9 && day == autumnal_equinox_day(year),
                }
        })
        .map(|rule| rule.name)
}

fn is_national_holiday(date: Date) -> bool {
    national_holiday(date).is_some()
}

/// 振替休日: whether `date` is a day off because a holiday before it fell on a Sunday.
fn is_substitute_holiday(date: Date) -> bool {
    if is_national_holiday(date) {
        return false;
    }
    let Ok(previous) = date.yesterday() else {
        return false;
    };
    if previous < SUBSTITUTE_SINCE {
        return false;
    }
    if date < SUBSTITUTE_NEXT_FREE_DAY_SINCE {
        return previous.weekday() == Weekday::Sunday && is_national_holiday(previous);
    }
    // Walk back over the run of holidays just before `date`: if it contains a Sunday, `date` is
    // the first day after that Sunday that is not a holiday.
    let mut day = previous;
    while is_national_holiday(day) {
        if day.weekday() == Weekday::Sunday {
            return true;
        }
        match day.yesterday() {
            Ok(earlier) => day = earlier,
            Err(_) => return false,
        }
    }
    false
}

/// 国民の休日: whether `date` is a day off because it lies between two national holidays.
fn is_citizens_holiday(date: Date) -> bool {
    if date < CITIZENS_HOLIDAY_SINCE || date.weekday() == Weekday::Sunday {
        return false;
    }
    if is_national_holiday(date) || is_substitute_holiday(date) {
        return false;
    }
    match (date.yesterday(), date.tomorrow()) {
        (Ok(before), Ok(after)) => is_national_holiday(before) && is_national_holiday(after),
        _ => false,
    }
}

/// The day in March of the vernal equinox (春分日) by the standard approximation, valid for
/// 1900..=2099.
fn vernal_equinox_day(year: i16) -> i8 {
    if year < 1980 {
        equinox_day(year, 20.8357, 1983)
    } else {
        equinox_day(year, 20.8431, 1980)
    }
}

/// The day in September of the autumnal equinox (秋分日) by the standard approximation, valid for
/// 1900..=2099.
fn autumnal_equinox_day(year: i16) -> i8 {
    if year < 1980 {
        equinox_day(year, 23.2588, 1983)
    } else {
        equinox_day(year, 23.2488, 1980)
    }
}

/// `int(base + 0.242194 * (year - 1980) - int((year - leap_base) / 4))`: the mean drift of the
/// equinox through the year, reset by the leap-day correction every four years.
///
/// `int` truncates toward zero, as in the published formula: before 1983 `year - 1983` is
/// negative and flooring instead would put e.g. 1960's vernal equinox on March 21, not the
/// official March 20.
fn equinox_day(year: i16, base: f64, leap_base: i16) -> i8 {
    let drift = 0.242_194 * f64::from(year - 1980);
    let leap_days = f64::from((year - leap_base) / 4);
    // The result is a day of the month (19..=24 for the supported years), so it fits in i8.
    (base + drift - leap_days).floor() as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(year: i16) -> Vec<String> {
        holidays_in_year(year)
            .into_iter()
            .map(|(day, name)| format!("{day} {name}"))
            .collect()
    }

    #[test]
    fn year_2026_in_full() {
        assert_eq!(
            names(2026),
            [
                "2026-01-01 元日",
                "2026-01-12 成人の日",
                "2026-02-11 建国記念の日",
                "2026-02-23 天皇誕生日",
                "2026-03-20 春分の日",
                "2026-04-29 昭和の日",
                "2026-05-03 憲法記念日",
                "2026-05-04 みどりの日",
                "2026-05-05 こどもの日",
                "2026-05-06 休日",
                "2026-07-20 海の日",
                "2026-08-11 山の日",
                "2026-09-21 敬老の日",
                "2026-09-22 休日",
                "2026-09-23 秋分の日",
                "2026-10-12 スポーツの日",
                "2026-11-03 文化の日",
                "2026-11-23 勤労感謝の日",
            ]
        );
    }

    #[test]
    fn emperors_birthday_moves_with_the_reign() {
        assert_eq!(holiday_name(date(1988, 4, 29)), Some("天皇誕生日"));
        assert_eq!(holiday_name(date(1989, 4, 29)), Some("みどりの日"));
        assert_eq!(holiday_name(date(2018, 12, 23)), Some("天皇誕生日"));
        // 2018-12-23 was a Sunday.
        assert_eq!(holiday_name(date(2018, 12, 24)), Some(DAY_OFF_NAME));
        assert_eq!(holiday_name(date(2019, 12, 23)), None);
        assert_eq!(holiday_name(date(2019, 2, 23)), None);
        assert_eq!(holiday_name(date(2020, 2, 23)), Some("天皇誕生日"));
    }

    #[test]
    fn golden_week_2019_ten_days() {
        let days: Vec<_> = (27..=30)
            .map(|d| date(2019, 4, d))
            .chain((1..=6).map(|d| date(2019, 5, d)))
            .map(holiday_name)
            .collect();
        assert_eq!(
            days,
            [
                None, // Saturday
                None, // Sunday
                Some("昭和の日"),
                Some(DAY_OFF_NAME),
                Some("休日（祝日扱い）"),
                Some(DAY_OFF_NAME),
                Some("憲法記念日"),
                Some("みどりの日"),
                Some("こどもの日"),
                Some(DAY_OFF_NAME), // 5/5 was a Sunday
            ]
        );
    }

    #[test]
    fn olympic_moves() {
        assert_eq!(holiday_name(date(2020, 7, 20)), None);
        assert_eq!(holiday_name(date(2020, 7, 23)), Some("海の日"));
        assert_eq!(holiday_name(date(2020, 7, 24)), Some("スポーツの日"));
        assert_eq!(holiday_name(date(2020, 8, 10)), Some("山の日"));
        assert_eq!(holiday_name(date(2020, 10, 12)), None);
        assert_eq!(holiday_name(date(2021, 7, 22)), Some("海の日"));
        assert_eq!(holiday_name(date(2021, 7, 23)), Some("スポーツの日"));
        assert_eq!(holiday_name(date(2021, 8, 8)), Some("山の日"));
        assert_eq!(holiday_name(date(2021, 8, 9)), Some(DAY_OFF_NAME));
        assert_eq!(holiday_name(date(2021, 8, 11)), None);
    }

    #[test]
    fn substitute_rule_before_and_after_2007() {
        // Before 1973-04-12 a Sunday holiday was simply lost: 1967-01-15 was a Sunday.
        assert_eq!(holiday_name(date(1967, 1, 16)), None);
        // The first substitute holiday: 1973-04-29 was a Sunday.
        assert_eq!(holiday_name(date(1973, 4, 30)), Some(DAY_OFF_NAME));
        // Since 2007 the substitute moves past following holidays: 2008-05-04 was a Sunday.
        assert_eq!(holiday_name(date(2008, 5, 6)), Some(DAY_OFF_NAME));
    }

    #[test]
    fn citizens_holiday_needs_a_weekday_between_holidays() {
        // The first one: Wednesday 1988-05-04.
        assert_eq!(holiday_name(date(1988, 5, 4)), Some(DAY_OFF_NAME));
        // Silver weeks.
        assert_eq!(holiday_name(date(2009, 9, 22)), Some(DAY_OFF_NAME));
        assert_eq!(holiday_name(date(2015, 9, 22)), Some(DAY_OFF_NAME));
        assert_eq!(holiday_name(date(2026, 9, 22)), Some(DAY_OFF_NAME));
        assert_eq!(holiday_name(date(2032, 9, 21)), Some(DAY_OFF_NAME));
    }

    #[test]
    fn equinox_formula_in_both_eras() {
        assert_eq!(vernal_equinox_day(1960), 20);
        assert_eq!(vernal_equinox_day(1967), 21);
        assert_eq!(autumnal_equinox_day(1967), 24);
        assert_eq!(vernal_equinox_day(2026), 20);
        assert_eq!(autumnal_equinox_day(2026), 23);
        assert_eq!(autumnal_equinox_day(2012), 22);
        assert_eq!(vernal_equinox_day(2099), 20);
    }

    #[test]
    fn outside_supported_years_no_holidays() {
        assert_eq!(holiday_name(date(1954, 1, 1)), None);
        assert_eq!(holiday_name(date(2100, 1, 1)), None);
        assert!(holidays_in_year(2100).is_empty());
        assert!(holidays_in_year(-5).is_empty());
        assert_eq!(holiday_name(date(1955, 1, 1)), Some("元日"));
        assert_eq!(holiday_name(date(2099, 11, 23)), Some("勤労感謝の日"));
    }
}
