//! Exporting identities and bringing them back: the export → import round trip into an empty
//! tenant gives back the same identities (same ids), organizations, roles, memberships with
//! their windows and passkeys, and the user signs in there with the same passkey. Through the
//! API: an upload to `POST /t/{slug}/imports` imported by a job, an export job downloaded
//! from `GET /t/{slug}/exports/{id}`; who may do what; tenants kept apart.

use latchkey_tests::transfer::export;
use latchkey_tests::{TestApp, TestTenant, durable_settings, unique};
use latchkey_transfer::ExportFormat;
use serde_json::{Value, json};
use std::time::Duration;

const MEMBERS: &str = "query($s: String) { organizations(first: 5, filter: { search: $s }) { nodes { slug name kind members(first: 10) { nodes { roles validUntil identity { id email } } } } } }";

async fn organization(app: &TestApp, tenant: &TestTenant, slug: &str) -> Value {
    app.tenant(tenant, MEMBERS, json!({ "s": slug }))
        .await
        .data()["organizations"]["nodes"][0]
        .clone()
}

/// Uploads `contents` to `POST /t/{slug}/imports` with `key`.
async fn upload(
    app: &TestApp,
    tenant: &TestTenant,
    key: &str,
    contents: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(format!(
            "{}/t/{}/imports?name=users.jsonl",
            app.url, tenant.slug
        ))
        .bearer_auth(key)
        .body(contents)
        .send()
        .await
        .unwrap()
}

const START_IMPORT: &str = "mutation($input: StartIdentityImportInput!) { startIdentityImport(input: $input) { identityImport { id status } } }";
const IMPORT: &str = "query($id: ID!) { identityImport(id: $id) { id status total processed created updated failed errors { record field message } } }";
const START_EXPORT: &str = "mutation($input: StartIdentityExportInput!) { startIdentityExport(input: $input) { identityExport { id status } } }";
const EXPORT: &str =
    "query($id: ID!) { identityExport(id: $id) { id status processed error downloadPath } }";

/// Waits until the job `query` reads is finished (the worker polls every second).
async fn finished(
    app: &TestApp,
    tenant: &TestTenant,
    query: &str,
    field: &str,
    id: &Value,
) -> Value {
    for _ in 0..300 {
        let job = app.tenant(tenant, query, json!({ "id": id })).await.data()[field].clone();
        if job["status"] == "SUCCEEDED" || job["status"] == "FAILED" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job did not finish");
}

#[tokio::test]
async fn an_export_imported_into_an_empty_tenant_gives_back_the_same_identities_and_passkeys() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let source = app.create_tenant("export-source").await;
    let email = format!("{}@example.com", unique("ada"));
    let (mut device, credential_id, signed_in) = app.sign_up(&source, &email).await;
    let (org, slug) = app.create_organization(&source, "Acme", "CUSTOMER").await;
    app.tenant(&source, "mutation { createOrganizationRole(input: { name: \"billing\", permissions: [\"invoices:read\"] }) { role { name } } }", json!({})).await.data();
    app.tenant(
        &source,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": signed_in.identity_id, "roles": ["org:member", "billing"], "validUntil": "2099-01-01T00:00:00Z" } }),
    )
    .await
    .data();
    let other = app
        .create_identity(&source, &format!("{}@example.com", unique("bob")))
        .await;

    let exported = export(&settings, &source.slug, ExportFormat::Latchkey, false)
        .await
        .unwrap();
    let lines: Vec<Value> = exported
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines[0],
        json!({ "type": "role", "name": "billing", "permissions": ["invoices:read"] })
    );
    assert_eq!(lines[1]["type"], "organization");
    let ada = lines.iter().find(|l| l["email"] == email.as_str()).unwrap();
    assert_eq!(ada["id"], signed_in.identity_id.as_str());
    assert_eq!(ada["passkeys"][0]["credentialId"], credential_id.as_str());
    assert!(
        ada.get("passwordHash").is_none(),
        "no hashes unless asked for"
    );
    // Public keys and metadata only: no secret, private key or token anywhere.
    for word in [
        "clientsecret",
        "secret_hash",
        "secrethash",
        "private",
        "refreshtoken",
        "accesstoken",
        "passwordhash",
    ] {
        assert!(
            !exported.to_ascii_lowercase().contains(word),
            "{word} in {exported}"
        );
    }

    // Into an empty tenant, through the API: upload, then a job.
    let target = app.create_tenant("export-target").await;
    let uploaded = upload(
        &app,
        &target,
        &target.api_key,
        exported.clone().into_bytes(),
    )
    .await;
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["size"], exported.len());
    let started = app
        .tenant(
            &target,
            START_IMPORT,
            json!({ "input": { "uploadId": uploaded["uploadId"], "format": "LATCHKEY" } }),
        )
        .await;
    let id = started.data()["startIdentityImport"]["identityImport"]["id"].clone();
    let job = finished(&app, &target, IMPORT, "identityImport", &id).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(
        (job["created"].clone(), job["failed"].clone()),
        (json!(2), json!(0)),
        "{job}"
    );

    let copied = organization(&app, &target, &slug).await;
    let original = organization(&app, &source, &slug).await;
    assert_eq!(copied, original);
    assert_eq!(
        copied["members"]["nodes"][0]["roles"],
        json!(["billing", "org:member"])
    );
    let same = app
        .tenant(
            &target,
            "query($id: ID!) { identity(id: $id) { id email } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(same.data()["identity"]["id"], other.as_str());

    // The same passkey signs in to the new tenant, as the same identity.
    let again = app
        .sign_in(&target, &mut device, Some(&email), &credential_id)
        .await;
    assert_eq!(again.identity_id, signed_in.identity_id);

    // An export of the copy is the export of the original.
    let reexported = export(&settings, &target.slug, ExportFormat::Latchkey, false)
        .await
        .unwrap();
    let strip = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap();
                // Use moves on: the sign-in above counted and dated.
                if let Some(passkeys) = value["passkeys"].as_array_mut() {
                    for passkey in passkeys {
                        passkey["lastUsedAt"] = Value::Null;
                        passkey["credential"]["cred"]["counter"] = Value::Null;
                    }
                }
                value
            })
            .collect()
    };
    assert_eq!(strip(&reexported), strip(&exported));
}

