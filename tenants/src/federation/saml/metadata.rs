//! What Latchkey knows of a SAML identity provider: its metadata (entity id, single sign-on
//! URL, signing certificates), from the provider's `metadataXml` setting or read from its
//! `metadataUrl`; checked on save, kept for an hour, and read again when a response's
//! signature does not verify (an IdP's certificate rollover), at most every five minutes. Every
//! certificate the metadata lists for signing is trusted side by side, so a rollover that
//! publishes the new certificate next to the old one needs no downtime.

use super::super::cache::ProviderCache;
use super::super::http::ProviderHttp;
use super::xml::{self, DSIG, HTTP_REDIRECT, METADATA};
use base64::Engine;
use latchkey_core::federation::IdentityProvider;
use std::sync::Arc;
use std::time::Duration;
use uppsala::{Document, NodeId};
use uuid::Uuid;

/// The largest metadata document read.
pub const MAX_METADATA: usize = 512 * 1024;

/// An identity provider's metadata, as Latchkey uses it.
#[derive(Clone, Debug)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// The single sign-on service of the HTTP-Redirect binding.
    pub sso_url: String,
    /// The DER of every certificate the provider signs with.
    pub certificates: Vec<Vec<u8>>,
}

fn certificates(doc: &Document<'_>, descriptor: NodeId) -> Result<Vec<Vec<u8>>, String> {
    let mut found = Vec::new();
    for key in xml::children(doc, descriptor, METADATA, "KeyDescriptor") {
        if !matches!(xml::attr(doc, key, "use"), None | Some("signing")) {
            continue;
        }
        let info = xml::children(doc, key, DSIG, "KeyInfo");
        let data = info
            .iter()
            .flat_map(|&i| xml::children(doc, i, DSIG, "X509Data"));
        for certificate in data.flat_map(|d| xml::children(doc, d, DSIG, "X509Certificate")) {
            let text: String = xml::text(doc, certificate)
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| "holds an X509Certificate that is not base64".to_owned())?;
            bergshamra::keys::loader::load_x509_cert_der(&der).map_err(|error| {
                format!("holds a signing certificate Latchkey cannot use ({error})")
            })?;
            found.push(der);
        }
    }
    Ok(found)
}

/// Reads an IdP's metadata document. The error says what is wrong, for an administrator.
pub fn parse(document: &str) -> Result<IdpMetadata, String> {
    if document.len() > MAX_METADATA {
        return Err(format!("is larger than {MAX_METADATA} bytes"));
    }
    let doc = xml::parse(document)?;
    let root = doc.document_element().ok_or("is empty")?;
    let entity = if xml::is(&doc, root, METADATA, "EntityDescriptor") {
        root
    } else if xml::is(&doc, root, METADATA, "EntitiesDescriptor") {
        match xml::children(&doc, root, METADATA, "EntityDescriptor").as_slice() {
            [one] => *one,
            _ => return Err("must describe exactly one entity (EntityDescriptor)".into()),
        }
    } else {
        return Err("is not SAML 2.0 metadata (no md:EntityDescriptor)".into());
    };
    let entity_id = xml::attr(&doc, entity, "entityID")
        .filter(|id| !id.is_empty() && id.len() <= 1024)
        .ok_or("names no entityID")?
        .to_owned();
    let descriptor = xml::only_child(&doc, entity, METADATA, "IDPSSODescriptor")?
        .ok_or("describes no identity provider (IDPSSODescriptor)")?;
    let sso_url = xml::children(&doc, descriptor, METADATA, "SingleSignOnService")
        .into_iter()
        .filter(|&s| xml::attr(&doc, s, "Binding") == Some(HTTP_REDIRECT))
        .find_map(|s| xml::attr(&doc, s, "Location"))
        .ok_or("offers no single sign-on service with the HTTP-Redirect binding")?
        .to_owned();
    // Where browsers are sent: an http(s) URL, nothing a browser would run or open locally.
    if !url::Url::parse(&sso_url).is_ok_and(|u| matches!(u.scheme(), "https" | "http")) {
        return Err("names a single sign-on service that is not an https URL".into());
    }
    let certificates = certificates(&doc, descriptor)?;
    if certificates.is_empty() {
        return Err(
            "lists no signing certificate (KeyDescriptor with an X509Certificate): Latchkey accepts only signed responses".into(),
        );
    }
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificates,
    })
}

/// Reads the metadata a provider's settings name (the document itself, or its URL). The
/// error names the setting and says what is wrong.
pub async fn read(
    http: &ProviderHttp,
    settings: &serde_json::Value,
) -> Result<IdpMetadata, (&'static str, String)> {
    if let Some(document) = settings["metadataXml"].as_str() {
        return parse(document)
            .map_err(|why| ("settings.metadataXml", format!("the metadata {why}")));
    }
    let url = settings["metadataUrl"]
        .as_str()
        .ok_or(("settings", "names no metadataXml or metadataUrl".to_owned()))?;
    let document = http
        .get_text(url)
        .await
        .map_err(|why| ("settings.metadataUrl", why))?;
    let metadata = parse(&document).map_err(|why| {
        (
            "settings.metadataUrl",
            format!("the metadata at {url} {why}"),
        )
    })?;
    http.check_url(&metadata.sso_url).map_err(|why| {
        (
            "settings.metadataUrl",
            format!("the metadata at {url} points to {why}"),
        )
    })?;
    Ok(metadata)
}

/// How often a provider's metadata may be read again because a signature did not verify.
const REREAD: Duration = Duration::from_secs(300);

/// The providers' metadata.
pub struct Metadatas {
    cache: ProviderCache<IdpMetadata>,
    /// The providers whose metadata was read again lately.
    reread: moka::future::Cache<Uuid, ()>,
}

impl Default for Metadatas {
    fn default() -> Self {
        Self {
            cache: ProviderCache::default(),
            reread: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(REREAD)
                .build(),
        }
    }
}

impl Metadatas {
    /// The provider's metadata, read if not kept.
    pub async fn get(
        &self,
        http: &ProviderHttp,
        provider: &IdentityProvider,
    ) -> Result<Arc<IdpMetadata>, String> {
        if let Some(found) = self.cache.get(provider).await {
            return Ok(found);
        }
        self.refresh(http, provider).await
    }

    /// Reads the provider's metadata again because a response's signature did not verify (an
    /// IdP's rollover), unless it was read again in the last five minutes (`None`): posting
    /// bad signatures does not make Latchkey hammer the IdP.
    pub async fn reread(
        &self,
        http: &ProviderHttp,
        provider: &IdentityProvider,
    ) -> Option<Result<Arc<IdpMetadata>, String>> {
        if self.reread.contains_key(&provider.id) {
            return None;
        }
        self.reread.insert(provider.id, ()).await;
        Some(self.refresh(http, provider).await)
    }

    async fn refresh(
        &self,
        http: &ProviderHttp,
        provider: &IdentityProvider,
    ) -> Result<Arc<IdpMetadata>, String> {
        let metadata = read(http, &provider.settings)
            .await
            .map_err(|(_, why)| why)?;
        Ok(self.cache.keep(provider, metadata).await)
    }
}
