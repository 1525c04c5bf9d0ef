//! The SAML response gate (`latchkey_tenants::federation::saml::check`) against responses
//! signed with test keys: what passes, and every way to forge or misdirect one that must not
//! (signature wrapping, other keys, weak algorithms, comments in values, wrong destination,
//! issuer, audience, recipient, window, unsolicited answers).

use bergshamra::core::algorithm;
use chrono::{DateTime, TimeDelta, Utc};
use latchkey_tenants::federation::ServiceProvider;
use latchkey_tenants::federation::saml::{Asserted, Expected, IdpMetadata, check, parse_metadata};
use latchkey_tests::saml::{
    CERT_A, CERT_B, IDP, KEY_A, KEY_B, Parts, assertion, assertion_signed, encode, metadata_xml,
    response, sign, signature, signed_assertion,
};
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    "2026-12-07T10:00:00Z".parse().unwrap()
}

fn sp() -> ServiceProvider {
    ServiceProvider::new("https://id.example.com", "acme", Uuid::nil())
}

fn parts() -> Parts {
    let sp = sp();
    Parts::new(&sp.acs_url, &sp.entity_id, now())
}

fn idp(certs: &[&str]) -> IdpMetadata {
    parse_metadata(&metadata_xml(certs)).unwrap()
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
    let asserted = run(&assertion_signed(&parts(), KEY_A), &idp(&[CERT_A])).unwrap();
    assert_eq!(asserted.name_id, "00u1abcd");
    assert_eq!(asserted.in_response_to, "_request1");
    assert_eq!(asserted.assertion_id, "_a1");
    assert_eq!(asserted.attributes["email"], ["ada@example.com"]);
    assert_eq!(asserted.attributes["groups"], ["engineering", "admins"]);
    // Its expiry and the three minutes of tolerated clock difference.
    assert_eq!(asserted.acceptable_until, now() + TimeDelta::seconds(480));
}

#[test]
fn a_signed_response_covers_its_assertion() {
    let p = parts();
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
    let p = parts();
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
    let p = parts();
    let both = idp(&[CERT_A, CERT_B]);
    assert!(run(&assertion_signed(&p, KEY_A), &both).is_ok());
    assert!(run(&assertion_signed(&p, KEY_B), &both).is_ok());
}

#[test]
fn signature_wrapping_is_refused() {
    let p = parts();
    let signed = signed_assertion(&p, KEY_A);
    let evil_parts = Parts {
        name_id: "admin".into(),
        ..parts()
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
    let p = parts();
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
    let p = parts();
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
        // The enveloped transform alone (the digest would use inclusive C14N).
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            "",
        ),
    ] {
        let changed = signed.replacen(from, to, 1);
        assert_ne!(changed, signed, "{from}");
        assert_eq!(reason(&changed), "unexpected_signature", "{to}");
    }
}

