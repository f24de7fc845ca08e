//! Agreement with the official OpenADR 3.0.1 OpenAPI document (vendored as JSON in
//! `tests/fixtures/spec/`, see the README there): every path and method of the official file
//! exists in ours, with its parameters, request and response bodies and security schemes, and
//! every schema property exists in ours with a compatible type (after resolving `$ref`s and
//! flattening `allOf`/`oneOf`/`anyOf`). Paths are compared relative to each document's server
//! base (`/openadr3/3.0.1` there, `/api/openadr/v1` here).
//!
//! Deliberate differences are listed once in [`DIFFERENCES`], each with its reason (the README's
//! "Deliberate differences from the 3.0.1 spec" says the same); an entry that no longer matches
//! a finding fails the test too, so the list stays true.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

const OFFICIAL: &str = include_str!("../fixtures/spec/openadr3-3.0.1.json");

/// Findings that are deliberate, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "ven.resources: missing",
        "A VEN is created and returned without its resources: they live under \
         /vens/{venID}/resources, which has their full lifecycle (a VEN body with `resources` gets \
         a 400 saying so).",
    ),
    (
        "clientCredentialResponse.refresh_token: missing",
        "The client-credentials grant issues no refresh token (RFC 6749 §4.4.3): a client asks for \
         a new access token instead.",
    ),
    (
        "authError.error_uri: missing",
        "Optional in RFC 6749 §5.2; the server has no error pages to point to and never sends it.",
    ),
    (
        "POST /auth/token: response 403 missing",
        "A refused client gets 401 invalid_client (RFC 6749 §5.2), never 403.",
    ),
    ("POST /events: response 409 missing", NO_CONFLICT),
    ("PUT /events/{eventID}: response 409 missing", NO_CONFLICT),
    ("POST /reports: response 409 missing", NO_CONFLICT),
    ("PUT /reports/{reportID}: response 409 missing", NO_CONFLICT),
    ("POST /subscriptions: response 409 missing", NO_CONFLICT),
    ("PUT /subscriptions/{subscriptionID}: response 409 missing", NO_CONFLICT),
    (
        "notification.targets: missing",
        "Notifications carry the object itself, whose own `targets` say whom it concerns; the \
         optional notification-level copy is not sent.",
    ),
    (
        "schema dateTime: no counterpart",
        "Ours writes date-times inline (`type: string, format: date-time`) instead of referring to \
         a named schema; every property that uses it is compared like the others.",
    ),
];

/// Events, reports and subscriptions have no unique field (3.0.1 names none), and a reference to
/// a missing program or event is a 400 naming the field, so these writes never conflict.
const NO_CONFLICT: &str = "No unique field to conflict on; a missing referenced object is a 400.";

/// Official schema names whose counterpart here has another name.
const ALIASES: &[(&str, &str)] = &[
    // One descriptor type serves events and reports (`objectType` tells them apart), as in
    // programs, which may list both kinds.
    ("eventPayloadDescriptor", "PayloadDescriptor"),
    ("reportPayloadDescriptor", "PayloadDescriptor"),
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

fn ours() -> Value {
    serde_json::from_str(&openadr3_vtn::api::openapi::openapi_json()).expect("our document")
}

fn official() -> Value {
    serde_json::from_str(OFFICIAL).expect("the vendored official document is JSON")
}

/// A schema with its `$ref`s followed, and the name of the last one.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> (&'a Value, Option<String>) {
    let mut name = None;
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let path = reference.trim_start_matches("#/");
        let target = path
            .split('/')
            .try_fold(doc, |v, part| v.get(part))
            .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        name = path.rsplit('/').next().map(str::to_owned);
        schema = target;
    }
    (schema, name)
}

/// Types, properties, items and enum of a schema, with `allOf`/`oneOf`/`anyOf` merged.
#[derive(Default)]
struct Flat {
    types: BTreeSet<String>,
    properties: BTreeMap<String, Value>,
    items: Vec<Value>,
    enumeration: Option<BTreeSet<String>>,
}

