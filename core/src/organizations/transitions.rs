//! The starts and ends of validity windows as domain events (`membership.started`,
//! `membership.expired`, `membership.role_granted`, `membership.role_expired`), written when
//! they happen and exactly once. Each boundary ahead is a row of `membership_transitions`,
//! written with the change that set the window; the rows are claimed when due by any replica
//! (like CRM deliveries: a lease, skipping rows another replica holds), and each is marked
//! done in the transaction that writes its event, so a crash, a restart or a second replica
//! neither loses nor repeats one. Access itself never waits for these: every check compares
//! the window with the time of the request.

use super::events::publish_membership_data;
use super::model::*;
use crate::actor::Actor;
use crate::catalogue::{self, TenantKey};
use crate::db::{Database, DueClaim, TenantTx};
use crate::error::{Error, Result};
use crate::outbox::EventType;
use crate::session_store;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

pub(super) mod transition_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "membership_transitions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub membership_id: Uuid,
        pub grant_id: Option<Uuid>,
        pub event_type: String,
        /// The boundary itself.
        pub at: DateTimeUtc,
        /// When a replica may take it: `at`, moved on by each claim's lease.
        pub due_at: DateTimeUtc,
        pub status: String,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(transition_row);
impl crate::db::QueueTable for transition_row::Entity {}

const PENDING: &str = "pending";
const DONE: &str = "done";

/// How long a claimed transition is a replica's before another may take it.
const LEASE_SECONDS: i64 = 30;

/// How often each replica looks for due transitions: an event is written within this of its
/// boundary (access ends at the boundary itself, whatever this says).
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Replaces the pending transitions of `membership`'s own window (not its grants') with its
/// boundaries from now on. `was_pending`: the membership was waiting for its start before this
/// change, so a start moved into the past is written at once.
pub(super) async fn schedule_membership_in(
    tx: &TenantTx,
    membership: &Membership,
    was_pending: bool,
) -> Result<()> {
    tx.delete_many::<transition_row::Entity>()
        .filter(transition_row::Column::MembershipId.eq(membership.id))
        .filter(transition_row::Column::GrantId.is_null())
        .filter(transition_row::Column::Status.eq(PENDING))
        .exec()
        .await?;
    let now = tx.now().trunc_subsecs(6);
    let window = membership.window;
    match window.valid_from {
        Some(from) if from > now => {
            insert_in(tx, membership.id, None, EventType::MembershipStarted, from).await?;
        }
        _ if was_pending && window.is_active(now) => {
            insert_in(tx, membership.id, None, EventType::MembershipStarted, now).await?;
        }
        _ => {}
    }
    if let Some(until) = window.valid_until {
        insert_in(tx, membership.id, None, EventType::MembershipExpired, until).await?;
    }
    Ok(())
}

/// Schedules the start (when ahead) and the end of `grant`'s window.
pub(super) async fn schedule_grant_in(tx: &TenantTx, grant: &RoleGrant) -> Result<()> {
    let now = tx.now();
    if let Some(from) = grant.window.valid_from.filter(|from| *from > now) {
        let event = EventType::MembershipRoleGranted;
        insert_in(tx, grant.membership_id, Some(grant.id), event, from).await?;
    }
    if let Some(until) = grant.window.valid_until {
        let event = EventType::MembershipRoleExpired;
        insert_in(tx, grant.membership_id, Some(grant.id), event, until).await?;
    }
    Ok(())
}

/// Forgets what is still pending for a membership (all its grants included) or, with
/// `grant_id`, for one grant: they were removed.
pub(super) async fn forget_in(
    tx: &TenantTx,
    membership_id: Uuid,
    grant_id: Option<Uuid>,
) -> Result<()> {
    let mut pending = tx
        .delete_many::<transition_row::Entity>()
        .filter(transition_row::Column::MembershipId.eq(membership_id))
        .filter(transition_row::Column::Status.eq(PENDING));
    if let Some(grant_id) = grant_id {
        pending = pending.filter(transition_row::Column::GrantId.eq(grant_id));
    }
    pending.exec().await?;
    Ok(())
}

