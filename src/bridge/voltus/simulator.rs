//! A Voltus API simulator: the subset of `https://api.voltus.co/2022-04-15` the bridge uses, plus
//! operator commands, for demos (`openadr3-vtn voltus-simulator`) and tests (in-process).
//!
//! Voltus endpoints (all need `X-Voltus-API-Key`; errors are `{message, type}`):
//! - `GET /2022-04-15/dispatches` (the last 24 hours), `GET /2022-04-15/dispatches/{id}`;
//! - `POST /2022-04-15/dispatches {start_time, end_time}`: a test dispatch (both within the next
//!   72 hours), for every site, commitment 0;
//! - `GET /2022-04-15/sites`;
//! - `POST /2022-04-15/telemetry`: validated as Voltus documents it (`interval_seconds` a
//!   multiple of 30 up to 300, `site_id` xor `meter_id`, `units` kW or kWh, one unit per request);
//! - `GET|POST /2022-04-15/webhooks`, `DELETE /2022-04-15/webhooks/{id}`: creating one sends the
//!   empty test payload first; dispatch changes then POST skinny payloads
//!   (`{"event":{"name":"dispatch.create"},"resource":"/2022-04-15/dispatches/{id}"}`), each
//!   retried four times with exponential backoff;
//! - `POST /2022-04-15/scenarios {"scenario": …, "update_after_seconds": n}`: the sandbox
//!   certification scenarios `basic`, `ancillary_services` (no end time; added after n s,
//!   default 600), `two_dispatches` (overlapping and non-abutting), `cancelled` (cancelled after
//!   n s, default 60). A scenario replaces the dispatches.
//!
//! Operator commands (same API key):
//! - `POST /simulator/dispatches`: a dispatch with any fields (defaults for the rest);
//! - `PATCH /simulator/dispatches/{id}`: change fields (`null` removes one, e.g. `end_time`);
//!   `modification_number` goes up by one;
//! - `POST /simulator/dispatches/raw`: append any JSON as a list entry (malformed dispatches,
//!   the same id twice);
//! - `POST /simulator/faults {"status": 429, "retry_after": 2, "count": 1, "path": "/2022-04-15/dispatches"}`
//!   or `{"garbage": true}`: the next `count` Voltus requests (under `path`, if given) fail so;
//!   `{"delay_ms": 1500}`: they are answered late, with what was true when they arrived (a slow
//!   network or a slow Voltus);
//! - `POST /simulator/telemetry/refuse {"site_id": "yd4g"}` (any point fields): from now on a
//!   telemetry upload holding a matching point is refused with 400 as a whole, as Voltus refuses
//!   a request with one bad point (numbers match by value); `{}` clears the rules;
//! - `GET /simulator/telemetry`, `GET /simulator/requests`, `POST /simulator/reset`.

use crate::config::SimulatorArgs;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const VERSION: &str = "/2022-04-15";

/// A forced failure of the next matching request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// This status (e.g. 429, 500), with `Retry-After` seconds when given.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// 200 with a body that is not JSON.
    Garbage,
    /// The right answer, as of the request's arrival, sent only after this many milliseconds.
    Delay { ms: u64 },
}

#[derive(Debug, Clone)]
struct ArmedFault {
    fault: Fault,
    path: Option<String>,
}

#[derive(Default)]
struct State {
    api_key: String,
    dispatches: Vec<Value>,
    telemetry: Vec<Value>,
    /// Each accepted telemetry upload, as it came.
    uploads: Vec<Vec<Value>>,
    webhooks: Vec<Value>,
    faults: VecDeque<ArmedFault>,
    /// Telemetry points matching one of these (field by field) make the upload a 400.
    refused_telemetry: Vec<Map<String, Value>>,
    requests: HashMap<String, u64>,
    sites: Vec<Value>,
    next_id: u64,
    /// Bumped by reset and scenarios, so scheduled changes of older dispatches do nothing.
    generation: u64,
}