/// What the signature library would act on before any signature is checked (an XSLT
/// transform, a reference to a file, a key fetched from elsewhere) is refused by its shape:
/// it must never reach the library.
#[test]
fn a_signature_holding_more_than_a_plain_enveloped_one_never_reaches_the_library() {
    let p = parts();
    let signed = assertion_signed(&p, KEY_A);
    let xslt = "http://www.w3.org/TR/1999/REC-xslt-19991116";
    for (from, to) in [
        // A transform in another namespace, which a reader by local name would run.
        (
            "</ds:Transforms>".to_owned(),
            format!(r#"<x:Transform xmlns:x="urn:x" Algorithm="{xslt}"/></ds:Transforms>"#),
        ),
        // A namespaced attribute before the one this gate reads.
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#.to_owned(),
            format!(r#"<ds:Transform xmlns:x="urn:x" x:Algorithm="{xslt}" Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#),
        ),
        (
            r##"<ds:Reference URI="#_a1">"##.to_owned(),
            r##"<ds:Reference xmlns:x="urn:x" x:URI="latchkey-data/latchkey.db" URI="#_a1">"##.to_owned(),
        ),
        // Content inside a transform, an Object, a key from elsewhere.
        (
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#.to_owned(),
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ds:XPath>1</ds:XPath></ds:Transform>"#.to_owned(),
        ),
        (
            "</ds:SignatureValue>".to_owned(),
            "</ds:SignatureValue><ds:Object>x</ds:Object>".to_owned(),
        ),
        (
            "</ds:SignatureValue>".to_owned(),
            r#"</ds:SignatureValue><ds:KeyInfo><ds:RetrievalMethod URI="/etc/passwd"/></ds:KeyInfo>"#.to_owned(),
        ),
    ] {
        let changed = signed.replacen(&from, &to, 1);
        assert_ne!(changed, signed, "{from}");
        assert_eq!(reason(&changed), "unexpected_signature", "{to}");
    }
    // The certificate in KeyInfo, as IdPs send it, is fine (and never used as the key).
    let with_certificate = signed.replacen(
        "</ds:SignatureValue>",
        &format!(
            "</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            CERT_B.lines().filter(|l| !l.starts_with("-----")).collect::<String>()
        ),
        1,
    );
    assert!(run(&with_certificate, &idp(&[CERT_A])).is_ok());
}

#[test]
fn a_condition_latchkey_does_not_understand_is_refused() {
    let p = parts();
    let signed = assertion_signed(&p, KEY_A).replacen(
        "</saml:Conditions>",
        "<saml:ProxyRestriction Count=\"0\"/></saml:Conditions>",
        1,
    );
    // Added after signing: the shape of the assertion is judged once the signature holds, so
    // sign the changed one.
    assert_eq!(reason(&signed), "bad_signature");
    let template = response(
        &p,
        "",
        &assertion(&p, &p.assertion_id, &signature(&p.assertion_id)).replacen(
            "</saml:Conditions>",
            "<saml:ProxyRestriction Count=\"0\"/></saml:Conditions>",
            1,
        ),
    );
    assert_eq!(reason(&sign(&template, KEY_A)), "unknown_condition");
}

#[test]
fn a_comment_inside_the_name_id_is_refused_not_skipped() {
    // Exclusive C14N drops comments, so the signature still verifies after one is added.
    let p = parts();
    let split = assertion_signed(&p, KEY_A).replace("00u1abcd", "00u1<!---->abcd");
    assert_eq!(reason(&split), "malformed_response");
}

#[test]
fn misdirected_or_stale_responses_are_refused() {
    let cases: Vec<(Parts, &str)> = vec![
        (
            Parts {
                destination: "https://elsewhere.example/acs".into(),
                ..parts()
            },
            "wrong_destination",
        ),
        (
            Parts {
                response_issuer: "https://other-idp.example".into(),
                ..parts()
            },
            "wrong_issuer",
        ),
        (
            Parts {
                assertion_issuer: "https://other-idp.example".into(),
                ..parts()
            },
            "wrong_issuer",
        ),
        (
            Parts {
                audience: "https://other-sp.example".into(),
                ..parts()
            },
            "wrong_audience",
        ),
        (
            Parts {
                recipient: "https://elsewhere.example/acs".into(),
                ..parts()
            },
            "wrong_recipient",
        ),
        (
            Parts {
                in_response_to: None,
                ..parts()
            },
            "unsolicited",
        ),
        (
            Parts {
                not_before: now() - TimeDelta::seconds(900),
                not_on_or_after: now() - TimeDelta::seconds(600),
                ..parts()
            },
            "expired",
        ),
        (
            Parts {
                not_before: now() + TimeDelta::seconds(600),
                ..parts()
            },
            "not_yet_valid",
        ),
        (
            Parts {
                name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
                ..parts()
            },
            "transient_name_id",
        ),
        (
            Parts {
                status: "urn:oasis:names:tc:SAML:2.0:status:Responder",
                ..parts()
            },
            "provider_error",
        ),
    ];
    for (parts, expected) in cases {
        assert_eq!(reason(&assertion_signed(&parts, KEY_A)), expected);
    }
    // The response names another request than its assertion.
    let p = parts();
    let mismatched = response(
        &Parts {
            in_response_to: Some("_other".into()),
            ..parts()
        },
        "",
        &signed_assertion(&p, KEY_A),
    );
    assert_eq!(reason(&mismatched), "in_response_to_mismatch");
}

#[test]
fn encrypted_assertions_and_dtds_are_refused_with_a_reason() {
    let p = parts();
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
    let script = metadata_xml(&[CERT_A]).replace(
        "https://idp.example.com/sso",
        "javascript:alert(document.cookie)",
    );
    assert!(
        parse_metadata(&script)
            .unwrap_err()
            .contains("not an https URL")
    );
}
