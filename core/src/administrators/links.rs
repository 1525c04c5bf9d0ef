//! One-time links that enrol a passkey in the console: an invitation (to a tenant role, the
//! platform role, or both), a recovery (a new passkey for an administrator who lost theirs)
//! and the first owner's (printed at the first start). Only the SHA-256 of a token is
//! stored; a link serves once, until it expires.

use super::rows::enrolment_row;
use super::stored_role;
use crate::actor::AdminRole;
use crate::catalogue::{self, TenantKey, tenant_row};
use crate::db::{Database, PlatformTx};
use crate::error::{Error, Result};
use crate::mail::{Mailer, Message};
use crate::scope::{PlatformScope, TenantScope};
use crate::secrets;
use crate::validate::Email;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use uuid::Uuid;

/// Every enrolment token starts with this.
pub const ENROLMENT_TOKEN_PREFIX: &str = "lke_";
/// How long an invitation can be accepted.
pub(super) const INVITATION_DAYS: i64 = 7;
/// How long a recovery link works.
pub(super) const RECOVERY_MINUTES: i64 = 60;
/// How long a link is kept after it expired (the invitations an owner sees as expired).
const KEPT_DAYS: i64 = 30;
/// How long the first owner's link (printed at the first start) works.
const FIRST_OWNER_HOURS: i64 = 24;

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Recovery,
    FirstOwner,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Recovery => "recovery",
            Purpose::FirstOwner => "first_owner",
        }
    }

    pub(super) fn parse(text: &str) -> Result<Self> {
        [Purpose::Invitation, Purpose::Recovery, Purpose::FirstOwner]
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
            .ok_or_else(|| Error::internal(format!("unknown enrolment purpose {text:?}")))
    }
}

/// The console page a token opens. The token is in the fragment, so it reaches neither the
/// server's logs nor a `Referer`.
pub fn enrolment_link(public_url: &str, token: &str) -> String {
    format!(
        "{}/console/enrol#token={token}",
        public_url.trim_end_matches('/')
    )
}

/// The platform work of the console (its tables are the platform's; no credential names it).
pub(super) fn console_platform() -> PlatformScope {
    PlatformScope::new("console".to_owned())
}

/// A link to make.
pub(super) struct NewLink {
    pub purpose: Purpose,
    pub email: Option<String>,
    pub administrator_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub role: Option<AdminRole>,
    pub platform_role: Option<AdminRole>,
    pub invited_by: Option<String>,
}

/// Stores `link` and answers its token (to be sent or shown once) with the row.
pub(super) async fn insert_link_in(
    tx: &PlatformTx,
    link: NewLink,
    now: DateTime<Utc>,
) -> Result<(String, enrolment_row::Model)> {
    // Links that ended long ago go: they serve nobody, and their addresses are personal data.
    tx.delete_many::<enrolment_row::Entity>()
        .filter(enrolment_row::Column::ExpiresAt.lte(now - Duration::days(KEPT_DAYS)))
        .exec()
        .await?;
    let token = secrets::generate(ENROLMENT_TOKEN_PREFIX);
    let lifetime = match link.purpose {
        Purpose::Invitation => Duration::days(INVITATION_DAYS),
        Purpose::Recovery => Duration::minutes(RECOVERY_MINUTES),
        Purpose::FirstOwner => Duration::hours(FIRST_OWNER_HOURS),
    };
    let row = tx
        .insert(enrolment_row::ActiveModel {
            id: Set(Uuid::now_v7()),
            token_hash: Set(secrets::hash(&token)),
            purpose: Set(link.purpose.as_str().to_owned()),
            email: Set(link.email),
            administrator_id: Set(link.administrator_id),
            tenant_id: Set(link.tenant_id),
            role: Set(link.role.map(|role| role.as_str().to_owned())),
            platform_role: Set(link.platform_role.map(|role| role.as_str().to_owned())),
            invited_by: Set(link.invited_by),
            created_at: Set(now),
            expires_at: Set(now + lifetime),
            used_at: Set(None),
        })
        .await?;
    Ok((token, row))
}