/// A running simulator.
#[derive(Clone)]
pub struct Simulator {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    http: reqwest::Client,
    /// Delay before the first webhook retry (doubling for the next ones).
    webhook_retry: Duration,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn voltus_error(status: StatusCode, message: &str) -> HttpResponse {
    let kind = match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    HttpResponse::build(status).json(json!({"message": message, "type": kind}))
}

fn default_sites() -> Vec<Value> {
    vec![
        json!({"id": "xv1w4", "name": "A cool site", "customer_location_id": "site101", "meters": [{"id": "wpv31", "name": "Primary Meter"}]}),
        json!({"id": "yd4g", "name": "The coolest site", "customer_location_id": "site102", "meters": [{"id": "njj1", "name": "The best meter"}]}),
        json!({"id": "40wl", "name": "Just an ok site", "customer_location_id": "", "meters": []}),
    ]
}

fn default_program() -> Value {
    json!({"id": 1, "market": "CAISO", "name": "CAISO Operating Reserves", "program_type": "ancillary_services", "timezone": "US/Pacific"})
}

fn site_entry(site: &Value, commitment: Value) -> Value {
    json!({"id": site["id"], "name": site["name"], "customer_location_id": site["customer_location_id"],
           "commitment": commitment, "drop_by": commitment})
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("sim{}", self.next_id)
    }

    fn find(&mut self, id: &str) -> Option<&mut Value> {
        self.dispatches.iter_mut().rev().find(|d| d["id"] == id)
    }

    /// Sites of new dispatches become known sites (for `/sites` and telemetry checks).
    fn learn_sites(&mut self, dispatch: &Value) {
        for site in dispatch["sites"].as_array().into_iter().flatten() {
            if site["id"].is_string() && !self.sites.iter().any(|s| s["id"] == site["id"]) {
                self.sites
                    .push(json!({"id": site["id"], "name": site["name"],
                    "customer_location_id": site["customer_location_id"], "meters": []}));
            }
        }
    }
}

