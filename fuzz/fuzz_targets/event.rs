//! `POST /events` and `PUT /events/{eventID}` bodies: strict parsing and validation
//! (`ValidJson<Event>`), then what the service stores (`service::events::row`, with the active
//! window), which every GET reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::extract::parse_json;
use openadr3_vtn::domain::common::now;
use openadr3_vtn::domain::{Event, ObjectId, ObjectType};
use openadr3_vtn::service::events::row;

fuzz_target!(|body: &[u8]| {
    let Ok(mut event) = parse_json::<Event>(body) else {
        return;
    };
    event.id = Some(ObjectId::new_random());
    event.created_date_time = Some(now());
    event.modification_date_time = event.created_date_time;
    event.object_type = Some(ObjectType::Event);
    let row = row(&event).expect("an accepted event has a stored form");
    if let (Some(start), Some(end)) = (row.start_ms, row.end_ms) {
        assert!(start <= end, "window {start}..{end} of {event:?}");
    }
    // Read back as the store's readers do, and accepted again as a PUT body.
    let stored: Event = serde_json::from_str(&row.body).expect("the stored event reads back");
    assert_eq!(stored.active_window(), event.active_window());
    if let Err(e) = parse_json::<Event>(row.body.as_bytes()) {
        panic!("the server's own event is refused: {e:?}\n{}", row.body);
    }
});
