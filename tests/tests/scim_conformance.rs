//! SCIM conformance checked by a real SCIM client: `scim2-tester` (Python) runs its discovery,
//! CRUD, PATCH and misc checks against a tenant-wide token's endpoint
//! (`tests/scim/conformance.py`). It needs Python with `scim2-tester`, so it runs from
//! `.ci/run`, which sets `LATCHKEY_TEST_SCIM_PYTHON` to that interpreter; `cargo test` alone
//! skips it.

use latchkey_tests::TestApp;

#[tokio::test]
async fn scim2_tester_finds_no_error() {
    let Ok(python) = std::env::var("LATCHKEY_TEST_SCIM_PYTHON") else {
        eprintln!("LATCHKEY_TEST_SCIM_PYTHON is not set: skipped (see .ci/run)");
        return;
    };
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-conformance").await;
    let (_, token) = app.create_scim_token(&tenant, None).await;
    let base = format!("{}/t/{}/scim/v2", app.url, tenant.slug);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scim/conformance.py");
    let output = tokio::process::Command::new(python)
        .args([script, &base, &token])
        .output()
        .await
        .expect("the conformance script runs");
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "scim2-tester found errors:\n{printed}"
    );
}
