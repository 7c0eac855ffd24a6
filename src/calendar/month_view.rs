//! A month of a site's calendar as plain text, for `seibi calendar YYYY-MM`: one line per day
//! with its weekday, whether the site is open (営業) and its hours or why it is closed (休業),
//! then the month's count of business days and business hours.

use std::fmt;

use jiff::SignedDuration;

use super::{Calendar, CalendarError, DayInfo, DayStatus, OfficeHours, weekday_ja};

/// One month of a [`Calendar`], ready to print; its `Display` is the text of `seibi calendar`.
///
/// ```text
/// 2026年10月  開庁時間 08:45-17:15 (Asia/Tokyo)
/// 2026-10-01 (木)  営業  08:45-17:15
/// 2026-10-03 (土)  休業  週末
/// 2026-10-12 (月)  休業  スポーツの日
/// 営業日 21日  営業時間 178時間30分
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthView {
    year: i16,
    month: i8,
    hours: OfficeHours,
    time_zone_name: String,
    days: Vec<DayInfo>,
    business_hours: SignedDuration,
}

impl MonthView {
    /// The view of `year`-`month` in `calendar`; an error if that is not a month.
    pub fn new(calendar: &Calendar, year: i16, month: i8) -> Result<Self, CalendarError> {
        let days = calendar.month(year, month)?;
        let business_hours = days
            .iter()
            .filter_map(|day| calendar.window(day.date))
            .map(|window| window.duration())
            .sum();
        Ok(MonthView {
            year,
            month,
            hours: calendar.hours(),
            time_zone_name: calendar
                .time_zone()
                .iana_name()
                .unwrap_or(super::TIME_ZONE_NAME)
                .to_owned(),
            days,
            business_hours,
        })
    }

    /// Every day of the month.
    pub fn days(&self) -> &[DayInfo] {
        &self.days
    }

    /// How many business days the month has.
    pub fn business_days(&self) -> usize {
        self.days.iter().filter(|day| day.is_business_day()).count()
    }

    /// The total length of the month's office-hours windows.
    pub fn business_hours(&self) -> SignedDuration {
        self.business_hours
    }
}

impl fmt::Display for MonthView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}年{}月  開庁時間 {} ({})",
            self.year, self.month, self.hours, self.time_zone_name
        )?;
        // Every column before the last has a fixed display width (the weekday and the status are
        // each full-width characters), so the lines align without measuring text.
        for day in &self.days {
            let weekday = weekday_ja(day.weekday);
            match day.status {
                DayStatus::Open(hours) => writeln!(f, "{} ({weekday})  営業  {hours}", day.date)?,
                DayStatus::Closed(reason) => {
                    writeln!(f, "{} ({weekday})  休業  {reason}", day.date)?
                }
            }
        }
        let minutes = self.business_hours.as_mins();
        write!(
            f,
            "営業日 {}日  営業時間 {}時間{:02}分",
            self.business_days(),
            minutes / 60,
            minutes % 60
        )
    }
}

/// The text of `seibi calendar YYYY-MM`: [`MonthView`] of `year`-`month` for `calendar`,
/// ending without a newline.
pub fn render_month(calendar: &Calendar, year: i16, month: i8) -> Result<String, CalendarError> {
    Ok(MonthView::new(calendar, year, month)?.to_string())
}
