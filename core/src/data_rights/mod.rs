//! Each person's data: what Latchkey holds about the signed-in user, as one JSON document
//! (`exportViewerData`); the deletion they ask for (`deleteViewerAccount`: after a fresh
//! sign-in, erased once the tenant's grace period ends unless they sign in again); an
//! administrator's immediate erasure (`eraseIdentity`); and the audit-log retention.
//!
//! An erasure removes every row about the account in each module that holds one (sessions with
//! their tokens, passkeys, password and second factor, consents, memberships, links to
//! providers and directories, requests, codes, invitations), then the identity itself. The
//! audit log keeps what happened under a pseudonym, without the entries' data; earlier domain
//! events lose their data; connectors get `identity.deleted`. `docs/data-rights.md` says what
//! each path keeps.
//!
//! Submodules: `erasure` (the erasure itself) → `viewer_data`, `requests` (an owner's request),
//! `retention` → `worker` (the background work every replica runs).

mod erasure;
mod requests;
mod retention;
mod viewer_data;
mod worker;

pub use erasure::{ErasedIdentity, erase_identity};
pub use requests::{AccountDeletion, FRESH_SIGN_IN, delete_viewer_account};
pub use retention::prune_audit_logs;
pub use viewer_data::export_viewer_data;
pub use worker::{POLL_INTERVAL, erase_due, run};
