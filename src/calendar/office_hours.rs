//! Office hours (開庁時間): the part of a business day in which a site can be visited.

use std::fmt;

use jiff::SignedDuration;
use jiff::civil::{Time, time};

use super::CalendarError;

/// The hours a site is open on a business day, in local (Asia/Tokyo) wall-clock time.
///
/// An `OfficeHours` that exists opens before it closes. The default is the usual ward-office
/// day, 08:45 to 17:15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfficeHours {
    open: Time,
    close: Time,
}

impl OfficeHours {
    /// The usual ward-office hours, 08:45 to 17:15.
    pub const STANDARD: OfficeHours = OfficeHours {
        open: time(8, 45, 0, 0),
        close: time(17, 15, 0, 0),
    };

    /// Office hours from `open` to `close`; an error unless `open` is before `close`.
    pub fn new(open: Time, close: Time) -> Result<Self, CalendarError> {
        if open < close {
            Ok(OfficeHours { open, close })
        } else {
            Err(CalendarError::EmptyOfficeHours { open, close })
        }
    }

    /// When the site opens.
    pub fn open(&self) -> Time {
        self.open
    }

    /// When the site closes.
    pub fn close(&self) -> Time {
        self.close
    }

    /// How long the site is open on a business day.
    pub fn duration(&self) -> SignedDuration {
        self.close.duration_since(self.open)
    }
}

impl Default for OfficeHours {
    fn default() -> Self {
        OfficeHours::STANDARD
    }
}

impl fmt::Display for OfficeHours {
    /// `08:45-17:15`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.open.hour(),
            self.open.minute(),
            self.close.hour(),
            self.close.minute()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_standard_ward_office_day() {
        let hours = OfficeHours::default();
        assert_eq!(hours.open(), time(8, 45, 0, 0));
        assert_eq!(hours.close(), time(17, 15, 0, 0));
        assert_eq!(hours.duration(), SignedDuration::from_mins(8 * 60 + 30));
        assert_eq!(hours.to_string(), "08:45-17:15");
    }

    #[test]
    fn open_must_come_before_close() {
        assert!(OfficeHours::new(time(9, 0, 0, 0), time(12, 0, 0, 0)).is_ok());
        assert!(matches!(
            OfficeHours::new(time(12, 0, 0, 0), time(12, 0, 0, 0)),
            Err(CalendarError::EmptyOfficeHours { .. })
        ));
        assert!(OfficeHours::new(time(17, 0, 0, 0), time(9, 0, 0, 0)).is_err());
    }
}
