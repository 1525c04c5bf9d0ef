//! Access with a validity window: memberships and role grants that start and end, enforced at
//! the moment (API, refresh, authorize, `switchOrganization`) by an injectable clock, and the
//! `membership.*` events of each start and end delivered once to a webhook connector, also
//! when the server was down at the moment and with two servers on one database.

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use latchkey_core::clock::Clock;
use latchkey_tests::clock::ManualClock;
use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::passkey::{SignedIn, claims};
use latchkey_tests::smtp::invitation_token;
use latchkey_tests::{TestApp, TestTenant, durable_settings, test_settings, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLBACK: &str = "https://rp.example/cb";
const SWITCH: &str = "mutation($input: SwitchOrganizationInput!) { switchOrganization(input: $input) { accessToken refreshToken } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";
const ORGANIZATION: &str = "query($id: ID!) { organization(id: $id) { id name } }";
const MEMBERSHIP_FIELDS: &str = "id roles rolesInForce status validFrom validUntil grants { id role status validFrom validUntil }";

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// A time as events write it.
fn time_of(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn add_member(
    app: &TestApp,
    tenant: &TestTenant,
    org: &str,
    identity: &str,
    window: Value,
) -> Value {
    let mut input =
        json!({ "organizationId": org, "identityId": identity, "roles": ["org:member"] });
    input
        .as_object_mut()
        .unwrap()
        .extend(window.as_object().unwrap().clone());
    let query = format!(
        "mutation($input: AddOrganizationMemberInput!) {{ addOrganizationMember(input: $input) {{ membership {{ {MEMBERSHIP_FIELDS} }} }} }}"
    );
    app.tenant(tenant, &query, json!({ "input": input }))
        .await
        .body
}

async fn members(app: &TestApp, tenant: &TestTenant, org: &str, filter: Value) -> Vec<Value> {
    let query = format!(
        "query($id: ID!, $filter: MemberFilter) {{ organization(id: $id) {{ members(filter: $filter) {{ nodes {{ {MEMBERSHIP_FIELDS} identity {{ id }} }} }} }} }}"
    );
    app.tenant(tenant, &query, json!({ "id": org, "filter": filter }))
        .await
        .data()["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn grant(app: &TestApp, tenant: &TestTenant, key: &str, input: Value) -> Value {
    let query = format!(
        "mutation($input: GrantOrganizationRoleInput!) {{ grantOrganizationRole(input: $input) {{ grant {{ id role status }} membership {{ {MEMBERSHIP_FIELDS} }} }} }}"
    );
    app.as_key(tenant, key, &query, json!({ "input": input }))
        .await
        .body
}

/// A webhook receiver that accepts every POST, and a connector of `tenant` sending it the
/// `membership.*` events.
async fn webhook(app: &TestApp, tenant: &TestTenant) -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let created = app
        .tenant(
            tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "Access changes",
                "kind": "WEBHOOK",
                "triggers": ["MEMBERSHIP_STARTED", "MEMBERSHIP_EXPIRED", "MEMBERSHIP_ROLE_GRANTED", "MEMBERSHIP_ROLE_EXPIRED"],
                "settings": { "url": receiver.uri() },
                "credentials": { "secret": "whsec-membership-windows" },
            } }),
        )
        .await;
    created.data();
    receiver
}

/// The events of `event_type` the receiver got for `membership`.
async fn received(receiver: &MockServer, event_type: &str, membership: &str) -> Vec<Value> {
    receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        .filter(|body| body["type"] == event_type && body["data"]["id"] == membership)
        .collect()
}

