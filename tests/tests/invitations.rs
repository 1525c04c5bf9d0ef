//! Invitations: sent over SMTP to a real SMTP listener on loopback, accepted by signing up
//! with a passkey, resent, revoked, refused clearly when spent, revoked, for another email,
//! or from another tenant; delegated to organization admins; written to the mailbox file
//! when no SMTP server is configured; and not kept when the mail server refuses.

use latchkey_tests::smtp::{SmtpSink, invitation_token};
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};

const INVITE: &str = "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id email roles status expiresAt } } }";
const ACCEPT: &str = "mutation($token: String!) { acceptInvitation(input: { token: $token }) { membership { roles organization { id } identity { email } } } }";
const PENDING: &str = "query($id: ID!) { organization(id: $id) { invitations { totalCount nodes { id email status } } } }";

async fn app_with_smtp() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let mut settings = test_settings();
    settings.mail_from = "Acme Identity <identity@acme.example>".into();
    (TestApp::start_with_smtp(settings, &sink).await, sink)
}

/// Invites `email` into `org` as `org:member` (tenant owner key); answers the invitation's id
/// and the token from the message that arrived.
async fn invite_as_member(
    app: &TestApp,
    tenant: &TestTenant,
    sink: &SmtpSink,
    org: &str,
    email: &str,
) -> (String, String) {
    let invited = invite(app, tenant, &tenant.api_key, org, email, &["org:member"]).await;
    let id = invited["data"]["inviteOrganizationMember"]["invitation"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{invited}"))
        .to_owned();
    (id, invitation_token(&sink.wait_for(email).await))
}

async fn organization(app: &TestApp, tenant: &TestTenant) -> String {
    app.create_organization(tenant, "Acme Corp", "CUSTOMER")
        .await
        .0
}

async fn invite(
    app: &TestApp,
    tenant: &TestTenant,
    token: &str,
    org: &str,
    email: &str,
    roles: &[&str],
) -> Value {
    app.as_key(
        tenant,
        token,
        INVITE,
        json!({ "input": { "organizationId": org, "email": email, "roles": roles } }),
    )
    .await
    .body
}

#[tokio::test]
async fn an_invitation_arrives_by_smtp_and_a_passkey_sign_up_accepts_it() {
    let (app, sink) = app_with_smtp().await;
    let tenant = app.create_tenant("invite").await;
    let org = organization(&app, &tenant).await;
    let email = unique_email();

    let invited = invite(&app, &tenant, &tenant.api_key, &org, &email, &["org:admin"]).await;
    let invitation = &invited["data"]["inviteOrganizationMember"]["invitation"];
    assert_eq!(invitation["status"], "PENDING", "{invited}");
    assert_eq!(invitation["roles"], json!(["org:admin"]));
    let message = sink.wait_for(&email).await;
    let text = message.text();
    assert!(
        text.contains("From: \"Acme Identity\" <identity@acme.example>"),
        "{text}"
    );
    assert!(
        text.contains("Subject: You are invited to join Acme Corp"),
        "{text}"
    );
    assert!(
        text.contains(&format!("/t/{}/?invitation=lki_", tenant.slug)),
        "{text}"
    );
    let token = invitation_token(&message);

    let pending = app.tenant(&tenant, PENDING, json!({ "id": org })).await;
    assert_eq!(
        pending.data()["organization"]["invitations"]["totalCount"],
        1
    );

    // Anonymous callers cannot accept; the invitee signs up with a passkey, then accepts.
    let anonymous = app
        .anonymous(&tenant, None, ACCEPT, json!({ "token": token }))
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    let (_device, _, invitee) = app.sign_up(&tenant, &email).await;
    let accepted = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": token }),
        )
        .await;
    let membership = &accepted.data()["acceptInvitation"]["membership"];
    assert_eq!(membership["roles"], json!(["org:admin"]));
    assert_eq!(membership["organization"]["id"], org.as_str());

    // Spent: a second accept says so; the pending list is empty; the history keeps it.
    let again = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(again.error_code(), "FORBIDDEN");
    assert!(
        again.error_message().contains("already accepted"),
        "{}",
        again.body
    );
    let pending = app.tenant(&tenant, PENDING, json!({ "id": org })).await;
    assert_eq!(
        pending.data()["organization"]["invitations"]["totalCount"],
        0
    );
    let all = app
        .tenant(&tenant, "query($id: ID!) { organization(id: $id) { invitations(pendingOnly: false) { nodes { status } } } }", json!({ "id": org }))
        .await;
    assert_eq!(
        all.data()["organization"]["invitations"]["nodes"][0]["status"],
        "ACCEPTED"
    );
    let unknown = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": "lki_nothing" }),
        )
        .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");

    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 50) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions = audit.data()["auditEvents"]["nodes"].to_string();
    for action in [
        "organization.invitation.create",
        "organization.invitation.accept",
    ] {
        assert!(actions.contains(action), "{action} in {actions}");
    }
}

