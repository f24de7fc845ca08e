//! Date-times as the server reads them: in bodies (every `start` and `timestamp`, RFC 3339 with
//! an offset, through serde) and in the `x-start`/`x-end` query parameters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::events::EventListParams;
use openadr3_vtn::api::query::parse;
use openadr3_vtn::domain::common::DateTimeOffset;

fuzz_target!(|raw: &str| {
    let json = serde_json::to_string(raw).unwrap();
    if let Ok(time) = serde_json::from_str::<DateTimeOffset>(&json) {
        // What is stored is read back by every GET: it must parse to the same instant.
        let stored = serde_json::to_string(&time).unwrap();
        let back: DateTimeOffset = serde_json::from_str(&stored).unwrap_or_else(|e| {
            panic!("{raw:?} was stored as {stored}, which does not read back: {e}")
        });
        assert_eq!(back, time);
        let _ = time.to_utc().timestamp_millis();
    }
    for key in ["x-start", "x-end"] {
        let query: String = [(key, raw)]
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if let Ok(parsed) = parse::<EventListParams>(&query) {
            let (filter, _) = parsed.filter();
            let _ = filter.window_start_ms.or(filter.window_end_ms);
        }
    }
});

/// Percent-encodes every byte that is not unreserved, as a client would.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
