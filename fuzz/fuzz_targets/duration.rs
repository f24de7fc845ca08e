//! ISO 8601 durations as the server reads them: `IsoDuration` (every `duration` field of an
//! event, report or program) and the short-form report `resolution`, with what is then computed
//! from them.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use openadr3_vtn::domain::energy::{iso_duration, resolution_seconds};
use openadr3_vtn::domain::IsoDuration;

fuzz_target!(|raw: &str| {
    if let Ok(duration) = IsoDuration::parse(raw) {
        // The client's text is what is stored and returned.
        assert_eq!(String::from(duration.clone()), raw);
        // Windows are computed from any start, including chrono's extremes.
        let start: DateTime<Utc> = "2024-01-31T00:00:00Z".parse().unwrap();
        for start in [start, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let _ = duration.add_to(start);
        }
        let _ = (duration.is_infinite(), duration.is_negative());
    }
    if let Ok(seconds) = resolution_seconds(raw) {
        assert!(seconds > 0, "{raw} gave {seconds} s");
        // A short-form report stores its resolution as an interval duration: a failure here is
        // a 500 (`service::energy::report_resource`).
        let iso = iso_duration(seconds);
        if let Err(e) = IsoDuration::parse(&iso) {
            panic!("resolution {raw:?} = {seconds} s became {iso:?}, which does not parse: {e}");
        }
    }
});
