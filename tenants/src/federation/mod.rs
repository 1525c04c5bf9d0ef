//! Federation's protocol side: the OpenID Connect relying party that signs people in through
//! a tenant's identity providers. The rules that need no network (providers, links, linking,
//! provisioning) are in [`latchkey_core::federation`].
//!
//! Layers: `http` (the outbound client), `handoff` (the tokens for the hosted page) →
//! `discovery` (documents and keys, cached) → `oidc` (authorization URL, code exchange, ID
//! token validation) → `github` (OAuth 2 and its API) → `flows` (start and callback) →
//! `manage` (the services the API calls).

mod discovery;
mod flows;
mod github;
mod handoff;
mod http;
mod manage;
mod oidc;

pub use flows::{Callback, Federation, Finished, Started, Then};
pub use handoff::{HandedOff, collect, hand_off};
pub use manage::{create_identity_provider, test_identity_provider, update_identity_provider};
