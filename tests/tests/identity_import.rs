//! Importing identities (`latchkey identities import`): each format with its password hashes,
//! then a sign-in with the old password (re-hashed with argon2id on the way); the validation
//! report, `--skip-invalid` and dry runs; resuming an interrupted import; importing twice;
//! and tenants kept apart. The hashes here are literals made by each source's own library
//! (see their comments); `import_hashes_from_sources.rs` makes fresh ones at test time.

use latchkey_password_hashes::FirebaseConfig;
use latchkey_tests::transfer::{Import, import};
use latchkey_tests::{TestApp, TestTenant, durable_settings, unique};
use latchkey_transfer::Format;
use serde_json::{Value, json};

/// PyPI `bcrypt` 5.0.0: `bcrypt.hashpw("lètmein".encode(), bcrypt.gensalt(5))`.
const LETMEIN_BCRYPT: &str = "$2b$05$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896";
/// PyPI `argon2-cffi` 25.1.0: `PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2)`.
const LETMEIN_ARGON2ID: &str = "$argon2id$v=19$m=1024,t=2,p=2$APA7CZKisK59YrIjswcvFA$VWeg9pIMGdoTAbVpr9YnNnZkbzd+3ILy6Zfw2RYAM6Y";
/// `hunter2` as Django's `PBKDF2PasswordHasher` stores it (salt `seasalt2024`, 260000
/// iterations; the same bytes as `hashlib.pbkdf2_hmac`).
const HUNTER2_DJANGO: &str =
    "pbkdf2_sha256$260000$seasalt2024$4571tXhE/j30Fqse9JNH5XmYQMRl6N5pDdskpgIkPn4=";

/// Firebase's published example (github.com/firebase/scrypt): `user1password`.
fn firebase_config() -> FirebaseConfig {
    FirebaseConfig {
        signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==".into(),
        salt_separator: "Bw==".into(),
        rounds: 8,
        mem_cost: 14,
    }
}

const IDENTITIES: &str = "query($filter: IdentityFilter) { identities(first: 100, filter: $filter) { totalCount nodes { id email emailVerified displayName externalId status attributes locale } } }";

/// The tenant's identities matching `filter` (all of them for `{}`). Always filtered: the
/// unfiltered total is cached by the server, which hears of the command line's changes only
/// when the cache entry expires (a minute).
async fn identities(app: &TestApp, tenant: &TestTenant, mut filter: Value) -> Value {
    if filter.as_object().is_some_and(|f| f.is_empty()) {
        filter = json!({ "search": "@" });
    }
    app.tenant(tenant, IDENTITIES, json!({ "filter": filter }))
        .await
        .data()["identities"]
        .clone()
}

async fn signs_in(app: &TestApp, tenant: &TestTenant, email: &str, password: &str) -> bool {
    let answer = app.sign_in_with_password(tenant, email, password).await;
    answer.body.get("errors").is_none()
        && answer.body["data"]["signInWithPassword"]["accessToken"].is_string()
}