fn flatten(doc: &Value, schema: &Value, flat: &mut Flat, depth: usize) {
    assert!(depth < 32, "schema nesting too deep");
    let (schema, _) = resolve(doc, schema);
    match schema.get("type") {
        Some(Value::String(t)) => {
            flat.types.insert(t.clone());
        }
        Some(Value::Array(ts)) => flat
            .types
            .extend(ts.iter().filter_map(Value::as_str).map(str::to_owned)),
        _ => {}
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        flat.types.insert("null".into());
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        flat.types.insert("object".into());
        for (name, property) in properties {
            flat.properties
                .entry(name.clone())
                .or_insert_with(|| property.clone());
        }
    }
    if let Some(items) = schema.get("items") {
        flat.items.push(items.clone());
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        let set = flat.enumeration.get_or_insert_with(Default::default);
        set.extend(values.iter().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
        if schema.get("type").is_none() && values.iter().all(Value::is_string) {
            flat.types.insert("string".into());
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(parts)) = schema.get(key) {
            for part in parts {
                flatten(doc, part, flat, depth + 1);
            }
        }
    }
}

/// Whether a value of the official types is accepted by ours.
fn compatible(official: &BTreeSet<String>, ours: &BTreeSet<String>) -> bool {
    let official: BTreeSet<&str> = official
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "null")
        .collect();
    let ours: BTreeSet<&str> = ours
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "null")
        .collect();
    if official.is_empty() || ours.is_empty() {
        return true; // one side accepts anything
    }
    official
        .iter()
        .all(|t| ours.contains(t) || (*t == "integer" && ours.contains("number")))
}

struct Comparison {
    official: Value,
    ours: Value,
    findings: BTreeSet<String>,
    seen: HashSet<(String, String)>,
    compared: usize,
}

impl Comparison {
    fn new() -> Self {
        Self {
            official: official(),
            ours: ours(),
            findings: BTreeSet::new(),
            seen: HashSet::new(),
            compared: 0,
        }
    }

    fn find(&mut self, finding: String) {
        self.findings.insert(finding);
    }

    /// Compares an official schema with ours; findings inside a named official schema are
    /// named after it (`ven.resources`), wherever it was reached from.
    fn schema(&mut self, context: &str, official: &Value, ours: &Value, depth: usize) {
        if depth > 24 {
            return;
        }
        let (official_doc, ours_doc) = (self.official.clone(), self.ours.clone());
        let (_, official_name) = resolve(&official_doc, official);
        let (_, ours_name) = resolve(&ours_doc, ours);
        let context = official_name.clone().unwrap_or_else(|| context.to_owned());
        if let (Some(a), Some(b)) = (&official_name, &ours_name) {
            if !self.seen.insert((a.clone(), b.clone())) {
                return;
            }
        }
        self.compared += 1;
        let mut theirs = Flat::default();
        flatten(&official_doc, official, &mut theirs, 0);
        let mut mine = Flat::default();
        flatten(&ours_doc, ours, &mut mine, 0);
        if !compatible(&theirs.types, &mine.types) {
            self.find(format!(
                "{context}: type {:?} but ours {:?}",
                theirs.types, mine.types
            ));
        }
        if let (Some(a), Some(b)) = (&theirs.enumeration, &mine.enumeration) {
            let missing: Vec<_> = a.difference(b).collect();
            if !missing.is_empty() {
                self.find(format!("{context}: enum values {missing:?} missing"));
            }
        }
        for (name, property) in &theirs.properties {
            match mine.properties.get(name) {
                None => self.find(format!("{context}.{name}: missing")),
                Some(own) => self.schema(&format!("{context}.{name}"), property, own, depth + 1),
            }
        }
        for items in &theirs.items {
            match mine.items.first() {
                None => self.find(format!("{context}[]: ours has no items")),
                Some(own) => self.schema(&format!("{context}[]"), items, own, depth + 1),
            }
        }
    }

