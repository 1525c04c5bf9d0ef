//! Custom claims: declarative mappings from an identity's attributes or its organization's
//! data into the ID and access tokens of applications, per tenant (every application) and per
//! application (replacing the tenant's mapping of the same claim). A mapping names a target
//! claim and a source path; there is no code. Checked when saved: no claim Latchkey sets
//! itself, names and paths of bounded length, at most [`MAX_MAPPINGS`] per tenant or
//! application. The values are bounded when a token is issued ([`MAX_VALUE_BYTES`] each,
//! [`MAX_TOTAL_BYTES`] in all); one beyond is left out.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Mappings per tenant, and per application, at most.
pub const MAX_MAPPINGS: usize = 25;
/// The most bytes one custom claim's value may take in a token (as JSON).
pub const MAX_VALUE_BYTES: usize = 1_024;
/// The most bytes all custom claims of one token may take (names and values, as JSON).
pub const MAX_TOTAL_BYTES: usize = 4_096;
const MAX_CLAIM_LENGTH: usize = 100;
const MAX_METADATA_DEPTH: usize = 5;

/// Claims Latchkey sets itself (protocol claims, its organization claims, and the standard
/// claims it releases by scope): a mapping may not name them.
pub const RESERVED_CLAIMS: [&str; 30] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "s_hash",
    "client_id",
    "scope",
    "cnf",
    "act",
    "roles",
    "org_id",
    "org_kind",
    "org_entitlements",
    "org_permissions",
    "name",
    "email",
    "email_verified",
    "phone_number",
    "updated_at",
];

/// One claim mapping as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimMapping {
    /// The claim's name in the token.
    pub claim: String,
    /// Where the value comes from: a path of [`Source`].
    pub source: String,
    /// Whether ID tokens carry it.
    pub id_token: bool,
    /// Whether access tokens carry it.
    pub access_token: bool,
}

/// Where a claim's value comes from, parsed from a mapping's `source` path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    IdentityEmail,
    IdentityEmailVerified,
    IdentityDisplayName,
    IdentityPhone,
    IdentityLocale,
    IdentityExternalId,
    IdentityCreatedAt,
    /// `identity.attributes.<name>`: a custom attribute of the tenant's schema.
    IdentityAttribute(String),
    OrganizationId,
    OrganizationName,
    OrganizationSlug,
    OrganizationKind,
    OrganizationExternalId,
    /// `organization.metadata.<key>[.<key>…]`: a value inside the organization's metadata.
    OrganizationMetadata(Vec<String>),
}

/// The paths a mapping may name, for error messages and documentation.
pub const SOURCE_PATHS: &str = "identity.email, identity.emailVerified, identity.displayName, identity.phone, identity.locale, identity.externalId, identity.createdAt, identity.attributes.<name>, organization.id, organization.name, organization.slug, organization.kind, organization.externalId, organization.metadata.<key>[.<key>…]";

fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 64
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Source {
    /// Parses a source path; `None` when it names nothing Latchkey knows.
    pub fn parse(path: &str) -> Option<Self> {
        if let Some(name) = path.strip_prefix("identity.attributes.") {
            return is_segment(name).then(|| Source::IdentityAttribute(name.to_owned()));
        }
        if let Some(keys) = path.strip_prefix("organization.metadata.") {
            let keys: Vec<String> = keys.split('.').map(str::to_owned).collect();
            return (keys.len() <= MAX_METADATA_DEPTH && keys.iter().all(|k| is_segment(k)))
                .then_some(Source::OrganizationMetadata(keys));
        }
        Some(match path {
            "identity.email" => Source::IdentityEmail,
            "identity.emailVerified" => Source::IdentityEmailVerified,
            "identity.displayName" => Source::IdentityDisplayName,
            "identity.phone" => Source::IdentityPhone,
            "identity.locale" => Source::IdentityLocale,
            "identity.externalId" => Source::IdentityExternalId,
            "identity.createdAt" => Source::IdentityCreatedAt,
            "organization.id" => Source::OrganizationId,
            "organization.name" => Source::OrganizationName,
            "organization.slug" => Source::OrganizationSlug,
            "organization.kind" => Source::OrganizationKind,
            "organization.externalId" => Source::OrganizationExternalId,
            _ => return None,
        })
    }

    /// Whether the value comes from the token's organization (absent without one).
    pub fn is_organization(&self) -> bool {
        matches!(
            self,
            Source::OrganizationId
                | Source::OrganizationName
                | Source::OrganizationSlug
                | Source::OrganizationKind
                | Source::OrganizationExternalId
                | Source::OrganizationMetadata(_)
        )
    }
}