#[tokio::test]
async fn resend_revoke_and_the_wrong_email_fail_clearly() {
    let (app, sink) = app_with_smtp().await;
    let tenant = app.create_tenant("resend").await;
    let org = organization(&app, &tenant).await;
    let email = unique_email();
    let (id, first) = invite_as_member(&app, &tenant, &sink, &org, &email).await;

    let resent = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { resendInvitation(input: { id: $id }) { invitation { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        resent.data()["resendInvitation"]["invitation"]["status"],
        "PENDING"
    );
    let second = invitation_token(&sink.wait_for_nth(&email, 2).await);
    assert_ne!(first, second);

    // Someone else signed in with the link: refused, naming the address it is for.
    let (_d, _, stranger) = app.sign_up(&tenant, &unique_email()).await;
    let wrong = app
        .anonymous(
            &tenant,
            Some(&stranger.access_token),
            ACCEPT,
            json!({ "token": second }),
        )
        .await;
    assert_eq!(wrong.error_code(), "FORBIDDEN");
    assert!(wrong.error_message().contains(&email), "{}", wrong.body);
    // The first link no longer works.
    let (_d, _, invitee) = app.sign_up(&tenant, &email).await;
    let old = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": first }),
        )
        .await;
    assert_eq!(old.error_code(), "NOT_FOUND");

    let revoked = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { revokeInvitation(input: { id: $id }) { invitation { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        revoked.data()["revokeInvitation"]["invitation"]["status"],
        "REVOKED"
    );
    let after = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": second }),
        )
        .await;
    assert_eq!(after.error_code(), "FORBIDDEN");
    assert!(after.error_message().contains("revoked"), "{}", after.body);

    // Bad input and a refusing mail server keep nothing.
    let bad = invite(
        &app,
        &tenant,
        &tenant.api_key,
        &org,
        "not-an-email",
        &["org:member"],
    )
    .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "email");
    let bounced = invite(
        &app,
        &tenant,
        &tenant.api_key,
        &org,
        "bounce@example.com",
        &["org:member"],
    )
    .await;
    assert!(
        bounced["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("could not be sent"),
        "{bounced}"
    );
    let all = app
        .tenant(&tenant, "query($id: ID!) { organization(id: $id) { invitations(pendingOnly: false) { totalCount } } }", json!({ "id": org }))
        .await;
    assert_eq!(
        all.data()["organization"]["invitations"]["totalCount"],
        1,
        "the bounced invitation was not kept"
    );
}

#[tokio::test]
async fn org_admins_invite_into_their_organization_only_and_tenants_stay_apart() {
    let (app, sink) = app_with_smtp().await;
    let tenant = app.create_tenant("inv-deleg").await;
    let x = organization(&app, &tenant).await;
    let y = organization(&app, &tenant).await;
    let (_d, _, admin) = app.sign_up(&tenant, &unique_email()).await;
    app.tenant(
        &tenant,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": x, "identityId": admin.identity_id, "roles": ["org:admin"] } }),
    )
    .await
    .data();

    let email = unique_email();
    let ok = invite(
        &app,
        &tenant,
        &admin.access_token,
        &x,
        &email,
        &["org:member"],
    )
    .await;
    assert!(ok.get("errors").is_none(), "{ok}");
    sink.wait_for(&email).await;
    let other = invite(
        &app,
        &tenant,
        &admin.access_token,
        &y,
        &unique_email(),
        &["org:member"],
    )
    .await;
    assert_eq!(other["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let listed = app
        .as_key(&tenant, &admin.access_token, PENDING, json!({ "id": x }))
        .await;
    assert_eq!(
        listed.data()["organization"]["invitations"]["totalCount"],
        1
    );
    let id = listed.data()["organization"]["invitations"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another tenant: the organization, the invitation and its token are unknown there.
    let b = app.create_tenant("inv-b").await;
    assert_eq!(
        invite(&app, &b, &b.api_key, &x, &unique_email(), &["org:member"]).await["errors"][0]["extensions"]
            ["code"],
        "NOT_FOUND"
    );
    let revoke = app
        .tenant(
            &b,
            "mutation($id: ID!) { revokeInvitation(input: { id: $id }) { invitation { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoke.error_code(), "NOT_FOUND");
    let token = invitation_token(&sink.wait_for(&email).await);
    let (_d, _, in_b) = app.sign_up(&b, &email).await;
    let accept = app
        .anonymous(
            &b,
            Some(&in_b.access_token),
            ACCEPT,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(accept.error_code(), "NOT_FOUND");
    // Still pending in A.
    let listed = app.tenant(&tenant, PENDING, json!({ "id": x })).await;
    assert_eq!(
        listed.data()["organization"]["invitations"]["totalCount"],
        1
    );
}

#[tokio::test]
async fn without_smtp_the_message_goes_to_the_mailbox_file() {
    let settings = test_settings();
    let mailbox = settings.data_dir.join("mailbox.txt");
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("mailbox").await;
    let org = organization(&app, &tenant).await;
    let email = unique_email();
    let invited = invite(
        &app,
        &tenant,
        &tenant.api_key,
        &org,
        &email,
        &["org:member"],
    )
    .await;
    assert!(invited.get("errors").is_none(), "{invited}");
    let text = std::fs::read_to_string(&mailbox).expect("the mailbox file");
    assert!(text.contains(&format!("To: {email}")), "{text}");
    #[cfg(unix)]
    {
        // It holds live links: the owner's only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mailbox).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The body is quoted-printable: the link's `=` is written `=3D`.
    assert!(text.contains("invitation=3Dlki_"), "{text}");
}

#[tokio::test]
async fn invitation_emails_are_limited_per_organization() {
    let (app, sink) = app_with_smtp().await;
    let tenant = app.create_tenant("inv-limit").await;
    let org = organization(&app, &tenant).await;
    let other = organization(&app, &tenant).await;
    let limit = latchkey_core::invitations::INVITATIONS_PER_HOUR;
    for _ in 0..limit {
        let sent = invite(
            &app,
            &tenant,
            &tenant.api_key,
            &org,
            &unique_email(),
            &["org:member"],
        )
        .await;
        assert!(sent.get("errors").is_none(), "{sent}");
    }
    let email = unique_email();
    let refused = invite(
        &app,
        &tenant,
        &tenant.api_key,
        &org,
        &email,
        &["org:member"],
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );
    assert_eq!(sink.count_for(&email), 0, "nothing was sent");
    let pending = app.tenant(&tenant, PENDING, json!({ "id": org })).await;
    assert_eq!(
        pending.data()["organization"]["invitations"]["totalCount"],
        limit,
        "the refused one was not kept"
    );
    // Another organization has its own allowance.
    let elsewhere = invite(
        &app,
        &tenant,
        &tenant.api_key,
        &other,
        &unique_email(),
        &["org:member"],
    )
    .await;
    assert!(elsewhere.get("errors").is_none(), "{elsewhere}");
}

/// An invitation past its expiry is refused, saying so; resending it gives a new link that
/// works. The clock is moved by setting the stored expiry in the past, through a database
/// connection of the test's own (a SQLite file here, or PostgreSQL).
#[tokio::test]
async fn an_expired_invitation_is_refused_and_a_resent_one_works() {
    use sea_orm::{ConnectionTrait, Database, Statement};

    let sink = SmtpSink::start().await;
    let mut settings = test_settings();
    let database_url = match latchkey_tests::test_migration_database_url() {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&settings.data_dir).unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                settings.data_dir.join("latchkey.db").display()
            );
            settings.database_url = Some(url.clone());
            url
        }
    };
    let app = TestApp::start_with_smtp(settings, &sink).await;
    let tenant = app.create_tenant("expired").await;
    let org = organization(&app, &tenant).await;
    let email = unique_email();
    let (id, token) = invite_as_member(&app, &tenant, &sink, &org, &email).await;

    let direct = Database::connect(database_url.as_str()).await.unwrap();
    let backend = direct.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE invitations SET expires_at = $1 WHERE id = $2",
        _ => "UPDATE invitations SET expires_at = ? WHERE id = ?",
    };
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let changed = direct
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [past.into(), uuid::Uuid::parse_str(&id).unwrap().into()],
        ))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);

    let listed = app.tenant(&tenant, PENDING, json!({ "id": org })).await;
    assert_eq!(
        listed.data()["organization"]["invitations"]["totalCount"],
        0,
        "an expired invitation is not pending"
    );
    let (_device, _, invitee) = app.sign_up(&tenant, &email).await;
    let refused = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": token }),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(
        refused.error_message().contains("expired"),
        "{}",
        refused.error_message()
    );

    // Resent: a new token, a new expiry, and it works.
    app.tenant(
        &tenant,
        "mutation($id: ID!) { resendInvitation(input: { id: $id }) { invitation { status } } }",
        json!({ "id": id }),
    )
    .await
    .data();
    // The invitation, the invitee's sign-up code, then the resent invitation.
    let fresh = invitation_token(&sink.wait_for_nth(&email, 3).await);
    assert_ne!(fresh, token);
    let accepted = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            ACCEPT,
            json!({ "token": fresh }),
        )
        .await;
    assert_eq!(
        accepted.data()["acceptInvitation"]["membership"]["organization"]["id"],
        org.as_str()
    );
}
