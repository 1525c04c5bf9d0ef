//! The starts and ends of membership windows as events (`organizations::transitions`): each is
//! written once, when it is due by the database's clock, never again when the window is saved
//! unchanged after its end, again when the window is extended, and never for a membership that
//! was removed.

mod common;

use common::{World, assert_err, page};
use latchkey_core::Error;
use latchkey_core::clock::{Clock, ManualClock};
use latchkey_core::organizations::{
    self, AccessStatus, MemberChanges, NewGrant, ORG_MEMBER, Window, fire_due,
};
use latchkey_core::outbox::{self, EventFilter, EventType};
use std::sync::Arc;
use uuid::Uuid;

async fn count(
    world: &World,
    tenant: &common::TestTenant,
    event: EventType,
    subject: Uuid,
) -> usize {
    let owner = world.owner(tenant).await;
    let filter = EventFilter {
        event_type: Some(event),
        subject_id: Some(subject),
    };
    outbox::list_events(&world.db, &tenant.scope, &owner, filter, page())
        .await
        .expect("list events")
        .items
        .len()
}

#[tokio::test]
async fn each_start_and_end_is_written_once_when_it_is_due() {
    let world = World::new().await;
    let clock = Arc::new(ManualClock::new());
    let db = world.db.clone().with_clock(clock.clone());
    let t = world.tenant("windows").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme").await;
    let ann = world.identity(&t, "ann@example.com", true).await;
    let start = clock.now() + chrono::Duration::seconds(10);
    let end = start + chrono::Duration::seconds(10);
    let window = Window::checked(Some(start), Some(end)).unwrap();
    let member = organizations::add_member(
        &db,
        &t.scope,
        &owner,
        org.id,
        ann.id,
        &[ORG_MEMBER.to_owned()],
        window,
    )
    .await
    .expect("add member");
    assert_eq!(member.status, AccessStatus::Pending);
    let id = member.membership.id;

    assert_eq!(fire_due(&db, 100).await.unwrap(), 0, "nothing is due yet");
    clock.advance(10);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 1, "the start");
    assert_eq!(fire_due(&db, 100).await.unwrap(), 0, "once");
    clock.advance(10);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 1, "the end");
    assert_eq!(count(&world, &t, EventType::MembershipStarted, id).await, 1);
    assert_eq!(count(&world, &t, EventType::MembershipExpired, id).await, 1);

    // The window saved again after its end, with the same end: it does not end twice.
    let same_end = MemberChanges {
        valid_from: Some(None),
        ..MemberChanges::default()
    };
    let changed = organizations::update_member(&db, &t.scope, &owner, org.id, ann.id, same_end)
        .await
        .expect("update");
    assert_eq!(changed.status, AccessStatus::Expired);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 0);

    // Extended: active again, and it ends again at its new end, once.
    let extended = MemberChanges {
        valid_until: Some(Some(end + chrono::Duration::seconds(60))),
        ..MemberChanges::default()
    };
    let changed = organizations::update_member(&db, &t.scope, &owner, org.id, ann.id, extended)
        .await
        .expect("extend");
    assert_eq!(changed.status, AccessStatus::Active);
    clock.advance(61);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 1);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 0);
    assert_eq!(count(&world, &t, EventType::MembershipExpired, id).await, 2);
}

#[tokio::test]
async fn a_removed_membership_has_no_start_or_end_left() {
    let world = World::new().await;
    let clock = Arc::new(ManualClock::new());
    let db = world.db.clone().with_clock(clock.clone());
    let t = world.tenant("windows-removed").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme").await;
    let bob = world.identity(&t, "bob@example.com", true).await;
    let start = clock.now() + chrono::Duration::seconds(10);
    let window = Window::checked(Some(start), Some(start + chrono::Duration::hours(1))).unwrap();
    let member = organizations::add_member(
        &db,
        &t.scope,
        &owner,
        org.id,
        bob.id,
        &[ORG_MEMBER.to_owned()],
        window,
    )
    .await
    .expect("add member");
    organizations::remove_member(&db, &t.scope, &owner, org.id, bob.id)
        .await
        .expect("remove");
    let id = member.membership.id;
    let grant = NewGrant {
        membership_id: id,
        role: ORG_MEMBER.to_owned(),
        window: Window::default(),
    };
    assert_err!(
        organizations::grant_role(&db, &t.scope, &owner, grant).await,
        Error::NotFound
    );
    clock.advance(7200);
    assert_eq!(fire_due(&db, 100).await.unwrap(), 0);
    assert_eq!(count(&world, &t, EventType::MembershipStarted, id).await, 0);
    assert_eq!(count(&world, &t, EventType::MembershipExpired, id).await, 0);
}
