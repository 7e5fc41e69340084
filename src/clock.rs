//! Injected time, so tests control "today" (term calendars, holds, session expiry).

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};

/// China Standard Time (UTC+8), where all schools of the platform are.
pub fn cst() -> FixedOffset {
    // 8 h is within the ±24 h FixedOffset accepts; the fallback is never taken.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China Standard Time, where all schools of the platform are.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&cst()).date_naive()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still at a given instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
