//! The document the gateway serves (`services/gateway/src/openapi.json`) is exactly what the
//! handlers declare: regenerate with `cargo run -p tripnest-openapi --bin openapigen -- --write`
//! (then `npm run gen:api` in `frontend/`) when a public type or handler changes.

#[test]
fn the_committed_document_is_what_the_handlers_declare() {
    let path = tripnest_openapi::committed_path();
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is missing ({e})", path.display()));
    assert!(
        committed == tripnest_openapi::document_json(),
        "{} is stale: run `cargo run -p tripnest-openapi --bin openapigen -- --write`, then `npm run gen:api` in frontend/, and commit both",
        path.display()
    );
}
