//! Domain policies, which the core applies in reaction to domain events inside the
//! transaction of the change (`domains::DomainReactions`, registered by
//! `latchkey_core::connect`), and the clean-up after a deleted organization
//! (`DomainReactions` and `invitations::InvitationReactions`).

mod common;

use common::{RecordingMailer, TestTenant, World, assert_err, page};
use latchkey_core::domains::{self, JoinRequestStatus, OrganizationDomain, VerificationMethod};
use latchkey_core::identities::{self, IdentityChanges, NewIdentity};
use latchkey_core::invitations;
use latchkey_core::organizations::{self, DomainPolicy, ORG_MEMBER, OrganizationChanges};
use latchkey_core::{Error, audit};
use uuid::Uuid;

const DOMAIN: &str = "acme.example";

/// Claims `domain` for `org` and, when `verified`, marks it verified by hand.
async fn claim(
    world: &World,
    tenant: &TestTenant,
    org: Uuid,
    domain: &str,
    verified: bool,
) -> OrganizationDomain {
    let owner = world.owner(tenant).await;
    let added = domains::add_domain(&world.db, &tenant.scope, &owner, org, domain)
        .await
        .expect("add domain");
    assert_eq!(added.organization_id, org);
    assert_eq!(added.domain, domain);
    assert_eq!(added.verified_at, None);
    assert_eq!(
        added.record_name,
        format!("_latchkey-verification.{domain}")
    );
    if !verified {
        return added;
    }
    let marked = domains::mark_domain_verified(&world.db, &tenant.scope, &owner, added.id)
        .await
        .expect("mark verified");
    assert_eq!(marked.id, added.id);
    assert!(marked.verified_at.is_some());
    assert_eq!(marked.verification_method, Some(VerificationMethod::Manual));
    marked
}

async fn set_policy(world: &World, tenant: &TestTenant, org: Uuid, policy: DomainPolicy) {
    let updated = organizations::update_organization(
        &world.db,
        &tenant.scope,
        &world.owner(tenant).await,
        org,
        OrganizationChanges {
            domain_policy: Some(policy),
            ..OrganizationChanges::default()
        },
    )
    .await
    .expect("set domain policy");
    assert_eq!(updated.domain_policy, policy);
}

async fn create(
    world: &World,
    tenant: &TestTenant,
    email: &str,
    verified: bool,
) -> latchkey_core::Result<identities::Identity> {
    identities::create_identity(
        &world.db,
        &tenant.scope,
        &world.owner(tenant).await,
        NewIdentity {
            email: email.to_owned(),
            email_verified: verified,
            ..NewIdentity::default()
        },
    )
    .await
}

#[tokio::test]
async fn auto_join_makes_a_verified_address_a_member_as_it_is_created() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme-corp").await;
    claim(&world, &t, org.id, DOMAIN, true).await;
    set_policy(&world, &t, org.id, DomainPolicy::AutoJoin).await;

    let ann = create(&world, &t, "ann@acme.example", true)
        .await
        .expect("create ann");
    // The domain part is compared case-insensitively.
    let bea = create(&world, &t, "Bea@ACME.Example", true)
        .await
        .expect("create bea");
    // Another domain, or a subdomain, is not the verified one.
    let carl = create(&world, &t, "carl@other.example", true)
        .await
        .expect("create carl");
    let dana = create(&world, &t, "dana@eu.acme.example", true)
        .await
        .expect("create dana");

    assert_eq!(
        world.members(&t, org.id).await,
        vec![
            (ann.id, vec![ORG_MEMBER.to_owned()]),
            (bea.id, vec![ORG_MEMBER.to_owned()]),
        ]
    );
    for outsider in [carl.id, dana.id] {
        let memberships = organizations::identity_memberships(
            &world.db,
            &t.scope,
            &owner,
            outsider,
            organizations::MemberFilter::default(),
            page(),
        )
        .await
        .expect("memberships");
        assert_eq!(memberships.total_count, 0);
    }
    let anns = organizations::identity_memberships(
        &world.db,
        &t.scope,
        &owner,
        ann.id,
        organizations::MemberFilter::default(),
        page(),
    )
    .await
    .expect("ann's memberships");
    assert_eq!(anns.items.len(), 1);
    assert_eq!(anns.items[0].organization.id, org.id);
    assert_eq!(
        anns.items[0].organization.domain_policy,
        DomainPolicy::AutoJoin
    );

    // The join is audited, by the caller who created the identity, with the domain.
    let joins = audit::list_audit_events(
        &world.db,
        &t.scope,
        &owner,
        audit::AuditFilter {
            action: Some("organization.member.join".into()),
            ..audit::AuditFilter::default()
        },
        page(),
    )
    .await
    .expect("audit");
    assert_eq!(joins.total_count, 2);
    let first = &joins.items[0];
    assert_eq!(first.actor_type, "api_key");
    assert_eq!(
        first.actor_id.as_deref(),
        Some(t.owner_key.id.to_string().as_str())
    );
    assert_eq!(
        first.target_id.as_deref(),
        Some(org.id.to_string().as_str())
    );
    assert_eq!(first.data["identityId"], ann.id.to_string());
    assert_eq!(first.data["domain"], DOMAIN);
    assert_eq!(joins.items[1].data["domain"], DOMAIN);
}

