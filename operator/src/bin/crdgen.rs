//! `crdgen`: print the TripNest CRDs as YAML, or with `--write DIR` write one file per CRD
//! (what `crds/` holds; a test fails when the committed copy is stale).

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            for (_, crd) in tripnest_operator::resources::crds() {
                print!("---\n{}", tripnest_operator::resources::crd_yaml(&crd));
            }
            Ok(())
        }
        [flag, dir] if flag == "--write" => {
            std::fs::create_dir_all(dir)?;
            for (file, crd) in tripnest_operator::resources::crds() {
                let path = std::path::Path::new(dir).join(file);
                std::fs::write(&path, tripnest_operator::resources::crd_yaml(&crd))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: crdgen [--write DIR]");
            std::process::exit(2)
        }
    }
}
