//! The public API's OpenAPI 3.1 document, generated from the code. Each service declares its
//! public routes once, as `utoipa-axum` routes whose handlers carry `#[utoipa::path]` (paths,
//! parameters, bodies, every status) and whose types derive `ToSchema`/`IntoParams` (with the
//! bounds the validation uses); its `openapi()` is that part. This crate merges the parts as
//! the gateway exposes them:
//!
//! - every path under `/api`, each operation tagged with the service that answers it (the
//!   gateway's tests check that its route table sends it there);
//! - the answers the gateway itself can give on any route: 401 for an invalid token, 429 with
//!   `Retry-After`, 500, 502, 503 and 504, all in the shared error shape;
//! - one schema namespace: two services may not define the same schema name differently.
//!
//! `openapigen --write` writes it to the gateway's `src/openapi.json` (embedded and served at
//! `/api/openapi.json`, rendered at `/api/docs`), from which the web UI generates its types.
//! The crate links every service, so it is kept out of the gateway binary.

use serde_json::{Map, Value, json};
use std::path::PathBuf;
use tripnest_common::error::{ErrorBody, FieldError};
use utoipa::OpenApi;

/// A service's `openapi()`: its part of the document.
pub type Part = fn() -> utoipa::openapi::OpenApi;

/// Each service behind the gateway with its part of the document.
pub const SERVICES: [(&str, Part); 6] = [
    ("user", tripnest_user::openapi),
    ("booking", tripnest_booking::openapi),
    ("notification", tripnest_notification::openapi),
    ("search", tripnest_search::openapi),
    ("recommendation", tripnest_recommendation::openapi),
    ("review", tripnest_review::openapi),
];

/// The prefix the gateway serves every public path under.
pub const PREFIX: &str = "/api";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TripNest API",
        description = "The public API of TripNest, served by the gateway under /api. JSON in and out. Every error is \
                       {\"error\": {\"code\", \"message\", \"details\"}}. Every answer carries RateLimit-Limit, \
                       RateLimit-Remaining and RateLimit-Reset for the caller's budget (per client IP on /api/auth/*; elsewhere per user when signed in, per \
                       client IP otherwise) and X-Request-Id. Generated from the services' code; do not edit."
    ),
    components(schemas(ErrorBody, FieldError))
)]
struct Base;

/// Where the generated document is committed (the gateway embeds it).
pub fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../gateway/src/openapi.json")
}

/// The answers the gateway adds to every operation: status → response name.
const GATEWAY_ANSWERS: [(&str, &str); 11] = [
    ("400", "BadRequest"),
    ("401", "InvalidToken"),
    ("408", "RequestTimeout"),
    ("413", "PayloadTooLarge"),
    ("414", "UriTooLong"),
    ("431", "HeadersTooLarge"),
    ("429", "RateLimited"),
    ("500", "Internal"),
    ("502", "BadGateway"),
    ("503", "Unavailable"),
    ("504", "GatewayTimeout"),
];