impl Simulator {
    /// Starts a simulator on `listener`, served in the background on the current runtime.
    pub fn start(listener: TcpListener, api_key: &str) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let host = listener.local_addr()?.ip();
        let state = State {
            api_key: api_key.to_owned(),
            sites: default_sites(),
            ..Default::default()
        };
        let simulator = Self {
            base_url: format!("http://{host}:{port}"),
            state: Arc::new(Mutex::new(state)),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .map_err(std::io::Error::other)?,
            webhook_retry: Duration::from_millis(200),
        };
        let data = web::Data::new(simulator.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().error_handler(|err, _| {
                    let message = err.to_string();
                    actix_web::error::InternalError::from_response(
                        err,
                        voltus_error(StatusCode::BAD_REQUEST, &message),
                    )
                    .into()
                }))
                .route("/2022-04-15/dispatches", web::get().to(list_dispatches))
                .route(
                    "/2022-04-15/dispatches",
                    web::post().to(create_test_dispatch),
                )
                .route("/2022-04-15/dispatches/{id}", web::get().to(get_dispatch))
                .route("/2022-04-15/sites", web::get().to(list_sites))
                .route("/2022-04-15/telemetry", web::post().to(post_telemetry))
                .route("/2022-04-15/webhooks", web::get().to(list_webhooks))
                .route("/2022-04-15/webhooks", web::post().to(create_webhook))
                .route(
                    "/2022-04-15/webhooks/{id}",
                    web::delete().to(delete_webhook),
                )
                .route("/2022-04-15/scenarios", web::post().to(scenario))
                .route("/simulator/dispatches", web::post().to(operator_create))
                .route("/simulator/dispatches/raw", web::post().to(operator_raw))
                .route(
                    "/simulator/dispatches/{id}",
                    web::patch().to(operator_update),
                )
                .route("/simulator/faults", web::post().to(operator_fault))
                .route("/simulator/telemetry", web::get().to(operator_telemetry))
                .route(
                    "/simulator/telemetry/refuse",
                    web::post().to(operator_refuse_telemetry),
                )
                .route("/simulator/requests", web::get().to(operator_requests))
                .route("/simulator/reset", web::post().to(operator_reset))
                .default_service(web::to(|| async {
                    voltus_error(StatusCode::NOT_FOUND, "Not found")
                }))
        })
        .workers(1)
        .listen(listener)?
        .run();
        tokio::spawn(server);
        Ok(simulator)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("simulator state"))
    }

    /// Adds a dispatch; missing fields get defaults (a real, authorized dispatch starting in five
    /// minutes for an hour, program 1, the default sites). Returns it; webhooks hear `dispatch.create`.
    pub fn add_dispatch(&self, fields: Value) -> Value {
        let dispatch = self.with(|s| {
            let start = now() + TimeDelta::minutes(5);
            let mut d = json!({
                "id": s.new_id(), "authorized": true, "test": false,
                "start_time": time(start), "end_time": time(start + TimeDelta::hours(1)),
                "creation_time": time(now()), "modification_number": 0,
                "program": default_program(),
                "sites": s.sites.iter().take(2).map(|site| site_entry(site, json!(10))).collect::<Vec<_>>(),
            });
            merge(&mut d, &fields);
            s.learn_sites(&d);
            s.dispatches.push(d.clone());
            d
        });
        self.notify("dispatch.create", &dispatch["id"]);
        dispatch
    }

    /// Changes a dispatch (`null` removes a field) and bumps its `modification_number`; webhooks
    /// hear `dispatch.update`. `None` when there is no such dispatch.
    pub fn update_dispatch(&self, id: &str, changes: Value) -> Option<Value> {
        let updated = self.with(|s| {
            let d = s.find(id)?;
            merge(d, &changes);
            if changes.get("modification_number").is_none() {
                let next = d["modification_number"].as_i64().unwrap_or(0) + 1;
                d["modification_number"] = json!(next);
            }
            let d = d.clone();
            s.learn_sites(&d);
            Some(d)
        })?;
        self.notify("dispatch.update", &updated["id"]);
        Some(updated)
    }

    /// Appends any JSON to the dispatch list, unchecked (malformed dispatches, duplicate ids).
    pub fn push_raw(&self, value: Value) {
        self.with(|s| s.dispatches.push(value));
    }

    /// The next `count` Voltus requests (whose path starts with `path`, if given) fail with `fault`.
    pub fn inject(&self, fault: Fault, count: usize, path: Option<&str>) {
        self.with(|s| {
            for _ in 0..count {
                s.faults.push_back(ArmedFault {
                    fault: fault.clone(),
                    path: path.map(str::to_owned),
                });
            }
        });
    }

    /// From now on, a telemetry upload with a point whose fields include all of `fields` (e.g.
    /// `{"value": 13.0}` or `{"site_id": "yd4g"}`; numbers equal by value) is refused with a 400;
    /// an empty object clears the rules.
    pub fn refuse_telemetry(&self, fields: Value) {
        self.with(|s| match fields {
            Value::Object(map) if !map.is_empty() => s.refused_telemetry.push(map),
            _ => s.refused_telemetry.clear(),
        });
    }

    /// Telemetry points accepted so far.
    pub fn telemetry(&self) -> Vec<Value> {
        self.with(|s| s.telemetry.clone())
    }

    /// Accepted telemetry uploads, each as the list of its points.
    pub fn uploads(&self) -> Vec<Vec<Value>> {
        self.with(|s| s.uploads.clone())
    }

    /// Requests received for `method path` (e.g. `GET /2022-04-15/dispatches`), faults included.
    pub fn requests(&self, key: &str) -> u64 {
        self.with(|s| s.requests.get(key).copied().unwrap_or(0))
    }

    pub fn reset(&self) {
        self.with(|s| {
            s.dispatches.clear();
            s.telemetry.clear();
            s.uploads.clear();
            s.faults.clear();
            s.refused_telemetry.clear();
            s.requests.clear();
            s.sites = default_sites();
            s.generation += 1;
        });
    }

    /// POSTs the skinny payload to every webhook listening for `event`, in the background.
    fn notify(&self, event: &str, id: &Value) {
        let Some(id) = id.as_str() else { return };
        let urls: Vec<String> = self.with(|s| {
            s.webhooks
                .iter()
                .filter(|w| {
                    w["events"]
                        .as_array()
                        .is_some_and(|e| e.iter().any(|e| e["name"] == event))
                })
                .filter_map(|w| w["url"].as_str().map(str::to_owned))
                .collect()
        });
        let payload =
            json!({"event": {"name": event}, "resource": format!("{VERSION}/dispatches/{id}")});
        for url in urls {
            let http = self.http.clone();
            let payload = payload.clone();
            let mut delay = self.webhook_retry;
            tokio::spawn(async move {
                // The first try and four retries with exponential backoff.
                for attempt in 0..5 {
                    match http.post(&url).json(&payload).send().await {
                        Ok(r) if r.status().is_success() => return,
                        Ok(r) => tracing::info!(
                            status = r.status().as_u16(),
                            attempt,
                            "simulator webhook refused"
                        ),
                        Err(e) => tracing::info!(error = %e, attempt, "simulator webhook failed"),
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            });
        }
    }

    /// API key check, request counting and armed faults, for Voltus endpoints.
    fn gate(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let key = format!("{} {}", req.method(), req.path());
        let given = req
            .headers()
            .get("X-Voltus-API-Key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.with(|s| {
            *s.requests.entry(key).or_default() += 1;
            if given.as_deref() != Some(s.api_key.as_str()) {
                return Some(voltus_error(StatusCode::UNAUTHORIZED, "Permission denied"));
            }
            if req.path().starts_with("/simulator") {
                return None;
            }
            let position = s.faults.iter().position(|f| {
                !matches!(f.fault, Fault::Delay { .. })
                    && f.path.as_deref().is_none_or(|p| req.path().starts_with(p))
            })?;
            let armed = s.faults.remove(position)?;
            Some(match armed.fault {
                Fault::Delay { .. } => unreachable!("delays are taken by `delay`"),
                Fault::Garbage => HttpResponse::Ok()
                    .content_type("application/json")
                    .body("<html>oops"),
                Fault::Status {
                    status,
                    retry_after,
                } => {
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let mut response = voltus_error(status, "Injected fault");
                    if let Some(seconds) = retry_after {
                        response.headers_mut().insert(
                            actix_web::http::header::RETRY_AFTER,
                            actix_web::http::header::HeaderValue::from(seconds),
                        );
                    }
                    response
                }
            })
        })
    }

    /// Waits out an armed [`Fault::Delay`] for this request, if any. Handlers call it after they
    /// computed their answer, so a late answer tells what was true when the request arrived.
    async fn delay(&self, req: &HttpRequest) {
        let wait = self.with(|s| {
            let position = s.faults.iter().position(|f| {
                matches!(f.fault, Fault::Delay { .. })
                    && f.path.as_deref().is_none_or(|p| req.path().starts_with(p))
            })?;
            match s.faults.remove(position)?.fault {
                Fault::Delay { ms } => Some(Duration::from_millis(ms)),
                _ => None,
            }
        });
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
    }

    fn schedule(&self, after: Duration, id: String, changes: Value) {
        let this = self.clone();
        let generation = self.with(|s| s.generation);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if this.with(|s| s.generation) == generation {
                this.update_dispatch(&id, changes);
            }
        });
    }

    /// Replaces the dispatches with a certification scenario; the list of new dispatches.
    pub fn scenario(
        &self,
        name: &str,
        update_after: Option<Duration>,
    ) -> Result<Vec<Value>, String> {
        self.with(|s| {
            s.dispatches.clear();
            s.generation += 1;
        });
        let t = now();
        let at = |minutes: i64| time(t + TimeDelta::minutes(minutes));
        let created = match name {
            "basic" => vec![self.add_dispatch(json!({"start_time": at(10), "end_time": at(70)}))],
            "ancillary_services" => {
                let d = self.add_dispatch(json!({"start_time": at(1), "end_time": null,
                    "metadata": {"event_type": "ancillary_services", "notes": "end time follows"}}));
                let id = d["id"].as_str().unwrap_or_default().to_owned();
                self.schedule(update_after.unwrap_or(Duration::from_secs(600)), id, json!({"end_time": at(61)}));
                vec![d]
            }
            "two_dispatches" => vec![
                self.add_dispatch(json!({"start_time": at(10), "end_time": at(70)})),
                self.add_dispatch(json!({"start_time": at(40), "end_time": at(100)})),
                self.add_dispatch(json!({"start_time": at(130), "end_time": at(190)})),
            ],
            "cancelled" => {
                let d = self.add_dispatch(json!({"start_time": at(10), "end_time": at(70)}));
                let id = d["id"].as_str().unwrap_or_default().to_owned();
                let after = update_after.unwrap_or(Duration::from_secs(60));
                self.schedule(after, id, json!({"authorized": false, "cancel_time": time(t + TimeDelta::from_std(after).unwrap_or_default())}));
                vec![d]
            }
            other => {
                return Err(format!(
                    "Unknown scenario '{other}'; scenarios are basic, ancillary_services, two_dispatches, cancelled"
                ))
            }
        };
        Ok(created)
    }
}