#[tokio::test]
async fn an_unverified_address_joins_once_it_is_verified() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme-corp").await;
    claim(&world, &t, org.id, DOMAIN, true).await;
    set_policy(&world, &t, org.id, DomainPolicy::AutoJoin).await;

    let ann = create(&world, &t, "ann@acme.example", false)
        .await
        .expect("create ann");
    assert!(!ann.email_verified);
    assert!(world.members(&t, org.id).await.is_empty());

    // A change that touches neither the email nor its verification leaves her out.
    identities::update_identity(
        &world.db,
        &t.scope,
        &owner,
        ann.id,
        IdentityChanges {
            display_name: identities::Change::Set("Ann".into()),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("rename");
    assert!(world.members(&t, org.id).await.is_empty());

    let verified = identities::update_identity(
        &world.db,
        &t.scope,
        &owner,
        ann.id,
        IdentityChanges {
            email_verified: Some(true),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("verify the address");
    assert!(verified.email_verified);
    assert_eq!(
        world.members(&t, org.id).await,
        vec![(ann.id, vec![ORG_MEMBER.to_owned()])]
    );

    // Moving a verified address to the domain: the new address is unverified until someone
    // says it is, so it joins only then.
    let bob = create(&world, &t, "bob@elsewhere.example", true)
        .await
        .expect("create bob");
    assert_eq!(world.members(&t, org.id).await.len(), 1);
    let moved = identities::update_identity(
        &world.db,
        &t.scope,
        &owner,
        bob.id,
        IdentityChanges {
            email: Some("bob@acme.example".into()),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("change bob's email");
    assert!(!moved.email_verified);
    assert_eq!(world.members(&t, org.id).await.len(), 1);
    identities::update_identity(
        &world.db,
        &t.scope,
        &owner,
        bob.id,
        IdentityChanges {
            email: Some("bob@acme.example".into()),
            email_verified: Some(true),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("verify bob's new address");
    assert_eq!(
        world.members(&t, org.id).await,
        vec![
            (ann.id, vec![ORG_MEMBER.to_owned()]),
            (bob.id, vec![ORG_MEMBER.to_owned()]),
        ]
    );

    // Verifying again changes nothing (she is a member once).
    identities::update_identity(
        &world.db,
        &t.scope,
        &owner,
        ann.id,
        IdentityChanges {
            email_verified: Some(true),
            ..IdentityChanges::default()
        },
    )
    .await
    .expect("verify again");
    assert_eq!(world.members(&t, org.id).await.len(), 2);
}

#[tokio::test]
async fn only_a_verified_domain_with_a_policy_acts() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;

    // Unverified domain, AutoJoin: nothing.
    let unverified = world.organization(&t, "unverified").await;
    claim(&world, &t, unverified.id, "unverified.example", false).await;
    set_policy(&world, &t, unverified.id, DomainPolicy::AutoJoin).await;
    create(&world, &t, "ann@unverified.example", true)
        .await
        .expect("create ann");
    assert!(world.members(&t, unverified.id).await.is_empty());

    // Verified domain, policy None (the default): nothing.
    let none = world.organization(&t, "no-policy").await;
    assert_eq!(none.domain_policy, DomainPolicy::None);
    claim(&world, &t, none.id, "none.example", true).await;
    create(&world, &t, "bob@none.example", true)
        .await
        .expect("create bob");
    assert!(world.members(&t, none.id).await.is_empty());
    let requests = domains::list_join_requests(&world.db, &t.scope, &owner, none.id, None, page())
        .await
        .expect("join requests");
    assert_eq!(requests.total_count, 0);

    // Verified domain, RequestToJoin: a pending request, no membership.
    let gated = world.organization(&t, "gated").await;
    claim(&world, &t, gated.id, "gated.example", true).await;
    set_policy(&world, &t, gated.id, DomainPolicy::RequestToJoin).await;
    let cleo = create(&world, &t, "cleo@gated.example", true)
        .await
        .expect("create cleo");
    // An unverified address files nothing.
    create(&world, &t, "dan@gated.example", false)
        .await
        .expect("create dan");
    assert!(world.members(&t, gated.id).await.is_empty());
    let requests = domains::list_join_requests(&world.db, &t.scope, &owner, gated.id, None, page())
        .await
        .expect("join requests");
    assert_eq!(requests.total_count, 1);
    let request = &requests.items[0];
    assert_eq!(request.identity.id, cleo.id);
    assert_eq!(request.organization_id, gated.id);
    assert_eq!(request.domain, "gated.example");
    assert_eq!(request.status, JoinRequestStatus::Pending);
    assert_eq!(request.decided_at, None);

    // Approving it makes her a member.
    let (decided, member) =
        domains::decide_join_request(&world.db, &t.scope, &owner, request.id, Some(vec![]))
            .await
            .expect("approve");
    assert_eq!(decided.status, JoinRequestStatus::Approved);
    assert_eq!(
        member.map(|m| (m.identity.id, m.membership.roles)),
        Some((cleo.id, vec![ORG_MEMBER.to_owned()]))
    );
    assert_eq!(
        world.members(&t, gated.id).await,
        vec![(cleo.id, vec![ORG_MEMBER.to_owned()])]
    );
}

#[tokio::test]
async fn a_domain_is_verified_for_one_organization_per_tenant() {
    let world = World::new().await;
    let a = world.tenant("tenant-a").await;
    let b = world.tenant("tenant-b").await;
    let first = world.organization(&a, "first").await;
    let second = world.organization(&a, "second").await;
    claim(&world, &a, first.id, DOMAIN, true).await;
    set_policy(&world, &a, first.id, DomainPolicy::AutoJoin).await;

    // Within the tenant, a second organization may claim it but not verify it.
    let claimed = claim(&world, &a, second.id, DOMAIN, false).await;
    assert!(matches!(
        domains::mark_domain_verified(&world.db, &a.scope, &world.owner(&a).await, claimed.id)
            .await,
        Err(Error::Conflict(_))
    ));
    let listed = domains::list_domains(&world.db, &a.scope, &world.owner(&a).await, second.id)
        .await
        .expect("list second's domains");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].verified_at, None);

    // Another tenant verifies the same domain for its own organization, policy None; its
    // sign-ups at the domain join nothing, in either tenant.
    let theirs = world.organization(&b, "theirs").await;
    claim(&world, &b, theirs.id, DOMAIN, true).await;
    let zed = create(&world, &b, "zed@acme.example", true)
        .await
        .expect("create zed in B");
    assert!(world.members(&b, theirs.id).await.is_empty());
    assert!(world.members(&a, first.id).await.is_empty());

    // A's own sign-ups join A's organization, and only it.
    let ann = create(&world, &a, "ann@acme.example", true)
        .await
        .expect("create ann in A");
    assert_eq!(
        world.members(&a, first.id).await,
        vec![(ann.id, vec![ORG_MEMBER.to_owned()])]
    );
    assert!(world.members(&a, second.id).await.is_empty());
    assert!(world.members(&b, theirs.id).await.is_empty());
    assert_ne!(zed.id, ann.id);
}

#[tokio::test]
async fn deleting_an_organization_removes_its_domains_invitations_and_join_requests() {
    let world = World::new().await;
    let t = world.tenant("acme").await;
    let owner = world.owner(&t).await;
    let org = world.organization(&t, "acme-corp").await;
    let domain = claim(&world, &t, org.id, DOMAIN, true).await;
    claim(&world, &t, org.id, "acme-unverified.example", false).await;
    set_policy(&world, &t, org.id, DomainPolicy::RequestToJoin).await;
    let ann = create(&world, &t, "ann@acme.example", true)
        .await
        .expect("create ann");
    let mailer = RecordingMailer::default();
    let invitation = invitations::invite_member(
        &world.db,
        &t.scope,
        &owner,
        &world.delivery(&t, &mailer),
        org.id,
        "friend@example.com",
        invitations::Offer::lasting(&[ORG_MEMBER.to_owned()]),
    )
    .await
    .expect("invite");
    assert_eq!(mailer.sent().len(), 1);

    // Before: two domains, one invitation, one join request.
    let domains_before = domains::list_domains(&world.db, &t.scope, &owner, org.id)
        .await
        .expect("domains");
    assert_eq!(
        domains_before
            .iter()
            .map(|d| (d.domain.as_str(), d.verified_at.is_some()))
            .collect::<Vec<_>>(),
        vec![(DOMAIN, true), ("acme-unverified.example", false)]
    );
    assert_eq!(domains_before[0].id, domain.id);
    let invitations_before =
        invitations::list_invitations(&world.db, &t.scope, &owner, org.id, false, page())
            .await
            .expect("invitations");
    assert_eq!(
        invitations_before
            .items
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        vec![invitation.id]
    );
    let requests_before =
        domains::list_join_requests(&world.db, &t.scope, &owner, org.id, None, page())
            .await
            .expect("join requests");
    assert_eq!(
        requests_before
            .items
            .iter()
            .map(|r| r.identity.id)
            .collect::<Vec<_>>(),
        vec![ann.id]
    );

    // The rows point at the organization (foreign keys, which SQLite enforces here), so the
    // delete itself succeeds only if the reactions removed them in its transaction.
    let deleted = organizations::delete_organization(&world.db, &t.scope, &owner, org.id)
        .await
        .expect("delete organization");
    assert_eq!(deleted.id, org.id);
    assert_err!(
        organizations::get_organization(&world.db, &t.scope, &owner, org.id).await,
        Error::NotFound
    );

    // Invitations are listed by organization id whether or not it exists: none left.
    let invitations_after =
        invitations::list_invitations(&world.db, &t.scope, &owner, org.id, false, page())
            .await
            .expect("invitations after");
    assert_eq!(invitations_after.total_count, 0);
    assert!(invitations_after.items.is_empty());
    // Domains and join requests are listed only for an existing organization.
    assert_err!(
        domains::list_domains(&world.db, &t.scope, &owner, org.id).await,
        Error::NotFound
    );
    assert_err!(
        domains::list_join_requests(&world.db, &t.scope, &owner, org.id, None, page()).await,
        Error::NotFound
    );
    // The join request of the deleted organization can no longer be decided.
    assert_err!(
        domains::decide_join_request(
            &world.db,
            &t.scope,
            &owner,
            requests_before.items[0].id,
            None
        )
        .await,
        Error::NotFound
    );
    // The domain row is gone too: the verified domain is free for another organization of
    // the tenant (a verified row left behind would be a conflict), and its policy applies.
    let successor = world.organization(&t, "successor").await;
    let reclaimed = claim(&world, &t, successor.id, DOMAIN, true).await;
    assert_ne!(reclaimed.id, domain.id);
    assert_err!(
        domains::remove_domain(&world.db, &t.scope, &owner, domain.id).await,
        Error::NotFound
    );
    set_policy(&world, &t, successor.id, DomainPolicy::AutoJoin).await;
    let bea = create(&world, &t, "bea@acme.example", true)
        .await
        .expect("create bea");
    assert_eq!(
        world.members(&t, successor.id).await,
        vec![(bea.id, vec![ORG_MEMBER.to_owned()])]
    );
    // The identity that asked to join the deleted organization is still there.
    identities::get_identity(&world.db, &t.scope, &owner, ann.id)
        .await
        .expect("ann survives the organization");
}