/// Waits (at most 20 s) until the receiver has an event of `event_type` for `membership`.
async fn delivered(receiver: &MockServer, event_type: &str, membership: &str) -> Value {
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(event) = received(receiver, event_type, membership).await.pop() {
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "no {event_type} event for {membership}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// How many `event_type` events the tenant's outbox holds about `membership`.
async fn events(app: &TestApp, tenant: &TestTenant, event_type: &str, membership: &str) -> usize {
    app.tenant(
        tenant,
        "query($filter: DomainEventFilter) { domainEvents(filter: $filter) { nodes { id } } }",
        json!({ "filter": { "type": event_type, "subjectId": membership } }),
    )
    .await
    .data()["domainEvents"]["nodes"]
        .as_array()
        .unwrap()
        .len()
}

/// A server on a clock the test moves, a tenant with a webhook receiver, an organization and
/// an end user signed in with a passkey.
struct Setup {
    clock: Arc<ManualClock>,
    app: TestApp,
    tenant: TestTenant,
    receiver: MockServer,
    org: String,
    org_slug: String,
    member: SignedIn,
}

impl Setup {
    async fn start(name: &str) -> Self {
        let clock = Arc::new(ManualClock::new());
        let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
        let tenant = app.create_tenant(name).await;
        let receiver = webhook(&app, &tenant).await;
        let (org, org_slug) = app
            .create_organization(&tenant, "Contractor", "PARTNER")
            .await;
        let (_device, _, member) = app.sign_up(&tenant, &unique_email()).await;
        Self {
            clock,
            app,
            tenant,
            receiver,
            org,
            org_slug,
            member,
        }
    }
}

#[tokio::test]
async fn a_member_is_refused_everywhere_the_moment_the_window_ends() {
    let Setup {
        clock,
        app,
        tenant,
        receiver,
        org,
        org_slug,
        member,
    } = Setup::start("window-end").await;
    // An hour ahead: on PostgreSQL every server of this suite writes due events of every
    // tenant, and the other tests move their clocks by minutes at most, so none of them ends
    // this membership (and its sessions) early.
    let until = clock.now() + Duration::hours(1);
    let added = add_member(
        &app,
        &tenant,
        &org,
        &member.identity_id,
        json!({ "validUntil": at(until) }),
    )
    .await;
    let membership = &added["data"]["addOrganizationMember"]["membership"];
    assert_eq!(membership["status"], "ACTIVE", "{added}");
    assert_eq!(membership["validUntil"], at(until));
    let membership_id = membership["id"].as_str().unwrap().to_owned();

    // Before the end: the member reads the organization, switches to it (the token ends with
    // the membership), and an application gets an organization-scoped code.
    let read = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            ORGANIZATION,
            json!({ "id": org }),
        )
        .await;
    assert_eq!(read.data()["organization"]["id"], org.as_str());
    let switched = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            SWITCH,
            json!({ "input": { "organizationId": org } }),
        )
        .await;
    let scoped = switched.data()["switchOrganization"].clone();
    let scoped_access = scoped["accessToken"].as_str().unwrap().to_owned();
    assert!(claims(&scoped_access)["exp"].as_i64().unwrap() <= until.timestamp() + 1);
    assert_eq!(
        app.anonymous(
            &tenant,
            Some(&scoped_access),
            "{ viewer { kind } }",
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let secret = web.client_secret.clone().unwrap();
    let mut browser = Browser::new();
    browser
        .establish_session(&app, &tenant, &member.access_token)
        .await;
    let authorize = app.authorize_url(
        &tenant,
        &web.client_id,
        CALLBACK,
        &[
            ("state", "s"),
            ("scope", "openid offline_access"),
            ("organization", &org_slug),
        ],
    );
    let (status, location, body) = browser.get(&authorize).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let code = param(&url::Url::parse(&location.unwrap()).unwrap(), "code").unwrap();
    let (status, app_tokens) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&web.client_id, &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{app_tokens}");
    let app_access_token = app_tokens["access_token"].as_str().unwrap().to_owned();
    let app_access = claims(&app_access_token);
    assert!(app_access["exp"].as_i64().unwrap() <= until.timestamp() + 1);
    // What a resource server sees of the application's token: userinfo and introspection.
    let resource_server = |token: String| {
        let app = &app;
        let tenant = &tenant;
        let web = &web;
        let secret = secret.clone();
        async move {
            let userinfo = app
                .client
                .get(app.oauth_url(tenant, "userinfo"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            let (_, introspected) = app
                .oauth_post(
                    tenant,
                    "introspect",
                    Some((&web.client_id, &secret)),
                    &[("token", &token)],
                )
                .await;
            (userinfo, introspected["active"].clone())
        }
    };
    assert_eq!(
        resource_server(app_access_token.clone()).await,
        (StatusCode::OK, json!(true))
    );

    // The window ends; nothing restarts.
    clock.advance(3601);
    let read = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            ORGANIZATION,
            json!({ "id": org }),
        )
        .await;
    assert_eq!(read.error_code(), "NOT_FOUND");
    assert_eq!(
        app.anonymous(
            &tenant,
            Some(&scoped_access),
            "{ viewer { kind } }",
            json!({})
        )
        .await
        .error_code(),
        "UNAUTHENTICATED"
    );
    let refreshed = app
        .anonymous(
            &tenant,
            None,
            REFRESH,
            json!({ "t": scoped["refreshToken"] }),
        )
        .await;
    assert_eq!(refreshed.error_code(), "UNAUTHENTICATED");
    let switched = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            SWITCH,
            json!({ "input": { "organizationId": org } }),
        )
        .await;
    assert_eq!(switched.error_code(), "NOT_FOUND");
    let (_, location, _) = browser.get(&authorize).await;
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&web.client_id, &secret)),
            &[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    app_tokens["refresh_token"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        resource_server(app_access_token).await,
        (StatusCode::UNAUTHORIZED, json!(false))
    );
    // The member's own session outside the organization goes on.
    assert_eq!(
        app.anonymous(
            &tenant,
            Some(&member.access_token),
            "{ viewer { kind } }",
            json!({})
        )
        .await
        .status,
        StatusCode::OK
    );

    // The admin sees it expired, in the list filtered by status too.
    let expired = members(&app, &tenant, &org, json!({ "status": "EXPIRED" })).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["status"], "EXPIRED");
    assert_eq!(expired[0]["rolesInForce"], json!([]));
    assert!(
        members(&app, &tenant, &org, json!({ "status": "ACTIVE" }))
            .await
            .is_empty()
    );

    // The webhook hears of the end once.
    let event = delivered(&receiver, "membership.expired", &membership_id).await;
    assert_eq!(
        time_of(&event["data"]["validUntil"]),
        until.trunc_subsecs(6)
    );
    assert_eq!(
        time_of(&event["data"]["effectiveAt"]),
        until.trunc_subsecs(6)
    );
    assert_eq!(
        events(&app, &tenant, "MEMBERSHIP_EXPIRED", &membership_id).await,
        1
    );
}

