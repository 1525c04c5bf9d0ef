//! The exported SDL (`api/schema.graphql`, `api/platform.graphql`) must match the schema.
//! Run with `LATCHKEY_UPDATE_SCHEMA=1` to rewrite the files after an intended change.

use latchkey_api::config::{Config, Settings};
use latchkey_api::graphql::{platform_schema, tenant_schema};

fn check(file: &str, sdl: String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    if std::env::var("LATCHKEY_UPDATE_SCHEMA").is_ok() {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == sdl,
        "{file} is out of date with the schema: run `LATCHKEY_UPDATE_SCHEMA=1 cargo test -p latchkey-api --test schema` and commit the result"
    );
}

#[test]
fn exported_sdl_matches_the_schema() {
    let limits = Config::check(Settings::default()).unwrap().limits;
    check("schema.graphql", tenant_schema(&limits).sdl());
    check("platform.graphql", platform_schema(&limits).sdl());
}
