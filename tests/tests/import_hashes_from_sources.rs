//! Password hashes made at test time by each source platform's own library
//! (`tests/hashes/generate.py`: PyPI bcrypt and argon2-cffi, Django's hashers, Keycloak's
//! PBKDF2 and argon2 layouts, Firebase's modified scrypt), imported in each format, then a
//! sign-in with the password, and again once it has been re-hashed with argon2id.
//!
//! Runs when `LATCHKEY_TEST_HASHES_PYTHON` names a Python with the generator's packages
//! (`.ci/run` makes one); skipped otherwise, so `cargo test` alone needs nothing but Rust.

use latchkey_password_hashes::FirebaseConfig;
use latchkey_tests::transfer::{Import, import};
use latchkey_tests::{TestApp, durable_settings};
use latchkey_transfer::Format;
use serde_json::{Value, json};
use std::process::Command;

const GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hashes/generate.py");
/// Not ASCII: the sources hashed the password as typed.
const PASSWORD: &str = "pässword one";

fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}

/// A CSV cell, quoted (PHC strings hold commas).
fn cell(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

#[tokio::test]
async fn hashes_made_by_their_sources_sign_in_after_an_import() {
    let Ok(python) = std::env::var("LATCHKEY_TEST_HASHES_PYTHON") else {
        eprintln!(
            "skipped: set LATCHKEY_TEST_HASHES_PYTHON to a Python with the generator's packages"
        );
        return;
    };
    let output = Command::new(&python)
        .arg(GENERATOR)
        .arg(PASSWORD)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let hashes: Value = serde_json::from_slice(&output.stdout).expect("the generator prints JSON");

    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("import-sources").await;
    app.allow_passwords(&tenant, json!({})).await;
    let mut accounts = Vec::new();

    let auth0 = format!(
        "{}\n",
        json!({ "user_id": "auth0|1", "email": "bcrypt@example.com", "email_verified": true, "passwordHash": hashes["bcrypt"] })
    );
    import(&settings, Import::new(&tenant.slug, Format::Auth0, &auth0))
        .await
        .unwrap();
    accounts.push("bcrypt@example.com".to_owned());

    let mut csv = String::from("email,email_verified,password_hash\n");
    for name in [
        "argon2",
        "django_pbkdf2_sha256",
        "django_pbkdf2_sha1",
        "django_argon2",
        "django_bcrypt",
    ] {
        let email = format!("{}@example.com", name.replace('_', "-"));
        csv.push_str(&format!("{email},true,{}\n", cell(text(&hashes[name]))));
        accounts.push(email);
    }
    import(&settings, Import::new(&tenant.slug, Format::Csv, &csv))
        .await
        .unwrap();

    let users: Vec<Value> = ["keycloak_pbkdf2_sha256", "keycloak_pbkdf2_sha512", "keycloak_argon2"]
        .iter()
        .map(|name| {
            let email = format!("{}@example.com", name.replace('_', "-"));
            accounts.push(email.clone());
            json!({ "id": name, "email": email, "emailVerified": true, "enabled": true,
                    "credentials": [{ "type": "password", "secretData": hashes[name]["secretData"], "credentialData": hashes[name]["credentialData"] }] })
        })
        .collect();
    let keycloak = json!({ "realm": "demo", "users": users }).to_string();
    import(
        &settings,
        Import::new(&tenant.slug, Format::Keycloak, &keycloak),
    )
    .await
    .unwrap();

    let firebase = &hashes["firebase"];
    let config = &firebase["hash_config"];
    let file = json!({ "users": [{ "localId": "fb", "email": "firebase@example.com", "emailVerified": true,
                                   "passwordHash": firebase["passwordHash"], "salt": firebase["salt"] }] })
    .to_string();
    let mut with_config = Import::new(&tenant.slug, Format::Firebase, &file);
    with_config.firebase = Some(FirebaseConfig {
        signer_key: text(&config["signer_key"]).to_owned(),
        salt_separator: text(&config["salt_separator"]).to_owned(),
        rounds: config["rounds"].as_u64().unwrap() as u32,
        mem_cost: config["mem_cost"].as_u64().unwrap() as u32,
    });
    import(&settings, with_config).await.unwrap();
    accounts.push("firebase@example.com".to_owned());

    for email in &accounts {
        let wrong = app
            .sign_in_with_password(&tenant, email, "pässword two")
            .await;
        assert!(
            wrong.body.get("errors").is_some(),
            "{email}: a wrong password signed in"
        );
        for attempt in ["imported hash", "argon2id"] {
            let right = app.sign_in_with_password(&tenant, email, PASSWORD).await;
            assert!(
                right.body["data"]["signInWithPassword"]["accessToken"].is_string(),
                "{email} ({attempt}): {}",
                right.body
            );
        }
    }
}
