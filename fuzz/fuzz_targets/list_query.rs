//! List query strings of every OpenADR collection, parsed as the handlers do: the first byte
//! picks the collection, the rest is the raw query string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::extract::ListQuery;
use openadr3_vtn::api::{events, programs, reports, subscriptions, vens};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(query) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(q) = ListQuery::parse(query, events::LIST_KEYS) {
                let _ = q.x_start.map(|t| t.timestamp_millis());
                let _ = q.x_end.map(|t| t.timestamp_millis());
                assert!((0..=ListQuery::MAX_LIMIT).contains(&q.page.limit));
            }
        }
        1 => drop(ListQuery::parse(query, programs::LIST_KEYS)),
        2 => drop(reports::list_filter(query)),
        3 => drop(subscriptions::list_filter(query)),
        4 => drop(ListQuery::parse(query, vens::VEN_LIST_KEYS)),
        _ => drop(ListQuery::parse(query, vens::RESOURCE_LIST_KEYS)),
    }
});