#[tokio::test]
async fn each_format_brings_its_password_hashes_and_they_sign_in() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-formats").await;
    app.allow_passwords(&tenant, json!({})).await;

    let auth0 = format!(
        "{}\n",
        json!({ "_id": { "$oid": "60425da93519d90068f82966" }, "email": "auth0@example.com", "email_verified": true, "name": "Ada Auth0", "passwordHash": LETMEIN_BCRYPT, "user_metadata": { "plan": "pro" } })
    );
    import(&settings, Import::new(&tenant.slug, Format::Auth0, &auth0))
        .await
        .unwrap();

    let keycloak = json!({ "realm": "demo", "users": [{
        "id": "5d3fbd8b-4ee1-4f2b-9bb7-5c06d8a3b6a1", "username": "kc", "email": "keycloak@example.com",
        "emailVerified": true, "enabled": true, "firstName": "Kay", "lastName": "Cloak",
        "credentials": [{ "type": "password",
            "secretData": "{\"value\":\"4571tXhE/j30Fqse9JNH5XmYQMRl6N5pDdskpgIkPn4=\",\"salt\":\"c2Vhc2FsdDIwMjQ=\",\"additionalParameters\":{}}",
            "credentialData": "{\"hashIterations\":260000,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}" }]
    }]})
    .to_string();
    import(
        &settings,
        Import::new(&tenant.slug, Format::Keycloak, &keycloak),
    )
    .await
    .unwrap();

    let firebase = json!({ "users": [{
        "localId": "fb-1", "email": "firebase@example.com", "emailVerified": true,
        "passwordHash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
        "salt": "42xEC+ixf3L2lw==", "createdAt": "1700000000000"
    }]})
    .to_string();
    // Without the project's hash parameters the hash cannot be imported: reported, nothing written.
    let error = import(
        &settings,
        Import::new(&tenant.slug, Format::Firebase, &firebase),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("--skip-invalid"), "{error}");
    assert_eq!(
        identities(&app, &tenant, json!({ "email": "firebase@example.com" })).await["totalCount"],
        0
    );
    let mut with_config = Import::new(&tenant.slug, Format::Firebase, &firebase);
    with_config.firebase = Some(firebase_config());
    import(&settings, with_config).await.unwrap();

    let csv = format!(
        "email,email_verified,display_name,password_hash,attributes.team\ndjango@example.com,true,Jan Go,{HUNTER2_DJANGO},blue\nargon@example.com,false,,\"{LETMEIN_ARGON2ID}\",\n"
    );
    import(&settings, Import::new(&tenant.slug, Format::Csv, &csv))
        .await
        .unwrap();

    let latchkey = format!(
        "{}\n",
        json!({ "type": "identity", "email": "latchkey@example.com", "emailVerified": true, "passwordHash": LETMEIN_BCRYPT })
    );
    import(
        &settings,
        Import::new(&tenant.slug, Format::Latchkey, &latchkey),
    )
    .await
    .unwrap();

    for (email, password) in [
        ("auth0@example.com", "lètmein"),
        ("keycloak@example.com", "hunter2"),
        ("firebase@example.com", "user1password"),
        ("django@example.com", "hunter2"),
        ("argon@example.com", "lètmein"),
        ("latchkey@example.com", "lètmein"),
    ] {
        assert!(
            !signs_in(&app, &tenant, email, "not the password").await,
            "{email}"
        );
        assert!(signs_in(&app, &tenant, email, password).await, "{email}");
        // The first sign-in stored an argon2id hash of the same password.
        assert!(
            signs_in(&app, &tenant, email, password).await,
            "{email} again"
        );
    }

    let all = identities(&app, &tenant, json!({})).await;
    assert_eq!(all["totalCount"], 6);
    let by_email = |email: &str| {
        all["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["email"] == email)
            .unwrap()
            .clone()
    };
    let auth0 = by_email("auth0@example.com");
    assert_eq!(auth0["externalId"], "auth0|60425da93519d90068f82966");
    assert_eq!(auth0["attributes"]["plan"], "pro");
    assert_eq!(by_email("keycloak@example.com")["displayName"], "Kay Cloak");
    assert_eq!(by_email("firebase@example.com")["externalId"], "fb-1");
    assert_eq!(by_email("django@example.com")["attributes"]["team"], "blue");
    // Verified only where the file says the old provider verified the address.
    assert_eq!(by_email("argon@example.com")["emailVerified"], false);
    assert_eq!(by_email("django@example.com")["emailVerified"], true);
}

#[tokio::test]
async fn problems_are_reported_before_anything_is_written() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-report").await;
    let csv = "email,status,password_hash\nfine@example.com,active,\nnot an address,active,\nlate@example.com,gone,\nfine@example.com,,\nweak@example.com,,$2b$40$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896\n";
    let error = import(&settings, Import::new(&tenant.slug, Format::Csv, csv))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("--skip-invalid"), "{error}");
    assert_eq!(identities(&app, &tenant, json!({})).await["totalCount"], 0);

    let report = imports(&app, &tenant).await;
    let job = &report[0];
    assert_eq!(job["status"], "FAILED");
    assert_eq!(job["total"], 5);
    assert_eq!(job["failed"], 4);
    let problems: Vec<(i64, &str)> = job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["record"].as_i64().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [
            (3, "email"),
            (4, "status"),
            (5, "email"),
            (6, "password_hash")
        ]
    );
    assert!(
        job["errors"][3]["message"]
            .as_str()
            .unwrap()
            .contains("above 16"),
        "{job}"
    );

    // A dry run of the valid rows counts what would happen and writes nothing.
    let mut dry = Import::new(&tenant.slug, Format::Csv, csv);
    dry.dry_run = true;
    dry.skip_invalid = true;
    import(&settings, dry).await.unwrap();
    assert_eq!(identities(&app, &tenant, json!({})).await["totalCount"], 0);
    let job = &imports(&app, &tenant).await[0];
    assert_eq!(
        (
            job["dryRun"].clone(),
            job["created"].clone(),
            job["status"].clone()
        ),
        (json!(true), json!(1), json!("SUCCEEDED"))
    );

    // With --skip-invalid the valid rows are written, the others reported.
    let mut skip = Import::new(&tenant.slug, Format::Csv, csv);
    skip.skip_invalid = true;
    import(&settings, skip).await.unwrap();
    let all = identities(&app, &tenant, json!({})).await;
    assert_eq!(all["totalCount"], 1);
    assert_eq!(all["nodes"][0]["email"], "fine@example.com");
    let job = &imports(&app, &tenant).await[0];
    assert_eq!(
        (job["created"].clone(), job["failed"].clone()),
        (json!(1), json!(4))
    );
}

