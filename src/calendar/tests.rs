//! Business-day arithmetic, office-hour windows and month listings, on the days that matter to
//! ward offices: Golden Week, Silver Week, the year end.

use jiff::civil::{Date, date, time};
use jiff::{SignedDuration, Timestamp};

use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn closed_reasons(
    calendar: &Calendar,
    first: Date,
    last: Date,
) -> Vec<(String, Option<ClosedReason>)> {
    first
        .series(jiff::ToSpan::days(1))
        .take_while(|day| *day <= last)
        .map(|day| (day.to_string(), calendar.why_closed(day)))
        .collect()
}

fn window_dates(
    calendar: &Calendar,
    instant: &str,
    count: usize,
) -> Result<Vec<String>, jiff::Error> {
    let instant: Timestamp = instant.parse()?;
    Ok(calendar
        .windows_from(instant)
        .take(count)
        .map(|window| window.date().to_string())
        .collect())
}

#[test]
fn tokyo_is_in_the_bundled_database() {
    let calendar = Calendar::new();
    assert_eq!(calendar.time_zone().iana_name(), Some("Asia/Tokyo"));
}

#[test]
fn golden_week_2026() {
    let calendar = Calendar::new();
    assert_eq!(
        closed_reasons(&calendar, date(2026, 4, 28), date(2026, 5, 7)),
        [
            ("2026-04-28".to_owned(), None),
            (
                "2026-04-29".to_owned(),
                Some(ClosedReason::Holiday("昭和の日"))
            ),
            ("2026-04-30".to_owned(), None),
            ("2026-05-01".to_owned(), None),
            ("2026-05-02".to_owned(), Some(ClosedReason::Weekend)),
            // A Sunday holiday reads as the holiday.
            (
                "2026-05-03".to_owned(),
                Some(ClosedReason::Holiday("憲法記念日"))
            ),
            (
                "2026-05-04".to_owned(),
                Some(ClosedReason::Holiday("みどりの日"))
            ),
            (
                "2026-05-05".to_owned(),
                Some(ClosedReason::Holiday("こどもの日"))
            ),
            // 振替休日 for 5/3, pushed past 5/4 and 5/5.
            ("2026-05-06".to_owned(), Some(ClosedReason::Holiday("休日"))),
            ("2026-05-07".to_owned(), None),
        ]
    );
    assert_eq!(
        calendar.next_business_day(date(2026, 5, 1)),
        Some(date(2026, 5, 7))
    );
    assert_eq!(
        calendar.add_business_days(date(2026, 4, 28), 3),
        Some(date(2026, 5, 7))
    );
    assert_eq!(
        calendar.business_days_between(date(2026, 4, 28), date(2026, 5, 7)),
        3
    );
    assert_eq!(
        calendar.business_days_between(date(2026, 5, 7), date(2026, 4, 28)),
        -3
    );
    // From a closed day, the count starts on the next business day.
    assert_eq!(
        calendar.add_business_days(date(2026, 5, 3), 1),
        Some(date(2026, 5, 7))
    );
    assert_eq!(
        calendar.add_business_days(date(2026, 5, 3), 0),
        Some(date(2026, 5, 3))
    );
    assert_eq!(
        calendar.business_day_on_or_after(date(2026, 5, 3)),
        Some(date(2026, 5, 7))
    );
    assert_eq!(
        calendar.business_day_on_or_after(date(2026, 5, 7)),
        Some(date(2026, 5, 7))
    );
}

#[test]
fn silver_week_2026() {
    let calendar = Calendar::new();
    assert_eq!(
        closed_reasons(&calendar, date(2026, 9, 18), date(2026, 9, 24)),
        [
            ("2026-09-18".to_owned(), None),
            ("2026-09-19".to_owned(), Some(ClosedReason::Weekend)),
            ("2026-09-20".to_owned(), Some(ClosedReason::Weekend)),
            (
                "2026-09-21".to_owned(),
                Some(ClosedReason::Holiday("敬老の日"))
            ),
            // 国民の休日: between 敬老の日 and 秋分の日.
            ("2026-09-22".to_owned(), Some(ClosedReason::Holiday("休日"))),
            (
                "2026-09-23".to_owned(),
                Some(ClosedReason::Holiday("秋分の日"))
            ),
            ("2026-09-24".to_owned(), None),
        ]
    );
    assert_eq!(
        calendar.next_business_day(date(2026, 9, 18)),
        Some(date(2026, 9, 24))
    );
    assert_eq!(
        calendar.business_days_between(date(2026, 9, 18), date(2026, 9, 24)),
        1
    );
    assert_eq!(
        calendar.add_business_days(date(2026, 9, 17), 2),
        Some(date(2026, 9, 24))
    );
}