#[tokio::test]
async fn an_end_while_no_server_runs_is_delivered_once_after_the_restart() {
    let clock = Arc::new(ManualClock::new());
    let settings = durable_settings();
    let first = TestApp::start_with_clock(settings.clone(), clock.clone()).await;
    let tenant = first.create_tenant("window-down").await;
    let receiver = webhook(&first, &tenant).await;
    let (org, _) = first
        .create_organization(&tenant, "Contractor", "CUSTOMER")
        .await;
    let identity = first.create_identity(&tenant, &unique_email()).await;
    let until = clock.now() + Duration::seconds(5);
    let added = add_member(
        &first,
        &tenant,
        &org,
        &identity,
        json!({ "validUntil": at(until) }),
    )
    .await;
    let membership = added["data"]["addOrganizationMember"]["membership"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{added}"))
        .to_owned();
    first.stop().await;

    // The end passes while nothing runs; then two servers start on the database.
    clock.advance(60);
    let one = TestApp::start_with_clock(settings.clone(), clock.clone()).await;
    let two = TestApp::start_with_clock(settings, clock.clone()).await;
    delivered(&receiver, "membership.expired", &membership).await;
    // The one real wait of this suite: a few more rounds of both servers' workers.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        received(&receiver, "membership.expired", &membership)
            .await
            .len(),
        1
    );
    assert_eq!(
        events(&one, &tenant, "MEMBERSHIP_EXPIRED", &membership).await,
        1
    );
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_pending_membership_starts_and_a_granted_role_ends_on_time() {
    let Setup {
        clock,
        app,
        tenant,
        receiver,
        org,
        member,
        ..
    } = Setup::start("window-start").await;
    let from = clock.now() + Duration::seconds(60);
    let added = add_member(
        &app,
        &tenant,
        &org,
        &member.identity_id,
        json!({ "validFrom": at(from) }),
    )
    .await;
    let membership = &added["data"]["addOrganizationMember"]["membership"];
    assert_eq!(membership["status"], "PENDING", "{added}");
    let membership_id = membership["id"].as_str().unwrap().to_owned();
    let read = |token: String| {
        let app = &app;
        let tenant = &tenant;
        let org = org.clone();
        async move {
            app.anonymous(tenant, Some(&token), ORGANIZATION, json!({ "id": org }))
                .await
        }
    };
    assert_eq!(
        read(member.access_token.clone()).await.error_code(),
        "NOT_FOUND"
    );
    let pending = members(&app, &tenant, &org, json!({ "status": "PENDING" })).await;
    assert_eq!(pending.len(), 1);

    clock.advance(61);
    assert_eq!(
        read(member.access_token.clone()).await.data()["organization"]["id"],
        org.as_str()
    );
    delivered(&receiver, "membership.started", &membership_id).await;

    // A day of support access: org:admin for 30 s, within the membership.
    let ends = clock.now() + Duration::seconds(30);
    let granted = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": membership_id, "role": "org:admin", "validUntil": at(ends) }),
    )
    .await;
    let payload = &granted["data"]["grantOrganizationRole"];
    assert_eq!(payload["grant"]["status"], "ACTIVE", "{granted}");
    assert_eq!(
        payload["membership"]["rolesInForce"],
        json!(["org:admin", "org:member"])
    );
    let grant_id = payload["grant"]["id"].as_str().unwrap().to_owned();
    // The role works at once (org:admin lists invitations), and a token scoped to the
    // organization carries it and ends with it.
    const INVITATIONS: &str =
        "query($id: ID!) { organization(id: $id) { invitations { totalCount } } }";
    let invitations = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            INVITATIONS,
            json!({ "id": org }),
        )
        .await;
    assert_eq!(
        invitations.data()["organization"]["invitations"]["totalCount"],
        0
    );
    let switched = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            SWITCH,
            json!({ "input": { "organizationId": org } }),
        )
        .await;
    let token = claims(
        switched.data()["switchOrganization"]["accessToken"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(token["roles"], json!(["org:admin", "org:member"]));
    assert!(token["exp"].as_i64().unwrap() <= ends.timestamp() + 1);
    delivered(&receiver, "membership.role_granted", &membership_id).await;

    clock.advance(31);
    let invitations = app
        .anonymous(
            &tenant,
            Some(&member.access_token),
            INVITATIONS,
            json!({ "id": org }),
        )
        .await;
    assert_eq!(invitations.error_code(), "FORBIDDEN");
    let now = members(&app, &tenant, &org, json!({})).await;
    assert_eq!(now[0]["rolesInForce"], json!(["org:member"]));
    assert_eq!(now[0]["grants"][0]["status"], "EXPIRED");
    let ended = delivered(&receiver, "membership.role_expired", &membership_id).await;
    assert_eq!(ended["data"]["grant"]["id"], grant_id.as_str());
    assert_eq!(ended["data"]["grant"]["role"], "org:admin");

    // Revoking a grant before its end takes the role away at once.
    let later = clock.now() + Duration::hours(24);
    let again = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": membership_id, "role": "org:admin", "validUntil": at(later) }),
    )
    .await;
    let again_id = again["data"]["grantOrganizationRole"]["grant"]["id"].clone();
    let revoked = app
        .tenant(
            &tenant,
            "mutation($input: RevokeOrganizationRoleInput!) { revokeOrganizationRole(input: $input) { grants { id } membership { rolesInForce } } }",
            json!({ "input": { "grantId": again_id } }),
        )
        .await;
    let revoked = &revoked.data()["revokeOrganizationRole"];
    assert_eq!(revoked["grants"][0]["id"], again_id);
    assert_eq!(revoked["membership"]["rolesInForce"], json!(["org:member"]));
}