/// A claim name a mapping may use: printable ASCII without spaces, quotes or backslashes, at
/// most 100 characters (so namespaced names such as `https://example.com/tier` are fine).
fn is_claim_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CLAIM_LENGTH
        && name
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// Checks mappings as saved; `field` is the input's name (`claimMappings`), and errors name
/// `claimMappings[i].claim` or `.source`. `attributes` are the names of the tenant's custom
/// attributes, which `identity.attributes.<name>` must be one of.
pub fn check(field: &str, mappings: &[ClaimMapping], attributes: &[&str]) -> Result<()> {
    if mappings.len() > MAX_MAPPINGS {
        return Err(Error::validation(
            field,
            format!("at most {MAX_MAPPINGS} claim mappings"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, mapping) in mappings.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        if !is_claim_name(&mapping.claim) {
            return Err(Error::validation(
                &at("claim"),
                format!(
                    "{:?} is not a claim name (printable ASCII without spaces, quotes or backslashes, at most {MAX_CLAIM_LENGTH} characters)",
                    mapping.claim
                ),
            ));
        }
        if RESERVED_CLAIMS.contains(&mapping.claim.as_str()) {
            return Err(Error::validation(
                &at("claim"),
                format!(
                    "{:?} is a claim Latchkey sets itself; choose another name (reserved: {})",
                    mapping.claim,
                    RESERVED_CLAIMS.join(", ")
                ),
            ));
        }
        if !seen.insert(mapping.claim.as_str()) {
            return Err(Error::validation(&at("claim"), "is mapped twice"));
        }
        match Source::parse(&mapping.source) {
            None => {
                return Err(Error::validation(
                    &at("source"),
                    format!(
                        "{:?} is not a source; one of {SOURCE_PATHS}",
                        mapping.source
                    ),
                ));
            }
            Some(Source::IdentityAttribute(name)) if !attributes.contains(&name.as_str()) => {
                return Err(Error::validation(
                    &at("source"),
                    format!("the tenant's attribute schema has no attribute {name:?}"),
                ));
            }
            Some(_) => {}
        }
        if !mapping.id_token && !mapping.access_token {
            return Err(Error::validation(
                &at("idToken"),
                "a mapping goes into the ID token, the access token or both",
            ));
        }
    }
    Ok(())
}

/// The mappings in force for an application: the tenant's, each replaced by the
/// application's mapping of the same claim, then the application's others.
pub fn effective<'a>(
    tenant: &'a [ClaimMapping],
    application: &'a [ClaimMapping],
) -> impl Iterator<Item = &'a ClaimMapping> {
    tenant
        .iter()
        .filter(|t| application.iter().all(|a| a.claim != t.claim))
        .chain(application)
}

