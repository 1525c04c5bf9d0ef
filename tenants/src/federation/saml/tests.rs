//! The SAML gate against responses signed here with test keys (`tests/fixtures/saml/`, made for these
//! tests only): what passes, and every way to forge or misdirect one that must not. The same
//! code against a real IdP (samlify) is in `tests/browser/saml.test.mjs`.

use super::metadata::{IdpMetadata, parse as parse_metadata};
use super::response::{Asserted, Expected, check};
use super::service_provider::ServiceProvider;
use base64::Engine;
use bergshamra::core::algorithm;
use bergshamra::{DsigContext, KeysManager};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use uuid::Uuid;

const KEY_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-a.key"
));
const CERT_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-a.crt"
));
const KEY_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-b.key"
));
const CERT_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-b.crt"
));
const IDP: &str = "https://idp.example.com/metadata";

fn now() -> DateTime<Utc> {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

fn sp() -> ServiceProvider {
    ServiceProvider::new("https://id.example.com", "acme", Uuid::nil())
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

fn metadata_xml(certs: &[&str]) -> String {
    let keys: String = certs
        .iter()
        .map(|c| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                pem_body(c)
            )
        })
        .collect();
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{keys}<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/post"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    )
}

fn idp(certs: &[&str]) -> IdpMetadata {
    parse_metadata(&metadata_xml(certs)).unwrap()
}

/// The parts of a response a test changes.
struct Parts {
    status: &'static str,
    destination: String,
    response_issuer: String,
    assertion_issuer: String,
    audience: String,
    recipient: String,
    in_response_to: Option<String>,
    name_id: String,
    name_id_format: &'static str,
    not_before: DateTime<Utc>,
    not_on_or_after: DateTime<Utc>,
}

impl Default for Parts {
    fn default() -> Self {
        let sp = sp();
        Self {
            status: "urn:oasis:names:tc:SAML:2.0:status:Success",
            destination: sp.acs_url.clone(),
            response_issuer: IDP.into(),
            assertion_issuer: IDP.into(),
            audience: sp.entity_id,
            recipient: sp.acs_url,
            in_response_to: Some("_request1".into()),
            name_id: "00u1abcd".into(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            not_before: now() - TimeDelta::seconds(60),
            not_on_or_after: now() + TimeDelta::seconds(300),
        }
    }
}

fn signature(reference: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="{enveloped}"/><ds:Transform Algorithm="{c14n}"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##,
        c14n = algorithm::EXC_C14N,
        method = algorithm::RSA_SHA256,
        enveloped = algorithm::ENVELOPED_SIGNATURE,
        digest = algorithm::SHA256,
    )
}

fn assertion(p: &Parts, id: &str, signature: &str) -> String {
    let in_response_to = p
        .in_response_to
        .as_deref()
        .map(|r| format!(r#" InResponseTo="{r}""#))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{recipient}"{in_response_to}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{from}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>ada@example.com</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>engineering</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        issued = at(now()),
        issuer = p.assertion_issuer,
        format = p.name_id_format,
        name_id = p.name_id,
        until = at(p.not_on_or_after),
        from = at(p.not_before),
        recipient = p.recipient,
        audience = p.audience,
    )
}

fn response(p: &Parts, signature: &str, assertion: &str) -> String {
    let in_response_to = p
        .in_response_to
        .as_deref()
        .map(|r| format!(r#" InResponseTo="{r}""#))
        .unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{issued}" Destination="{destination}"{in_response_to}><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#,
        issued = at(now()),
        destination = p.destination,
        issuer = p.response_issuer,
        status = p.status,
    )
}

/// Signs the first signature template of `template` with `key`.
fn sign(template: &str, key: &str) -> String {
    let mut keys = KeysManager::new();
    keys.add_key(bergshamra::keys::loader::load_pem_auto(key.as_bytes(), None).unwrap());
    bergshamra::sign(&DsigContext::new_permissive(keys), template).unwrap()
}

fn signed_assertion(p: &Parts, key: &str) -> String {
    sign(&assertion(p, "_a1", &signature("_a1")), key)
}

/// A response whose assertion is signed with `key`.
fn assertion_signed(p: &Parts, key: &str) -> String {
    response(p, "", &signed_assertion(p, key))
}

fn encode(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}

fn run(xml: &str, idp: &IdpMetadata) -> Result<Asserted, &'static str> {
    let sp = sp();
    let expected = Expected {
        idp,
        sp: &sp,
        now: now(),
    };
    check(&encode(xml), &expected).map_err(|refused| refused.reason)
}

fn reason(xml: &str) -> &'static str {
    run(xml, &idp(&[CERT_A])).expect_err("the response must be refused")
}

