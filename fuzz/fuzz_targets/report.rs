//! `POST /reports` bodies in both forms (`api::energy::AnyReport`): a standard OpenADR report,
//! or the short form `{eventId, payloads}` with its `EnergyUsage` payloads turned into report
//! resources (`service::energy::report_resource`); then the stored form, which GETs read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openadr3_vtn::api::energy::{AnyReport, ReportBody};
use openadr3_vtn::api::extract::parse_json;
use openadr3_vtn::domain::common::now;
use openadr3_vtn::domain::report::Report;
use openadr3_vtn::domain::validate::Violations;
use openadr3_vtn::domain::{ObjectId, ObjectType};
use openadr3_vtn::service::energy::report_resource;
use openadr3_vtn::service::reports::row;

fuzz_target!(|body: &[u8]| {
    let parsed = AnyReport::from_bytes(bytes::Bytes::copy_from_slice(body)).parse();
    match parsed {
        Err(_) => {}
        Ok(ReportBody::Standard(mut report)) => {
            report.id = Some(ObjectId::new_random());
            report.created_date_time = Some(now());
            report.modification_date_time = report.created_date_time;
            report.object_type = Some(ObjectType::Report);
            let row = row(&report, Some("ven-1")).expect("an accepted report has a stored form");
            let _: Report = serde_json::from_str(&row.body).expect("the stored report reads back");
            if let Err(e) = parse_json::<Report>(row.body.as_bytes()) {
                panic!("the server's own report is refused: {e:?}\n{}", row.body);
            }
        }
        Ok(ReportBody::Short(short)) => {
            let Ok(usages) = short.energy_usages() else {
                return;
            };
            for usage in &usages {
                let resource = report_resource(usage)
                    .unwrap_or_else(|e| panic!("a checked payload fails to convert: {e:?}"));
                // The resource is stored in a standard report, which must be a valid one.
                if let Err(e) = Violations::check(&resource) {
                    panic!("the report made from a short form is invalid: {e}\n{resource:?}");
                }
                let text = serde_json::to_string(&resource).unwrap();
                let _: openadr3_vtn::domain::report::ReportResource =
                    serde_json::from_str(&text).expect("the stored resource reads back");
            }
        }
    }
});