const IMPORTS: &str = "{ identityImports { id status format source dryRun total processed created updated failed errors { record field message } } }";

async fn imports(app: &TestApp, tenant: &TestTenant) -> Vec<Value> {
    app.tenant(tenant, IMPORTS, json!({})).await.data()["identityImports"]
        .as_array()
        .unwrap()
        .clone()
}

fn many(count: usize, prefix: &str) -> String {
    let mut lines = String::new();
    lines.push_str(
        &json!({ "type": "role", "name": "billing", "permissions": ["invoices:read"] }).to_string(),
    );
    lines.push('\n');
    lines.push_str(
        &json!({ "type": "organization", "slug": format!("{prefix}-org"), "name": "Acme" })
            .to_string(),
    );
    lines.push('\n');
    for n in 0..count {
        let membership = if n % 10 == 0 {
            json!([{ "organization": format!("{prefix}-org"), "roles": ["org:member", "billing"], "validUntil": "2099-01-01T00:00:00Z" }])
        } else {
            json!([])
        };
        lines.push_str(&json!({ "type": "identity", "email": format!("{prefix}-{n}@example.com"), "externalId": format!("{prefix}-{n}"), "emailVerified": true, "memberships": membership }).to_string());
        lines.push('\n');
    }
    lines
}

#[tokio::test]
async fn an_interrupted_import_resumes_and_a_second_import_changes_nothing() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-resume").await;
    let prefix = unique("r");
    let file = many(2500, &prefix);

    // Stop the import as if killed once its first batch is written: the future is dropped in
    // the middle of the second batch, whose transaction never commits.
    let interrupted = {
        let settings = settings.clone();
        let slug = tenant.slug.clone();
        let file = file.clone();
        tokio::spawn(
            async move { import(&settings, Import::new(&slug, Format::Latchkey, &file)).await },
        )
    };
    loop {
        let jobs = imports(&app, &tenant).await;
        if jobs
            .first()
            .is_some_and(|job| job["processed"].as_i64().unwrap() >= 1000)
        {
            interrupted.abort();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let _ = interrupted.await;
    let stopped = imports(&app, &tenant).await[0].clone();
    assert_eq!(stopped["status"], "RUNNING");
    let written = identities(&app, &tenant, json!({})).await["totalCount"]
        .as_i64()
        .unwrap();
    assert!((998..2500).contains(&written), "{written}");
    assert_eq!(
        written,
        stopped["processed"].as_i64().unwrap() - 2,
        "records and identities: {stopped}"
    );

    let mut resume = Import::new(&tenant.slug, Format::Latchkey, &file);
    resume.resume = true;
    import(&settings, resume).await.unwrap();
    let jobs = imports(&app, &tenant).await;
    assert_eq!(jobs.len(), 1, "resumed, not started again");
    assert_eq!(jobs[0]["status"], "SUCCEEDED");
    assert_eq!(jobs[0]["processed"], 2502);
    assert_eq!(jobs[0]["created"], 2500);
    assert_eq!(
        identities(&app, &tenant, json!({})).await["totalCount"],
        2500
    );
    let org = app
        .tenant(&tenant, "query($s: String) { organizations(first: 5, filter: { search: $s }) { nodes { members(first: 1) { totalCount nodes { roles validUntil } } } } }", json!({ "s": format!("{prefix}-org") }))
        .await;
    let members = &org.data()["organizations"]["nodes"][0]["members"];
    assert_eq!(members["totalCount"], 250);
    assert_eq!(
        members["nodes"][0]["roles"],
        json!(["billing", "org:member"])
    );

    // Nothing left to resume; the same file again matches every identity and changes nothing.
    let mut again = Import::new(&tenant.slug, Format::Latchkey, &file);
    again.resume = true;
    assert!(
        import(&settings, again)
            .await
            .unwrap_err()
            .to_string()
            .contains("no unfinished import")
    );
    import(
        &settings,
        Import::new(&tenant.slug, Format::Latchkey, &file),
    )
    .await
    .unwrap();
    let job = &imports(&app, &tenant).await[0];
    assert_eq!(
        (
            job["created"].clone(),
            job["updated"].clone(),
            job["failed"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(
        identities(&app, &tenant, json!({})).await["totalCount"],
        2500
    );
}

#[tokio::test]
async fn imports_stay_in_their_tenant() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-own").await;
    let other = app.create_tenant("import-other").await;
    // The other tenant has an identity with the same address and external id.
    let file = format!(
        "{}\n",
        json!({ "type": "identity", "email": "same@example.com", "externalId": "x-1", "displayName": "Mine" })
    );
    import(&settings, Import::new(&other.slug, Format::Latchkey, &file))
        .await
        .unwrap();
    import(
        &settings,
        Import::new(&tenant.slug, Format::Latchkey, &file),
    )
    .await
    .unwrap();
    let mine = identities(&app, &tenant, json!({})).await;
    let theirs = identities(&app, &other, json!({})).await;
    assert_eq!(mine["totalCount"], 1);
    assert_eq!(theirs["totalCount"], 1);
    assert_ne!(mine["nodes"][0]["id"], theirs["nodes"][0]["id"]);
    // A record naming another tenant's identity by id creates one here and leaves that one be.
    let named = format!(
        "{}\n",
        json!({ "type": "identity", "id": theirs["nodes"][0]["id"], "email": "new@example.com" })
    );
    import(
        &settings,
        Import::new(&tenant.slug, Format::Latchkey, &named),
    )
    .await
    .unwrap();
    let theirs_after = identities(&app, &other, json!({})).await;
    assert_eq!(theirs_after, theirs);
    assert_eq!(identities(&app, &tenant, json!({})).await["totalCount"], 2);

    // Jobs are the tenant's own.
    let job = imports(&app, &other).await[0]["id"].clone();
    assert_eq!(imports(&app, &tenant).await.len(), 2);
    let foreign = app
        .tenant(
            &tenant,
            "query($id: ID!) { identityImport(id: $id) { id } }",
            json!({ "id": job }),
        )
        .await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn an_imported_account_without_a_password_is_emailed_a_link_to_set_up_a_passkey() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-enroll").await;
    let email = format!("{}@example.com", unique("enroll"));
    let file = format!(
        "{}\n",
        json!({ "type": "identity", "email": email, "emailVerified": true, "displayName": "New Here" })
    );
    import(
        &settings,
        Import::new(&tenant.slug, Format::Latchkey, &file),
    )
    .await
    .unwrap();
    let id = identities(&app, &tenant, json!({ "email": email })).await["nodes"][0]["id"].clone();
    const LINK: &str = "mutation($id: ID!) { createRegistrationLink(input: { identityId: $id, sendEmail: true }) { expiresAt } }";

    // Not through another tenant.
    let other = app.create_tenant("import-enroll-other").await;
    assert_eq!(
        app.tenant(&other, LINK, json!({ "id": id }))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(app.mail_count(&email), 0);

    app.tenant(&tenant, LINK, json!({ "id": id })).await.data();
    let mail = app.last_mail_to(&email).expect("the link was emailed");
    assert!(mail.text().contains("set up a passkey"), "{}", mail.text());
    let token = latchkey_tests::smtp::registration_token(&mail);
    let mut device = latchkey_tests::passkey::Device::new(&app);
    let begun = app
        .begin_registration(&tenant, None, json!({ "registrationToken": token }))
        .await;
    let credential = device.create(&begun.options);
    let finished = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert_eq!(
        finished.data()["finishPasskeyRegistration"]["identity"]["id"],
        id
    );
}