/// Sets `changes`' fields on `target`; `null` removes a field.
fn merge(target: &mut Value, changes: &Value) {
    let (Some(target), Some(changes)) = (target.as_object_mut(), changes.as_object()) else {
        return;
    };
    for (key, value) in changes {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

type Sim = web::Data<Simulator>;

async fn list_dispatches(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let horizon = now() - TimeDelta::hours(24);
    let dispatches: Vec<Value> = sim.with(|s| {
        s.dispatches
            .iter()
            .filter(|d| {
                let latest = d["end_time"].as_str().or(d["start_time"].as_str());
                latest
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_none_or(|t| t >= horizon)
            })
            .cloned()
            .collect()
    });
    sim.delay(&req).await;
    HttpResponse::Ok().json(json!({"dispatches": dispatches, "page": 0, "perPage": 0}))
}

async fn get_dispatch(sim: Sim, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let found = sim.with(|s| s.find(&id).cloned());
    sim.delay(&req).await;
    match found {
        Some(d) => HttpResponse::Ok().json(d),
        None => voltus_error(StatusCode::NOT_FOUND, "Dispatch not found"),
    }
}

async fn create_test_dispatch(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let parse = |field: &str| -> Result<DateTime<Utc>, String> {
        let text = body[field]
            .as_str()
            .ok_or(format!("'{field}' is required"))?;
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|_| format!("'{field}' must be an RFC 3339 timestamp"))
    };
    let (start, end) = match (parse("start_time"), parse("end_time")) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(e), _) | (_, Err(e)) => return voltus_error(StatusCode::BAD_REQUEST, &e),
    };
    let limit = now() + TimeDelta::hours(72);
    if start <= now() || start > limit {
        return voltus_error(
            StatusCode::BAD_REQUEST,
            "start_time must be in the future, within the next 72 hours",
        );
    }
    if end <= start || end > limit {
        return voltus_error(
            StatusCode::BAD_REQUEST,
            "end_time must be after start_time, within the next 72 hours",
        );
    }
    let sites: Vec<Value> = sim.with(|s| {
        s.sites
            .iter()
            .map(|site| site_entry(site, json!(0)))
            .collect()
    });
    let dispatch = sim.add_dispatch(json!({
        "test": true, "start_time": time(start), "end_time": time(end), "sites": sites,
        "program": {"id": body["program_id"].as_i64().unwrap_or(700), "market": "", "name": "Voltus Communications Test",
                    "program_type": "capacity", "timezone": "US/Eastern"},
    }));
    HttpResponse::Ok().json(dispatch)
}

