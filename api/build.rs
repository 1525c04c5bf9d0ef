//! Finds the hosted pages' catalogs (`web/tenant/locales/<language>.json`) and embeds each one:
//! adding a language to the pages is adding its catalog file. The list is sorted by language
//! tag, English included.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/tenant/locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut languages = Vec::new();
    for entry in std::fs::read_dir(&root).expect("web/tenant/locales exists") {
        let catalog = entry.expect("web/tenant/locales is readable").path();
        println!("cargo:rerun-if-changed={}", catalog.display());
        if catalog.extension().is_some_and(|extension| extension == "json") {
            let tag = catalog
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("a language tag is ASCII")
                .to_owned();
            languages.push((tag, catalog));
        }
    }
    languages.sort();
    let mut code = String::from(
        "/// Each language's tag and the hosted pages' catalog.\npub(crate) static PAGE_CATALOGS: &[(&str, &str)] = &[\n",
    );
    for (tag, catalog) in &languages {
        writeln!(
            code,
            "    ({tag:?}, include_str!({:?})),",
            catalog.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("page_catalogs.rs");
    std::fs::write(out, code).unwrap();
}
