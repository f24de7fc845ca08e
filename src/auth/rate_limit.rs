//! Rate limits of the token endpoint.
//!
//! Two goals pull against each other: guessing a client's secret must stay slow, and someone
//! guessing must not lock the real client out. So successes and failures are counted apart:
//!
//! - Every request counts against its source address, so one caller cannot monopolise the
//!   argon2 workers. Tokens issued count against the client id, so a client fetching tokens in
//!   a loop is bounded; only someone holding the secret can use that budget up.
//! - An address that obtained a token for the client within [`KNOWN_GOOD_FOR`] is a known-good
//!   pair (until it fails once): its requests go on as usual. Every other request counts, when it
//!   arrives (so concurrent guesses count too), against the failure budgets of the client id and
//!   of the address. Once either is spent, that client id (or address) is *locked* until it
//!   refills, and requests that are not known-good wait for the lock's *slow lane*: one request
//!   at a time, each failure held for [`SLOW_LANE_PENALTY`] before it is answered. The real
//!   client, whose secret is right, is answered as soon as its turn comes (within
//!   [`SLOW_LANE_WAIT`], else 429), and guessing through a locked client id stays below one
//!   attempt per [`SLOW_LANE_PENALTY`].
//!
//! All of this is per replica (in memory); with N replicas the bounds are N times as wide.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Forget idle keys once this many are tracked, so random client ids cannot grow memory.
const MAX_TRACKED_KEYS: usize = 10_000;

/// How long a successful (client id, address) pair stays known-good.
pub const KNOWN_GOOD_FOR: Duration = Duration::from_secs(24 * 3600);

/// How long a request waits for its turn in a locked client id's (or address's) slow lane.
pub const SLOW_LANE_WAIT: Duration = Duration::from_secs(2);

/// How long a failed request in a slow lane keeps it before it is answered.
pub const SLOW_LANE_PENALTY: Duration = Duration::from_secs(1);

/// The budgets, per minute. Validated non-zero where the settings are read.
#[derive(Debug, Clone, Copy)]
pub struct TokenRates {
    /// Tokens issued per client id.
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
    issued_per_client: Limiter,
    failures_per_client: Limiter,
    failures_per_address: Limiter,
    /// `client:<id>` or `address:<ip>` → locked until.
    locked: Mutex<HashMap<String, Instant>>,
    /// The slow lane of each lock.
    lanes: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// (client id, address) → last success.
    known_good: Mutex<HashMap<(String, String), Instant>>,
}

