//! The SAML 2.0 service provider: SP-initiated Web Browser SSO, the request by HTTP-Redirect and
//! the response by HTTP-POST, every response through one gate (`response`).
//!
//! Layers: `xml` (strict reading) → `metadata` (the IdP's, cached) and `service_provider`
//! (Latchkey's entity, metadata and requests) → `response` (the gate) → `profile`.

mod metadata;
mod profile;
mod response;
mod service_provider;
mod xml;

#[cfg(test)]
mod tests;

pub use metadata::{Metadatas, read as read_metadata};
pub use profile::profile;
pub use response::{Expected, check};
pub use service_provider::ServiceProvider;
