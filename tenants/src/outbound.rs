//! The rules every call the server makes on a tenant's behalf follows (CRM connectors,
//! webhooks, identity providers): public addresses only, by name and by IP literal (by
//! [`latchkey_core::net::is_public`]), unless the deployment allows private networks
//! (`LATCHKEY_ALLOW_PRIVATE_NETWORKS`), so a tenant admin cannot point the server at the
//! deployment's own network.

use latchkey_core::net::{is_public, why_not_public};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Resolves host names to their public addresses only; a name with none is refused.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address; outbound calls go to public addresses only"
                )
                .into());
            }
            let addresses: Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

/// An HTTP client for outbound calls: no redirects, Latchkey's user agent, `timeout`, and
/// (unless `allow_private`) host names resolved to public addresses only.
pub fn client(timeout: Duration, allow_private: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().expect("an HTTP client with rustls")
}

/// Why a call to `url` is refused before it is made: an IP literal that is not public, unless
/// private networks are allowed.
pub fn refused_literal(url: &url::Url, allow_private: bool) -> Option<String> {
    if allow_private {
        return None;
    }
    if !matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))) {
        return None;
    }
    let ip = url
        .host_str()?
        .trim_matches(['[', ']'])
        .parse::<IpAddr>()
        .ok()?;
    why_not_public(ip).map(|why| {
        format!("{ip} is not a public address ({why}); outbound calls go to public addresses only")
    })
}