#[test]
fn year_end_2026_to_2027() {
    let calendar = Calendar::new();
    let last_business_day_of_2026 = date(2026, 12, 1)
        .series(jiff::ToSpan::days(1))
        .take_while(|day| day.year() == 2026)
        .filter(|day| calendar.is_business_day(*day))
        .last();
    assert_eq!(last_business_day_of_2026, Some(date(2026, 12, 28)));
    assert_eq!(
        calendar.business_day_on_or_after(date(2027, 1, 1)),
        Some(date(2027, 1, 4))
    );
    assert_eq!(
        calendar.next_business_day(date(2026, 12, 28)),
        Some(date(2027, 1, 4))
    );
    assert_eq!(
        calendar.business_days_between(date(2026, 12, 28), date(2027, 1, 4)),
        1
    );
    assert_eq!(
        closed_reasons(&calendar, date(2026, 12, 29), date(2027, 1, 3))
            .into_iter()
            .map(|(_, reason)| reason)
            .collect::<Vec<_>>(),
        [
            Some(ClosedReason::YearEnd),
            Some(ClosedReason::YearEnd),
            Some(ClosedReason::YearEnd),
            Some(ClosedReason::Holiday("元日")),
            // A Saturday and a Sunday: the year-end closure names them.
            Some(ClosedReason::YearEnd),
            Some(ClosedReason::YearEnd),
        ]
    );
}

#[test]
fn site_closed_days_and_hours() -> TestResult {
    let hours = OfficeHours::new(time(9, 0, 0, 0), time(16, 0, 0, 0))?;
    let site = Calendar::for_site([date(2026, 10, 15), date(2026, 10, 17)], Some(hours));
    let shared = Calendar::new();

    assert_eq!(
        site.why_closed(date(2026, 10, 15)),
        Some(ClosedReason::SiteClosed)
    );
    assert_eq!(shared.why_closed(date(2026, 10, 15)), None);
    // Closed anyway on a Saturday: the weekend is the reason given.
    assert_eq!(
        site.why_closed(date(2026, 10, 17)),
        Some(ClosedReason::Weekend)
    );
    assert_eq!(
        site.next_business_day(date(2026, 10, 14)),
        Some(date(2026, 10, 16))
    );
    assert_eq!(
        site.business_days_between(date(2026, 10, 13), date(2026, 10, 20)),
        4
    );
    assert_eq!(
        shared.business_days_between(date(2026, 10, 13), date(2026, 10, 20)),
        5
    );

    assert_eq!(site.window(date(2026, 10, 15)), None);
    let window = site
        .window(date(2026, 10, 16))
        .ok_or("2026-10-16 is a business day")?;
    assert_eq!(
        window.start().to_string(),
        "2026-10-16T09:00:00+09:00[Asia/Tokyo]"
    );
    assert_eq!(
        window.end().to_string(),
        "2026-10-16T16:00:00+09:00[Asia/Tokyo]"
    );
    assert_eq!(window.duration(), SignedDuration::from_hours(7));
    let shared_window = shared
        .window(date(2026, 10, 16))
        .ok_or("2026-10-16 is a business day")?;
    assert_eq!(
        shared_window.start().to_string(),
        "2026-10-16T08:45:00+09:00[Asia/Tokyo]"
    );
    assert_eq!(
        shared_window.end().to_string(),
        "2026-10-16T17:15:00+09:00[Asia/Tokyo]"
    );
    Ok(())
}