async fn list_sites(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let sites = sim.with(|s| s.sites.clone());
    HttpResponse::Ok().json(json!({"sites": sites, "page": 0, "perPage": 0}))
}

/// Checks a telemetry upload as Voltus documents it; the accepted points, or why not.
fn check_telemetry(body: &Value, known_sites: &[Value]) -> Result<Vec<Value>, String> {
    let points = body
        .get("telemetry")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or("A telemetry request must contain a non-empty 'telemetry' array")?;
    let mut units: Option<&str> = None;
    for (i, p) in points.iter().enumerate() {
        let interval = p["interval_seconds"].as_i64().ok_or(format!(
            "telemetry[{i}].interval_seconds must be an integer"
        ))?;
        if interval <= 0 || interval % 30 != 0 || interval > 300 {
            return Err(format!(
                "telemetry[{i}].interval_seconds must be divisible by 30 and at most 300"
            ));
        }
        match (p.get("site_id"), p.get("meter_id")) {
            (Some(Value::String(site)), None) => {
                if !known_sites.iter().any(|s| s["id"] == site.as_str()) {
                    return Err(format!("telemetry[{i}].site_id: unknown site '{site}'"));
                }
            }
            (None, Some(Value::String(_))) => {}
            _ => {
                return Err(format!(
                    "telemetry[{i}] must have exactly one of site_id and meter_id"
                ))
            }
        }
        let timestamp = p["timestamp"]
            .as_str()
            .ok_or(format!("telemetry[{i}].timestamp is required"))?;
        DateTime::parse_from_rfc3339(timestamp)
            .map_err(|_| format!("telemetry[{i}].timestamp must be RFC 3339"))?;
        let unit = p["units"]
            .as_str()
            .ok_or(format!("telemetry[{i}].units is required"))?;
        if unit != "kW" && unit != "kWh" {
            return Err(format!("telemetry[{i}].units must be kW or kWh"));
        }
        if units.is_some_and(|u| u != unit) {
            return Err("One request must use the same units for all intervals".into());
        }
        units = Some(unit);
        if !p["value"].is_number() {
            return Err(format!("telemetry[{i}].value must be a number"));
        }
    }
    Ok(points.clone())
}

