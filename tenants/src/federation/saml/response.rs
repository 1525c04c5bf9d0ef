//! The gate every SAML response passes before anything in it is believed. The posted XML is
//! parsed once (no DTD) and that tree is what the signature library verifies and what the
//! gate reads: the status; exactly one assertion, a child of the response, and no encrypted
//! one; signatures only on the response or the assertion, each made only of the elements a
//! plain enveloped signature has (no attribute with a namespace anywhere in it, since the
//! library reads attributes by local name), with exactly one reference, to the element it sits
//! in, exclusive canonicalisation, exactly the transforms enveloped-signature then exclusive
//! C14N, SHA-256 or stronger; every signature verified by `bergshamra` against the
//! certificates of the IdP's metadata only (never a key the response carries), and the element
//! each verified signature covers compared by node with the assertion that is then read (so
//! what is read is what is signed: signature wrapping). Then: destination, issuer, audience,
//! conditions understood, bearer confirmation (recipient, `InResponseTo`, window).

use super::super::oidc::{Refused, refused};
use super::metadata::IdpMetadata;
use super::service_provider::ServiceProvider;
use super::xml::{self, ASSERTION, DSIG, PROTOCOL};
use base64::Engine;
use bergshamra::core::algorithm;
use bergshamra::{DsigContext, KeysManager, VerifyResult};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use uppsala::{Document, NodeId};

/// The clock difference tolerated between the IdP and Latchkey.
const SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(180);
/// The largest response read (base64 as posted).
const MAX_RESPONSE: usize = 512 * 1024;

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const SIGNATURE_METHODS: [&str; 6] = [
    algorithm::RSA_SHA256,
    algorithm::RSA_SHA384,
    algorithm::RSA_SHA512,
    algorithm::ECDSA_SHA256,
    algorithm::ECDSA_SHA384,
    algorithm::ECDSA_SHA512,
];
const DIGEST_METHODS: [&str; 3] = [algorithm::SHA256, algorithm::SHA384, algorithm::SHA512];

/// What a response must match.
pub struct Expected<'a> {
    pub idp: &'a IdpMetadata,
    pub sp: &'a ServiceProvider,
    pub now: DateTime<Utc>,
}

/// What a response that passed says.
#[derive(Clone, Debug)]
pub struct Asserted {
    /// The id of Latchkey's request this answers.
    pub in_response_to: String,
    pub assertion_id: String,
    /// Until when the assertion could be accepted: its `NotOnOrAfter` and the tolerated clock
    /// difference (the replay cache keeps its id that long).
    pub acceptable_until: DateTime<Utc>,
    pub name_id: String,
    pub name_id_format: Option<String>,
    /// Attribute name → its text values.
    pub attributes: BTreeMap<String, Vec<String>>,
}

fn malformed(why: impl std::fmt::Display) -> Refused {
    refused(
        "malformed_response",
        format!("the identity provider's answer is not a SAML response Latchkey accepts: {why}"),
    )
}

fn time(doc: &Document<'_>, id: NodeId, name: &str) -> Result<Option<DateTime<Utc>>, Refused> {
    xml::attr(doc, id, name)
        .map(|value| {
            DateTime::parse_from_rfc3339(value)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| malformed(format!("{name} is not a date and time")))
        })
        .transpose()
}

fn decode(encoded: &str) -> Result<String, Refused> {
    if encoded.len() > MAX_RESPONSE {
        return Err(malformed("it is too large"));
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| malformed("SAMLResponse is not base64"))?;
    String::from_utf8(bytes).map_err(|_| malformed("it is not UTF-8"))
}