#[test]
fn a_signed_assertion_passes_and_says_who() {
    let asserted = run(&assertion_signed(&Parts::default(), KEY_A), &idp(&[CERT_A])).unwrap();
    assert_eq!(asserted.name_id, "00u1abcd");
    assert_eq!(asserted.in_response_to, "_request1");
    assert_eq!(asserted.assertion_id, "_a1");
    assert_eq!(asserted.attributes["email"], ["ada@example.com"]);
    assert_eq!(asserted.attributes["groups"], ["engineering", "admins"]);
    assert_eq!(asserted.not_on_or_after, now() + TimeDelta::seconds(300));
}

#[test]
fn a_signed_response_covers_its_assertion() {
    let p = Parts::default();
    let xml = sign(
        &response(&p, &signature("_r1"), &assertion(&p, "_a1", "")),
        KEY_A,
    );
    assert!(run(&xml, &idp(&[CERT_A])).is_ok());
    // Signed at both levels.
    let both = sign(
        &response(&p, &signature("_r1"), &signed_assertion(&p, KEY_A)),
        KEY_A,
    );
    assert!(run(&both, &idp(&[CERT_A])).is_ok());
}

#[test]
fn unsigned_or_otherwise_signed_responses_are_refused() {
    let p = Parts::default();
    assert_eq!(
        reason(&response(&p, "", &assertion(&p, "_a1", ""))),
        "unsigned"
    );
    // Signed by a key the metadata does not list; a key in the response is never used.
    assert_eq!(reason(&assertion_signed(&p, KEY_B)), "bad_signature");
    // Changed after signing.
    let tampered = assertion_signed(&p, KEY_A).replace("00u1abcd", "00u1admin");
    assert_eq!(reason(&tampered), "bad_signature");
    // No certificate at all: nothing is believed.
    let none = IdpMetadata {
        certificates: Vec::new(),
        ..idp(&[CERT_A])
    };
    assert_eq!(
        run(&assertion_signed(&p, KEY_A), &none).unwrap_err(),
        "no_certificate"
    );
}

#[test]
fn a_rollover_trusts_both_certificates_of_the_metadata() {
    let p = Parts::default();
    let both = idp(&[CERT_A, CERT_B]);
    assert!(run(&assertion_signed(&p, KEY_A), &both).is_ok());
    assert!(run(&assertion_signed(&p, KEY_B), &both).is_ok());
}

#[test]
fn signature_wrapping_is_refused() {
    let p = Parts::default();
    let signed = signed_assertion(&p, KEY_A);
    let evil_parts = Parts {
        name_id: "admin".into(),
        ..Parts::default()
    };
    let evil = assertion(&evil_parts, "_evil", "");
    // XSW 3: an unsigned assertion beside the signed one (before or after it).
    assert_eq!(
        reason(&response(&p, "", &format!("{evil}{signed}"))),
        "malformed_response"
    );
    assert_eq!(
        reason(&response(&p, "", &format!("{signed}{evil}"))),
        "malformed_response"
    );
    // XSW 4: the signed assertion inside the unsigned one.
    let wrapping = evil.replace("</saml:Assertion>", &format!("{signed}</saml:Assertion>"));
    assert_eq!(reason(&response(&p, "", &wrapping)), "malformed_response");
    // XSW 1/2: a signed response tucked into an unsigned one's Extensions.
    let signed_response = sign(
        &response(&p, &signature("_r1"), &assertion(&p, "_a1", "")),
        KEY_A,
    );
    let tucked = response(&evil_parts, "", &evil).replace(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed_response}</samlp:Extensions><samlp:Status>"),
    );
    assert!(matches!(
        reason(&tucked),
        "malformed_response" | "unexpected_signature"
    ));
    // The signed assertion in the evil one's signature's Object (XSW 7/8 shape): a signature
    // where none belongs.
    let in_object = evil.replace(
        "<saml:Subject>",
        &format!(r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>{signed}</ds:Object></ds:Signature><saml:Subject>"#),
    );
    assert!(matches!(
        reason(&response(&p, "", &in_object)),
        "malformed_response" | "unexpected_signature"
    ));
}

