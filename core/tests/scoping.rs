//! Tenant scoping: two tenants share one database, and nothing of one is visible or
//! changeable through the other's scope and credentials. On SQLite there is no row-level
//! security, so these prove the scoped queries of the core (the tenant filter every
//! `TenantTx` adds) on their own.

mod common;

use common::{TestTenant, World, assert_err, page};
use latchkey_core::Error;
use latchkey_core::audit::{self, AuditFilter};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::granted;
use latchkey_core::identities::{
    self, Change, Identity, IdentityChanges, IdentityFilter, IdentityStatus, NewIdentity,
};
use latchkey_core::identity_search;
use latchkey_core::organizations::{
    self, NewOrganization, ORG_MEMBER, OrganizationFilter, OrganizationKind,
};
use latchkey_core::{Actor, Permission, domains, sessions};

async fn two_tenants() -> (World, TestTenant, TestTenant) {
    let world = World::new().await;
    let a = world.tenant("tenant-a").await;
    let b = world.tenant("tenant-b").await;
    assert_ne!(a.scope.tenant_id(), b.scope.tenant_id());
    (world, a, b)
}

/// How many identities `actor` counts in `tenant`, through the granted (in-transaction) count.
async fn identity_count(world: &World, tenant: &TestTenant, actor: &Actor) -> u64 {
    let grant = authorize(actor, Permission::ReadIdentities, Resource::Tenant).expect("grant");
    let tx = world.db.begin_tenant(&tenant.scope).await.expect("begin");
    let count = granted::identity_count(&tx, &grant).await.expect("count");
    tx.commit().await.expect("commit");
    count
}

fn assert_same_identity(before: &Identity, after: &Identity) {
    assert_eq!(after.id, before.id);
    assert_eq!(after.email, before.email);
    assert_eq!(after.email_verified, before.email_verified);
    assert_eq!(after.display_name, before.display_name);
    assert_eq!(after.phone, before.phone);
    assert_eq!(after.status, before.status);
    assert_eq!(after.attributes, before.attributes);
    assert_eq!(after.external_id, before.external_id);
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(after.deleted_at, before.deleted_at);
}