/// The unused, unexpired link of `token`; `NotFound` otherwise.
pub(super) async fn live_link_in(
    tx: &PlatformTx,
    token: &str,
    now: DateTime<Utc>,
) -> Result<enrolment_row::Model> {
    tx.find::<enrolment_row::Entity>()
        .filter(enrolment_row::Column::TokenHash.eq(secrets::hash(token)))
        .filter(enrolment_row::Column::UsedAt.is_null())
        .filter(enrolment_row::Column::ExpiresAt.gt(now))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// Spends `link` (once: a second finish with the same link is refused).
pub(super) async fn spend_link_in(
    tx: &PlatformTx,
    link: &enrolment_row::Model,
    now: DateTime<Utc>,
) -> Result<()> {
    let spent = tx
        .update_many::<enrolment_row::Entity>()
        .col_expr(
            enrolment_row::Column::UsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(enrolment_row::Column::Id.eq(link.id))
        .filter(enrolment_row::Column::UsedAt.is_null())
        .exec()
        .await?;
    if spent.rows_affected == 1 {
        Ok(())
    } else {
        Err(Error::Refused(
            "this link was already used; ask for a new one".into(),
        ))
    }
}

/// What a link grants, for the enrolment page.
#[derive(Clone, Debug)]
pub struct EnrolmentView {
    pub purpose: Purpose,
    /// `None` for the first owner's link: the page asks for the address.
    pub email: Option<String>,
    /// The tenant an invitation is to: `(slug, name)`.
    pub tenant: Option<(String, String)>,
    pub role: Option<AdminRole>,
    pub platform_role: Option<AdminRole>,
    pub expires_at: DateTime<Utc>,
}

/// What the link of `token` grants; `NotFound` when it is unknown, used or expired.
pub async fn view_enrolment(db: &Database, token: &str) -> Result<EnrolmentView> {
    let tx = db.begin_platform(&console_platform()).await?;
    let link = live_link_in(&tx, token, db.now()).await?;
    let tenant = match link.tenant_id {
        Some(id) => tx
            .find::<tenant_row::Entity>()
            .filter(tenant_row::Column::Id.eq(id))
            .one()
            .await?
            .map(|row| (row.slug, row.name)),
        None => None,
    };
    tx.commit().await?;
    Ok(EnrolmentView {
        purpose: Purpose::parse(&link.purpose)?,
        email: link.email,
        tenant,
        role: link.role.as_deref().map(stored_role).transpose()?,
        platform_role: link.platform_role.as_deref().map(stored_role).transpose()?,
        expires_at: link.expires_at,
    })
}

/// The first start's link: whoever opens it gives their address and becomes a platform owner
/// and the owner of `tenant` (the embedded default's `demo` tenant). Answers the token.
pub async fn invite_first_owner(db: &Database, tenant: Option<&TenantScope>) -> Result<String> {
    let tx = db.begin_platform(&console_platform()).await?;
    let (token, _) = insert_link_in(
        &tx,
        NewLink {
            purpose: Purpose::FirstOwner,
            email: None,
            administrator_id: None,
            tenant_id: tenant.map(TenantScope::tenant_id),
            role: tenant.map(|_| AdminRole::Owner),
            platform_role: Some(AdminRole::Owner),
            invited_by: Some("first-start".to_owned()),
        },
        db.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// `latchkey admin invite`: an invitation of `email` as `role` of the tenant `tenant_slug`
/// and/or as a platform owner, made by whoever holds the database connection. Answers the
/// token.
pub async fn invite_from_command_line(
    db: &Database,
    email: &str,
    tenant_slug: Option<&str>,
    role: AdminRole,
    platform: bool,
) -> Result<String> {
    let email = Email::parse("email", email)?;
    if tenant_slug.is_none() && !platform {
        return Err(Error::validation(
            "tenant",
            "name a tenant (--tenant <slug>) or the platform (--platform), or both",
        ));
    }
    let tenant_id = match tenant_slug {
        Some(slug) => Some(
            catalogue::resolve(db, TenantKey::Slug(slug))
                .await
                .map_err(|error| match error {
                    Error::NotFound => Error::validation(
                        "tenant",
                        format!("no active tenant has the slug {slug:?}"),
                    ),
                    other => other,
                })?
                .0
                .tenant_id(),
        ),
        None => None,
    };
    let tx = db.begin_platform(&console_platform()).await?;
    let (token, _) = insert_link_in(
        &tx,
        NewLink {
            purpose: Purpose::Invitation,
            email: Some(email.as_str().to_owned()),
            administrator_id: None,
            tenant_id,
            role: tenant_id.map(|_| role),
            platform_role: platform.then_some(AdminRole::Owner),
            invited_by: Some("command-line".to_owned()),
        },
        db.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Mails `link` to `to` with `subject` and a first line.
pub(super) async fn mail_link(
    mailer: &dyn Mailer,
    to: &str,
    subject: &str,
    intro: &str,
    link: &str,
    expiry: &str,
) -> Result<()> {
    mailer
        .send(&Message {
            to: to.to_owned(),
            subject: subject.to_owned(),
            text: format!(
                "{intro}\n\nOpen this link to create your passkey for the Latchkey console:\n\n{link}\n\nThe link works once and expires {expiry}. If you did not expect this email, ignore it."
            ),
            html: None,
        })
        .await
}
