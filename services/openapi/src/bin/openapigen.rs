//! `openapigen`: print the public API's OpenAPI document, or with `--write` write it where the
//! gateway embeds it and the web UI generates its types from ([`tripnest_openapi::COMMITTED`]).
//! A test fails when the committed copy is stale.

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = tripnest_openapi::document_json();
    match args.as_slice() {
        [] => {
            print!("{text}");
            Ok(())
        }
        [flag] if flag == "--write" => {
            let path = tripnest_openapi::committed_path();
            std::fs::write(&path, text)?;
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        _ => {
            eprintln!("usage: openapigen [--write]");
            std::process::exit(2)
        }
    }
}
