//! Rate limits of the token endpoint, per client id and per source address, so that guessing
//! secrets is slow and one caller cannot monopolise the argon2 workers.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

/// Forget idle keys once this many are tracked, so random client ids cannot grow memory.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct TokenRateLimits {
    per_client: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

fn quota(per_minute: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((per_minute / 4).max(5)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

impl TokenRateLimits {
    pub fn new(per_client_per_minute: u32, per_address_per_minute: u32) -> Self {
        Self {
            per_client: RateLimiter::keyed(quota(per_client_per_minute)),
            per_address: RateLimiter::keyed(quota(per_address_per_minute)),
        }
    }

    /// `Err(wait)`: refused; the caller may retry after `wait`.
    pub fn check_client(&self, client_id: &str) -> Result<(), Duration> {
        Self::check(&self.per_client, client_id)
    }

    pub fn check_address(&self, address: &str) -> Result<(), Duration> {
        Self::check(&self.per_address, address)
    }

    fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), Duration> {
        if limiter.len() > MAX_TRACKED_KEYS {
            limiter.retain_recent();
        }
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}