/// Whether a point holds every field of `rule` (numbers equal by value: 13 and 13.0 match).
fn matches_rule(point: &Value, rule: &Map<String, Value>) -> bool {
    rule.iter()
        .all(|(k, expected)| match (&point[k], expected) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (actual, expected) => actual == expected,
        })
}

/// The points, or the 400 message naming the first one a refusal rule matches.
fn refuse(points: Vec<Value>, rules: &[Map<String, Value>]) -> Result<Vec<Value>, String> {
    match points
        .iter()
        .position(|p| rules.iter().any(|rule| matches_rule(p, rule)))
    {
        Some(i) => Err(format!("telemetry[{i}]: refused by the simulator's rule")),
        None => Ok(points),
    }
}

async fn post_telemetry(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let (sites, refused) = sim.with(|s| (s.sites.clone(), s.refused_telemetry.clone()));
    sim.delay(&req).await;
    match check_telemetry(&body, &sites).and_then(|points| refuse(points, &refused)) {
        Ok(points) => {
            let count = points.len();
            sim.with(|s| {
                s.uploads.push(points.clone());
                for point in points {
                    // Voltus de-duplicates points submitted twice.
                    let same = |p: &Value| {
                        p["site_id"] == point["site_id"]
                            && p["meter_id"] == point["meter_id"]
                            && p["timestamp"] == point["timestamp"]
                            && p["interval_seconds"] == point["interval_seconds"]
                    };
                    s.telemetry.retain(|p| !same(p));
                    s.telemetry.push(point);
                }
            });
            HttpResponse::Ok().json(json!({"accepted": count}))
        }
        Err(message) => voltus_error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn list_webhooks(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let webhooks = sim.with(|s| s.webhooks.clone());
    HttpResponse::Ok().json(json!({"webhooks": webhooks, "page": 0, "perPage": 0}))
}

async fn create_webhook(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let Some(url) = body["url"].as_str() else {
        return voltus_error(
            StatusCode::BAD_REQUEST,
            "A create webhook request must contain a 'url' field",
        );
    };
    let Some(events) = body["events"].as_array() else {
        return voltus_error(
            StatusCode::BAD_REQUEST,
            "A create webhook request must contain an 'events' field",
        );
    };
    if events
        .iter()
        .any(|e| e["name"] != "dispatch.create" && e["name"] != "dispatch.update")
    {
        return voltus_error(
            StatusCode::BAD_REQUEST,
            "Only dispatch.create and dispatch.update events are supported",
        );
    }
    let ping = json!({"event": {"name": ""}, "resource": ""});
    match sim.http.post(url).json(&ping).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            return voltus_error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "The webhook test request was answered with HTTP {}",
                    r.status().as_u16()
                ),
            )
        }
        Err(_) => return voltus_error(StatusCode::BAD_REQUEST, "The webhook test request failed"),
    }
    let webhook = sim.with(|s| {
        let w = json!({"id": s.new_id(), "url": url, "events": events});
        s.webhooks.push(w.clone());
        w
    });
    HttpResponse::Ok().json(webhook)
}

async fn delete_webhook(sim: Sim, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let removed = sim.with(|s| {
        let position = s.webhooks.iter().position(|w| w["id"] == id.as_str())?;
        Some(s.webhooks.remove(position))
    });
    match removed {
        Some(w) => HttpResponse::Ok().json(w),
        None => voltus_error(StatusCode::NOT_FOUND, "Webhook not found"),
    }
}

