//! Latchkey as a SAML service provider of one identity provider: its entity id (the URL of its
//! metadata), its assertion consumer service, its metadata document, and its authentication
//! requests (HTTP-Redirect binding, unsigned: the response is what is signed and checked).

use super::metadata::IdpMetadata;
use super::xml::{HTTP_POST, escape};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use latchkey_core::error::{Error, Result};
use std::io::Write;
use uuid::Uuid;

/// Latchkey's service provider for one identity provider of a tenant.
pub struct ServiceProvider {
    /// `{public url}/t/{slug}/saml/{providerId}/metadata`.
    pub entity_id: String,
    /// `{public url}/t/{slug}/saml/{providerId}/acs` (HTTP-POST).
    pub acs_url: String,
}

impl ServiceProvider {
    pub fn new(public_url: &str, slug: &str, provider_id: Uuid) -> Self {
        let base = format!("{public_url}/t/{slug}/saml/{provider_id}");
        Self {
            entity_id: format!("{base}/metadata"),
            acs_url: format!("{base}/acs"),
        }
    }

    /// The metadata an IdP administrator imports: entity id, the assertion consumer service
    /// (HTTP-POST), signed assertions wanted, persistent name ids preferred.
    pub fn metadata(&self) -> String {
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
                r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
                r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
                r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
                r#"<md:AssertionConsumerService Binding="{binding}" Location="{acs}" index="0" isDefault="true"/>"#,
                r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
            ),
            entity = escape(&self.entity_id),
            binding = HTTP_POST,
            acs = escape(&self.acs_url),
        )
    }

    /// The `AuthnRequest` with id `request_id`.
    fn authn_request(&self, idp: &IdpMetadata, request_id: &str, now: DateTime<Utc>) -> String {
        format!(
            concat!(
                r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" "#,
                r#"ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{destination}" "#,
                r#"AssertionConsumerServiceURL="{acs}" ProtocolBinding="{binding}">"#,
                r#"<saml:Issuer>{entity}</saml:Issuer>"#,
                r#"<samlp:NameIDPolicy AllowCreate="true"/>"#,
                r#"</samlp:AuthnRequest>"#
            ),
            id = escape(request_id),
            now = now.to_rfc3339_opts(SecondsFormat::Secs, true),
            destination = escape(&idp.sso_url),
            acs = escape(&self.acs_url),
            binding = HTTP_POST,
            entity = escape(&self.entity_id),
        )
    }

    /// Where to send the browser: the IdP's single sign-on URL with the deflated request and
    /// the relay state (SAML bindings §3.4.4.1).
    pub fn redirect(
        &self,
        idp: &IdpMetadata,
        request_id: &str,
        relay_state: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let mut deflater = DeflateEncoder::new(Vec::new(), Compression::default());
        deflater
            .write_all(self.authn_request(idp, request_id, now).as_bytes())
            .map_err(Error::internal)?;
        let deflated = deflater.finish().map_err(Error::internal)?;
        let mut url = url::Url::parse(&idp.sso_url).map_err(|_| {
            Error::Refused("the identity provider's sign-on URL is not a URL".into())
        })?;
        url.query_pairs_mut()
            .append_pair(
                "SAMLRequest",
                &base64::engine::general_purpose::STANDARD.encode(deflated),
            )
            .append_pair("RelayState", relay_state);
        Ok(url.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::DeflateDecoder;
    use std::io::Read;

    #[test]
    fn the_request_goes_deflated_with_its_id_and_relay_state() {
        let sp = ServiceProvider::new("https://id.example.com", "acme", Uuid::nil());
        let idp = IdpMetadata {
            entity_id: "https://idp.example.com".into(),
            sso_url: "https://idp.example.com/sso?tenant=1".into(),
            certificates: Vec::new(),
        };
        let url = sp.redirect(&idp, "_abc", "state", Utc::now()).unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let pairs: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs["tenant"], "1");
        assert_eq!(pairs["RelayState"], "state");
        let deflated = base64::engine::general_purpose::STANDARD
            .decode(&pairs["SAMLRequest"])
            .unwrap();
        let mut request = String::new();
        DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut request)
            .unwrap();
        assert!(request.contains(r#"ID="_abc""#));
        assert!(request.contains(&format!(r#"AssertionConsumerServiceURL="{}""#, sp.acs_url)));
        assert!(sp.metadata().contains(&sp.entity_id));
    }
}