#[test]
fn a_signature_must_cover_the_element_it_sits_in() {
    let p = Parts::default();
    // A valid signature over the Status, placed in the response: the assertion stays unsigned.
    let xml = response(&p, &signature("_s1"), &assertion(&p, "_a1", ""))
        .replace("<samlp:Status>", r#"<samlp:Status ID="_s1">"#);
    assert_eq!(reason(&sign(&xml, KEY_A)), "unexpected_signature");
    // Two elements with the assertion's ID: refused whatever the signature says.
    let signed = signed_assertion(&p, KEY_A);
    let duplicate = response(&p, "", &signed).replace(
        "<samlp:Status>",
        r#"<samlp:Extensions><x:Other xmlns:x="urn:x" ID="_a1"/></samlp:Extensions><samlp:Status>"#,
    );
    assert_eq!(reason(&duplicate), "bad_signature");
}

#[test]
fn weak_or_unexpected_algorithms_are_refused() {
    let p = Parts::default();
    let signed = assertion_signed(&p, KEY_A);
    for (from, to) in [
        (
            algorithm::RSA_SHA256,
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        ),
        (algorithm::SHA256, "http://www.w3.org/2000/09/xmldsig#sha1"),
        (
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"",
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#WithComments\"",
        ),
        (
            "</ds:Transforms>",
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/></ds:Transforms>"#,
        ),
    ] {
        let changed = signed.replacen(from, to, 1);
        assert_ne!(changed, signed, "{from}");
        assert_eq!(reason(&changed), "unexpected_signature", "{to}");
    }
}

#[test]
fn a_comment_inside_the_name_id_is_refused_not_skipped() {
    // Exclusive C14N drops comments, so the signature still verifies after one is added.
    let p = Parts::default();
    let split = assertion_signed(&p, KEY_A).replace("00u1abcd", "00u1<!---->abcd");
    assert_eq!(reason(&split), "malformed_response");
}

#[test]
fn misdirected_or_stale_responses_are_refused() {
    let cases: Vec<(Parts, &str)> = vec![
        (
            Parts {
                destination: "https://elsewhere.example/acs".into(),
                ..Parts::default()
            },
            "wrong_destination",
        ),
        (
            Parts {
                response_issuer: "https://other-idp.example".into(),
                ..Parts::default()
            },
            "wrong_issuer",
        ),
        (
            Parts {
                assertion_issuer: "https://other-idp.example".into(),
                ..Parts::default()
            },
            "wrong_issuer",
        ),
        (
            Parts {
                audience: "https://other-sp.example".into(),
                ..Parts::default()
            },
            "wrong_audience",
        ),
        (
            Parts {
                recipient: "https://elsewhere.example/acs".into(),
                ..Parts::default()
            },
            "wrong_recipient",
        ),
        (
            Parts {
                in_response_to: None,
                ..Parts::default()
            },
            "unsolicited",
        ),
        (
            Parts {
                not_before: now() - TimeDelta::seconds(900),
                not_on_or_after: now() - TimeDelta::seconds(600),
                ..Parts::default()
            },
            "expired",
        ),
        (
            Parts {
                not_before: now() + TimeDelta::seconds(600),
                ..Parts::default()
            },
            "not_yet_valid",
        ),
        (
            Parts {
                name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                ..Parts::default()
            },
            "transient_name_id",
        ),
        (
            Parts {
                status: "urn:oasis:names:tc:SAML:2.0:status:Responder",
                ..Parts::default()
            },
            "provider_error",
        ),
    ];
    for (parts, expected) in cases {
        assert_eq!(reason(&assertion_signed(&parts, KEY_A)), expected);
    }
    // The response names another request than its assertion.
    let p = Parts::default();
    let mismatched = response(
        &Parts {
            in_response_to: Some("_other".into()),
            ..Parts::default()
        },
        "",
        &signed_assertion(&p, KEY_A),
    );
    assert_eq!(reason(&mismatched), "in_response_to_mismatch");
}

#[test]
fn encrypted_assertions_and_dtds_are_refused_with_a_reason() {
    let p = Parts::default();
    let encrypted = response(
        &p,
        "",
        r#"<saml:EncryptedAssertion><x:EncryptedData xmlns:x="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>"#,
    );
    assert_eq!(reason(&encrypted), "encrypted_assertion");
    let dtd = format!(
        "<!DOCTYPE r [<!ENTITY e \"x\">]>{}",
        assertion_signed(&p, KEY_A)
    );
    assert_eq!(reason(&dtd), "malformed_response");
    assert_eq!(reason("not xml"), "malformed_response");
}

#[test]
fn metadata_is_checked_for_what_sign_in_needs() {
    let parsed = idp(&[CERT_A, CERT_B]);
    assert_eq!(parsed.entity_id, IDP);
    assert_eq!(parsed.sso_url, "https://idp.example.com/sso");
    assert_eq!(parsed.certificates.len(), 2);
    let no_keys = parse_metadata(&metadata_xml(&[])).unwrap_err();
    assert!(no_keys.contains("no signing certificate"), "{no_keys}");
    let post_only = metadata_xml(&[CERT_A]).replace(
        r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>"#,
        "",
    );
    assert!(
        parse_metadata(&post_only)
            .unwrap_err()
            .contains("HTTP-Redirect")
    );
    assert!(
        parse_metadata("<html/>")
            .unwrap_err()
            .contains("not SAML 2.0 metadata")
    );
}