fn error_response(description: &str, headers: Value) -> Value {
    json!({
        "description": description,
        "headers": headers,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn gateway_components() -> Value {
    let integer = |description: &str| json!({ "description": description, "schema": { "type": "integer", "minimum": 0 } });
    let retry = json!({ "Retry-After": { "$ref": "#/components/headers/Retry-After" } });
    json!({
        "securitySchemes": {
            "bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token from /api/auth/login or /api/auth/refresh. Where optional, an invalid one is still refused with 401."
            }
        },
        "headers": {
            "RateLimit-Limit": integer("Requests available from a full budget (the burst)."),
            "RateLimit-Remaining": integer("Requests left right now."),
            "RateLimit-Reset": integer("Seconds until the budget is full again."),
            "Retry-After": integer("Seconds to wait before the next request is admitted."),
            "X-Request-Id": { "description": "The request id (the client's, or one the gateway made).", "schema": { "type": "string" } }
        },
        "responses": {
            "BadRequest": error_response("`incomplete_body` (the body ended before its Content-Length), `invalid_path` or `invalid_query` (a parameter that does not parse).", json!({})),
            "RequestTimeout": error_response("`request_timeout`: the request's head or body did not arrive in time.", json!({})),
            "PayloadTooLarge": error_response("`payload_too_large`: the body is over the limit (`details.limitBytes`).", json!({})),
            "UriTooLong": error_response("`uri_too_long`: the request target is over the limit (`details.limitBytes`).", json!({})),
            "HeadersTooLarge": error_response("`headers_too_large`: the header fields are over the limit (`details.limitBytes`) or too many.", json!({})),
            "InvalidToken": error_response("A malformed, expired or tampered bearer token (refused by the gateway even where a token is optional).", json!({})),
            "RateLimited": error_response("Too many requests on this route class; retry after `Retry-After` seconds.", retry),
            "Internal": error_response("An unexpected error; the body never carries internal detail.", json!({})),
            "BadGateway": error_response("The service answered badly or not at all.", json!({})),
            "Unavailable": error_response("The service is unavailable or draining.", json!({})),
            "GatewayTimeout": error_response("The service did not answer in time.", json!({}))
        }
    })
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The merged public document.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(Base::openapi()).expect("an OpenAPI document serializes");
    doc["servers"] = json!([{ "url": "/", "description": "The gateway" }]);
    doc["components"].as_object_mut().expect("components").extend(object(gateway_components()));
    let mut paths = Map::new();
    for (service, part) in SERVICES {
        let part = serde_json::to_value(part()).expect("an OpenAPI document serializes");
        for (path, item) in object(part["paths"].clone()) {
            let mut item = object(item);
            for method in METHODS {
                if let Some(op) = item.get_mut(method) {
                    document_gateway_answers(op, service);
                }
            }
            let public = format!("{PREFIX}{path}");
            let merged = paths.entry(public.clone()).or_insert_with(|| json!({}));
            for (method, op) in item {
                assert!(merged.get(&method).is_none(), "{method} {public} is documented by two services");
                merged[&method] = op;
            }
        }
        let schemas = doc["components"]["schemas"].as_object_mut().expect("schemas");
        for (name, schema) in object(part["components"]["schemas"].clone()) {
            match schemas.get(&name) {
                Some(existing) => {
                    assert!(*existing == schema, "schema {name} is defined twice, differently (rename one with #[schema(as = …)])")
                }
                None => {
                    schemas.insert(name, schema);
                }
            }
        }
    }
    doc["paths"] = Value::Object(paths);
    doc["tags"] =
        SERVICES.iter().map(|(name, _)| json!({ "name": name, "description": format!("Answered by the {name} service.") })).collect();
    sorted(doc)
}

/// Tag `op` with its service and add the gateway's own answers it does not document itself.
fn document_gateway_answers(op: &mut Value, service: &str) {
    op["tags"] = json!([service]);
    let responses = op["responses"].as_object_mut().expect("every operation has responses");
    for (status, name) in GATEWAY_ANSWERS {
        responses.entry(status).or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => panic!("expected an object, got {other}"),
    }
}

/// Objects with their keys in order, so the text does not depend on serde_json's features.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The document as committed: pretty JSON with a final newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("JSON serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_tagged_and_documents_the_gateways_answers() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.keys().all(|p| p.starts_with("/api/")), "{:?}", paths.keys());
        assert!(!paths.keys().any(|p| p.contains("internal")), "internal routes are not public");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let service = op["tags"][0].as_str().unwrap_or_else(|| panic!("{method} {path} has no service tag"));
                assert!(SERVICES.iter().any(|(s, _)| *s == service));
                for (status, _) in GATEWAY_ANSWERS {
                    assert!(op["responses"].get(status).is_some(), "{method} {path} lacks {status}");
                }
            }
        }
    }

    #[test]
    fn bounds_come_from_the_constants_the_handlers_use() {
        let doc = document();
        let params = &doc["paths"]["/api/bookings"]["get"]["parameters"];
        let param = |name: &str| params.as_array().expect("params").iter().find(|p| p["name"] == name).expect(name).clone();
        assert_eq!(param("pageSize")["schema"]["maximum"], json!(tripnest_common::page::MAX_PAGE_SIZE));
        assert_eq!(param("page")["schema"]["maximum"], json!(tripnest_common::page::MAX_PAGE));
        let rooms = &doc["components"]["schemas"]["BookingRequest"]["properties"]["rooms"];
        assert_eq!(rooms["maximum"], json!(tripnest_booking::domain::MAX_ROOMS));
    }
}
