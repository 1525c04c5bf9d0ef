//! The deployment's administrators: people, apart from every tenant's end users, who sign in
//! to the console with passkeys and hold a role per tenant (`OWNER`, `ADMIN`, `VIEWER`,
//! `SUPPORT`); platform operators hold the platform role too. One person may administer
//! several tenants, so their rows are platform tables; every tenant-level read or change
//! filters by the tenant explicitly.
//!
//! The submodules, in layers (a module uses only those listed before it): `rows` (the
//! tables), `links` (one-time enrolment links: invitations, recoveries, the first owner),
//! `sessions` (console sessions: a cookie, a CSRF token, the browser's user agent),
//! `ceremonies` (passkey enrolment, sign-in and recovery requests) and `manage` (the tenant
//! API: listing, inviting, cancelling invitations, changing roles, removing; the last owner
//! stays).

mod ceremonies;
mod links;
mod manage;
mod rows;
mod sessions;

pub use ceremonies::{Console, ConsoleCeremony};
pub use links::{
    EnrolmentView, Purpose, enrolment_link, invite_first_owner, invite_from_command_line,
    view_enrolment,
};
pub use manage::{
    AdministratorInvitation, TenantAdministrator, administrators, cancel_invitation, invitations,
    invite, remove_administrator, update_administrator,
};
pub use sessions::{
    Presented, SessionView, SignedIn, authenticate_platform, authenticate_tenant, session_view,
    sign_out,
};

use crate::actor::AdminRole;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Administrator {
    pub id: Uuid,
    pub email: String,
    pub display_name: Option<String>,
    /// Set for platform operators.
    pub platform_role: Option<AdminRole>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl TryFrom<rows::administrator_row::Model> for Administrator {
    type Error = Error;

    fn try_from(row: rows::administrator_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            platform_role: row.platform_role.as_deref().map(stored_role).transpose()?,
            created_at: row.created_at,
            last_sign_in_at: row.last_sign_in_at,
        })
    }
}

/// A role as stored (`AdminRole::as_str`).
fn stored_role(text: &str) -> Result<AdminRole> {
    AdminRole::parse(text).ok_or_else(|| Error::internal(format!("unknown stored role {text:?}")))
}
