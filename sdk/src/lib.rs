//! The Rust SDK for apps built on Latchkey.
//!
//! - [`Verifier`] checks Latchkey access tokens in a customer back end: signature by a key of
//!   the tenant's JWKS (fetched, cached, refetched on an unknown key id at most once per
//!   interval), the tenant's algorithms only (`none`, HMAC and headers that point at other keys
//!   are refused), issuer, audience and expiry with a clock-skew leeway.
//! - [`Client`] calls a tenant's GraphQL API with an API key or access token, with typed
//!   operations for the common administrative tasks and [`Client::execute`] for the rest.
//!
//! See `examples/verify_token.rs` and `docs/oidc.md` for use.

mod client;
mod verify;

pub use client::{
    Application, ApplicationType, Client, ClientError, CreatedApplication, Identity, NewApplication,
};
pub use verify::{Audience, Claims, Verifier, VerifierOptions, VerifyError};