    fn operations(&mut self) {
        let (official, ours) = (self.official.clone(), self.ours.clone());
        for (path, item) in official["paths"].as_object().expect("paths") {
            for method in METHODS {
                let Some(operation) = item.get(*method) else {
                    continue;
                };
                let name = format!("{} {path}", method.to_uppercase());
                let Some(own) = ours["paths"].get(path).and_then(|i| i.get(*method)) else {
                    self.find(format!("{name}: missing"));
                    continue;
                };
                self.compared += 1;
                self.parameters(&name, &official, operation, own);
                if let Some(content) = operation.pointer("/requestBody/content") {
                    let own_content = own.pointer("/requestBody/content");
                    for (media, body) in content.as_object().expect("content") {
                        match own_content.and_then(|c| c.get(media)) {
                            None => self.find(format!("{name}: request body {media} missing")),
                            Some(own_body) => self.schema(
                                &format!("{name} request"),
                                &body["schema"],
                                &own_body["schema"],
                                0,
                            ),
                        }
                    }
                }
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    let Some(own_response) = own["responses"].get(status) else {
                        self.find(format!("{name}: response {status} missing"));
                        continue;
                    };
                    let (response, _) = resolve(&official, response);
                    let Some(content) = response.get("content").and_then(Value::as_object) else {
                        continue;
                    };
                    for (media, body) in content {
                        let own_body = own_response.pointer(&format!(
                            "/content/{}",
                            media.replace('~', "~0").replace('/', "~1")
                        ));
                        // Rule, not an exception: errors are RFC 9457 problems, which 3.0.1
                        // labels application/json; ours says application/problem+json.
                        let own_body = own_body.or_else(|| {
                            (status.as_str() >= "400" && media == "application/json")
                                .then(|| own_response.pointer("/content/application~1problem+json"))
                                .flatten()
                        });
                        match own_body {
                            None => self.find(format!("{name}: response {status} {media} missing")),
                            Some(own_body) => self.schema(
                                &format!("{name} {status}"),
                                &body["schema"],
                                &own_body["schema"],
                                0,
                            ),
                        }
                    }
                }
            }
        }
    }

    fn parameters(&mut self, name: &str, official: &Value, operation: &Value, own: &Value) {
        let own_parameters: Vec<Value> = own
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for parameter in operation
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (parameter, _) = resolve(official, parameter);
            let (p_name, p_in) = (parameter["name"].as_str(), parameter["in"].as_str());
            match own_parameters
                .iter()
                .find(|p| p["name"].as_str() == p_name && p["in"].as_str() == p_in)
            {
                None => self.find(format!(
                    "{name}: parameter {} {} missing",
                    p_in.unwrap_or("?"),
                    p_name.unwrap_or("?")
                )),
                Some(own_parameter) => self.schema(
                    &format!("{name} parameter {}", p_name.unwrap_or("?")),
                    &parameter["schema"],
                    &own_parameter["schema"],
                    0,
                ),
            }
        }
    }

    fn components(&mut self) {
        let (official, ours) = (self.official.clone(), self.ours.clone());
        let own_schemas = ours["components"]["schemas"].as_object().expect("schemas");
        for name in official["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            let counterpart = ALIASES
                .iter()
                .find(|(theirs, _)| theirs == name)
                .map(|(_, own)| (*own).to_owned())
                .or_else(|| {
                    own_schemas
                        .keys()
                        .find(|own| own.eq_ignore_ascii_case(name))
                        .cloned()
                });
            match counterpart {
                None => self.find(format!("schema {name}: no counterpart")),
                Some(own) => {
                    let theirs =
                        serde_json::json!({"$ref": format!("#/components/schemas/{name}")});
                    let own = serde_json::json!({"$ref": format!("#/components/schemas/{own}")});
                    self.schema(name, &theirs, &own, 0);
                }
            }
        }
    }

    fn security(&mut self) {
        let (official, ours) = (self.official.clone(), self.ours.clone());
        for (name, scheme) in official["components"]["securitySchemes"]
            .as_object()
            .expect("securitySchemes")
        {
            let Some(own) = ours["components"]["securitySchemes"].get(name) else {
                self.find(format!("security scheme {name}: missing"));
                continue;
            };
            self.compared += 1;
            if own["type"] != scheme["type"] {
                self.find(format!("security scheme {name}: type differs"));
            }
            for (flow, details) in scheme
                .get("flows")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                for scope in details["scopes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|s| s.0)
                {
                    if own
                        .pointer(&format!("/flows/{flow}/scopes/{scope}"))
                        .is_none()
                    {
                        self.find(format!(
                            "security scheme {name}: {flow} scope {scope} missing"
                        ));
                    }
                }
            }
        }
    }
}

#[test]
fn ours_covers_every_path_method_schema_property_and_scope_of_the_official_3_0_1_spec() {
    let mut comparison = Comparison::new();
    assert_eq!(comparison.official["info"]["version"], "3.0.1");
    comparison.operations();
    comparison.components();
    comparison.security();
    assert!(
        comparison.compared > 100,
        "the comparison compared too little ({})",
        comparison.compared
    );
    let allowed: BTreeSet<String> = DIFFERENCES.iter().map(|(f, _)| (*f).to_owned()).collect();
    let unexpected: Vec<_> = comparison.findings.difference(&allowed).collect();
    let stale: Vec<_> = allowed.difference(&comparison.findings).collect();
    assert!(
        unexpected.is_empty(),
        "ours differs from the official 3.0.1 spec (fix it, or list it in DIFFERENCES with a \
         reason and in the README):\n  {}",
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "DIFFERENCES lists what no longer differs; remove it (and from the README): {stale:?}"
    );
}

