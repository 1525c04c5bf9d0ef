//! Finds the catalogs of each language (`locales/<language>/emails.ftl` and
//! `locales/<language>/pages.ftl`) and embeds each one: adding a language is adding its catalog
//! files. Each list is sorted by language tag, English included; a language with one of the
//! files but not the other stops the build, so both lists have the same languages in the same
//! order.

use std::path::{Path, PathBuf};

include!("catalog_list.rs");

/// The catalogs every language has: the file, and the list it goes to (name, file, doc).
const KINDS: [(&str, &str, &str, &str); 2] = [
    (
        "emails.ftl",
        "CATALOGS",
        "catalogs.rs",
        "Each language's tag and email catalog.",
    ),
    (
        "pages.ftl",
        "PAGE_CATALOGS",
        "page_catalogs.rs",
        "Each language's tag and the catalog of the pages the server renders itself.",
    ),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut lists: [Vec<(String, PathBuf)>; KINDS.len()] = Default::default();
    for entry in std::fs::read_dir(&root).expect("core/locales exists") {
        let entry = entry.expect("core/locales is readable");
        let tag = entry
            .file_name()
            .into_string()
            .expect("a language tag is ASCII");
        let catalogs = KINDS.map(|(file, ..)| entry.path().join(file));
        for catalog in &catalogs {
            println!("cargo:rerun-if-changed={}", catalog.display());
        }
        let present = catalogs.iter().filter(|catalog| catalog.is_file()).count();
        if present == 0 {
            continue;
        }
        assert_eq!(
            present,
            KINDS.len(),
            "core/locales/{tag} needs every catalog: {:?}",
            KINDS.map(|(file, ..)| file)
        );
        for (list, catalog) in lists.iter_mut().zip(catalogs) {
            list.push((tag.clone(), catalog));
        }
    }
    for (languages, (_, name, file, doc)) in lists.into_iter().zip(KINDS) {
        write_catalog_list(languages, doc, name, file);
    }
}
