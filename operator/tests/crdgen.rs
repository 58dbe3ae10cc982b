//! The committed `crds/*.yaml`, and their copy in the Helm chart (`charts/tripnest/crds/`), are
//! exactly what `crdgen` prints, file for file: regenerate both with
//! `cargo run -p tripnest-operator --bin crdgen -- --write` when the types change.

use tripnest_operator::resources::{CRD_DIRS, crd_yaml, crds};

#[test]
fn committed_crds_match_crdgen_output() {
    let fix = "run `cargo run -p tripnest-operator --bin crdgen -- --write` and commit the result";
    for dir in CRD_DIRS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        for (file, crd) in crds() {
            let path = path.join(file);
            let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is missing ({e}): {fix}", path.display()));
            assert!(committed == crd_yaml(&crd), "{} is stale: {fix}", path.display());
        }
        let mut files: Vec<String> = std::fs::read_dir(&path)
            .expect("crd dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|f| f.ends_with(".yaml"))
            .collect();
        files.sort();
        let mut expected: Vec<String> = crds().into_iter().map(|(file, _)| file.to_owned()).collect();
        expected.sort();
        assert_eq!(files, expected, "{dir} holds exactly one file per CRD: {fix}");
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