#[tokio::test]
async fn export_jobs_download_and_keep_their_rules() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("export-api").await;
    let identity = app
        .create_identity(&tenant, &format!("{}@example.com", unique("exp")))
        .await;
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;

    // Viewers may follow jobs but not start them, nor upload.
    let refused = app
        .as_key(&tenant, &viewer, START_EXPORT, json!({ "input": {} }))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert_eq!(
        upload(&app, &tenant, &viewer, b"{}".to_vec())
            .await
            .status(),
        403
    );

    let started = app
        .tenant(
            &tenant,
            START_EXPORT,
            json!({ "input": { "format": "CSV" } }),
        )
        .await;
    let id = started.data()["startIdentityExport"]["identityExport"]["id"].clone();
    let job = finished(&app, &tenant, EXPORT, "identityExport", &id).await;
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let path = job["downloadPath"].as_str().unwrap().to_owned();
    let download = |key: String, path: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}{path}", app.url))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
        }
    };
    let file = download(tenant.api_key.clone(), path.clone()).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "text/csv; charset=utf-8");
    let text = file.text().await.unwrap();
    assert!(text.starts_with("id,email,email_verified"), "{text}");
    assert!(text.contains(identity.as_str()));

    // Another tenant's credential, or this job's id under another tenant, finds nothing.
    let other = app.create_tenant("export-api-other").await;
    assert_eq!(
        download(other.api_key.clone(), path.clone()).await.status(),
        401
    );
    let foreign = download(
        other.api_key.clone(),
        path.replace(&tenant.slug, &other.slug),
    )
    .await;
    assert_eq!(foreign.status(), 404);
    let listed = app
        .tenant(&other, "{ identityExports { id } }", json!({}))
        .await;
    assert_eq!(listed.data()["identityExports"], json!([]));
    let read = app.tenant(&other, EXPORT, json!({ "id": id })).await;
    assert_eq!(read.error_code(), "NOT_FOUND");

    // An upload of one tenant cannot be imported by another.
    let uploaded: Value = upload(
        &app,
        &tenant,
        &tenant.api_key,
        b"{\"type\":\"identity\",\"email\":\"x@example.com\"}\n".to_vec(),
    )
    .await
    .json()
    .await
    .unwrap();
    let stolen = app
        .tenant(
            &other,
            START_IMPORT,
            json!({ "input": { "uploadId": uploaded["uploadId"], "format": "LATCHKEY" } }),
        )
        .await;
    assert_eq!(stolen.error_code(), "NOT_FOUND");

    // Password hashes only for owners and admins, and the download is audited.
    let hashes = app
        .tenant(
            &tenant,
            START_EXPORT,
            json!({ "input": { "passwordHashes": true } }),
        )
        .await;
    let id = hashes.data()["startIdentityExport"]["identityExport"]["id"].clone();
    let job = finished(&app, &tenant, EXPORT, "identityExport", &id).await;
    assert_eq!(
        download(
            tenant.api_key.clone(),
            job["downloadPath"].as_str().unwrap().to_owned()
        )
        .await
        .status(),
        200
    );
    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 100) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"identity.export.start"), "{actions:?}");
    assert!(actions.contains(&"identity.export.download"), "{actions:?}");
}