#[tokio::test]
async fn who_has_access_until_when() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("window-view").await;
    let (org, _) = app
        .create_organization(&tenant, "Customer", "CUSTOMER")
        .await;
    let soon = app.create_identity(&tenant, &unique_email()).await;
    let later = app.create_identity(&tenant, &unique_email()).await;
    let lasting = app.create_identity(&tenant, &unique_email()).await;
    let in_a_day = clock.now() + Duration::days(1);
    let in_a_year = clock.now() + Duration::days(365);
    add_member(
        &app,
        &tenant,
        &org,
        &soon,
        json!({ "validUntil": at(in_a_day) }),
    )
    .await;
    add_member(
        &app,
        &tenant,
        &org,
        &later,
        json!({ "validUntil": at(in_a_year) }),
    )
    .await;
    let added = add_member(&app, &tenant, &org, &lasting, json!({})).await;
    let lasting_membership = added["data"]["addOrganizationMember"]["membership"]["id"].clone();
    // A grant ending within the week puts a lasting membership on the list too.
    grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": lasting_membership, "role": "org:admin", "validUntil": at(clock.now() + Duration::days(2)) }),
    )
    .await;
    let week = at(clock.now() + Duration::days(7));
    let ending = members(
        &app,
        &tenant,
        &org,
        json!({ "status": "ACTIVE", "expiringBefore": week }),
    )
    .await;
    assert_eq!(ending.len(), 1);
    assert_eq!(ending[0]["identity"]["id"], soon.as_str());
    let expiring = app
        .tenant(
            &tenant,
            "query($before: DateTime!) { expiringAccess(before: $before) { nodes { identity { id } validUntil grants { role validUntil } } } }",
            json!({ "before": week }),
        )
        .await;
    let nodes = expiring.data()["expiringAccess"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = nodes
        .iter()
        .map(|node| node["identity"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![soon.as_str(), lasting.as_str()]);

    // The identity's own view: every membership with its window and grants.
    let access = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { access { nodes { organization { id } status validUntil rolesInForce } } } }",
            json!({ "id": later }),
        )
        .await;
    let access = &access.data()["identity"]["access"]["nodes"][0];
    assert_eq!(access["organization"]["id"], org.as_str());
    assert_eq!(access["validUntil"], at(in_a_year));
    assert_eq!(access["rolesInForce"], json!(["org:member"]));
}

