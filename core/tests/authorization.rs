//! Authorization as the services apply it: tenant roles of API keys, no credential at all,
//! credentials of another tenant, and end users acting through their organization roles.

mod common;

use common::{RecordingMailer, TestTenant, World, assert_err, page};
use latchkey_core::identities::{
    self, Change, IdentityChanges, IdentityFilter, IdentityStatus, NewIdentity,
};
use latchkey_core::identity_search;
use latchkey_core::invitations;
use latchkey_core::organizations::{
    self, NewOrganization, ORG_ADMIN, ORG_MEMBER, Organization, OrganizationChanges,
    OrganizationFilter, OrganizationKind,
};
use latchkey_core::{
    Actor, AdminRole, Error, Principal, api_keys, audit, catalogue, domains, passkeys, sessions,
};

fn new_identity(email: &str) -> NewIdentity {
    NewIdentity {
        email: email.to_owned(),
        email_verified: true,
        ..NewIdentity::default()
    }
}

#[tokio::test]
async fn a_viewer_key_reads_but_does_not_write() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let viewer = world.viewer(&t).await;
    assert_eq!(
        viewer.principal(),
        &Principal::ApiKey {
            id: t.viewer_key.id,
            roles: vec![AdminRole::Viewer]
        }
    );
    let alice = world.identity(&t, "alice@example.com", true).await;
    let org = world.organization(&t, "acme-corp").await;

    // Reads.
    let read = identities::get_identity(&world.db, &t.scope, &viewer, alice.id)
        .await
        .expect("viewer reads an identity");
    assert_eq!(read.email, "alice@example.com");
    let listed = identity_search::list_identities(
        &world.db,
        &t.scope,
        &viewer,
        IdentityFilter::default(),
        page(),
    )
    .await
    .expect("viewer lists identities");
    assert_eq!(listed.total_count, 1);
    assert_eq!(listed.items[0].id, alice.id);
    let orgs = organizations::list_organizations(
        &world.db,
        &t.scope,
        &viewer,
        OrganizationFilter::default(),
        page(),
    )
    .await
    .expect("viewer lists organizations");
    assert_eq!(
        orgs.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![org.id]
    );
    let keys = api_keys::list_api_keys(&world.db, &t.scope, &viewer, page())
        .await
        .expect("viewer lists keys");
    assert_eq!(
        keys.items
            .iter()
            .map(|k| (k.id, k.roles.clone()))
            .collect::<Vec<_>>(),
        vec![
            (t.owner_key.id, vec![AdminRole::Owner]),
            (t.viewer_key.id, vec![AdminRole::Viewer]),
        ]
    );
    let tenant = catalogue::get_tenant(&world.db, &t.scope, &viewer)
        .await
        .expect("viewer reads the tenant");
    assert_eq!(tenant.slug, "acme");

    // Writes are refused, and nothing is written.
    assert_err!(
        identities::create_identity(
            &world.db,
            &t.scope,
            &viewer,
            new_identity("eve@example.com")
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        identities::update_identity(
            &world.db,
            &t.scope,
            &viewer,
            alice.id,
            IdentityChanges {
                display_name: Change::Set("Eve".into()),
                ..IdentityChanges::default()
            },
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        identities::set_identity_status(
            &world.db,
            &t.scope,
            &viewer,
            alice.id,
            IdentityStatus::Suspended
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        identities::delete_identity(&world.db, &t.scope, &viewer, alice.id).await,
        Error::PermissionDenied
    );
    assert_err!(
        organization_as(&world, &t, &viewer, "viewer-corp").await,
        Error::PermissionDenied
    );
    assert_err!(
        organizations::update_organization(
            &world.db,
            &t.scope,
            &viewer,
            org.id,
            OrganizationChanges {
                name: Some("Renamed".into()),
                ..OrganizationChanges::default()
            },
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        organizations::add_member(
            &world.db,
            &t.scope,
            &viewer,
            org.id,
            alice.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default(),
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        domains::add_domain(&world.db, &t.scope, &viewer, org.id, "acme.example").await,
        Error::PermissionDenied
    );
    assert_err!(
        api_keys::create_api_key(
            &world.db,
            &t.scope,
            &viewer,
            "mine",
            vec![AdminRole::Viewer]
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        api_keys::revoke_api_key(&world.db, &t.scope, &viewer, t.owner_key.id).await,
        Error::PermissionDenied
    );

    let owner = world.owner(&t).await;
    let after = identities::get_identity(&world.db, &t.scope, &owner, alice.id)
        .await
        .expect("owner reads");
    assert_eq!(after.display_name, None);
    assert_eq!(after.status, IdentityStatus::Active);
    assert_eq!(after.updated_at, alice.updated_at);
    let all = identity_search::list_identities(
        &world.db,
        &t.scope,
        &owner,
        IdentityFilter {
            status: Some(IdentityStatus::Deleted),
            ..IdentityFilter::default()
        },
        page(),
    )
    .await
    .expect("deleted ones");
    assert_eq!(all.total_count, 0);
    let orgs = organizations::list_organizations(
        &world.db,
        &t.scope,
        &owner,
        OrganizationFilter::default(),
        page(),
    )
    .await
    .expect("organizations");
    assert_eq!(orgs.total_count, 1);
    assert_eq!(orgs.items[0].name, "Org acme-corp");
    assert!(world.members(&t, org.id).await.is_empty());
    let keys = api_keys::list_api_keys(&world.db, &t.scope, &owner, page())
        .await
        .expect("keys");
    assert_eq!(keys.total_count, 2);
    assert!(keys.items.iter().all(|k| k.revoked_at.is_none()));
}

async fn organization_as(
    world: &World,
    t: &TestTenant,
    actor: &Actor,
    slug: &str,
) -> latchkey_core::Result<Organization> {
    organizations::create_organization(
        &world.db,
        &t.scope,
        actor,
        NewOrganization {
            name: slug.to_owned(),
            slug: slug.to_owned(),
            kind: OrganizationKind::Partner,
            metadata: None,
            external_id: None,
        },
    )
    .await
}

#[tokio::test]
async fn an_anonymous_caller_is_unauthenticated() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let alice = world.identity(&t, "alice@example.com", true).await;
    let org = world.organization(&t, "acme-corp").await;
    let anonymous = Actor::anonymous(Some("req-1".into()));
    assert_eq!(anonymous.principal(), &Principal::Anonymous);
    assert!(anonymous.roles().is_empty());

    let db = &world.db;
    let scope = &t.scope;
    assert_err!(
        identities::get_identity(db, scope, &anonymous, alice.id).await,
        Error::Unauthenticated
    );
    assert_err!(
        identity_search::list_identities(db, scope, &anonymous, IdentityFilter::default(), page())
            .await,
        Error::Unauthenticated
    );
    assert_err!(
        identities::create_identity(db, scope, &anonymous, new_identity("eve@example.com")).await,
        Error::Unauthenticated
    );
    assert_err!(
        identities::delete_identity(db, scope, &anonymous, alice.id).await,
        Error::Unauthenticated
    );
    assert_err!(
        organizations::get_organization(db, scope, &anonymous, org.id).await,
        Error::Unauthenticated
    );
    assert_err!(
        organizations::list_members(
            db,
            scope,
            &anonymous,
            org.id,
            organizations::MemberFilter::default(),
            page()
        )
        .await,
        Error::Unauthenticated
    );
    assert_err!(
        organizations::add_member(
            db,
            scope,
            &anonymous,
            org.id,
            alice.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default()
        )
        .await,
        Error::Unauthenticated
    );
    assert_err!(
        api_keys::list_api_keys(db, scope, &anonymous, page()).await,
        Error::Unauthenticated
    );
    assert_err!(
        sessions::list_sessions(db, scope, &anonymous, alice.id, page()).await,
        Error::Unauthenticated
    );
    assert_err!(
        passkeys::list_passkeys(db, scope, &anonymous, alice.id, page()).await,
        Error::Unauthenticated
    );
    assert_err!(
        audit::list_audit_events(db, scope, &anonymous, audit::AuditFilter::default(), page())
            .await,
        Error::Unauthenticated
    );
    assert_err!(
        catalogue::get_tenant(db, scope, &anonymous).await,
        Error::Unauthenticated
    );
    // Its own things: it has none.
    assert_err!(
        identities::own_identity(db, scope, &anonymous).await,
        Error::NotFound
    );

    // Nothing was written on its behalf.
    let owner = world.owner(&t).await;
    let listed =
        identity_search::list_identities(db, scope, &owner, IdentityFilter::default(), page())
            .await
            .expect("list");
    assert_eq!(
        listed.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![alice.id]
    );
    assert!(world.members(&t, org.id).await.is_empty());
}

#[tokio::test]
async fn a_key_authenticates_on_its_own_tenant_only() {
    let world = World::new().await;
    let a = world.tenant("tenant-a").await;
    let b = world.tenant("tenant-b").await;

    // On its own tenant, A's owner key is A's owner (this also caches the lookup).
    let owner_a = world
        .authenticate_key(&a, &a.owner_secret)
        .await
        .expect("A's key on A");
    assert_eq!(
        owner_a.principal(),
        &Principal::ApiKey {
            id: a.owner_key.id,
            roles: vec![AdminRole::Owner]
        }
    );
    let own = api_keys::own_api_key(&world.db, &a.scope, &owner_a)
        .await
        .expect("own key");
    assert_eq!(own.id, a.owner_key.id);
    assert!(own.last_used_at.is_some());

    // On B it is nothing, cached on A or not, and so is A's viewer key.
    for secret in [&a.owner_secret, &a.viewer_secret] {
        assert_err!(
            world.authenticate_key(&b, secret).await,
            Error::Unauthenticated
        );
    }
    // Neither is garbage, nor a key with its prefix only.
    assert_err!(
        world.authenticate_key(&b, "lk_not-a-key").await,
        Error::Unauthenticated
    );
    assert_err!(
        world.authenticate_key(&a, &a.owner_key.prefix).await,
        Error::Unauthenticated
    );

    // B's keys did not change: never used, B's own ids.
    let keys_b = api_keys::list_api_keys(&world.db, &b.scope, &world.owner(&b).await, page())
        .await
        .expect("B's keys");
    assert_eq!(
        keys_b.items.iter().map(|k| k.id).collect::<Vec<_>>(),
        vec![b.owner_key.id, b.viewer_key.id]
    );
    assert_eq!(keys_b.items[1].last_used_at, None);
    // A's key means nothing to B's own-key lookup either.
    assert_err!(
        api_keys::own_api_key(&world.db, &b.scope, &owner_a).await,
        Error::NotFound
    );
}

#[tokio::test]
async fn a_revoked_key_stops_at_once_even_when_cached() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    // Cached by this successful lookup.
    world.viewer(&t).await;
    let revoked = api_keys::revoke_api_key(&world.db, &t.scope, &owner, t.viewer_key.id)
        .await
        .expect("revoke");
    assert_eq!(revoked.id, t.viewer_key.id);
    assert!(revoked.revoked_at.is_some());
    assert_err!(
        world.authenticate_key(&t, &t.viewer_secret).await,
        Error::Unauthenticated
    );

    // An admin key grants neither the owner role nor revokes an owner key.
    let (admin_key, admin_secret) =
        api_keys::create_api_key(&world.db, &t.scope, &owner, "admin", vec![AdminRole::Admin])
            .await
            .expect("admin key");
    assert_eq!(admin_key.roles, vec![AdminRole::Admin]);
    let admin = world
        .authenticate_key(&t, &admin_secret)
        .await
        .expect("admin");
    assert_err!(
        api_keys::create_api_key(&world.db, &t.scope, &admin, "up", vec![AdminRole::Owner]).await,
        Error::PermissionDenied
    );
    assert_err!(
        api_keys::revoke_api_key(&world.db, &t.scope, &admin, t.owner_key.id).await,
        Error::PermissionDenied
    );
    world.owner(&t).await;
}

#[tokio::test]
async fn organization_members_act_by_their_roles_and_others_see_nothing() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme-corp").await;
    let member = world.identity(&t, "member@example.com", true).await;
    let admin = world.identity(&t, "admin@example.com", true).await;
    let stranger = world.identity(&t, "stranger@example.com", true).await;
    let newcomer = world.identity(&t, "newcomer@example.com", true).await;
    for (who, role) in [(member.id, ORG_MEMBER), (admin.id, ORG_ADMIN)] {
        organizations::add_member(
            &world.db,
            &t.scope,
            &owner,
            org.id,
            who,
            &[role.to_owned()],
            organizations::Window::default(),
        )
        .await
        .expect("add member as owner");
    }
    let as_member = world.sign_in(&t, member.id).await.actor;
    let as_admin = world.sign_in(&t, admin.id).await.actor;
    let as_stranger = world.sign_in(&t, stranger.id).await.actor;
    let db = &world.db;
    let scope = &t.scope;
    let before = world.members(&t, org.id).await;
    assert_eq!(
        before,
        vec![
            (member.id, vec![ORG_MEMBER.to_owned()]),
            (admin.id, vec![ORG_ADMIN.to_owned()]),
        ]
    );

    // A plain member (org:member: organization:read, members:read) reads...
    let seen = organizations::get_organization(db, scope, &as_member, org.id)
        .await
        .expect("member reads its organization");
    assert_eq!(seen.name, "Org acme-corp");
    let listed = organizations::list_members(
        db,
        scope,
        &as_member,
        org.id,
        organizations::MemberFilter::default(),
        page(),
    )
    .await
    .expect("member lists members");
    assert_eq!(listed.total_count, 2);
    // ...but has no members:write: adding, changing roles, removing and inviting are denied.
    assert_err!(
        organizations::add_member(
            db,
            scope,
            &as_member,
            org.id,
            newcomer.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default()
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        organizations::update_member_roles(
            db,
            scope,
            &as_member,
            org.id,
            admin.id,
            &[ORG_MEMBER.to_owned()]
        )
        .await,
        Error::PermissionDenied
    );
    assert_err!(
        organizations::remove_member(db, scope, &as_member, org.id, admin.id).await,
        Error::PermissionDenied
    );
    let mailer = RecordingMailer::default();
    assert_err!(
        invitations::invite_member(
            db,
            scope,
            &as_member,
            &world.delivery(&t, &mailer),
            org.id,
            "friend@example.com",
            invitations::Offer::lasting(&[ORG_MEMBER.to_owned()]),
        )
        .await,
        Error::PermissionDenied
    );
    // Nor organization:write.
    assert_err!(
        organizations::update_organization(
            db,
            scope,
            &as_member,
            org.id,
            OrganizationChanges {
                name: Some("Mine".into()),
                ..OrganizationChanges::default()
            },
        )
        .await,
        Error::PermissionDenied
    );
    // And tenant-wide collections are no end user's.
    assert_err!(
        identity_search::list_identities(db, scope, &as_member, IdentityFilter::default(), page())
            .await,
        Error::PermissionDenied
    );
    assert_err!(
        organizations::list_organizations(
            db,
            scope,
            &as_member,
            OrganizationFilter::default(),
            page()
        )
        .await,
        Error::PermissionDenied
    );

    // An identity that is not a member does not see the organization at all.
    assert_err!(
        organizations::get_organization(db, scope, &as_stranger, org.id).await,
        Error::NotFound
    );
    assert_err!(
        organizations::list_members(
            db,
            scope,
            &as_stranger,
            org.id,
            organizations::MemberFilter::default(),
            page()
        )
        .await,
        Error::NotFound
    );
    assert_err!(
        organizations::add_member(
            db,
            scope,
            &as_stranger,
            org.id,
            stranger.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default()
        )
        .await,
        Error::NotFound
    );
    assert_err!(
        domains::list_domains(db, scope, &as_stranger, org.id).await,
        Error::NotFound
    );
    assert_err!(
        invitations::list_invitations(db, scope, &as_stranger, org.id, false, page()).await,
        Error::NotFound
    );

    // The organization admin (members:write) may change the organization, but adds nobody
    // directly: people join by invitation.
    assert!(matches!(
        organizations::add_member(
            db,
            scope,
            &as_admin,
            org.id,
            newcomer.id,
            &[ORG_MEMBER.to_owned()],
            organizations::Window::default()
        )
        .await,
        Err(Error::Refused(_))
    ));
    let renamed = organizations::update_organization(
        db,
        scope,
        &as_admin,
        org.id,
        OrganizationChanges {
            name: Some("Acme Corporation".into()),
            ..OrganizationChanges::default()
        },
    )
    .await
    .expect("org admin renames");
    assert_eq!(renamed.name, "Acme Corporation");
    // The kind is the tenant's to decide.
    assert_err!(
        organizations::update_organization(
            db,
            scope,
            &as_admin,
            org.id,
            OrganizationChanges {
                kind: Some(OrganizationKind::Partner),
                ..OrganizationChanges::default()
            },
        )
        .await,
        Error::PermissionDenied
    );
    // It cannot change its own roles.
    assert!(matches!(
        organizations::update_member_roles(
            db,
            scope,
            &as_admin,
            org.id,
            admin.id,
            &[ORG_MEMBER.to_owned()]
        )
        .await,
        Err(Error::Refused(_))
    ));

    // Membership is unchanged by all the refusals above.
    assert_eq!(world.members(&t, org.id).await, before);
    let stored = organizations::get_organization(db, scope, &owner, org.id)
        .await
        .expect("owner reads");
    assert_eq!(stored.name, "Acme Corporation");
    assert_eq!(stored.kind, OrganizationKind::Customer);
    assert!(mailer.sent().is_empty());
}

#[tokio::test]
async fn members_grant_only_what_they_hold() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme-corp").await;
    // A role that may manage members but not the organization itself.
    let inviter_role = organizations::create_organization_role(
        &world.db,
        &t.scope,
        &owner,
        "inviter",
        None,
        &[
            organizations::permission::READ_ORGANIZATION.to_owned(),
            organizations::permission::READ_MEMBERS.to_owned(),
            organizations::permission::WRITE_MEMBERS.to_owned(),
        ],
    )
    .await
    .expect("custom role");
    assert_eq!(inviter_role.name, "inviter");
    let inviter = world.identity(&t, "inviter@example.com", true).await;
    organizations::add_member(
        &world.db,
        &t.scope,
        &owner,
        org.id,
        inviter.id,
        &["inviter".to_owned()],
        organizations::Window::default(),
    )
    .await
    .expect("add inviter");
    let as_inviter = world.sign_in(&t, inviter.id).await.actor;
    let mailer = RecordingMailer::default();
    let delivery = world.delivery(&t, &mailer);

    // org:admin carries organization:write, which the inviter does not hold.
    assert!(matches!(
        invitations::invite_member(
            &world.db,
            &t.scope,
            &as_inviter,
            &delivery,
            org.id,
            "boss@example.com",
            invitations::Offer::lasting(&[ORG_ADMIN.to_owned()]),
        )
        .await,
        Err(Error::Refused(_))
    ));
    let invited = invitations::invite_member(
        &world.db,
        &t.scope,
        &as_inviter,
        &delivery,
        org.id,
        "friend@example.com",
        invitations::Offer::lasting(&[ORG_MEMBER.to_owned()]),
    )
    .await
    .expect("invite within own permissions");
    assert_eq!(invited.email, "friend@example.com");
    assert_eq!(invited.roles, vec![ORG_MEMBER.to_owned()]);
    assert_eq!(
        invited.invited_by.as_deref(),
        Some(format!("identity:{}", inviter.id).as_str())
    );
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "friend@example.com");
    assert!(
        sent[0]
            .text
            .contains(&format!("{}?invitation=", common::PAGE_URL))
    );
    // Only the one invitation exists.
    let pending = invitations::list_invitations(&world.db, &t.scope, &owner, org.id, true, page())
        .await
        .expect("list invitations");
    assert_eq!(
        pending.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![invited.id]
    );
}

#[tokio::test]
async fn an_end_user_reaches_its_own_things_only() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let alice = world.identity(&t, "alice@example.com", true).await;
    let bob = world.identity(&t, "bob@example.com", true).await;
    let as_alice = world.sign_in(&t, alice.id).await;
    let bob_session = world.sign_in(&t, bob.id).await;
    let db = &world.db;
    let scope = &t.scope;

    let me = identities::own_identity(db, scope, &as_alice.actor)
        .await
        .expect("own identity");
    assert_eq!(me.id, alice.id);
    let mine = sessions::list_sessions(db, scope, &as_alice.actor, alice.id, page())
        .await
        .expect("own sessions");
    assert_eq!(
        mine.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![as_alice.session_id]
    );
    let passkeys = passkeys::list_passkeys(db, scope, &as_alice.actor, alice.id, page())
        .await
        .expect("own passkeys");
    assert_eq!(passkeys.total_count, 0);

    // Another end user's things do not exist for it.
    assert_err!(
        sessions::list_sessions(db, scope, &as_alice.actor, bob.id, page()).await,
        Error::NotFound
    );
    assert_err!(
        passkeys::list_passkeys(db, scope, &as_alice.actor, bob.id, page()).await,
        Error::NotFound
    );
    assert_err!(
        sessions::revoke_session(db, scope, &as_alice.actor, bob_session.session_id).await,
        Error::NotFound
    );
    assert_err!(
        organizations::identity_memberships(
            db,
            scope,
            &as_alice.actor,
            bob.id,
            organizations::MemberFilter::default(),
            page()
        )
        .await,
        Error::NotFound
    );
    // Tenant-wide reads by id are for tenant credentials.
    assert_err!(
        identities::get_identity(db, scope, &as_alice.actor, bob.id).await,
        Error::PermissionDenied
    );
    assert_err!(
        identities::update_identity(
            db,
            scope,
            &as_alice.actor,
            alice.id,
            IdentityChanges::default()
        )
        .await,
        Error::PermissionDenied
    );

    // Bob's session is still live.
    world
        .authenticate_token(&t, &bob_session.access_token)
        .await
        .expect("bob's token still works");

    // Alice signs herself out: her token stops working at once.
    let ended = sessions::sign_out(db, scope, &as_alice.actor, false)
        .await
        .expect("sign out");
    assert_eq!(ended, as_alice.session_id);
    assert_err!(
        world.authenticate_token(&t, &as_alice.access_token).await,
        Error::Unauthenticated
    );
    // Suspending Bob ends his session too.
    identities::set_identity_status(
        db,
        scope,
        &world.owner(&t).await,
        bob.id,
        IdentityStatus::Suspended,
    )
    .await
    .expect("suspend bob");
    assert_err!(
        world
            .authenticate_token(&t, &bob_session.access_token)
            .await,
        Error::Unauthenticated
    );
}
