//! Passkeys (WebAuthn) with webauthn-rs: sign-up and adding passkeys (registration), sign-in
//! with or without an email hint (discoverable credentials), passkey management, and one-time
//! registration links for recovery. Ceremony state lives in the ephemeral store for a few
//! minutes (`LATCHKEY_CEREMONY_TTL_SECONDS`) and is taken (read and deleted) by the finish
//! call, so it serves once.
//!
//! The submodules, in layers (a module uses only those listed before it): `errors` (how a
//! rejected WebAuthn response is explained), `relying_party` (the tenant's WebAuthn relying
//! party), `rows` (the stored passkeys), `manage` (listing, counting, renaming and revoking
//! passkeys), `portable` (passkeys as exports carry them and imports bring
//! them back), `ceremony` (what registration and sign-in share: the request, the stored
//! ceremony state, rate limits), `registration` (the registration ceremony and registration
//! links) and `sign_in` (the sign-in ceremony).

mod ceremony;
mod errors;
mod manage;
mod portable;
mod registration;
mod relying_party;
mod rows;
mod sign_in;

pub use ceremony::{BegunCeremony, Ceremonies, CeremonyOutcome};
pub(crate) use errors::explain;
pub use manage::{Passkey, count_passkeys, list_passkeys, rename_passkey, revoke_passkey};
pub use portable::PortablePasskey;
pub(crate) use portable::{import_in, portable_of_in};
pub use registration::{BeginRegistration, REGISTRATION_TOKEN_PREFIX, create_registration_link};
pub(crate) use registration::{erase_registration_links_in, insert_registration_link_in};
pub use relying_party::RelyingParty;
pub(crate) use rows::{all_passkey_ids_of, erase_passkeys_in, has_passkey_in, passkeys_data_in};
