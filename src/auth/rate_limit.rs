//! Rate limits of the token endpoint.
//!
//! Two goals pull against each other: guessing a client's secret must stay slow, and someone
//! guessing must not lock the real client out. So successes and failures are counted apart:
//!
//! - Every request counts against its source address, and against its (client id, address)
//!   pair, so one caller cannot monopolise the argon2 workers. Another address's requests for
//!   the same client id do not use up the pair's budget.
//! - Failures (unknown client, wrong secret, disabled) count against the client id and against
//!   the address. Once either budget is spent, that client id (or address) is *locked* until
//!   the budget refills: only addresses that obtained a token for the client within
//!   [`KNOWN_GOOD_FOR`] (known-good pairs) go on as before. Any other request goes through a
//!   narrow slow lane of one attempt per lock per [`SLOW_LANE_EVERY`], so the real client on a
//!   new address still gets in, and guesses stay bounded to the failure rate plus the slow lane.
//!
//! All of this is per replica (in memory); with N replicas the bounds are N times as wide.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Forget idle keys once this many are tracked, so random client ids cannot grow memory.
const MAX_TRACKED_KEYS: usize = 10_000;

/// How long a successful (client id, address) pair stays known-good.
pub const KNOWN_GOOD_FOR: Duration = Duration::from_secs(24 * 3600);

/// While a client id is locked, one attempt from an address that is not known-good is let
/// through this often.
pub const SLOW_LANE_EVERY: Duration = Duration::from_secs(2);

/// The budgets, per minute. Validated non-zero where the settings are read.
#[derive(Debug, Clone, Copy)]
pub struct TokenRates {
    /// Requests per (client id, source address).
    pub per_client: u32,
    /// Requests per source address.
    pub per_address: u32,
    /// Failed requests per client id, from anywhere.
    pub failures_per_client: u32,
    /// Failed requests per source address, for any client id.
    pub failures_per_address: u32,
}

type Limiter = DefaultKeyedRateLimiter<String>;

pub struct TokenRateLimits {
    per_address: Limiter,
    per_pair: Limiter,
    failures_per_client: Limiter,
    failures_per_address: Limiter,
    slow_lane: Limiter,
    /// `client:<id>` or `address:<ip>` → locked until.
    locked: Mutex<HashMap<String, Instant>>,
    /// (client id, address) → last success.
    known_good: Mutex<HashMap<(String, String), Instant>>,
}

/// A per-minute rate with a burst of a quarter of it (at least 5).
fn quota(per_minute: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new((per_minute / 4).max(5)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

fn client_key(client_id: &str) -> String {
    format!("client:{client_id}")
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

/// Takes one cell of `key`'s budget; `Err(wait)` when there is none.
fn take(limiter: &Limiter, key: &str) -> Result<(), Duration> {
    if limiter.len() > MAX_TRACKED_KEYS {
        limiter.retain_recent();
    }
    limiter
        .check_key(&key.to_owned())
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// Drops expired entries once the map is full; a full map of live entries takes no more.
fn bounded_insert<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Instant>,
    key: K,
    value: Instant,
    live: impl Fn(&Instant) -> bool,
) {
    if map.len() >= MAX_TRACKED_KEYS && !map.contains_key(&key) {
        map.retain(|_, at| live(at));
        if map.len() >= MAX_TRACKED_KEYS {
            return;
        }
    }
    map.insert(key, value);
}

impl TokenRateLimits {
    pub fn new(rates: TokenRates) -> Self {
        Self {
            per_address: RateLimiter::keyed(quota(rates.per_address)),
            per_pair: RateLimiter::keyed(quota(rates.per_client)),
            failures_per_client: RateLimiter::keyed(quota(rates.failures_per_client)),
            failures_per_address: RateLimiter::keyed(quota(rates.failures_per_address)),
            slow_lane: RateLimiter::keyed(
                Quota::with_period(SLOW_LANE_EVERY).expect("a non-zero period"),
            ),
            locked: Mutex::new(HashMap::new()),
            known_good: Mutex::new(HashMap::new()),
        }
    }

    /// Every request, before it is parsed. `Err(wait)`: refused; retry after `wait`.
    pub fn check_address(&self, address: &str) -> Result<(), Duration> {
        take(&self.per_address, address)
    }

    /// A request for `client_id`, before its (deliberately slow) secret check.
    pub fn admit(&self, client_id: &str, address: &str) -> Result<(), Duration> {
        take(&self.per_pair, &format!("{client_id}\n{address}"))?;
        if self.is_known_good(client_id, address) {
            return Ok(());
        }
        // Each lock has its own slow lane: a locked client id lets one stranger through now
        // and then, and so does a locked address (not one per client id it sprays).
        for key in [client_key(client_id), address_key(address)] {
            if let Some(wait) = self.locked_for(&key) {
                take(&self.slow_lane, &key).map_err(|_| wait)?;
            }
        }
        Ok(())
    }

    /// The request was refused (unknown client, wrong secret, disabled).
    pub fn record_failure(&self, client_id: &str, address: &str) {
        for (limiter, key) in [
            (&self.failures_per_client, client_key(client_id)),
            (&self.failures_per_address, address_key(address)),
        ] {
            if let Err(wait) = take(limiter, &key) {
                self.lock(key, wait);
            }
        }
    }

    /// A token was issued: this address is known-good for this client from now on.
    pub fn record_success(&self, client_id: &str, address: &str) {
        let now = Instant::now();
        let mut known = self.known_good.lock().unwrap_or_else(|e| e.into_inner());
        bounded_insert(
            &mut known,
            (client_id.to_owned(), address.to_owned()),
            now,
            |at| now.duration_since(*at) < KNOWN_GOOD_FOR,
        );
    }

    fn is_known_good(&self, client_id: &str, address: &str) -> bool {
        let known = self.known_good.lock().unwrap_or_else(|e| e.into_inner());
        known
            .get(&(client_id.to_owned(), address.to_owned()))
            .is_some_and(|at| at.elapsed() < KNOWN_GOOD_FOR)
    }

    fn lock(&self, key: String, wait: Duration) {
        let now = Instant::now();
        let until = now + wait.max(Duration::from_secs(1));
        let mut locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        bounded_insert(&mut locked, key, until, |until| *until > now);
    }

    fn locked_for(&self, key: &str) -> Option<Duration> {
        let locked = self.locked.lock().unwrap_or_else(|e| e.into_inner());
        let until = locked.get(key)?;
        until.checked_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> TokenRateLimits {
        TokenRateLimits::new(TokenRates {
            per_client: 1000,
            per_address: 1000,
            failures_per_client: 20,
            failures_per_address: 1000,
        })
    }

    #[test]
    fn failures_lock_strangers_but_not_known_good_pairs() {
        let limits = limits();
        limits.record_success("c", "good");
        for _ in 0..6 {
            limits.record_failure("c", "bad");
        }
        assert!(limits.admit("c", "good").is_ok());
        // The stranger's first attempt may take the slow lane; the next ones wait.
        let _ = limits.admit("c", "stranger");
        let wait = limits.admit("c", "stranger").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        // Another client id is not locked.
        assert!(limits.admit("other", "stranger").is_ok());
    }

    #[test]
    fn successes_use_no_failure_budget() {
        let limits = limits();
        for _ in 0..100 {
            limits.record_success("c", "a");
        }
        assert!(limits.admit("c", "new").is_ok());
    }
}
