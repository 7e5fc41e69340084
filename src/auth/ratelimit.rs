//! Rate limits on sign-in and code sending (governor, keyed in memory per process). A
//! refusal carries the seconds to wait, answered as 429 with `Retry-After`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct Limits {
    pub login_ip: DefaultKeyedRateLimiter<String>,
    pub login_account: DefaultKeyedRateLimiter<String>,
    pub sms_phone: DefaultKeyedRateLimiter<String>,
    pub sms_ip: DefaultKeyedRateLimiter<String>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(s: &crate::config::SecuritySettings) -> Self {
        Self {
            login_ip: RateLimiter::keyed(per_minute(s.login_per_ip_per_minute)),
            login_account: RateLimiter::keyed(per_minute(s.login_per_account_per_minute)),
            // One code a minute per phone, with no burst.
            sms_phone: RateLimiter::keyed(per_minute(1)),
            sms_ip: RateLimiter::keyed(per_minute(s.sms_per_ip_per_minute)),
        }
    }
}

/// `Ok` or the time to wait.
pub fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), Duration> {
    limiter
        .check_key(&key.to_string())
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}
