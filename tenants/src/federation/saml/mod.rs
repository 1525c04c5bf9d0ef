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

pub use metadata::{IdpMetadata, Metadatas, parse as parse_metadata, read as read_metadata};
pub use profile::profile;
pub use response::{Asserted, Expected, check};
pub use service_provider::ServiceProvider;
