//! `POST /programs` and `PUT /programs/{programID}` bodies: strict parsing and validation, then
//! the stored form (`service::programs::row`), which every GET reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::extract::parse_json;
use openadr3_vtn::domain::common::now;
use openadr3_vtn::domain::{ObjectId, ObjectType, Program};
use openadr3_vtn::service::programs::row;

fuzz_target!(|body: &[u8]| {
    let Ok(mut program) = parse_json::<Program>(body) else {
        return;
    };
    program.id = Some(ObjectId::new_random());
    program.created_date_time = Some(now());
    program.modification_date_time = program.created_date_time;
    program.object_type = Some(ObjectType::Program);
    let row = row(&program).expect("an accepted program has a stored form");
    let _: Program = serde_json::from_str(&row.body).expect("the stored program reads back");
    if let Err(e) = parse_json::<Program>(row.body.as_bytes()) {
        panic!("the server's own program is refused: {e:?}\n{}", row.body);
    }
});
