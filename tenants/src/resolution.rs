//! Tenant resolution: the tenant a request or a background job names, by path, host or id.
//!
//! A request's `Host` decides what it may reach. The deployment's public host, IP addresses,
//! `localhost` and hosts this deployment does not know are shared: their `/t/{slug}/…` paths
//! name any tenant, and `/graphql` none. A tenant's own host (`{slug}.{base domain}`, or a
//! verified custom domain) is pinned to that tenant: `/graphql` there is its API, and
//! `/t/{slug}/…` answers only for its own slug.

use latchkey_core::catalogue::{self, Tenant, TenantKey};
use latchkey_core::validate::Domain;
use latchkey_core::{Database, Error, Result, TenantScope};
use std::net::IpAddr;
use uuid::Uuid;

/// The hosts of the deployment itself, which no custom domain may claim.
#[derive(Clone, Debug, Default)]
pub struct Hosts {
    /// `LATCHKEY_BASE_DOMAIN`, lower case: tenants answer on `{slug}.{base_domain}`.
    base_domain: Option<String>,
    /// The host of the public URL, lower case.
    public_host: Option<String>,
}

/// What a request's host stands for.
#[derive(Debug, PartialEq, Eq)]
enum HostKind<'a> {
    /// The deployment's own host or a name under it, an IP address, `localhost`, or a name
    /// under the base domain that is not `{slug}.{base}`: no tenant of its own.
    Shared,
    /// `{slug}.{base domain}`.
    Slug(&'a str),
    /// Any other name: a tenant's custom domain if one is verified, else unknown.
    Custom(&'a str),
}

impl Hosts {
    /// `base_domain` as configured (already checked), `public_url` the deployment's public URL.
    pub fn new(base_domain: Option<&str>, public_url: &str) -> Self {
        Self {
            base_domain: base_domain.map(|b| b.trim_end_matches('.').to_ascii_lowercase()),
            public_host: url::Url::parse(public_url)
                .ok()
                .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase())),
        }
    }

    /// Refuses, as a validation error of `field`, a custom domain equal to or under the base
    /// domain or the public host: those names are the deployment's own.
    pub fn check_custom_domain(&self, field: &str, domain: &Domain) -> Result<()> {
        let domain = domain.as_str();
        if let Some(base) = self.base_domain.as_deref().filter(|b| within(domain, b)) {
            return Err(Error::validation(
                field,
                format!(
                    "is under this deployment's base domain {base}: every tenant already answers on {{slug}}.{base}, and those names are not custom domains"
                ),
            ));
        }
        if let Some(public) = self.public_host.as_deref().filter(|p| within(domain, p)) {
            return Err(Error::validation(
                field,
                format!("is this deployment's own host ({public}) or a name under it"),
            ));
        }
        Ok(())
    }

    fn classify<'h>(&self, host: &'h str) -> HostKind<'h> {
        if host.is_empty()
            || host == "localhost"
            || host.parse::<IpAddr>().is_ok()
            || self.public_host.as_deref().is_some_and(|p| within(host, p))
        {
            return HostKind::Shared;
        }
        if let Some(base) = &self.base_domain {
            if host == base {
                return HostKind::Shared;
            }
            if let Some(label) = host
                .strip_suffix(base.as_str())
                .and_then(|h| h.strip_suffix('.'))
            {
                return match label.contains('.') {
                    false => HostKind::Slug(label),
                    true => HostKind::Shared,
                };
            }
        }
        HostKind::Custom(host)
    }
}

