//! Finds the email catalogs (`locales/<language>/emails.ftl`) and embeds each one: adding a
//! language is adding its catalog file. The list is sorted by language tag, English included.

use std::path::Path;

include!("catalog_list.rs");

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut languages = Vec::new();
    for entry in std::fs::read_dir(&root).expect("core/locales exists") {
        let entry = entry.expect("core/locales is readable");
        let catalog = entry.path().join("emails.ftl");
        println!("cargo:rerun-if-changed={}", catalog.display());
        if catalog.is_file() {
            let tag = entry
                .file_name()
                .into_string()
                .expect("a language tag is ASCII");
            languages.push((tag, catalog));
        }
    }
    write_catalog_list(
        languages,
        "Each language's tag and email catalog.",
        "CATALOGS",
        "catalogs.rs",
    );
}