#[tokio::test]
async fn an_invitation_carries_its_window_to_the_membership() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("window-invite").await;
    let (org, _) = app
        .create_organization(&tenant, "Customer", "CUSTOMER")
        .await;
    let email = unique_email();
    let from = Utc::now() + Duration::days(1);
    let until = from + Duration::days(30);
    let invited = app
        .tenant(
            &tenant,
            "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { validFrom validUntil } } }",
            json!({ "input": { "organizationId": org, "email": email, "validFrom": at(from), "validUntil": at(until) } }),
        )
        .await;
    let invitation = &invited.data()["inviteOrganizationMember"]["invitation"];
    assert_eq!(invitation["validUntil"], at(until));
    let token = invitation_token(&app.last_mail_to(&email).expect("the invitation email"));
    let (_device, _, invitee) = app.sign_up(&tenant, &email).await;
    let accepted = app
        .anonymous(
            &tenant,
            Some(&invitee.access_token),
            "mutation($token: String!) { acceptInvitation(input: { token: $token }) { membership { status validFrom validUntil } } }",
            json!({ "token": token }),
        )
        .await;
    let membership = &accepted.data()["acceptInvitation"]["membership"];
    assert_eq!(membership["status"], "PENDING");
    assert_eq!(membership["validFrom"], at(from));
    assert_eq!(membership["validUntil"], at(until));
}

