//! The public API's OpenAPI 3.1 document at `/api/openapi.json`, and `/api/docs`: a
//! self-contained HTML rendering of it (no scripts, no CDN) generated once from the same
//! document. `openapi.json` next to this file is generated from the services' handlers by
//! `cargo run -p tripnest-openapi --bin openapigen -- --write` (never edited by hand; a test in
//! that crate fails when it is stale) and embedded at build time, so the gateway binary does
//! not link the services.

use axum::{
    Router,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use serde_json::Value;
use std::{fmt::Write, sync::LazyLock};

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

static SPEC: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON (a unit test checks it)"));
static PAGE: LazyLock<String> = LazyLock::new(|| render(&SPEC));

/// `/api/openapi.json` and `/api/docs`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/api/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON) }))
        .route("/api/docs", get(|| async { Html(PAGE.as_str()).into_response() }))
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The HTML page for an OpenAPI document.
pub fn render(spec: &Value) -> String {
    let title = spec["info"]["title"].as_str().unwrap_or("API");
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\
         <h1>{t} <small>{v}</small></h1><p>{d}</p><p><a href=\"/api/openapi.json\">openapi.json</a></p><h2>Endpoints</h2>",
        t = esc(title),
        v = esc(spec["info"]["version"].as_str().unwrap_or_default()),
        d = esc(spec["info"]["description"].as_str().unwrap_or_default()),
    );
    let operations: Vec<(&String, &str, &Value, &Value)> = spec["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| METHODS.iter().filter_map(move |m| item.get(*m).map(|op| (path, *m, item, op))))
        .collect();
    html.push_str("<ul class=\"toc\">");
    for (path, method, _, op) in &operations {
        let _ = write!(
            html,
            "<li><a href=\"#{}\"><b>{}</b> {}</a> — {}</li>",
            esc(op["operationId"].as_str().unwrap_or_default()),
            method.to_uppercase(),
            esc(path),
            esc(op["summary"].as_str().unwrap_or_default())
        );
    }
    html.push_str("</ul>");
    for (path, method, item, op) in operations {
        render_operation(&mut html, spec, path, method, item, op);
    }
    html.push_str("<h2>Schemas</h2>");
    for (name, schema) in spec["components"]["schemas"].as_object().into_iter().flatten() {
        render_schema(&mut html, name, schema);
    }
    html.push_str("</body></html>");
    html
}

fn render_operation(html: &mut String, spec: &Value, path: &str, method: &str, item: &Value, op: &Value) {
    let secured = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
    let _ = write!(
        html,
        "<section class=\"op\" id=\"{id}\"><h3><span class=\"m {method}\">{upper}</span> <code>{p}</code>{lock}</h3><p>{s}</p><p>{d}</p>",
        id = esc(op["operationId"].as_str().unwrap_or_default()),
        upper = method.to_uppercase(),
        p = esc(path),
        lock = if secured { " <span class=\"lock\">requires a bearer token</span>" } else { "" },
        s = esc(op["summary"].as_str().unwrap_or_default()),
        d = esc(op["description"].as_str().unwrap_or_default()),
    );
    let params: Vec<Value> =
        item["parameters"].as_array().into_iter().chain(op["parameters"].as_array()).flatten().map(|p| resolve(spec, p).clone()).collect();
    if !params.is_empty() {
        html.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>");
        for p in &params {
            let required = if p["required"] == true { " <b>required</b>" } else { "" };
            let _ = write!(
                html,
                "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or_default()),
                esc(p["in"].as_str().unwrap_or_default()),
                type_of(&p["schema"]),
                esc(p["description"].as_str().unwrap_or_default())
            );
        }
        html.push_str("</table>");
    }
    if let Some(body) = op["requestBody"]["content"]["application/json"].get("schema") {
        let _ = write!(html, "<p>Request body: {}</p>", type_of(body));
    }
    html.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let response = resolve(spec, response);
        let body = response["content"]["application/json"].get("schema").map(type_of).unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{body}</td></tr>",
            esc(status),
            esc(response["description"].as_str().unwrap_or_default())
        );
    }
    html.push_str("</table></section>");
}

fn render_schema(html: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        html,
        "<section class=\"schema\" id=\"schema-{n}\"><h3>{n}</h3><p>{d}</p>",
        n = esc(name),
        d = esc(schema["description"].as_str().unwrap_or_default())
    );
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if let Some(props) = schema["properties"].as_object() {
        html.push_str("<table><tr><th>field</th><th>type</th><th>description</th></tr>");
        for (field, prop) in props {
            let req = if required.contains(&field.as_str()) { " <b>required</b>" } else { "" };
            let _ = write!(
                html,
                "<tr><td><code>{}</code>{req}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                type_of(prop),
                esc(prop["description"].as_str().unwrap_or_default())
            );
        }
        html.push_str("</table>");
    } else {
        let _ = write!(html, "<p>{}</p>", type_of(schema));
    }
    html.push_str("</section>");
}

/// Follow a local `$ref` (`#/components/...`), or return the value itself.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => spec.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// A short, linked description of a schema's type.
fn type_of(schema: &Value) -> String {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or(target);
        return format!("<a href=\"#schema-{n}\">{n}</a>", n = esc(name));
    }
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return options.iter().map(type_of).collect::<Vec<_>>().join(" | ");
    }
    let base = match &schema["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_of(&schema["items"])),
        Value::String(t) => esc(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).map(esc).collect::<Vec<_>>().join(" | "),
        _ => "any".to_owned(),
    };
    let mut notes = Vec::new();
    for key in ["format", "enum", "minimum", "maximum", "minLength", "maxLength", "default", "example"] {
        if let Some(v) = schema.get(key) {
            notes.push(format!("{key}: {}", esc(&v.to_string())));
        }
    }
    if notes.is_empty() { base } else { format!("{base} <small>({})</small>", notes.join(", ")) }
}

/// Escape text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2933}\
code{font-family:ui-monospace,monospace}table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{border:1px solid #d9e2ec;padding:.3rem .5rem;text-align:left;vertical-align:top}\
section{border-top:1px solid #bcccdc;padding:.5rem 0}.m{display:inline-block;min-width:4rem;color:#fff;border-radius:4px;\
text-align:center;background:#486581}.get{background:#2f855a}.post{background:#2b6cb0}.delete{background:#c53030}\
.lock{font-size:.8rem;color:#9b2c2c}small{color:#627d98}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_document_parses_and_renders_every_path() {
        let spec: Value = serde_json::from_str(OPENAPI_JSON).expect("valid JSON");
        let page = render(&spec);
        for path in spec["paths"].as_object().expect("paths").keys() {
            assert!(page.contains(&format!("<code>{}</code>", esc(path))), "{path} missing from the page");
        }
    }

    #[test]
    fn text_from_the_document_is_escaped() {
        let spec = serde_json::json!({ "info": { "title": "<script>alert(1)</script>" }, "paths": {} });
        let page = render(&spec);
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"));
    }

    #[test]
    fn types_link_to_their_schemas() {
        assert_eq!(type_of(&serde_json::json!({ "$ref": "#/components/schemas/Booking" })), "<a href=\"#schema-Booking\">Booking</a>");
        let list = type_of(&serde_json::json!({ "type": "array", "items": { "type": "string" } }));
        assert_eq!(list, "array of string");
    }
}