/// The comparison itself finds what it should: a property removed from ours, a type changed, a
/// path dropped.
#[test]
fn the_spec_comparison_notices_missing_properties_paths_and_changed_types() {
    let mut comparison = Comparison::new();
    let schemas = comparison.ours["components"]["schemas"]
        .as_object_mut()
        .unwrap();
    schemas["program"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("programName");
    schemas["IntervalPeriod"]["properties"]["start"] = serde_json::json!({"type": "integer"});
    comparison.ours["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/reports/{reportID}");
    comparison.operations();
    comparison.components();
    let findings = &comparison.findings;
    assert!(
        findings.contains("program.programName: missing"),
        "{findings:#?}"
    );
    assert!(
        findings.iter().any(|f| f.starts_with("dateTime: type")),
        "{findings:#?}"
    );
    assert!(
        findings.contains("GET /reports/{reportID}: missing"),
        "{findings:#?}"
    );
}

/// Every `values` array of a `valuesMap` lists its item types under `anyOf`: they overlap (an
/// integer is a number), so under `oneOf` a response holding an integer would fail the document
/// (Schemathesis found `GET /programs` doing so).
#[test]
fn values_map_items_may_match_several_types() {
    let doc = ours();
    let values_items: Vec<&Value> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|s| {
            s["properties"]["values"]["items"]
                .as_object()
                .map(|_| &s["properties"]["values"]["items"])
        })
        .collect();
    assert!(!values_items.is_empty(), "no valuesMap schema found");
    for items in values_items {
        assert!(
            items.get("oneOf").is_none(),
            "oneOf in values items: {items}"
        );
        assert!(
            items.get("anyOf").is_some(),
            "values items without anyOf: {items}"
        );
    }
}

/// A path parameter the server checks for its syntax (object, tenant, user and asset ids) gets a
/// 400 when malformed, so every operation taking one must document its 400 (Schemathesis found
/// `DELETE /admin/tenants/{tenantId}/voltus` without it). Client and identity-provider ids are
/// looked up as given (an unknown one is a 404), but one no record can have is a 400 too.
#[test]
fn every_operation_with_a_checked_path_id_documents_its_400() {
    let doc = ours();
    let mut gaps = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(*method) else {
                continue;
            };
            let checked_ids = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"));
            if checked_ids && operation["responses"].get("400").is_none() {
                gaps.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(gaps.is_empty(), "no 400 documented: {gaps:#?}");
}

/// Every operation is documented: a summary and a description, an operation id and a tag, a
/// described response for each status, a 4xx problem for every operation that takes input or a
/// token, a schema for JSON bodies, and security on everything under the API base path except
/// the token endpoints and the Voltus webhook.
#[test]
fn every_operation_is_described_with_problems_and_security() {
    let doc = ours();
    // Voltus calls its webhook without a token: the secret in the path authenticates it.
    let public = [
        "/auth/token",
        "/auth/server",
        "/bridge/voltus/{tenantId}/webhook/{secret}",
    ];
    let mut gaps = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let at_root = item.get("servers").is_some();
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let name = format!("{} {path}", method.to_uppercase());
            for field in ["summary", "description", "operationId"] {
                if op[field].as_str().is_none_or(|s| s.trim().is_empty()) {
                    gaps.push(format!("{name}: no {field}"));
                }
            }
            if op["tags"].as_array().is_none_or(|t| t.is_empty()) {
                gaps.push(format!("{name}: no tag"));
            }
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                if response["description"]
                    .as_str()
                    .is_none_or(|s| s.trim().is_empty())
                {
                    gaps.push(format!("{name}: response {status} undescribed"));
                }
                for (media, body) in response
                    .get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    if media.contains("json") && body.get("schema").is_none() {
                        gaps.push(format!("{name}: response {status} {media} has no schema"));
                    }
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| {
                !s.is_empty()
                    && s.iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            if !at_root && !public.contains(&path.as_str()) && !secured {
                gaps.push(format!("{name}: no security requirement"));
            }
            let takes_input =
                secured || op.get("requestBody").is_some() || op.get("parameters").is_some();
            let has_4xx_problem = responses.iter().any(|(status, r)| {
                status.starts_with('4')
                    && r.get("content")
                        .and_then(Value::as_object)
                        .is_some_and(|c| {
                            c.keys()
                                .any(|m| m == "application/problem+json" || path == "/auth/token")
                        })
            });
            if takes_input && !has_4xx_problem {
                gaps.push(format!("{name}: no 4xx problem response"));
            }
            if !responses.contains_key("500") {
                gaps.push(format!("{name}: no 500 response"));
            }
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                if parameter["description"]
                    .as_str()
                    .is_none_or(|s| s.trim().is_empty())
                {
                    gaps.push(format!(
                        "{name}: parameter {} undescribed",
                        parameter["name"]
                    ));
                }
            }
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert!(
        schemes.get("bearerAuth").is_some(),
        "the bearer scheme is declared"
    );
    let scopes = schemes["oAuth2ClientCredentials"]["flows"]["clientCredentials"]["scopes"]
        .as_object()
        .expect("the client-credentials flow lists its scopes");
    for scope in [
        "read_all",
        "write_programs",
        "write_events",
        "write_reports",
        "write_subscriptions",
        "write_vens",
        "admin",
    ] {
        assert!(
            scopes
                .get(scope)
                .and_then(Value::as_str)
                .is_some_and(|d| !d.is_empty()),
            "scope {scope} is described"
        );
    }
    assert!(
        gaps.is_empty(),
        "undocumented parts of the API:\n  {}",
        gaps.join("\n  ")
    );
}
