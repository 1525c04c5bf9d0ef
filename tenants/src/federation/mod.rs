//! Federation's protocol side: the OpenID Connect relying party and the SAML 2.0 service
//! provider that sign people in through a tenant's identity providers. The rules that need no network (providers, links, linking,
//! provisioning) are in [`latchkey_core::federation`].
//!
//! Layers: `http` (the outbound client), `cache` (what was read, per provider version),
//! `handoff` (the tokens for the hosted page) →
//! `discovery` (documents and keys, cached) → `oidc` (authorization URL, code exchange, ID
//! token validation) → `github` (OAuth 2 and its API); `saml` (metadata, requests, the response
//! gate) → `flows` (start, callback and assertion consumer service) →
//! `manage` (the services the API calls).

mod cache;
mod discovery;
mod flows;
mod github;
mod handoff;
mod http;
mod manage;
mod oidc;
pub mod saml;

pub use flows::{Callback, Federation, Finished, Started, Then};
pub use handoff::{HandedOff, collect, hand_off};
pub use manage::{
    create_identity_provider, service_provider_metadata, test_identity_provider,
    update_identity_provider,
};
pub use saml::ServiceProvider;
