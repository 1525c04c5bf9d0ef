//! A SAML identity provider's responses, built and signed here with test keys
//! (`fixtures/saml/`, made for these tests only), so that the gate can be shown every forgery
//! and misdirection a real IdP would never send. Interoperability with a real IdP (samlify) is
//! tested from `tests/browser/saml.test.mjs`.

use base64::Engine;
use bergshamra::core::algorithm;
use bergshamra::{DsigContext, KeysManager};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

pub const KEY_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-a.key"
));
pub const CERT_A: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-a.crt"
));
pub const KEY_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-b.key"
));
pub const CERT_B: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/saml/idp-b.crt"
));
pub const IDP: &str = "https://idp.example.com/metadata";

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// IdP metadata listing `certs` (PEM) for signing.
pub fn metadata_xml(certs: &[&str]) -> String {
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

/// The parts of a response a test changes.
#[derive(Clone)]
pub struct Parts {
    pub status: &'static str,
    pub destination: String,
    pub response_issuer: String,
    pub assertion_issuer: String,
    pub audience: String,
    pub recipient: String,
    pub in_response_to: Option<String>,
    /// The assertion's ID (the replay cache remembers it).
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: &'static str,
    pub email: String,
    pub groups: Vec<String>,
    pub issued: DateTime<Utc>,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
}

impl Parts {
    /// A good response from [`IDP`] to the service provider `entity_id` whose assertion
    /// consumer service is `acs_url`, issued at `now`.
    pub fn new(acs_url: &str, entity_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            status: "urn:oasis:names:tc:SAML:2.0:status:Success",
            destination: acs_url.into(),
            response_issuer: IDP.into(),
            assertion_issuer: IDP.into(),
            audience: entity_id.into(),
            recipient: acs_url.into(),
            in_response_to: Some("_request1".into()),
            assertion_id: "_a1".into(),
            name_id: "00u1abcd".into(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            email: "ada@example.com".into(),
            groups: vec!["engineering".into(), "admins".into()],
            issued: now,
            not_before: now - TimeDelta::seconds(60),
            not_on_or_after: now + TimeDelta::seconds(300),
        }
    }
}

/// An enveloped signature template over `#reference` (RSA-SHA256, exclusive C14N).
pub fn signature(reference: &str) -> String {
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="{enveloped}"/><ds:Transform Algorithm="{c14n}"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue></ds:Signature>"##,
        c14n = algorithm::EXC_C14N,
        method = algorithm::RSA_SHA256,
        enveloped = algorithm::ENVELOPED_SIGNATURE,
        digest = algorithm::SHA256,
    )
}

/// An assertion with id `id` and `signature` (a template, or nothing) after its issuer.
pub fn assertion(p: &Parts, id: &str, signature: &str) -> String {
    let in_response_to = p
        .in_response_to
        .as_deref()
        .map(|r| format!(r#" InResponseTo="{r}""#))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{recipient}"{in_response_to}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{from}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups">{groups}</saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        issued = at(p.issued),
        issuer = p.assertion_issuer,
        email = p.email,
        groups = p
            .groups
            .iter()
            .map(|g| format!("<saml:AttributeValue>{g}</saml:AttributeValue>"))
            .collect::<String>(),
        format = p.name_id_format,
        name_id = p.name_id,
        until = at(p.not_on_or_after),
        from = at(p.not_before),
        recipient = p.recipient,
        audience = p.audience,
    )
}

/// A response holding `assertion`, with `signature` after its issuer.
pub fn response(p: &Parts, signature: &str, assertion: &str) -> String {
    let in_response_to = p
        .in_response_to
        .as_deref()
        .map(|r| format!(r#" InResponseTo="{r}""#))
        .unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="{issued}" Destination="{destination}"{in_response_to}><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#,
        issued = at(p.issued),
        destination = p.destination,
        issuer = p.response_issuer,
        status = p.status,
    )
}

/// Signs the first signature template of `template` with `key`.
pub fn sign(template: &str, key: &str) -> String {
    let mut keys = KeysManager::new();
    keys.add_key(bergshamra::keys::loader::load_pem_auto(key.as_bytes(), None).unwrap());
    bergshamra::sign(&DsigContext::new_permissive(keys), template).unwrap()
}

/// The assertion, signed with `key`.
pub fn signed_assertion(p: &Parts, key: &str) -> String {
    sign(
        &assertion(p, &p.assertion_id, &signature(&p.assertion_id)),
        key,
    )
}

/// A response whose assertion is signed with `key`.
pub fn assertion_signed(p: &Parts, key: &str) -> String {
    response(p, "", &signed_assertion(p, key))
}

/// The `SAMLResponse` form value.
pub fn encode(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml)
}