/// Whether `name` is `own` or a name under it.
fn within(name: &str, own: &str) -> bool {
    name.strip_suffix(own)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// The name in a `Host` header: lower case, without the port or the brackets of an IPv6
/// address.
fn host_name(header: &str) -> String {
    let header = header.trim();
    let name = match header.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => header.split(':').next().unwrap_or(""),
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Resolves `/t/{slug}/…` without a request (the CLI): an unknown slug is `NotFound`, a
/// suspended tenant `TenantSuspended`.
pub async fn resolve_slug(db: &Database, slug: &str) -> Result<(TenantScope, Tenant)> {
    catalogue::resolve(db, TenantKey::Slug(slug)).await
}

/// Resolves a tenant by id, for background work that found the id in a row.
pub async fn resolve_id(db: &Database, id: Uuid) -> Result<(TenantScope, Tenant)> {
    catalogue::resolve(db, TenantKey::Id(id)).await
}

/// Resolves a request to `/t/{slug}/…` with the `Host` header `host`: on a tenant's own host,
/// any other slug is `NotFound` (and every slug is `TenantSuspended` on the custom domain of a
/// suspended tenant). On a shared host, no domain is looked up.
pub async fn resolve_path(
    db: &Database,
    hosts: &Hosts,
    host: &str,
    slug: &str,
) -> Result<(TenantScope, Tenant)> {
    let host = host_name(host);
    match hosts.classify(&host) {
        HostKind::Shared => resolve_slug(db, slug).await,
        HostKind::Slug(own) if own == slug => resolve_slug(db, slug).await,
        HostKind::Slug(_) => Err(Error::NotFound),
        HostKind::Custom(domain) => match catalogue::resolve(db, TenantKey::Domain(domain)).await {
            Ok((scope, tenant)) if tenant.slug == slug => Ok((scope, tenant)),
            Ok(_) => Err(Error::NotFound),
            Err(Error::NotFound) => resolve_slug(db, slug).await,
            Err(error) => Err(error),
        },
    }
}

/// Resolves a request without a tenant in its path (`/graphql`) by its `Host` header: a
/// verified custom domain, or `{slug}.{base domain}`. Any other host is `NotFound`.
pub async fn resolve_host(
    db: &Database,
    hosts: &Hosts,
    host: &str,
) -> Result<(TenantScope, Tenant)> {
    let host = host_name(host);
    match hosts.classify(&host) {
        HostKind::Shared => Err(Error::NotFound),
        HostKind::Slug(slug) => resolve_slug(db, slug).await,
        HostKind::Custom(domain) => catalogue::resolve(db, TenantKey::Domain(domain)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Hosts {
        Hosts::new(Some("LK.test"), "https://Auth.Example.com:8443/")
    }

    #[test]
    fn hosts_of_the_deployment_are_shared_and_tenant_hosts_are_pinned() {
        let hosts = hosts();
        for shared in [
            "",
            "localhost",
            "127.0.0.1",
            "::1",
            "auth.example.com",
            "x.auth.example.com",
            "lk.test",
            "a.b.lk.test",
        ] {
            assert_eq!(hosts.classify(shared), HostKind::Shared, "{shared}");
        }
        assert_eq!(hosts.classify("bravo.lk.test"), HostKind::Slug("bravo"));
        assert_eq!(
            hosts.classify("login.acme.com"),
            HostKind::Custom("login.acme.com")
        );
        assert_eq!(hosts.classify("xlk.test"), HostKind::Custom("xlk.test"));
    }

    #[test]
    fn host_names_lose_port_brackets_and_case() {
        assert_eq!(host_name("Bravo.LK.test:8080"), "bravo.lk.test");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("login.acme.com."), "login.acme.com");
    }

    #[test]
    fn custom_domains_of_the_deployment_are_refused() {
        let hosts = hosts();
        let parse = |d: &str| Domain::parse("domain", d).unwrap();
        for own in [
            "lk.test",
            "bravo.lk.test",
            "a.b.lk.test",
            "auth.example.com",
            "x.auth.example.com",
        ] {
            let error = hosts
                .check_custom_domain("domain", &parse(own))
                .unwrap_err();
            assert!(error.to_string().contains("domain"), "{own}: {error}");
        }
        for other in ["login.acme.com", "example.com", "xlk.test"] {
            hosts.check_custom_domain("domain", &parse(other)).unwrap();
        }
    }
}
