//! Hashes made by each source platform's own library (`generate.py`), imported and verified.
//!
//! Skipped unless `LATCHKEY_TEST_HASHES_PYTHON` names a Python that has the generator's
//! packages (bcrypt, argon2-cffi, django, firebase-scrypt). The hashes use the sources' default
//! costs (Django's PBKDF2 a million iterations, its Argon2 100 MiB), so this test takes a few
//! seconds in a release build and about a minute in a debug one.

use latchkey_password_hashes::{
    FirebaseConfig, Scheme, from_bcrypt_or_phc, from_django, from_firebase, from_keycloak, parse,
    verify,
};
use serde_json::Value;
use std::process::Command;

/// The generator, beside this crate's manifest.
const GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/hashes/generate.py");

const PASSWORD: &str = "correct horse ☃ battery";
const WRONG_PASSWORD: &str = "correct horse ☃ batterz";

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("the generator gave no text {field}"))
}

fn number(value: &Value, field: &str) -> u32 {
    value[field]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("the generator gave no number {field}"))
}

/// The stored string of each generated hash, with its expected scheme.
fn imported(hashes: &Value) -> Vec<(&'static str, Scheme, String)> {
    let keycloak = |name: &str| {
        let credential = &hashes[name];
        from_keycloak(
            text(credential, "secretData"),
            text(credential, "credentialData"),
        )
    };
    let firebase = &hashes["firebase"];
    let config = &firebase["hash_config"];
    let firebase_config = FirebaseConfig {
        signer_key: text(config, "signer_key").to_owned(),
        salt_separator: text(config, "salt_separator").to_owned(),
        rounds: number(config, "rounds"),
        mem_cost: number(config, "mem_cost"),
    };
    let results = [
        (
            "bcrypt",
            Scheme::Bcrypt,
            from_bcrypt_or_phc(text(hashes, "bcrypt")),
        ),
        (
            "argon2",
            Scheme::Argon2,
            from_bcrypt_or_phc(text(hashes, "argon2")),
        ),
        (
            "django_pbkdf2_sha256",
            Scheme::Pbkdf2Sha256,
            from_django(text(hashes, "django_pbkdf2_sha256")),
        ),
        (
            "django_pbkdf2_sha1",
            Scheme::Pbkdf2Sha1,
            from_django(text(hashes, "django_pbkdf2_sha1")),
        ),
        (
            "django_argon2",
            Scheme::Argon2,
            from_django(text(hashes, "django_argon2")),
        ),
        (
            "django_bcrypt",
            Scheme::Bcrypt,
            from_django(text(hashes, "django_bcrypt")),
        ),
        (
            "keycloak_pbkdf2_sha256",
            Scheme::Pbkdf2Sha256,
            keycloak("keycloak_pbkdf2_sha256"),
        ),
        (
            "keycloak_pbkdf2_sha512",
            Scheme::Pbkdf2Sha512,
            keycloak("keycloak_pbkdf2_sha512"),
        ),
        (
            "keycloak_argon2",
            Scheme::Argon2,
            keycloak("keycloak_argon2"),
        ),
        (
            "firebase",
            Scheme::FirebaseScrypt,
            from_firebase(
                text(firebase, "passwordHash"),
                text(firebase, "salt"),
                &firebase_config,
            ),
        ),
    ];
    results
        .into_iter()
        .map(|(name, scheme, stored)| {
            let stored = stored.unwrap_or_else(|e| panic!("{name} was not imported: {e}"));
            (name, scheme, stored)
        })
        .collect()
}

#[test]
fn hashes_made_by_the_sources_verify() {
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
        .unwrap_or_else(|e| panic!("{python} did not run: {e}"));
    assert!(
        output.status.success(),
        "{GENERATOR} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let hashes: Value = serde_json::from_slice(&output.stdout).expect("the generator printed JSON");

    let mut failures = Vec::new();
    for (name, scheme, stored) in imported(&hashes) {
        if parse(&stored) != Ok(scheme) {
            failures.push(format!("{name}: {stored} is not parsed as {scheme:?}"));
        }
        if verify(PASSWORD.as_bytes(), &stored) != Ok(true) {
            failures.push(format!("{name}: the right password is refused by {stored}"));
        }
        if verify(WRONG_PASSWORD.as_bytes(), &stored) != Ok(false) {
            failures.push(format!("{name}: a wrong password is accepted by {stored}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