const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// The elements a signature may hold, by parent (everything in the XML-DSig namespace except
/// exclusive C14N's `InclusiveNamespaces`): no `Object`, no `Manifest`, no `RetrievalMethod`,
/// nothing the library would act on beyond one reference to the signed element.
fn allowed_children(parent: &str) -> &'static [(&'static str, &'static str)] {
    match parent {
        "Signature" => &[
            (DSIG, "SignedInfo"),
            (DSIG, "SignatureValue"),
            (DSIG, "KeyInfo"),
        ],
        "SignedInfo" => &[
            (DSIG, "CanonicalizationMethod"),
            (DSIG, "SignatureMethod"),
            (DSIG, "Reference"),
        ],
        "CanonicalizationMethod" | "Transform" => &[(EXC_C14N_NS, "InclusiveNamespaces")],
        "Reference" => &[
            (DSIG, "Transforms"),
            (DSIG, "DigestMethod"),
            (DSIG, "DigestValue"),
        ],
        "Transforms" => &[(DSIG, "Transform")],
        "KeyInfo" => &[(DSIG, "X509Data"), (DSIG, "KeyName")],
        "X509Data" => &[(DSIG, "X509Certificate")],
        _ => &[],
    }
}

/// Every element of the signature is one it may hold where it is, and no attribute has a
/// namespace: the library reads attributes by local name in any namespace, so a prefixed
/// `x:URI` or `x:Algorithm` would be what it acts on while this gate read another.
fn check_elements(doc: &Document<'_>, node: NodeId) -> Result<(), String> {
    let element = doc.element(node).ok_or("is not an element")?;
    if element
        .attributes
        .iter()
        .any(|a| a.name.namespace_uri.is_some() || a.name.prefix.is_some())
    {
        return Err("carries an attribute with a namespace".into());
    }
    let allowed = allowed_children(&element.name.local_name);
    for child in doc.children_iter(node) {
        let Some(inner) = doc.element(child) else {
            continue;
        };
        let known = allowed
            .iter()
            .any(|(namespace, local)| inner.matches_name_ns(namespace, local));
        if !known {
            return Err(format!(
                "holds an element Latchkey does not accept ({})",
                inner.name.local_name
            ));
        }
        check_elements(doc, child)?;
    }
    Ok(())
}

fn algorithm_of(doc: &Document<'_>, parent: NodeId, local: &str) -> Result<String, String> {
    let node = xml::only_child(doc, parent, DSIG, local)?.ok_or(format!("has no {local}"))?;
    xml::attr(doc, node, "Algorithm")
        .map(str::to_owned)
        .ok_or(format!("names no {local} algorithm"))
}

/// The shape of a signature inside `parent`: only the elements a plain enveloped signature
/// has, one reference, to `parent` itself, exclusive canonicalisation, exactly the transforms
/// enveloped-signature then exclusive C14N, strong algorithms.
fn check_shape(doc: &Document<'_>, signature: NodeId, parent: NodeId) -> Result<(), String> {
    check_elements(doc, signature)?;
    let info = xml::only_child(doc, signature, DSIG, "SignedInfo")?.ok_or("has no SignedInfo")?;
    if algorithm_of(doc, info, "CanonicalizationMethod")? != algorithm::EXC_C14N {
        return Err("is not canonicalised with exclusive C14N without comments".into());
    }
    if !SIGNATURE_METHODS.contains(&algorithm_of(doc, info, "SignatureMethod")?.as_str()) {
        return Err("uses a signature algorithm weaker than RSA or ECDSA with SHA-256".into());
    }
    let reference = match xml::children(doc, info, DSIG, "Reference").as_slice() {
        [one] => *one,
        _ => return Err("must have exactly one Reference".into()),
    };
    let id = xml::attr(doc, parent, "ID").filter(|id| !id.is_empty());
    match (id, xml::attr(doc, reference, "URI")) {
        (Some(id), Some(uri)) if uri.strip_prefix('#') == Some(id) => {}
        _ => return Err("does not refer to the element it signs".into()),
    }
    let transforms = xml::only_child(doc, reference, DSIG, "Transforms")?
        .map(|t| xml::children(doc, t, DSIG, "Transform"))
        .unwrap_or_default();
    let algorithms: Vec<Option<&str>> = transforms
        .iter()
        .map(|&t| xml::attr(doc, t, "Algorithm"))
        .collect();
    if algorithms
        != [
            Some(algorithm::ENVELOPED_SIGNATURE),
            Some(algorithm::EXC_C14N),
        ]
    {
        return Err(
            "must transform with enveloped-signature then exclusive C14N, and nothing else".into(),
        );
    }
    if !DIGEST_METHODS.contains(&algorithm_of(doc, reference, "DigestMethod")?.as_str()) {
        return Err("uses a digest weaker than SHA-256".into());
    }
    Ok(())
}