#[tokio::test]
async fn an_identity_of_one_tenant_does_not_exist_in_another() {
    let (world, a, b) = two_tenants().await;
    let owner_a = world.owner(&a).await;
    let owner_b = world.owner(&b).await;
    let alice = world.identity(&a, "alice@example.com", true).await;
    let bob = world.identity(&b, "bob@example.com", true).await;

    // Through B's scope and B's owner key, A's identity is not found, whatever the operation.
    let id = alice.id;
    assert_err!(
        identities::get_identity(&world.db, &b.scope, &owner_b, id).await,
        Error::NotFound
    );
    assert_err!(
        identities::delete_identity(&world.db, &b.scope, &owner_b, id).await,
        Error::NotFound
    );
    assert_err!(
        identities::set_identity_status(
            &world.db,
            &b.scope,
            &owner_b,
            id,
            IdentityStatus::Suspended
        )
        .await,
        Error::NotFound
    );

    // B's list and counts hold B's identity only, whatever the filter.
    let listed = identity_search::list_identities(
        &world.db,
        &b.scope,
        &owner_b,
        IdentityFilter::default(),
        page(),
    )
    .await
    .expect("list B");
    assert_eq!(listed.total_count, 1);
    assert_eq!(
        listed.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![bob.id]
    );
    for filter in [
        IdentityFilter {
            email: Some("alice@example.com".into()),
            ..IdentityFilter::default()
        },
        IdentityFilter {
            search: Some("alice".into()),
            ..IdentityFilter::default()
        },
        IdentityFilter {
            status: Some(IdentityStatus::Active),
            ..IdentityFilter::default()
        },
    ] {
        let found = identity_search::list_identities(&world.db, &b.scope, &owner_b, filter, page())
            .await
            .expect("list B filtered");
        assert!(
            found.items.iter().all(|i| i.id != alice.id),
            "A's identity listed in B"
        );
    }
    assert_eq!(identity_count(&world, &b, &owner_b).await, 1);
    assert_eq!(identity_count(&world, &a, &owner_a).await, 1);

    // The granted (in-transaction) lookups of another crate's service do not see it either.
    let read = authorize(&owner_b, Permission::ReadIdentities, Resource::Tenant).expect("grant");
    let tx = world.db.begin_tenant(&b.scope).await.expect("begin");
    assert_err!(
        granted::identity(&tx, &read, alice.id).await,
        Error::NotFound
    );
    assert!(
        granted::identity_by_email(&tx, &read, "alice@example.com")
            .await
            .expect("by email")
            .is_none()
    );
    tx.commit().await.expect("commit");

    // Uniqueness of emails is per tenant: B may have its own alice@example.com.
    let other_alice = world.identity(&b, "alice@example.com", false).await;
    assert_ne!(other_alice.id, alice.id);
    assert_eq!(identity_count(&world, &b, &owner_b).await, 2);

    // A's identity is untouched and still A's.
    let read_back = identities::get_identity(&world.db, &a.scope, &owner_a, alice.id)
        .await
        .expect("A reads its identity");
    assert_same_identity(&alice, &read_back);
    assert_eq!(read_back.status, IdentityStatus::Active);

    // B's audit log holds nothing about A's identity.
    let audit_b = audit::list_audit_events(
        &world.db,
        &b.scope,
        &owner_b,
        AuditFilter {
            target_id: Some(alice.id.to_string()),
            ..AuditFilter::default()
        },
        page(),
    )
    .await
    .expect("B's audit log");
    assert_eq!(audit_b.total_count, 0);
    let audit_a = audit::list_audit_events(
        &world.db,
        &a.scope,
        &owner_a,
        AuditFilter {
            target_id: Some(alice.id.to_string()),
            ..AuditFilter::default()
        },
        page(),
    )
    .await
    .expect("A's audit log");
    assert_eq!(
        audit_a
            .items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec!["identity.create"]
    );
}

