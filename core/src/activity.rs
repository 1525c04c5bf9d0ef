//! A tenant's activity, for the console's overview: sign-ins per UTC day by method, failed
//! sign-ins, new identities, and the sessions live now. Every figure comes from rows the
//! server already keeps: sign-ins from the sessions they started (each session keeps its
//! sign-in method; an application's session hangs from its browser session and is not
//! counted again), failures from the audit log's refusals (`passkey.sign_in_rejected`,
//! `password.sign_in_rejected`, `federation.refused`), new identities from the identities'
//! creation times, live sessions from the sessions table. Erased identities take their
//! sessions with them.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::{audit, identities, session_store};
use chrono::{Days, NaiveDate};

/// The longest window the overview shows.
pub const MAX_DAYS: u32 = 90;
const FAILED: [&str; 3] = [
    "passkey.sign_in_rejected",
    "password.sign_in_rejected",
    "federation.refused",
];

/// One UTC day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityDay {
    pub date: NaiveDate,
    /// Sign-ins by method (`passkey`, `password`, `email_code`, `federated`…), by name.
    pub sign_ins: Vec<(String, u64)>,
    pub failed_sign_ins: u64,
    pub new_identities: u64,
}

/// The days of the window, oldest first (today included), and the sessions live now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantActivity {
    pub days: Vec<ActivityDay>,
    pub active_sessions: u64,
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// The last `days` UTC days of the tenant's activity. Requires the viewer role (the audit
/// log's permission).
pub async fn tenant_activity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    days: u32,
) -> Result<TenantActivity> {
    authorize(actor, Permission::ReadAuditEvents, Resource::Tenant)?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::validation(
            "days",
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let tx = db.begin_tenant(scope).await?;
    let now = tx.now();
    let today = now.date_naive();
    let first = today - Days::new(u64::from(days - 1));
    let since = first.and_time(chrono::NaiveTime::MIN).and_utc();
    let signed_in = session_store::sign_ins_per_day_in(&tx, since).await?;
    let failed = audit::daily_counts_in(&tx, &FAILED, since).await?;
    let created = identities::created_per_day_in(&tx, since).await?;
    let active_sessions = session_store::live_sessions_in(&tx, now).await?;
    tx.commit().await?;
    let days = first
        .iter_days()
        .take_while(|date| *date <= today)
        .map(|date| {
            let day = date.format("%Y-%m-%d").to_string();
            let per_day = |counts: &[(String, i64)]| {
                counts
                    .iter()
                    .filter(|(d, _)| *d == day)
                    .map(|(_, n)| count(*n))
                    .sum()
            };
            let mut sign_ins: Vec<(String, u64)> = signed_in
                .iter()
                .filter(|(d, ..)| *d == day)
                .map(|(_, method, n)| (method.clone(), count(*n)))
                .collect();
            sign_ins.sort();
            ActivityDay {
                date,
                sign_ins,
                failed_sign_ins: per_day(&failed),
                new_identities: per_day(&created),
            }
        })
        .collect();
    Ok(TenantActivity {
        days,
        active_sessions,
    })
}
