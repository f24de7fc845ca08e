//! `POST /subscriptions` and `PUT /subscriptions/{subscriptionID}` bodies: strict parsing and
//! validation, then the stored form (`service::subscriptions::row`), which every GET and every
//! notification reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::extract::parse_json;
use openadr3_vtn::domain::common::now;
use openadr3_vtn::domain::subscription::Subscription;
use openadr3_vtn::domain::{ObjectId, ObjectType};
use openadr3_vtn::service::subscriptions::row;

fuzz_target!(|body: &[u8]| {
    let Ok(mut subscription) = parse_json::<Subscription>(body) else {
        return;
    };
    subscription.id = Some(ObjectId::new_random());
    subscription.created_date_time = Some(now());
    subscription.modification_date_time = subscription.created_date_time;
    subscription.object_type = Some(ObjectType::Subscription);
    let row =
        row(&subscription, Some("ven-1")).expect("an accepted subscription has a stored form");
    let _: Subscription =
        serde_json::from_str(&row.body).expect("the stored subscription reads back");
    if let Err(e) = parse_json::<Subscription>(row.body.as_bytes()) {
        panic!(
            "the server's own subscription is refused: {e:?}\n{}",
            row.body
        );
    }
});
