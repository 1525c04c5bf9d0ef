//! The SCIM 2.0 protocol engine of Latchkey (RFC 7643 for the schemas, RFC 7644 for the
//! protocol), with no I/O: it works on resources as `serde_json::Value`.
//!
//! - [`schema`]: the User and Group attributes Latchkey publishes and stores, and the
//!   discovery documents (`/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig`).
//! - [`path`] and [`filter`]: attribute paths and `filter` expressions, parsed and evaluated.
//! - [`patch`]: PATCH operations, including the shapes Microsoft Entra ID and Okta send.
//! - [`projection`]: `attributes` / `excludedAttributes`.
//! - [`list`]: pagination and the ListResponse envelope.
//! - [`error`]: SCIM error responses.
//!
//! Attribute names are case-insensitive throughout (RFC 7643 §2.1); resources handed to
//! this crate are expected in canonical attribute names, which [`ResourceSchema::normalize`]
//! produces from a client's body.

pub mod error;
pub mod filter;
mod json;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod schema;

pub use error::ScimError;
pub use filter::Filter;
pub use list::{Pagination, list_response};
pub use patch::{Operation, apply_patch, parse_patch};
pub use path::AttributePath;
pub use projection::Projection;
pub use schema::{Attribute, Kind, Mutability, ResourceSchema, Returned};