/// Writes a pending transition, unless the same boundary was written already (a window
/// saved again unchanged after its end does not end twice).
async fn insert_in(
    tx: &TenantTx,
    membership_id: Uuid,
    grant_id: Option<Uuid>,
    event: EventType,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut done = tx
        .find::<transition_row::Entity>()
        .filter(transition_row::Column::MembershipId.eq(membership_id))
        .filter(transition_row::Column::EventType.eq(event.as_str()))
        .filter(transition_row::Column::At.eq(at))
        .filter(transition_row::Column::Status.eq(DONE));
    done = match grant_id {
        Some(id) => done.filter(transition_row::Column::GrantId.eq(id)),
        None => done.filter(transition_row::Column::GrantId.is_null()),
    };
    if done.count().await? > 0 {
        return Ok(());
    }
    tx.insert(transition_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        id: Set(Uuid::now_v7()),
        membership_id: Set(membership_id),
        grant_id: Set(grant_id),
        event_type: Set(event.as_str().to_owned()),
        at: Set(at),
        due_at: Set(at),
        status: Set(PENDING.to_owned()),
    })
    .await?;
    Ok(())
}

/// Looks for due transitions every [`POLL_INTERVAL`] and writes their events, until `stop`
/// says so. Every replica runs it; the claims keep them from doing the same work.
pub async fn run(db: Database, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(error) = fire_due(&db, 100).await {
            tracing::warn!(%error, "membership transitions could not be processed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims up to `batch` due transitions of every tenant and writes their events; answers how
/// many were written.
pub async fn fire_due(db: &Database, batch: i64) -> Result<usize> {
    let now = db.now().trunc_subsecs(6);
    let tx = db.begin_dispatcher().await?;
    // An idle round only reads (on SQLite it takes no write lock).
    let due = tx
        .find::<transition_row::Entity>()
        .filter(transition_row::Column::Status.eq(PENDING))
        .filter(transition_row::Column::DueAt.lte(now))
        .count()
        .await?;
    if due == 0 {
        tx.commit().await?;
        return Ok(0);
    }
    let rows = tx
        .claim_due::<transition_row::Entity>(
            DueClaim {
                table: "membership_transitions",
                key: "tenant_id, id",
                due_column: "due_at",
                stamp_column: None,
                condition: Some("status = 'pending'"),
                limit: batch,
            },
            now,
            now + Duration::seconds(LEASE_SECONDS),
        )
        .all()
        .await?;
    tx.commit().await?;
    let mut written = 0;
    for row in rows {
        let id = row.id;
        match fire_one(db, row).await {
            Ok(true) => written += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(transition.id = %id, %error, "a membership transition failed; it is retried when its lease ends");
            }
        }
    }
    Ok(written)
}

/// Writes one claimed transition's event and marks it done, in one transaction of its tenant;
/// `false` when another replica did first or its membership is gone.
async fn fire_one(db: &Database, row: transition_row::Model) -> Result<bool> {
    let scope = match catalogue::resolve(db, TenantKey::Id(row.tenant_id)).await {
        Ok((scope, _)) => scope,
        // A suspended tenant's transitions wait; looked at hourly.
        Err(Error::TenantSuspended) => {
            let tx = db.begin_dispatcher().await?;
            tx.update_many_of::<transition_row::Entity>(row.tenant_id)
                .col_expr(
                    transition_row::Column::DueAt,
                    Expr::value(db.now() + Duration::hours(1)),
                )
                .filter(transition_row::Column::Id.eq(row.id))
                .exec()
                .await?;
            tx.commit().await?;
            return Ok(false);
        }
        Err(error) => return Err(error),
    };
    let tx = db.begin_tenant(&scope).await?;
    let taken = tx
        .update_many::<transition_row::Entity>()
        .col_expr(transition_row::Column::Status, Expr::value(DONE))
        .filter(transition_row::Column::Id.eq(row.id))
        .filter(transition_row::Column::Status.eq(PENDING))
        .exec()
        .await?
        .rows_affected;
    let Some(event) = EventType::parse(&row.event_type).filter(|_| taken == 1) else {
        tx.commit().await?;
        return Ok(false);
    };
    let membership = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::Id.eq(row.membership_id))
        .one()
        .await?
        .map(Membership::try_from)
        .transpose()?;
    let grant = match row.grant_id {
        Some(id) => tx
            .find::<grant_row::Entity>()
            .filter(grant_row::Column::Id.eq(id))
            .one()
            .await?
            .map(RoleGrant::from),
        None => None,
    };
    let Some(membership) = membership.filter(|_| row.grant_id.is_none() || grant.is_some()) else {
        tx.commit().await?;
        return Ok(false);
    };
    let mut data = membership_event_data(&membership);
    data["effectiveAt"] = json!(row.at);
    if let Some(grant) = &grant {
        data["grant"] = grant_event_data(grant);
    }
    let actor = Actor::anonymous(None);
    publish_membership_data(&tx, &actor, event, &membership, data).await?;
    if event == EventType::MembershipExpired {
        // Its tokens already stop at the end; this ends the sessions too.
        session_store::revoke_organization_sessions_in(
            &tx,
            membership.organization_id,
            Some(membership.identity_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
