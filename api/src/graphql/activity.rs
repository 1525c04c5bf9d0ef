//! The tenant's activity for the console's overview: sign-ins per day by method, failed
//! sign-ins, new identities and the live sessions, from what the server already keeps (see
//! `core::activity` for where each figure comes from).

use super::context::request;
use super::types::IntoGraphql;
use async_graphql::{Context, Object, SimpleObject};
use latchkey_core::activity;

/// Sign-ins of one method on one day.
#[derive(SimpleObject, Clone, Debug)]
pub struct SignInCount {
    /// `passkey`, `password`, `password_mfa`, `email_code`, `federated`…
    pub method: String,
    pub count: u64,
}

/// One UTC day of activity.
#[derive(SimpleObject, Clone, Debug)]
pub struct ActivityDay {
    /// `YYYY-MM-DD`, in UTC.
    pub date: String,
    /// From the sessions the sign-ins started, by their method (an application's session,
    /// which hangs from a browser session, is not counted again).
    pub sign_ins: Vec<SignInCount>,
    /// From the audit log's refusals: `passkey.sign_in_rejected`,
    /// `password.sign_in_rejected`, `federation.refused`.
    pub failed_sign_ins: u64,
    /// From the identities' creation times (erased identities are gone).
    pub new_identities: u64,
}

/// The tenant's recent activity.
#[derive(SimpleObject, Clone, Debug)]
pub struct TenantActivity {
    /// Oldest first, today included, every day present (zeros too).
    pub days: Vec<ActivityDay>,
    /// Sessions neither revoked nor expired now (browser and application sessions).
    pub active_sessions: u64,
}

impl From<activity::TenantActivity> for TenantActivity {
    fn from(activity: activity::TenantActivity) -> Self {
        Self {
            days: activity
                .days
                .into_iter()
                .map(|day| ActivityDay {
                    date: day.date.format("%Y-%m-%d").to_string(),
                    sign_ins: day
                        .sign_ins
                        .into_iter()
                        .map(|(method, count)| SignInCount { method, count })
                        .collect(),
                    failed_sign_ins: day.failed_sign_ins,
                    new_identities: day.new_identities,
                })
                .collect(),
            active_sessions: activity.active_sessions,
        }
    }
}

#[derive(Default)]
pub struct ActivityQuery;

#[Object]
impl ActivityQuery {
    /// The last `days` UTC days (1 to 90, default 14) of sign-ins by method, failed sign-ins
    /// and new identities, and the sessions live now. Requires the viewer role.
    async fn tenant_activity(
        &self,
        ctx: &Context<'_>,
        days: Option<i32>,
    ) -> async_graphql::Result<TenantActivity> {
        let (services, req) = request(ctx);
        let days = u32::try_from(days.unwrap_or(14)).unwrap_or(0);
        let activity = activity::tenant_activity(&services.db, &req.scope, &req.actor, days)
            .await
            .gql()?;
        Ok(activity.into())
    }
}