/// Verifies every signature and answers the elements they cover; refuses a response whose
/// assertion no valid signature covers.
fn check_signatures(
    doc: &Document<'_>,
    source: &str,
    response: NodeId,
    assertion: NodeId,
    idp: &IdpMetadata,
) -> Result<(), Refused> {
    let wrapped = |why: String| {
        refused(
            "unexpected_signature",
            format!(
                "the identity provider's answer carries a signature Latchkey does not accept: it {why}"
            ),
        )
    };
    let signatures = doc.get_elements_by_tag_name_ns(DSIG, "Signature");
    if signatures.is_empty() {
        return Err(refused(
            "unsigned",
            "the identity provider's answer is not signed; configure it to sign the assertion or the response",
        ));
    }
    let mut places = Vec::with_capacity(signatures.len());
    for &signature in &signatures {
        let parent = doc.parent(signature).unwrap_or(response);
        if (parent != response && parent != assertion) || places.contains(&parent) {
            return Err(wrapped(
                "sits where no signature belongs (only one on the response and one on the assertion)".into(),
            ));
        }
        check_shape(doc, signature, parent).map_err(wrapped)?;
        places.push(parent);
    }
    let mut keys = KeysManager::new();
    for certificate in &idp.certificates {
        let key = bergshamra::keys::loader::load_x509_cert_der(certificate)
            .map_err(|error| malformed(format!("a certificate of the metadata: {error}")))?;
        keys.add_key(key);
    }
    if keys.is_empty() {
        return Err(refused(
            "no_certificate",
            "the identity provider's metadata lists no signing certificate, so nothing it sends is believed",
        ));
    }
    let context = DsigContext::new(keys)
        .with_trusted_keys_only(true)
        .with_strict_verification(true)
        .with_require_reference_digests(true);
    // The library's reasons stay in the log: they may quote the document.
    let bad_signature = |why: &dyn std::fmt::Display| {
        tracing::info!(reason = %why, "SAML signature refused");
        refused(
            "bad_signature",
            "the signature of the identity provider's answer does not verify with the certificates of its metadata",
        )
    };
    let results =
        bergshamra::dsig::verify::verify_all_document_with_source(&context, doc, Some(source))
            .map_err(|error| bad_signature(&error))?;
    let mut covered = Vec::with_capacity(results.len());
    for result in results {
        match result {
            VerifyResult::Valid {
                signature_node,
                references,
                ..
            } => {
                let parent = doc.parent(signature_node);
                match references.as_slice() {
                    [one]
                        if one.digest_verified
                            && one.resolved_node.is_some()
                            && one.resolved_node == parent =>
                    {
                        covered.extend(parent);
                    }
                    _ => {
                        return Err(wrapped(
                            "covers another element than the one it sits in".into(),
                        ));
                    }
                }
            }
            VerifyResult::Invalid { reason } => return Err(bad_signature(&reason)),
        }
    }
    if covered.contains(&assertion) || covered.contains(&response) {
        Ok(())
    } else {
        Err(refused(
            "unsigned",
            "the identity provider's assertion is not signed; configure it to sign the assertion or the response",
        ))
    }
}

fn issuer_of(doc: &Document<'_>, parent: NodeId) -> Result<Option<String>, Refused> {
    xml::only_child(doc, parent, ASSERTION, "Issuer")
        .map_err(malformed)?
        .map(|issuer| xml::text(doc, issuer).ok_or_else(|| malformed("the Issuer is not text")))
        .transpose()
}

