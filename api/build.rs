//! Finds the hosted pages' catalogs (`web/tenant/locales/<language>.json`) and embeds each one:
//! adding a language to the pages is adding its catalog file. The list is sorted by language
//! tag, English included.

use std::path::Path;

include!("../core/catalog_list.rs");

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/tenant/locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut languages = Vec::new();
    for entry in std::fs::read_dir(&root).expect("web/tenant/locales exists") {
        let catalog = entry.expect("web/tenant/locales is readable").path();
        println!("cargo:rerun-if-changed={}", catalog.display());
        if catalog
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            let tag = catalog
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("a language tag is ASCII")
                .to_owned();
            languages.push((tag, catalog));
        }
    }
    write_catalog_list(
        languages,
        "Each language's tag and the hosted pages' catalog.",
        "PAGE_CATALOGS",
        "page_catalogs.rs",
    );
}
