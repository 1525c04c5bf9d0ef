//! The per-request context of the tenant API: the resolved tenant (with its settings, relying
//! party and issuer) and the authenticated caller, built once by the HTTP layer and attached to
//! each request next to the services.

use crate::state::Services;
use async_graphql::Context;
use latchkey_core::email_proof::Verifications;
use latchkey_core::mail::TenantMail;
use latchkey_core::passkeys::{Ceremonies, RelyingParty};
use latchkey_core::sessions::{ClientInfo, TokenIssuer};
use latchkey_core::settings::TenantSettings;
use latchkey_core::{Actor, TenantScope};
use latchkey_tenants::Tenant;
use std::sync::Arc;

/// Per-request context of the tenant API, built once by the HTTP layer after tenant resolution
/// and authentication, so resolvers neither re-read the settings nor recompute what follows
/// from them.
#[derive(Clone)]
pub struct RequestContext {
    pub scope: TenantScope,
    /// The tenant as resolved for this request (name, settings).
    pub tenant: Tenant,
    /// The tenant's settings, parsed (defaults filled in).
    pub settings: Arc<TenantSettings>,
    /// The WebAuthn relying party in force for the tenant.
    pub relying_party: RelyingParty,
    /// The issuer (and tenant API audience) of the tenant's tokens.
    pub issuer: String,
    pub actor: Actor,
    pub client: ClientInfo,
    /// The tenant's hosted page (`{public}/t/{slug}/`), which emailed links point to.
    pub page_url: String,
    /// The browser's languages (`Accept-Language`), for mail to the caller.
    pub accept_language: Option<String>,
}

impl RequestContext {
    /// The context of a request to `tenant`, whose tokens `issuer` issues, by `actor`.
    pub fn new(
        public_url: &str,
        scope: TenantScope,
        tenant: Tenant,
        issuer: String,
        actor: Actor,
        client: ClientInfo,
        accept_language: Option<String>,
    ) -> Self {
        let settings = tenant.settings.clone();
        let relying_party = RelyingParty::of_tenant(public_url, &tenant.name, &settings);
        let page_url = format!("{public_url}/t/{}/", scope.slug());
        Self {
            page_url,
            scope,
            tenant,
            settings,
            relying_party,
            issuer,
            actor,
            client,
            accept_language,
        }
    }

    /// What issues the tenant's tokens in this request.
    pub fn token_issuer<'a>(&'a self, services: &'a Services) -> TokenIssuer<'a> {
        TokenIssuer {
            issuer: &self.issuer,
            settings: &self.settings,
            master_key: &services.master_key,
            signing_keys: &services.signing_keys,
        }
    }

    /// The passkey ceremonies of this request's caller.
    pub fn ceremonies<'a>(&'a self, services: &'a Services) -> Ceremonies<'a> {
        Ceremonies {
            db: &services.db,
            store: services.store.as_ref(),
            scope: &self.scope,
            actor: &self.actor,
            relying_party: self.relying_party.clone(),
            issuer: self.token_issuer(services),
            client: self.client.clone(),
            decoy_key: &services.decoy_key,
            ceremony_ttl: services.ceremony_ttl,
            clock: services.clock.as_ref(),
            mail: self.mail(services),
        }
    }

    /// How the tenant's messages go out in this request.
    pub fn mail<'a>(&'a self, services: &'a Services) -> TenantMail<'a> {
        TenantMail {
            accept_language: self.accept_language.as_deref(),
            ..TenantMail::new(
                services.mailer.as_ref(),
                &services.db,
                &self.scope,
                &self.page_url,
                &self.tenant.name,
                &self.settings,
            )
        }
    }

    /// Email verifications started or completed by this request's caller.
    pub fn verifications<'a>(&'a self, services: &'a Services) -> Verifications<'a> {
        Verifications {
            db: &services.db,
            store: services.store.as_ref(),
            scope: &self.scope,
            actor: &self.actor,
            settings: &self.settings,
            clock: services.clock.as_ref(),
            mail: self.mail(services),
            client_ip: self.client.ip_address.as_deref(),
        }
    }
}

pub(super) fn request<'a>(ctx: &'a Context<'_>) -> (&'a Services, &'a RequestContext) {
    (
        ctx.data_unchecked::<Arc<Services>>(),
        ctx.data_unchecked::<Arc<RequestContext>>(),
    )
}