/// The bearer confirmation that matches: its `InResponseTo` and `NotOnOrAfter`.
fn confirmation(
    doc: &Document<'_>,
    subject: NodeId,
    expected: &Expected<'_>,
) -> Result<(String, DateTime<Utc>), Refused> {
    let mut why = refused(
        "no_bearer_confirmation",
        "the identity provider's assertion has no bearer subject confirmation",
    );
    for confirmation in xml::children(doc, subject, ASSERTION, "SubjectConfirmation") {
        if xml::attr(doc, confirmation, "Method") != Some(BEARER) {
            continue;
        }
        let Some(data) = xml::only_child(doc, confirmation, ASSERTION, "SubjectConfirmationData")
            .map_err(malformed)?
        else {
            continue;
        };
        if xml::attr(doc, data, "Recipient") != Some(expected.sp.acs_url.as_str()) {
            why = refused(
                "wrong_recipient",
                format!(
                    "the identity provider's assertion is meant for another recipient, not {}",
                    expected.sp.acs_url
                ),
            );
            continue;
        }
        let Some(until) = time(doc, data, "NotOnOrAfter")? else {
            why = malformed("the subject confirmation has no NotOnOrAfter");
            continue;
        };
        if until + SKEW <= expected.now {
            why = refused(
                "expired",
                "the identity provider's assertion has expired; sign in again",
            );
            continue;
        }
        if time(doc, data, "NotBefore")?.is_some() {
            why = malformed("a bearer confirmation has a NotBefore");
            continue;
        }
        let Some(request) = xml::attr(doc, data, "InResponseTo") else {
            why = refused(
                "unsolicited",
                "the identity provider's answer was not asked for by Latchkey (IdP-initiated sign-in is off); start the sign-in from the application",
            );
            continue;
        };
        return Ok((request.to_owned(), until));
    }
    Err(why)
}

/// Checks the conditions: the window and Latchkey's entity id in every audience restriction.
fn conditions(
    doc: &Document<'_>,
    assertion: NodeId,
    expected: &Expected<'_>,
) -> Result<Option<DateTime<Utc>>, Refused> {
    let conditions = xml::only_child(doc, assertion, ASSERTION, "Conditions")
        .map_err(malformed)?
        .ok_or_else(|| malformed("the assertion has no Conditions"))?;
    if time(doc, conditions, "NotBefore")?.is_some_and(|t| t - SKEW > expected.now) {
        return Err(refused(
            "not_yet_valid",
            "the identity provider's assertion is not valid yet (check both clocks)",
        ));
    }
    let until = time(doc, conditions, "NotOnOrAfter")?;
    if until.is_some_and(|t| t + SKEW <= expected.now) {
        return Err(refused(
            "expired",
            "the identity provider's assertion has expired; sign in again",
        ));
    }
    // A condition Latchkey does not understand makes the assertion invalid for it (SAML core
    // 2.5.1.5).
    let understood = ["AudienceRestriction", "OneTimeUse"];
    if doc.children_iter(conditions).any(|c| {
        doc.element(c)
            .is_some_and(|e| !understood.iter().any(|u| e.matches_name_ns(ASSERTION, u)))
    }) {
        return Err(refused(
            "unknown_condition",
            "the identity provider's assertion has a condition Latchkey does not understand (only AudienceRestriction and OneTimeUse are)",
        ));
    }
    let restrictions = xml::children(doc, conditions, ASSERTION, "AudienceRestriction");
    let ours = |restriction: &NodeId| {
        xml::children(doc, *restriction, ASSERTION, "Audience")
            .into_iter()
            .any(|a| xml::text(doc, a).as_deref() == Some(expected.sp.entity_id.as_str()))
    };
    if restrictions.is_empty() || !restrictions.iter().all(ours) {
        return Err(refused(
            "wrong_audience",
            format!(
                "the identity provider's assertion is not meant for Latchkey (its audience must be {})",
                expected.sp.entity_id
            ),
        ));
    }
    Ok(until)
}

fn attributes(doc: &Document<'_>, assertion: NodeId) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in xml::children(doc, assertion, ASSERTION, "AttributeStatement") {
        for attribute in xml::children(doc, statement, ASSERTION, "Attribute") {
            let Some(name) = xml::attr(doc, attribute, "Name") else {
                continue;
            };
            let values = xml::children(doc, attribute, ASSERTION, "AttributeValue")
                .into_iter()
                .filter_map(|v| xml::text(doc, v))
                .take(500);
            found.entry(name.to_owned()).or_default().extend(values);
        }
    }
    found
}