/// How a request for a client id was let in; held until it is answered.
#[must_use = "an admission must be held until the request is answered"]
pub enum Admission {
    /// From a known-good pair: not counted unless it fails.
    KnownGood,
    /// Counted against the failure budgets; no lock.
    Counted,
    /// Counted, and through the slow lanes of the locks it met.
    SlowLane(Vec<OwnedSemaphorePermit>),
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

fn lock_map<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenRateLimits {
    pub fn new(rates: TokenRates) -> Self {
        Self {
            per_address: RateLimiter::keyed(quota(rates.per_address)),
            issued_per_client: RateLimiter::keyed(quota(rates.per_client)),
            failures_per_client: RateLimiter::keyed(quota(rates.failures_per_client)),
            failures_per_address: RateLimiter::keyed(quota(rates.failures_per_address)),
            locked: Mutex::new(HashMap::new()),
            lanes: Mutex::new(HashMap::new()),
            known_good: Mutex::new(HashMap::new()),
        }
    }

    /// Every request, before it is parsed. `Err(wait)`: refused; retry after `wait`.
    pub fn check_address(&self, address: &str) -> Result<(), Duration> {
        take(&self.per_address, address)
    }

    /// A request for `client_id`, before its (deliberately slow) secret check. `Err(wait)`:
    /// its lock's slow lane stayed busy for [`SLOW_LANE_WAIT`].
    pub async fn admit(&self, client_id: &str, address: &str) -> Result<Admission, Duration> {
        if self.is_known_good(client_id, address) {
            return Ok(Admission::KnownGood);
        }
        self.count_failure(client_id, address);
        let mut permits = Vec::new();
        // Lanes are taken in one order (client, then address), so two requests never wait
        // for each other's.
        for key in [client_key(client_id), address_key(address)] {
            let Some(locked_for) = self.locked_for(&key) else {
                continue;
            };
            let lane = self.lane(&key);
            match tokio::time::timeout(SLOW_LANE_WAIT, lane.acquire_owned()).await {
                Ok(Ok(permit)) => permits.push(permit),
                _ => return Err(locked_for.max(Duration::from_secs(1))),
            }
        }
        Ok(if permits.is_empty() {
            Admission::Counted
        } else {
            Admission::SlowLane(permits)
        })
    }

    /// The request was refused (unknown client, wrong secret, disabled). A known-good pair is
    /// no longer one, and its failure counts (a guesser behind the real client's address gets
    /// no shortcut); a slow-lane request keeps its lanes for [`SLOW_LANE_PENALTY`].
    pub async fn refused(&self, admission: Admission, client_id: &str, address: &str) {
        match admission {
            Admission::KnownGood => {
                lock_map(&self.known_good).remove(&(client_id.to_owned(), address.to_owned()));
                self.count_failure(client_id, address);
            }
            Admission::Counted => {}
            Admission::SlowLane(permits) => {
                tokio::time::sleep(SLOW_LANE_PENALTY).await;
                drop(permits);
            }
        }
    }

    /// One cell of the client id's and the address's failure budgets; a spent one locks.
    fn count_failure(&self, client_id: &str, address: &str) {
        for (limiter, key) in [
            (&self.failures_per_client, client_key(client_id)),
            (&self.failures_per_address, address_key(address)),
        ] {
            if let Err(wait) = take(limiter, &key) {
                self.lock(key, wait);
            }
        }
    }

    /// The secret was right: `Err(wait)` when the client has been issued its budget of tokens;
    /// otherwise this address is known-good for this client from now on.
    pub fn record_success(&self, client_id: &str, address: &str) -> Result<(), Duration> {
        take(&self.issued_per_client, &client_key(client_id))?;
        let now = Instant::now();
        let mut known = lock_map(&self.known_good);
        if known.len() >= MAX_TRACKED_KEYS {
            known.retain(|_, at| now.duration_since(*at) < KNOWN_GOOD_FOR);
        }
        if known.len() < MAX_TRACKED_KEYS {
            known.insert((client_id.to_owned(), address.to_owned()), now);
        }
        Ok(())
    }

    fn is_known_good(&self, client_id: &str, address: &str) -> bool {
        lock_map(&self.known_good)
            .get(&(client_id.to_owned(), address.to_owned()))
            .is_some_and(|at| at.elapsed() < KNOWN_GOOD_FOR)
    }

    fn lock(&self, key: String, wait: Duration) {
        let now = Instant::now();
        let until = now + wait.max(Duration::from_secs(1));
        let mut locked = lock_map(&self.locked);
        if locked.len() >= MAX_TRACKED_KEYS && !locked.contains_key(&key) {
            locked.retain(|_, until| *until > now);
            // Lanes of expired locks go too (one in use stays alive through its permits).
            let mut lanes = lock_map(&self.lanes);
            lanes.retain(|key, _| locked.contains_key(key));
        }
        locked.insert(key, until);
    }

    fn locked_for(&self, key: &str) -> Option<Duration> {
        let locked = lock_map(&self.locked);
        let until = locked.get(key)?;
        until.checked_duration_since(Instant::now())
    }

    fn lane(&self, key: &str) -> Arc<Semaphore> {
        lock_map(&self.lanes)
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
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

    #[tokio::test]
    async fn failures_send_strangers_to_the_slow_lane_but_not_known_good_pairs() {
        let limits = limits();
        limits.record_success("c", "good").unwrap();
        for _ in 0..6 {
            let admission = limits.admit("c", "bad").await.unwrap();
            limits.refused(admission, "c", "bad").await;
        }
        assert!(matches!(
            limits.admit("c", "good").await,
            Ok(Admission::KnownGood)
        ));
        let first = limits.admit("c", "stranger").await.unwrap();
        assert!(matches!(first, Admission::SlowLane(_)));
        // The lane is busy while the first is answered: the second waits, then gives up.
        let wait = limits.admit("c", "stranger").await.err().unwrap();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        drop(first);
        assert!(limits.admit("c", "stranger").await.is_ok());
        // Another client id is not locked.
        assert!(matches!(
            limits.admit("other", "stranger").await,
            Ok(Admission::Counted)
        ));
    }

    #[tokio::test]
    async fn a_failure_ends_a_known_good_pair() {
        let limits = limits();
        limits.record_success("c", "shared").unwrap();
        for _ in 0..6 {
            let admission = limits.admit("c", "shared").await.unwrap();
            limits.refused(admission, "c", "shared").await;
        }
        assert!(matches!(
            limits.admit("c", "shared").await,
            Ok(Admission::SlowLane(_))
        ));
    }

    #[test]
    fn successes_use_no_failure_budget_but_their_own() {
        let limits = TokenRateLimits::new(TokenRates {
            per_client: 20,
            per_address: 1000,
            failures_per_client: 20,
            failures_per_address: 1000,
        });
        let issued = (0..10)
            .filter(|_| limits.record_success("c", "a").is_ok())
            .count();
        assert_eq!(issued, 5, "a burst of 5");
        assert!(limits.locked_for(&client_key("c")).is_none());
    }
}