/// Adds `value` as `claim` to `claims` unless it is null, larger than [`MAX_VALUE_BYTES`], or
/// would take the custom claims past [`MAX_TOTAL_BYTES`] (`used` counts them); returns whether
/// it was added. Left-out claims are logged.
pub fn add_bounded(
    claims: &mut serde_json::Map<String, Value>,
    used: &mut usize,
    claim: &str,
    value: Value,
) -> bool {
    if value.is_null() {
        return false;
    }
    let size = value.to_string().len();
    let total = *used + claim.len() + size + 4;
    if size > MAX_VALUE_BYTES || total > MAX_TOTAL_BYTES {
        tracing::warn!(
            claim,
            bytes = size,
            "a custom claim is left out of a token: its value is over {MAX_VALUE_BYTES} bytes, or the custom claims over {MAX_TOTAL_BYTES} in all"
        );
        return false;
    }
    *used = total;
    claims.insert(claim.to_owned(), value);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(claim: &str, source: &str) -> ClaimMapping {
        ClaimMapping {
            claim: claim.into(),
            source: source.into(),
            id_token: true,
            access_token: true,
        }
    }

    #[test]
    fn sources_parse_and_unknown_ones_do_not() {
        assert_eq!(
            Source::parse("identity.attributes.tier"),
            Some(Source::IdentityAttribute("tier".into()))
        );
        assert_eq!(
            Source::parse("organization.metadata.billing.region"),
            Some(Source::OrganizationMetadata(vec![
                "billing".into(),
                "region".into()
            ]))
        );
        for bad in [
            "identity",
            "identity.password",
            "identity.attributes.",
            "identity.attributes.a.b",
            "organization.metadata.a..b",
            "organization.metadata.a.b.c.d.e.f",
            "tenant.name",
        ] {
            assert_eq!(Source::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn reserved_names_duplicates_and_unknown_attributes_are_refused_by_field() {
        let attributes = ["tier"];
        let error = |m: Vec<ClaimMapping>| {
            check("claimMappings", &m, &attributes)
                .unwrap_err()
                .to_string()
        };
        assert!(error(vec![mapping("sub", "identity.email")]).contains("claimMappings[0].claim"));
        assert!(error(vec![mapping("org_id", "organization.id")]).contains("sets itself"));
        assert!(
            error(vec![
                mapping("tier", "identity.attributes.tier"),
                mapping("tier", "identity.email")
            ])
            .contains("claimMappings[1].claim")
        );
        assert!(
            error(vec![mapping("x", "identity.attributes.plan")])
                .contains("claimMappings[0].source")
        );
        assert!(error(vec![mapping("has space", "identity.email")]).contains("not a claim name"));
        let many: Vec<_> = (0..=MAX_MAPPINGS)
            .map(|i| mapping(&format!("c{i}"), "identity.email"))
            .collect();
        assert!(error(many).contains("at most"));
        let mut neither = mapping("x", "identity.email");
        neither.id_token = false;
        neither.access_token = false;
        assert!(error(vec![neither]).contains("claimMappings[0].idToken"));
        assert!(
            check(
                "claimMappings",
                &[
                    mapping("https://example.com/tier", "identity.attributes.tier"),
                    mapping("region", "organization.metadata.billing.region")
                ],
                &attributes
            )
            .is_ok()
        );
    }

    #[test]
    fn an_application_mapping_replaces_the_tenants_of_the_same_claim() {
        let tenant = [
            mapping("a", "identity.email"),
            mapping("b", "identity.phone"),
        ];
        let app = [
            mapping("b", "identity.locale"),
            mapping("c", "organization.id"),
        ];
        let got: Vec<(&str, &str)> = effective(&tenant, &app)
            .map(|m| (m.claim.as_str(), m.source.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "identity.email"),
                ("b", "identity.locale"),
                ("c", "organization.id")
            ]
        );
    }

    #[test]
    fn values_are_bounded_one_by_one_and_in_all() {
        let mut claims = serde_json::Map::new();
        let mut used = 0;
        assert!(!add_bounded(&mut claims, &mut used, "n", Value::Null));
        assert!(!add_bounded(
            &mut claims,
            &mut used,
            "big",
            json!("x".repeat(MAX_VALUE_BYTES))
        ));
        let mut added = 0;
        for i in 0..10 {
            if add_bounded(
                &mut claims,
                &mut used,
                &format!("c{i}"),
                json!("y".repeat(900)),
            ) {
                added += 1;
            }
        }
        assert_eq!(added, 4);
        assert!(used <= MAX_TOTAL_BYTES);
        assert_eq!(claims.len(), 4);
    }
}