async fn scenario(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let name = body["scenario"].as_str().unwrap_or_default();
    let after = body["update_after_seconds"]
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    match sim.scenario(name, after) {
        Ok(dispatches) => {
            HttpResponse::Ok().json(json!({"scenario": name, "dispatches": dispatches}))
        }
        Err(message) => voltus_error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn operator_create(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    if !body.is_object() {
        return voltus_error(StatusCode::BAD_REQUEST, "expected a JSON object");
    }
    HttpResponse::Ok().json(sim.add_dispatch(body.into_inner()))
}

async fn operator_raw(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    sim.push_raw(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn operator_update(
    sim: Sim,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    match sim.update_dispatch(&id, body.into_inner()) {
        Some(d) => HttpResponse::Ok().json(d),
        None => voltus_error(StatusCode::NOT_FOUND, "Dispatch not found"),
    }
}

async fn operator_fault(sim: Sim, req: HttpRequest, body: web::Json<Value>) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let fault = if body["garbage"] == true {
        Fault::Garbage
    } else if let Some(ms) = body["delay_ms"].as_u64() {
        Fault::Delay { ms: ms.min(60_000) }
    } else {
        match body["status"].as_u64().filter(|s| (400..600).contains(s)) {
            Some(status) => Fault::Status {
                status: status as u16,
                retry_after: body["retry_after"].as_u64(),
            },
            None => {
                return voltus_error(
                    StatusCode::BAD_REQUEST,
                    "give 'status' (400-599), 'delay_ms' or 'garbage': true",
                )
            }
        }
    };
    let count = body["count"].as_u64().unwrap_or(1).min(1000) as usize;
    sim.inject(fault, count, body["path"].as_str());
    HttpResponse::NoContent().finish()
}

async fn operator_refuse_telemetry(
    sim: Sim,
    req: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    if !body.is_object() {
        return voltus_error(StatusCode::BAD_REQUEST, "expected a JSON object");
    }
    sim.refuse_telemetry(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn operator_telemetry(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    HttpResponse::Ok().json(json!({"telemetry": sim.telemetry()}))
}

async fn operator_requests(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    let requests: Map<String, Value> = sim.with(|s| {
        s.requests
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect()
    });
    HttpResponse::Ok().json(requests)
}

async fn operator_reset(sim: Sim, req: HttpRequest) -> HttpResponse {
    if let Some(refused) = sim.gate(&req) {
        return refused;
    }
    sim.reset();
    HttpResponse::NoContent().finish()
}

/// `openadr3-vtn voltus-simulator`: serves until interrupted.
pub async fn run(args: SimulatorArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind((args.host.as_str(), args.port))?;
    let simulator = Simulator::start(listener, &args.api_key)?;
    eprintln!(
        "Voltus simulator listening on {} (API key from --api-key / VOLTUS_SIMULATOR_API_KEY)",
        simulator.base_url
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_is_checked_as_voltus_documents_it() {
        let sites = default_sites();
        let ok = json!({"telemetry": [
            {"interval_seconds": 30, "meter_id": "wpv31", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 0.2},
            {"interval_seconds": 60, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 0.5}]});
        assert_eq!(check_telemetry(&ok, &sites).unwrap().len(), 2);
        for (bad, needle) in [
            (json!({}), "non-empty"),
            (
                json!({"telemetry": [{"interval_seconds": 45, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 1}]}),
                "divisible by 30",
            ),
            (
                json!({"telemetry": [{"interval_seconds": 330, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 1}]}),
                "at most 300",
            ),
            (
                json!({"telemetry": [{"interval_seconds": 30, "site_id": "yd4g", "meter_id": "m", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 1}]}),
                "exactly one",
            ),
            (
                json!({"telemetry": [{"interval_seconds": 30, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:00Z", "units": "MW", "value": 1}]}),
                "kW or kWh",
            ),
            (
                json!({"telemetry": [
                {"interval_seconds": 30, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 1},
                {"interval_seconds": 30, "site_id": "yd4g", "timestamp": "2024-01-02T09:00:30Z", "units": "kWh", "value": 1}]}),
                "same units",
            ),
            (
                json!({"telemetry": [{"interval_seconds": 30, "site_id": "nope", "timestamp": "2024-01-02T09:00:00Z", "units": "kW", "value": 1}]}),
                "unknown site",
            ),
        ] {
            let err = check_telemetry(&bad, &sites).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
        let rule = |v: Value| v.as_object().unwrap().clone();
        let points = check_telemetry(&ok, &sites).unwrap();
        assert!(refuse(points.clone(), &[rule(json!({"site_id": "nope"}))]).is_ok());
        let err = refuse(points, &[rule(json!({"value": 0.5}))]).unwrap_err();
        assert!(err.starts_with("telemetry[1]"), "{err}");
    }
}
