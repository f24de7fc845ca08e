//! List query strings of every OpenADR collection, parsed as the handlers do: the first byte
//! picks the collection, the rest is the raw query string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::query::{parse, PageParams, MAX_LIMIT};
use openadr3_vtn::api::{events, programs, reports, subscriptions, vens};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(query) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 7 {
        0 => {
            if let Ok(q) = parse::<events::EventListParams>(query) {
                let (filter, page) = q.filter();
                assert!((0..=MAX_LIMIT).contains(&page.limit));
                if let (Some(start), Some(end)) = (filter.window_start_ms, filter.window_end_ms) {
                    assert!(start <= end);
                }
            }
        }
        1 => drop(parse::<programs::ProgramListParams>(query).map(|q| q.filter())),
        2 => drop(parse::<reports::ReportListParams>(query).map(|q| q.filter())),
        3 => drop(parse::<subscriptions::SubscriptionListParams>(query).map(|q| q.filter())),
        4 => drop(parse::<vens::VenListParams>(query).map(|q| q.filter())),
        5 => drop(parse::<vens::ResourceListParams>(query).map(|q| q.filter())),
        _ => drop(parse::<PageParams>(query).map(|q| q.page())),
    }
});
