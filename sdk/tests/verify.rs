//! The verifier against a JWKS served by a local HTTP server, with tokens signed by keys made
//! in the test: every forgery the SDK must refuse, and the key cache's refetch rules.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_sdk::{Verifier, VerifierOptions, VerifyError};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const AUDIENCE: &str = "lkc_test_client";

struct Key {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl Key {
    fn new(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap()
                .as_ref()
                .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self {
            kid: kid.into(),
            pkcs8,
            jwk,
        }
    }

    fn sign(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        header
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(issuer: &str) -> Value {
    json!({ "iss": issuer, "sub": "user-1", "aud": AUDIENCE, "exp": now() + 300, "iat": now(), "scope": "openid orders:read" })
}

async fn issuer_with(keys: &[&Key]) -> (MockServer, String) {
    let server = MockServer::start().await;
    let issuer = format!("{}/t/acme", server.uri());
    Mock::given(method("GET"))
        .and(path("/t/acme/jwks.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }),
        ))
        .mount(&server)
        .await;
    (server, issuer)
}

fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn a_good_token_verifies_and_forgeries_do_not() {
    let key = Key::new("k1");
    let (_server, issuer) = issuer_with(&[&key]).await;
    let verifier = Verifier::new(&issuer, [AUDIENCE]);

    let good = verifier
        .verify(&key.sign(key.header(), &claims(&issuer)))
        .await
        .unwrap();
    assert_eq!(good.sub, "user-1");
    assert!(good.has_scope("orders:read"));
    assert!(!good.has_scope("orders"));

    // An ID token, signed by the same key for the same audience, is not an access token.
    let mut id_header = key.header();
    id_header.typ = Some("JWT".into());
    assert_eq!(
        verifier
            .verify(&key.sign(id_header, &claims(&issuer)))
            .await
            .unwrap_err(),
        VerifyError::NotAnAccessToken
    );

    // alg: none.
    let none = unsigned(
        json!({ "alg": "none", "typ": "at+jwt", "kid": "k1" }),
        &claims(&issuer),
    );
    assert_eq!(
        verifier.verify(&none).await.unwrap_err(),
        VerifyError::Algorithm("none".into())
    );

    // HS256 "signed" with the public key as the HMAC secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    hs.typ = Some("at+jwt".into());
    let public = serde_json::to_vec(&key.jwk).unwrap();
    let forged = jsonwebtoken::encode(
        &hs,
        &claims(&issuer),
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&forged).await.unwrap_err(),
        VerifyError::Algorithm("HS256".into())
    );

    // Headers that name a key are refused even on a token the right key signed.
    let mut jku = key.header();
    jku.jku = Some("https://attacker.example/jwks.json".into());
    assert_eq!(
        verifier
            .verify(&key.sign(jku, &claims(&issuer)))
            .await
            .unwrap_err(),
        VerifyError::ForbiddenHeader("jku")
    );
    let mut x5u = key.header();
    x5u.x5u = Some("https://attacker.example/cert.pem".into());
    assert_eq!(
        verifier
            .verify(&key.sign(x5u, &claims(&issuer)))
            .await
            .unwrap_err(),
        VerifyError::ForbiddenHeader("x5u")
    );
    let attacker = Key::new("k1");
    let mut embedded = attacker.header();
    embedded.jwk = Some(serde_json::from_value(attacker.jwk.clone()).unwrap());
    assert_eq!(
        verifier
            .verify(&attacker.sign(embedded, &claims(&issuer)))
            .await
            .unwrap_err(),
        VerifyError::ForbiddenHeader("jwk")
    );

    // Another key under the same key id: the signature fails.
    assert_eq!(
        verifier
            .verify(&attacker.sign(attacker.header(), &claims(&issuer)))
            .await
            .unwrap_err(),
        VerifyError::Signature
    );

    // Wrong audience, wrong issuer, expired (beyond the leeway), not yet valid.
    let mut wrong_aud = claims(&issuer);
    wrong_aud["aud"] = json!("lkc_someone_else");
    assert_eq!(
        verifier
            .verify(&key.sign(key.header(), &wrong_aud))
            .await
            .unwrap_err(),
        VerifyError::Audience
    );
    let mut list_aud = claims(&issuer);
    list_aud["aud"] = json!(["lkc_someone_else", AUDIENCE]);
    assert!(
        verifier
            .verify(&key.sign(key.header(), &list_aud))
            .await
            .is_ok()
    );
    let wrong_iss = claims("https://id.example.com/t/other");
    assert_eq!(
        verifier
            .verify(&key.sign(key.header(), &wrong_iss))
            .await
            .unwrap_err(),
        VerifyError::Issuer
    );
    let mut expired = claims(&issuer);
    expired["exp"] = json!(now() - 3600);
    assert_eq!(
        verifier
            .verify(&key.sign(key.header(), &expired))
            .await
            .unwrap_err(),
        VerifyError::Expired
    );
    let mut within_leeway = claims(&issuer);
    within_leeway["exp"] = json!(now() - 20);
    assert!(
        verifier
            .verify(&key.sign(key.header(), &within_leeway))
            .await
            .is_ok()
    );
    let mut early = claims(&issuer);
    early["nbf"] = json!(now() + 3600);
    assert_eq!(
        verifier
            .verify(&key.sign(key.header(), &early))
            .await
            .unwrap_err(),
        VerifyError::NotYetValid
    );

    assert_eq!(
        verifier.verify("not a token").await.unwrap_err(),
        VerifyError::Malformed
    );
}

#[tokio::test]
async fn unknown_key_ids_refetch_at_most_once_per_interval() {
    let old = Key::new("old");
    let new = Key::new("new");
    let (server, issuer) = issuer_with(&[&old]).await;
    let verifier = Verifier::with_options(
        &issuer,
        [AUDIENCE],
        VerifierOptions {
            refetch_interval: Duration::from_millis(300),
            ..VerifierOptions::default()
        },
    );
    verifier
        .verify(&old.sign(old.header(), &claims(&issuer)))
        .await
        .unwrap();
    verifier
        .verify(&old.sign(old.header(), &claims(&issuer)))
        .await
        .unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "known keys come from the cache"
    );

    // The issuer rotates: the new key is published.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/t/acme/jwks.json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "keys": [old.jwk, new.jwk] })),
        )
        .mount(&server)
        .await;
    let token = new.sign(new.header(), &claims(&issuer));
    // Within the interval an unknown key id does not reach the issuer.
    for _ in 0..5 {
        assert_eq!(
            verifier.verify(&token).await.unwrap_err(),
            VerifyError::UnknownKey
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    tokio::time::sleep(Duration::from_millis(350)).await;
    verifier
        .verify(&token)
        .await
        .expect("the rotated key is fetched");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // Made-up key ids: at most one fetch per interval however many arrive.
    let stranger = Key::new("made-up");
    tokio::time::sleep(Duration::from_millis(350)).await;
    for _ in 0..20 {
        let forged = stranger.sign(stranger.header(), &claims(&issuer));
        assert_eq!(
            verifier.verify(&forged).await.unwrap_err(),
            VerifyError::UnknownKey
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_is_reported() {
    let key = Key::new("k1");
    let verifier = Verifier::new("http://127.0.0.1:9/t/acme", [AUDIENCE]);
    let error = verifier
        .verify(&key.sign(key.header(), &claims("http://127.0.0.1:9/t/acme")))
        .await
        .unwrap_err();
    assert!(matches!(error, VerifyError::Jwks(_)), "{error:?}");
}