/// Checks a posted `SAMLResponse` (base64) against what is expected; answers what it asserts.
pub fn check(encoded: &str, expected: &Expected<'_>) -> Result<Asserted, Refused> {
    let source = decode(encoded)?;
    let doc = xml::parse(&source).map_err(|why| malformed(format!("it {why}")))?;
    let response = doc
        .document_element()
        .filter(|&r| xml::is(&doc, r, PROTOCOL, "Response"))
        .ok_or_else(|| malformed("it is no samlp:Response"))?;
    let status = xml::only_child(&doc, response, PROTOCOL, "Status")
        .map_err(malformed)?
        .and_then(|s| {
            xml::only_child(&doc, s, PROTOCOL, "StatusCode")
                .ok()
                .flatten()
        })
        .and_then(|c| xml::attr(&doc, c, "Value"));
    if status != Some(SUCCESS) {
        return Err(refused(
            "provider_error",
            format!(
                "the identity provider did not sign you in ({})",
                status.unwrap_or("no status")
            ),
        ));
    }
    if !doc
        .get_elements_by_tag_name_ns(ASSERTION, "EncryptedAssertion")
        .is_empty()
    {
        return Err(refused(
            "encrypted_assertion",
            "the identity provider encrypts its assertion, which Latchkey does not support; turn assertion encryption off (the response travels over TLS)",
        ));
    }
    let assertion = match doc
        .get_elements_by_tag_name_ns(ASSERTION, "Assertion")
        .as_slice()
    {
        [one] if doc.parent(*one) == Some(response) => *one,
        [_] => return Err(malformed("the assertion is not where a response holds it")),
        _ => return Err(malformed("it must hold exactly one assertion")),
    };
    check_signatures(&doc, &source, response, assertion, expected.idp)?;
    if xml::attr(&doc, response, "Destination") != Some(expected.sp.acs_url.as_str()) {
        return Err(refused(
            "wrong_destination",
            format!(
                "the identity provider's answer is addressed elsewhere, not to {}",
                expected.sp.acs_url
            ),
        ));
    }
    let issuer = expected.idp.entity_id.as_str();
    let wrong_issuer = || {
        refused(
            "wrong_issuer",
            format!("the answer does not come from the identity provider {issuer}"),
        )
    };
    if issuer_of(&doc, response)?.is_some_and(|i| i != issuer) {
        return Err(wrong_issuer());
    }
    if issuer_of(&doc, assertion)?.as_deref() != Some(issuer) {
        return Err(wrong_issuer());
    }
    let assertion_id = xml::attr(&doc, assertion, "ID")
        .filter(|id| !id.is_empty() && id.len() <= 256)
        .ok_or_else(|| malformed("the assertion has no ID"))?
        .to_owned();
    let subject = xml::only_child(&doc, assertion, ASSERTION, "Subject")
        .map_err(malformed)?
        .ok_or_else(|| malformed("the assertion has no Subject"))?;
    let name_id = xml::only_child(&doc, subject, ASSERTION, "NameID")
        .map_err(malformed)?
        .ok_or_else(|| malformed("the subject has no NameID (encrypted ones are not supported)"))?;
    let name_id_format = xml::attr(&doc, name_id, "Format").map(str::to_owned);
    if name_id_format.as_deref() == Some(TRANSIENT) {
        return Err(refused(
            "transient_name_id",
            "the identity provider sends a transient NameID, which changes at every sign-in; configure a persistent NameID (or the email address)",
        ));
    }
    let name = xml::text(&doc, name_id)
        .filter(|n| !n.is_empty() && n.len() <= 256)
        .ok_or_else(|| malformed("the NameID is empty, too long or not plain text"))?;
    let (in_response_to, confirmed_until) = confirmation(&doc, subject, expected)?;
    if xml::attr(&doc, response, "InResponseTo").is_some_and(|r| r != in_response_to) {
        return Err(refused(
            "in_response_to_mismatch",
            "the identity provider's answer names two different requests",
        ));
    }
    let conditions_until = conditions(&doc, assertion, expected)?;
    if xml::children(&doc, assertion, ASSERTION, "AuthnStatement").is_empty() {
        return Err(malformed("the assertion has no AuthnStatement"));
    }
    Ok(Asserted {
        in_response_to,
        assertion_id,
        acceptable_until: conditions_until.map_or(confirmed_until, |c| c.min(confirmed_until))
            + SKEW,
        name_id: name,
        name_id_format,
        attributes: attributes(&doc, assertion),
    })
}