#[test]
fn add_and_between_agree_over_years() {
    let calendar = Calendar::for_site([date(2026, 6, 1), date(2027, 3, 15)], None);
    let mut mismatches = Vec::new();
    for start in date(2025, 12, 1).series(jiff::ToSpan::days(3)).take(200) {
        for n in [0, 1, 2, 5, 10, 20, 40] {
            let end = calendar.add_business_days(start, n);
            let counted = end.map(|end| calendar.business_days_between(start, end));
            if counted != i32::try_from(n).ok() {
                mismatches.push(format!("{start} + {n} = {end:?}, counted back {counted:?}"));
            }
            if n > 0 && end.is_some_and(|end| !calendar.is_business_day(end)) {
                mismatches.push(format!("{start} + {n} = {end:?} is not a business day"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn windows_from_inside_a_window() -> TestResult {
    let calendar = Calendar::new();
    let instant: Timestamp = "2026-10-01T10:00:00+09:00".parse()?;
    let mut windows = calendar.windows_from(instant);
    let current = windows.next().ok_or("a window is in progress")?;
    assert!(current.contains(instant));
    assert_eq!(
        current.start().to_string(),
        "2026-10-01T08:45:00+09:00[Asia/Tokyo]"
    );
    let next = windows.next().ok_or("windows go on")?;
    assert_eq!(next.date(), date(2026, 10, 2));
    Ok(())
}

#[test]
fn windows_from_before_opening_and_after_closing() -> TestResult {
    let calendar = Calendar::new();
    // Thursday before opening: that day's window comes first.
    assert_eq!(
        window_dates(&calendar, "2026-10-01T07:00:00+09:00", 3)?,
        ["2026-10-01", "2026-10-02", "2026-10-05"]
    );
    // Closing time is outside the window.
    assert_eq!(
        window_dates(&calendar, "2026-10-01T17:15:00+09:00", 1)?,
        ["2026-10-02"]
    );
    assert_eq!(
        window_dates(&calendar, "2026-10-01T17:14:59+09:00", 1)?,
        ["2026-10-01"]
    );
    // Friday evening: the next window is Monday's.
    assert_eq!(
        window_dates(&calendar, "2026-10-02T18:00:00+09:00", 1)?,
        ["2026-10-05"]
    );
    Ok(())
}

#[test]
fn windows_from_a_holiday() -> TestResult {
    let calendar = Calendar::new();
    // スポーツの日 (Monday), then the rest of the week.
    assert_eq!(
        window_dates(&calendar, "2026-10-12T10:00:00+09:00", 2)?,
        ["2026-10-13", "2026-10-14"]
    );
    // Silver Week and the year end skip several days.
    assert_eq!(
        window_dates(&calendar, "2026-09-19T00:00:00+09:00", 1)?,
        ["2026-09-24"]
    );
    assert_eq!(
        window_dates(&calendar, "2026-12-28T20:00:00+09:00", 1)?,
        ["2027-01-04"]
    );
    Ok(())
}

#[test]
fn windows_from_a_utc_timestamp() -> TestResult {
    let calendar = Calendar::new();
    // 23:50 UTC on 10/1 is 08:50 on 10/2 in Tokyo: Friday's window is in progress.
    let instant: Timestamp = "2026-10-01T23:50:00Z".parse()?;
    let window = calendar.windows_from(instant).next().ok_or("a window")?;
    assert!(window.contains(instant));
    assert_eq!(window.date(), date(2026, 10, 2));
    assert_eq!(
        window.start().timestamp().to_string(),
        "2026-10-01T23:45:00Z"
    );
    assert_eq!(window.end().timestamp().to_string(), "2026-10-02T08:15:00Z");
    // 15:00 UTC on 10/1 is midnight on 10/2 in Tokyo: 10/1's window is over.
    assert_eq!(
        window_dates(&calendar, "2026-10-01T15:00:00Z", 1)?,
        ["2026-10-02"]
    );
    // 08:14 UTC on 10/1 is 17:14 in Tokyo: still in 10/1's window.
    assert_eq!(
        window_dates(&calendar, "2026-10-01T08:14:00Z", 1)?,
        ["2026-10-01"]
    );
    // Tokyo keeps +09:00 all year: same UTC opening in January and July.
    for day in [date(2026, 1, 15), date(2026, 7, 15)] {
        let window = calendar.window(day).ok_or("a business day")?;
        assert_eq!(window.start().offset(), jiff::tz::offset(9));
        assert_eq!(
            window.start().timestamp().to_string(),
            format!("{}T23:45:00Z", day.yesterday()?)
        );
        assert_eq!(window.duration(), SignedDuration::from_mins(8 * 60 + 30));
    }
    Ok(())
}

#[test]
fn month_listing_october_2026() -> TestResult {
    let calendar = Calendar::new();
    let days = calendar.month(2026, 10)?;
    assert_eq!(days.len(), 31);
    assert_eq!(days.iter().filter(|day| day.is_business_day()).count(), 21);
    assert_eq!(days[0].weekday, jiff::civil::Weekday::Thursday);
    assert_eq!(days[0].status, DayStatus::Open(OfficeHours::default()));
    assert_eq!(
        days[11].status,
        DayStatus::Closed(ClosedReason::Holiday("スポーツの日"))
    );

    let view = MonthView::new(&calendar, 2026, 10)?;
    assert_eq!(view.business_days(), 21);
    assert_eq!(
        view.business_hours(),
        SignedDuration::from_mins(21 * (8 * 60 + 30))
    );
    insta::assert_snapshot!(render_month(&calendar, 2026, 10)?);
    Ok(())
}

#[test]
fn month_listing_with_site_rules() -> TestResult {
    let hours = OfficeHours::new(time(9, 0, 0, 0), time(12, 0, 0, 0))?;
    let calendar = Calendar::for_site([date(2027, 1, 4)], Some(hours));
    insta::assert_snapshot!(render_month(&calendar, 2027, 1)?);
    Ok(())
}

#[test]
fn month_listing_rejects_a_non_month() {
    let calendar = Calendar::new();
    assert_eq!(
        render_month(&calendar, 2026, 13),
        Err(CalendarError::InvalidMonth {
            year: 2026,
            month: 13
        })
    );
    assert!(calendar.month(2026, 0).is_err());
}
