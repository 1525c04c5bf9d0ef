//! Who a SAML assertion says the person is: the subject is the NameID (never the address), the
//! address and name come from the attributes the common IdPs send (Entra ID's claim URIs,
//! Okta's and Google Workspace's short names, the LDAP OIDs) or from an email-format NameID,
//! and the role mapping reads the attribute it names.

use super::response::Asserted;
use latchkey_core::federation::{FederatedProfile, IdentityProvider};

const EMAIL_NAME_ID: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

const EMAIL: [&str; 5] = [
    "email",
    "mail",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "emailAddress",
];
const DISPLAY_NAME: [&str; 4] = [
    "displayName",
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
];
const GIVEN_NAME: [&str; 3] = [
    "givenName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
];
const SURNAME: [&str; 3] = [
    "surname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
];

fn first(asserted: &Asserted, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| asserted.attributes.get(*name)?.first())
        .filter(|v| !v.is_empty())
        .cloned()
}

/// The profile an assertion gives. SAML has no standard "address verified" statement: an
/// organization's provider speaks for its verified domains (decided where the link is made),
/// a tenant-wide one proves nothing.
pub fn profile(provider: &IdentityProvider, asserted: &Asserted) -> FederatedProfile {
    let email = first(asserted, &EMAIL).or_else(|| {
        (asserted.name_id_format.as_deref() == Some(EMAIL_NAME_ID))
            .then(|| asserted.name_id.clone())
    });
    let display_name = first(asserted, &DISPLAY_NAME).or_else(|| {
        let full = [first(asserted, &GIVEN_NAME), first(asserted, &SURNAME)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!full.is_empty()).then_some(full)
    });
    let groups_attribute = provider
        .role_mapping
        .as_ref()
        .map(|m| m.claim.as_str())
        .unwrap_or("groups");
    FederatedProfile {
        subject: asserted.name_id.clone(),
        email,
        email_proven: false,
        display_name: display_name.filter(|n| n.chars().count() <= 200),
        groups: asserted
            .attributes
            .get(groups_attribute)
            .cloned()
            .unwrap_or_default(),
    }
}