#[tokio::test]
async fn bad_windows_roles_and_grants_are_bad_input_and_save_nothing() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("window-bad").await;
    let (org, _) = app
        .create_organization(&tenant, "Customer", "CUSTOMER")
        .await;
    let identity = app.create_identity(&tenant, &unique_email()).await;
    let now = clock.now();
    let backwards = json!({ "validFrom": at(now + Duration::days(2)), "validUntil": at(now + Duration::days(1)) });
    let refused = add_member(&app, &tenant, &org, &identity, backwards.clone()).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    assert_eq!(refused["errors"][0]["extensions"]["field"], "validUntil");
    assert!(members(&app, &tenant, &org, json!({})).await.is_empty());
    let invited = app
        .tenant(
            &tenant,
            "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
            json!({ "input": { "organizationId": org, "email": unique_email(), "validFrom": backwards["validFrom"], "validUntil": backwards["validUntil"] } }),
        )
        .await;
    assert_eq!(invited.error_code(), "BAD_USER_INPUT");

    let added = add_member(
        &app,
        &tenant,
        &org,
        &identity,
        json!({ "validUntil": at(now + Duration::seconds(10)) }),
    )
    .await;
    let membership = added["data"]["addOrganizationMember"]["membership"]["id"].clone();
    let updated = app
        .tenant(
            &tenant,
            "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": identity, "validFrom": at(now + Duration::days(1)) } }),
        )
        .await;
    assert_eq!(updated.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        updated.body["errors"][0]["extensions"]["field"],
        "validUntil"
    );
    let unchanged = members(&app, &tenant, &org, json!({})).await;
    assert_eq!(unchanged[0]["validFrom"], Value::Null);

    let unknown = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": membership, "role": "org:owner" }),
    )
    .await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["field"], "role",
        "{unknown}"
    );
    let backwards_grant = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": membership, "role": "org:admin", "validFrom": backwards["validFrom"], "validUntil": backwards["validUntil"] }),
    )
    .await;
    assert_eq!(
        backwards_grant["errors"][0]["extensions"]["field"],
        "validUntil"
    );
    clock.advance(11);
    let on_expired = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": membership, "role": "org:admin" }),
    )
    .await;
    assert_eq!(
        on_expired["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(
        on_expired["errors"][0]["extensions"]["field"],
        "membershipId"
    );
    assert_eq!(
        members(&app, &tenant, &org, json!({})).await[0]["grants"],
        json!([])
    );
    let neither = app
        .tenant(
            &tenant,
            "mutation { revokeOrganizationRole(input: {}) { grants { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(neither.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn grants_and_windows_stay_inside_their_tenant_and_organization() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("window-iso").await;
    let other = app.create_tenant("window-iso-other").await;
    let (x, _) = app.create_organization(&tenant, "X", "CUSTOMER").await;
    let (y, _) = app.create_organization(&tenant, "Y", "CUSTOMER").await;
    let (_device, _, admin_of_x) = app.sign_up(&tenant, &unique_email()).await;
    let target = app.create_identity(&tenant, &unique_email()).await;
    let in_x = add_member(&app, &tenant, &x, &admin_of_x.identity_id, json!({})).await;
    let admin_membership = in_x["data"]["addOrganizationMember"]["membership"]["id"].clone();
    app.tenant(
        &tenant,
        "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": x, "identityId": admin_of_x.identity_id, "roles": ["org:admin"] } }),
    )
    .await
    .data();
    let in_y = add_member(
        &app,
        &tenant,
        &y,
        &target,
        json!({ "validUntil": at(Utc::now() + Duration::days(3)) }),
    )
    .await;
    let y_membership = in_y["data"]["addOrganizationMember"]["membership"]["id"].clone();
    let granted = grant(
        &app,
        &tenant,
        &tenant.api_key,
        json!({ "membershipId": y_membership, "role": "org:admin" }),
    )
    .await;
    let y_grant = granted["data"]["grantOrganizationRole"]["grant"]["id"].clone();

    // Another tenant's key: none of it exists.
    let foreign = grant(
        &app,
        &other,
        &other.api_key,
        json!({ "membershipId": y_membership, "role": "org:member" }),
    )
    .await;
    assert_eq!(
        foreign["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{foreign}"
    );
    let revoke = "mutation($input: RevokeOrganizationRoleInput!) { revokeOrganizationRole(input: $input) { grants { id } } }";
    for input in [
        json!({ "grantId": y_grant }),
        json!({ "membershipId": y_membership, "role": "org:admin" }),
    ] {
        let refused = app.tenant(&other, revoke, json!({ "input": input })).await;
        assert_eq!(refused.error_code(), "NOT_FOUND", "{input}");
    }
    let expiring = app
        .tenant(
            &other,
            "query($before: DateTime!) { expiringAccess(before: $before) { totalCount } }",
            json!({ "before": at(Utc::now() + Duration::days(30)) }),
        )
        .await;
    assert_eq!(expiring.data()["expiringAccess"]["totalCount"], 0);
    let access = app
        .tenant(
            &other,
            "query($id: ID!) { identity(id: $id) { access { totalCount } } }",
            json!({ "id": target }),
        )
        .await;
    assert_eq!(access.error_code(), "NOT_FOUND");

    // The admin of X acts in X only: Y's memberships and grants do not exist to them.
    let as_admin = |query: &'static str, input: Value| {
        let app = &app;
        let tenant = &tenant;
        let token = admin_of_x.access_token.clone();
        async move {
            app.anonymous(tenant, Some(&token), query, json!({ "input": input }))
                .await
        }
    };
    let grant_query = "mutation($input: GrantOrganizationRoleInput!) { grantOrganizationRole(input: $input) { grant { id } } }";
    let refused = as_admin(
        grant_query,
        json!({ "membershipId": y_membership, "role": "org:member" }),
    )
    .await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    let refused = as_admin(revoke, json!({ "grantId": y_grant })).await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    // Nor may they give themselves more, or anyone a role beyond their own.
    let own = as_admin(
        grant_query,
        json!({ "membershipId": admin_membership, "role": "org:member" }),
    )
    .await;
    assert_eq!(own.error_code(), "FORBIDDEN");
    // An end user does not see the tenant-wide list.
    let listed = app
        .anonymous(
            &tenant,
            Some(&admin_of_x.access_token),
            "query($before: DateTime!) { expiringAccess(before: $before) { totalCount } }",
            json!({ "before": at(Utc::now() + Duration::days(30)) }),
        )
        .await;
    assert_eq!(listed.error_code(), "FORBIDDEN");
}