#[tokio::test]
async fn an_update_through_another_tenant_changes_nothing() {
    let (world, a, b) = two_tenants().await;
    let owner_a = world.owner(&a).await;
    let owner_b = world.owner(&b).await;
    let alice = identities::create_identity(
        &world.db,
        &a.scope,
        &owner_a,
        NewIdentity {
            email: "alice@example.com".into(),
            email_verified: false,
            display_name: Some("Alice".into()),
            ..NewIdentity::default()
        },
    )
    .await
    .expect("create in A");

    let changes = IdentityChanges {
        email: Some("mallory@example.com".into()),
        email_verified: Some(true),
        display_name: Change::Set("Mallory".into()),
        external_id: Change::Set("crm-1".into()),
        attributes: Some(serde_json::json!({ "owned": true })),
        ..IdentityChanges::default()
    };
    assert_err!(
        identities::update_identity(&world.db, &b.scope, &owner_b, alice.id, changes).await,
        Error::NotFound
    );

    let read_back = identities::get_identity(&world.db, &a.scope, &owner_a, alice.id)
        .await
        .expect("A reads its identity");
    assert_same_identity(&alice, &read_back);
    assert_eq!(read_back.email, "alice@example.com");
    assert!(!read_back.email_verified);
    assert_eq!(read_back.display_name.as_deref(), Some("Alice"));
    assert_eq!(read_back.external_id, None);

    // Nor did it write anything in B.
    let listed = identity_search::list_identities(
        &world.db,
        &b.scope,
        &owner_b,
        IdentityFilter::default(),
        page(),
    )
    .await
    .expect("list B");
    assert_eq!(listed.total_count, 0);
    let audit_b = audit::list_audit_events(
        &world.db,
        &b.scope,
        &owner_b,
        AuditFilter {
            action: Some("identity.update".into()),
            ..AuditFilter::default()
        },
        page(),
    )
    .await
    .expect("B's audit log");
    assert_eq!(audit_b.total_count, 0);

    // The same update through A does apply, so the refusal above was the scope's doing.
    let updated = identities::update_identity(
        &world.db,
        &a.scope,
        &owner_a,
        alice.id,
        IdentityChanges {
            display_name: Change::Set("Alice A.".into()),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("update in A");
    assert_eq!(updated.display_name.as_deref(), Some("Alice A."));
}

#[tokio::test]
async fn organizations_of_one_tenant_do_not_exist_in_another() {
    let (world, a, b) = two_tenants().await;
    let owner_a = world.owner(&a).await;
    let owner_b = world.owner(&b).await;
    let org = organizations::create_organization(
        &world.db,
        &a.scope,
        &owner_a,
        NewOrganization {
            name: "Acme".into(),
            slug: "acme".into(),
            kind: OrganizationKind::Customer,
            metadata: None,
            external_id: None,
        },
    )
    .await
    .expect("create in A");
    let alice = world.identity(&a, "alice@example.com", true).await;
    let bob = world.identity(&b, "bob@example.com", true).await;
    organizations::add_member(
        &world.db,
        &a.scope,
        &owner_a,
        org.id,
        alice.id,
        &[ORG_MEMBER.to_owned()],
        organizations::Window::default(),
    )
    .await
    .expect("add alice in A");

    assert_err!(
        organizations::get_organization(&world.db, &b.scope, &owner_b, org.id).await,
        Error::NotFound
    );
    assert_err!(
        organizations::update_organization(
            &world.db,
            &b.scope,
            &owner_b,
            org.id,
            organizations::OrganizationChanges {
                name: Some("Taken".into()),
                ..Default::default()
            },
        )
        .await,
        Error::NotFound
    );
    assert_err!(
        organizations::delete_organization(&world.db, &b.scope, &owner_b, org.id).await,
        Error::NotFound
    );
    // B's identity cannot be put into A's organization through B...
    assert_err!(
        organizations::add_member(
            &world.db,
            &b.scope,
            &owner_b,
            org.id,
            bob.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default(),
        )
        .await,
        Error::NotFound
    );
    // ...nor through A, where B's identity does not exist.
    assert_err!(
        organizations::add_member(
            &world.db,
            &a.scope,
            &owner_a,
            org.id,
            bob.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default(),
        )
        .await,
        Error::NotFound
    );
    assert_err!(
        domains::add_domain(&world.db, &b.scope, &owner_b, org.id, "acme.example").await,
        Error::NotFound
    );
    assert_err!(
        domains::list_domains(&world.db, &b.scope, &owner_b, org.id).await,
        Error::NotFound
    );

    let listed_b = organizations::list_organizations(
        &world.db,
        &b.scope,
        &owner_b,
        OrganizationFilter::default(),
        page(),
    )
    .await
    .expect("list B");
    assert_eq!(listed_b.total_count, 0);
    // Listing members of A's organization through B finds none (tenant admins pass the
    // organization check for any id; the rows are not in B).
    let members_b = organizations::list_members(
        &world.db,
        &b.scope,
        &owner_b,
        org.id,
        organizations::MemberFilter::default(),
        page(),
    )
    .await
    .expect("members through B");
    assert_eq!(members_b.total_count, 0);
    assert!(members_b.items.is_empty());
    let memberships_b = organizations::identity_memberships(
        &world.db,
        &b.scope,
        &owner_b,
        alice.id,
        organizations::MemberFilter::default(),
        page(),
    )
    .await
    .expect("memberships through B");
    assert_eq!(memberships_b.total_count, 0);
    // The batched first pages (the DataLoaders') are scoped the same way: through B, A's
    // organization has no members and its domains are not listable (it does not exist there).
    domains::add_domain(&world.db, &a.scope, &owner_a, org.id, "acme.example")
        .await
        .expect("a domain in A");
    let first_b = organizations::first_members(&world.db, &b.scope, &owner_b, &[org.id], 10)
        .await
        .expect("first members through B");
    assert_eq!(first_b[&org.id].total_count, 0);
    assert!(first_b[&org.id].items.is_empty());
    let domains_b = domains::domains_by_organization(&world.db, &b.scope, &owner_b, &[org.id])
        .await
        .expect("domains through B");
    assert!(domains_b.is_empty());
    let requests_b =
        domains::first_join_requests(&world.db, &b.scope, &owner_b, &[org.id], None, 10)
            .await
            .expect("join requests through B");
    assert!(requests_b.is_empty());
    let first_a = organizations::first_members(&world.db, &a.scope, &owner_a, &[org.id], 10)
        .await
        .expect("first members through A");
    assert_eq!(first_a[&org.id].total_count, 1);
    assert_eq!(first_a[&org.id].items[0].identity.id, alice.id);
    let domains_a = domains::domains_by_organization(&world.db, &a.scope, &owner_a, &[org.id])
        .await
        .expect("domains through A");
    assert_eq!(domains_a[&org.id][0].domain, "acme.example");

    // In A, all is as it was.
    let org_a = organizations::get_organization(&world.db, &a.scope, &owner_a, org.id)
        .await
        .expect("A reads its organization");
    assert_eq!(org_a.name, "Acme");
    assert_eq!(org_a.updated_at, org.updated_at);
    let members_a = organizations::list_members(
        &world.db,
        &a.scope,
        &owner_a,
        org.id,
        organizations::MemberFilter::default(),
        page(),
    )
    .await
    .expect("members through A");
    assert_eq!(
        members_a
            .items
            .iter()
            .map(|m| (m.identity.id, m.membership.roles.clone()))
            .collect::<Vec<_>>(),
        vec![(alice.id, vec![ORG_MEMBER.to_owned()])]
    );
}

#[tokio::test]
async fn a_session_of_one_tenant_is_no_credential_on_another() {
    let (world, a, b) = two_tenants().await;
    let owner_a = world.owner(&a).await;
    let owner_b = world.owner(&b).await;
    let alice = world.identity(&a, "alice@example.com", true).await;
    let signed_in = world.sign_in(&a, alice.id).await;
    assert_eq!(
        signed_in.actor.principal(),
        &latchkey_core::Principal::Identity {
            id: alice.id,
            session_id: signed_in.session_id
        }
    );

    // A's access token on B's endpoint: B's keys did not sign it.
    assert_err!(
        world.authenticate_token(&b, &signed_in.access_token).await,
        Error::Unauthenticated
    );
    // Nor does it pass with A's issuer presented on B's scope.
    assert_err!(
        sessions::authenticate_access_token(
            &world.db,
            &latchkey_core::sessions::KeyCache::default(),
            &b.scope,
            &a.issuer(),
            &signed_in.access_token,
            None,
        )
        .await,
        Error::Unauthenticated
    );

    // B's admin neither sees nor revokes A's session.
    let sessions_b = sessions::list_sessions(&world.db, &b.scope, &owner_b, alice.id, page())
        .await
        .expect("sessions through B");
    assert_eq!(sessions_b.total_count, 0);
    assert_err!(
        sessions::revoke_session(&world.db, &b.scope, &owner_b, signed_in.session_id).await,
        Error::NotFound
    );
    assert_err!(
        sessions::revoke_identity_sessions(&world.db, &b.scope, &owner_b, alice.id).await,
        Error::NotFound
    );

    // The session lives on in A.
    let sessions_a = sessions::list_sessions(&world.db, &a.scope, &owner_a, alice.id, page())
        .await
        .expect("sessions through A");
    assert_eq!(
        sessions_a.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![signed_in.session_id]
    );
    assert_eq!(sessions_a.items[0].revoked_at, None);
    let again = world
        .authenticate_token(&a, &signed_in.access_token)
        .await
        .expect("still valid on A");
    assert_eq!(again.principal(), signed_in.actor.principal());
}
