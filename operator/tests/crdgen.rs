//! The committed `crds/*.yaml`, and their copy in the Helm chart (`charts/tripnest/crds/`), are
//! exactly what `crdgen` prints: regenerate with
//! `cargo run -p tripnest-operator --bin crdgen -- --write crds` (and `--write charts/tripnest/crds`)
//! when the types change.

use tripnest_operator::resources::{crd_yaml, crds};

#[test]
fn committed_crds_match_crdgen_output() {
    for dir in ["crds", "charts/tripnest/crds"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        for (file, crd) in crds() {
            let path = path.join(file);
            let committed =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is missing ({e}); run crdgen --write {dir}", path.display()));
            assert!(
                committed == crd_yaml(&crd),
                "{} is stale: run `cargo run -p tripnest-operator --bin crdgen -- --write {dir}` and commit the result",
                path.display()
            );
        }
    }
}

#[test]
fn the_crds_have_status_short_names_and_printer_columns() {
    for (file, crd) in crds() {
        let version = &crd.spec.versions[0];
        assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(), "{file}: status subresource");
        assert!(crd.spec.names.short_names.as_ref().is_some_and(|s| !s.is_empty()), "{file}: short names");
        let columns: Vec<&str> = version.additional_printer_columns.iter().flatten().map(|c| c.name.as_str()).collect();
        assert!(columns.contains(&"Ready"), "{file}: a Ready column in {columns:?}");
        assert_eq!(crd.spec.scope, "Namespaced", "{file}");
    }
}
