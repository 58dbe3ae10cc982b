//! `crdgen`: print the TripNest CRDs as YAML; with `--write`, write one file per CRD into
//! `crds/` and the Helm chart's `charts/tripnest/crds/` (both generated from the Rust types; a
//! test fails when either committed copy is stale); with `--write DIR`, into DIR only.

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            for (_, crd) in tripnest_operator::resources::crds() {
                print!("---\n{}", tripnest_operator::resources::crd_yaml(&crd));
            }
            Ok(())
        }
        [flag] if flag == "--write" => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            tripnest_operator::resources::CRD_DIRS.iter().try_for_each(|dir| write(&root.join(dir)))
        }
        [flag, dir] if flag == "--write" => write(std::path::Path::new(dir)),
        _ => {
            eprintln!("usage: crdgen [--write [DIR]]");
            std::process::exit(2)
        }
    }
}

fn write(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (file, crd) in tripnest_operator::resources::crds() {
        let path = dir.join(file);
        std::fs::write(&path, tripnest_operator::resources::crd_yaml(&crd))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
