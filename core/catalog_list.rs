// The part of a build script that embeds a list of catalogs, one per language, shared by
// `core/build.rs` (the email catalogs) and `api/build.rs` (the hosted pages' catalogs) through
// `include!`: adding a language is adding its catalog file.

/// Writes `$OUT_DIR/{file}`: `pub(crate) static {name}: &[(&str, &str)]`, each language's tag
/// and its catalog (`include_str!`), sorted by tag, under the doc comment `doc`.
fn write_catalog_list(
    mut languages: Vec<(String, std::path::PathBuf)>,
    doc: &str,
    name: &str,
    file: &str,
) {
    use std::fmt::Write;
    languages.sort();
    let mut code = format!("/// {doc}\npub(crate) static {name}: &[(&str, &str)] = &[\n");
    for (tag, catalog) in &languages {
        writeln!(
            code,
            "    ({tag:?}, include_str!({:?})),",
            catalog.display().to_string()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join(file);
    std::fs::write(out, code).unwrap();
}
