//! The console's administrators: people invited by email who enrol a passkey, hold a role per
//! tenant, and call the tenant API with a console session (a cookie with a CSRF header, bound
//! to their browser). Roles, the last owner, session binding and CSRF, recovery, links that
//! serve once, the command line's invitation, and isolation between tenants.

use latchkey_api::config::Config;
use latchkey_core::AdminRole;
use latchkey_core::administrators::invite_from_command_line;
use latchkey_tests::clock::ManualClock;
use latchkey_tests::console::{BROWSER, mailed_token};
use latchkey_tests::{TestApp, durable_settings, test_settings, unique};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

const ADMINISTRATORS: &str =
    "{ administrators { id email role } administratorInvitations { email role } }";
const INVITE: &str = "mutation($input: InviteAdministratorInput!) { inviteAdministrator(input: $input) { invitation { id email role expiresAt } } }";
const UPDATE: &str = "mutation($input: UpdateAdministratorInput!) { updateAdministrator(input: $input) { administrator { id role } } }";
const REMOVE: &str = "mutation($input: RemoveAdministratorInput!) { removeAdministrator(input: $input) { removedAdministratorId } }";
const CANCEL: &str = "mutation($input: CancelAdministratorInvitationInput!) { cancelAdministratorInvitation(input: $input) { cancelledInvitationId } }";
const CREATE_IDENTITY: &str =
    "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }";

fn address(name: &str) -> String {
    format!("{}@example.com", unique(name))
}

#[tokio::test]
async fn invited_administrators_act_with_their_role_and_the_audit_log_names_them() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("admins").await;
    let owner = app
        .invited_administrator(&tenant, &address("owner"), "OWNER")
        .await;
    let viewer = app
        .invited_administrator(&tenant, &address("viewer"), "VIEWER")
        .await;
    let support = app
        .invited_administrator(&tenant, &address("support"), "SUPPORT")
        .await;
    let path = format!("/t/{}/graphql", tenant.slug);

    // The session names the tenant and the role.
    assert_eq!(viewer.session["tenants"][0]["slug"], tenant.slug.as_str());
    assert_eq!(viewer.session["tenants"][0]["role"], "VIEWER");
    assert_eq!(viewer.session["platformRole"], serde_json::Value::Null);

    // Everyone with a role reads the administrators; only the owner invites.
    let listed = app
        .as_administrator(&viewer, &path, ADMINISTRATORS, json!({}))
        .await;
    let roles: Vec<(String, String)> = listed.data()["administrators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap().to_owned(),
                a["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        roles.contains(&(owner.email.clone(), "OWNER".into())),
        "{roles:?}"
    );
    assert!(
        roles.contains(&(viewer.email.clone(), "VIEWER".into())),
        "{roles:?}"
    );
    let invite = json!({ "input": { "email": address("someone"), "role": "ADMIN" } });
    for refused in [&viewer, &support] {
        let answer = app
            .as_administrator(refused, &path, INVITE, invite.clone())
            .await;
        assert_eq!(answer.error_code(), "FORBIDDEN", "{}", answer.body);
    }
    let invited = app.as_administrator(&owner, &path, INVITE, invite).await;
    assert_eq!(
        invited.data()["inviteAdministrator"]["invitation"]["role"],
        "ADMIN"
    );

    // The viewer reads but does not write; support writes identities but reads no keys.
    let identity = json!({ "input": { "email": address("person") } });
    let refused = app
        .as_administrator(&viewer, &path, CREATE_IDENTITY, identity.clone())
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let created = app
        .as_administrator(&support, &path, CREATE_IDENTITY, identity)
        .await;
    let identity_id = created.data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let keys = app
        .as_administrator(&support, &path, "{ apiKeys { nodes { id } } }", json!({}))
        .await;
    assert_eq!(keys.error_code(), "FORBIDDEN", "{}", keys.body);
    let viewer_of = app
        .as_administrator(&viewer, &path, "{ viewer { kind } }", json!({}))
        .await;
    assert_eq!(viewer_of.data()["viewer"]["kind"], "ADMINISTRATOR");

    // The audit log names the administrator, and the invitation names who invited.
    let audit = app
        .tenant(
            &tenant,
            "query($f: AuditEventFilter) { auditEvents(first: 50, filter: $f) { nodes { actorType actorId action } } }",
            json!({ "f": { "targetId": identity_id } }),
        )
        .await;
    let created_by = &audit.data()["auditEvents"]["nodes"][0];
    assert_eq!(created_by["action"], "identity.create");
    assert_eq!(created_by["actorType"], "administrator");
    assert_eq!(created_by["actorId"], support.id.as_str());
    // The log filters by actor and time on the server.
    const BY: &str = "query($f: AuditEventFilter) { auditEvents(first: 50, filter: $f) { totalCount nodes { action actorId } } }";
    let by_support = app
        .tenant(
            &tenant,
            BY,
            json!({ "f": { "actorType": "administrator", "actorId": support.id } }),
        )
        .await;
    let by_support = &by_support.data()["auditEvents"]["nodes"];
    assert!(
        by_support
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actorId"] == support.id.as_str())
    );
    assert!(
        by_support
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "identity.create")
    );
    let long_ago = app
        .tenant(
            &tenant,
            BY,
            json!({ "f": { "occurredBefore": "2000-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(long_ago.data()["auditEvents"]["totalCount"], 0);
    let since = app
        .tenant(
            &tenant,
            BY,
            json!({ "f": { "occurredAfter": "2000-01-01T00:00:00Z", "actorType": "api_key" } }),
        )
        .await;
    assert!(since.data()["auditEvents"]["totalCount"].as_u64().unwrap() > 0);
    let audit = app
        .tenant(
            &tenant,
            "query($f: AuditEventFilter) { auditEvents(first: 50, filter: $f) { nodes { actorType actorId } } }",
            json!({ "f": { "action": "administrator.invite" } }),
        )
        .await;
    assert!(
        audit.data()["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actorType"] == "administrator" && e["actorId"] == owner.id.as_str()),
        "{}",
        audit.body
    );
    app.stop().await;
}

#[tokio::test]
async fn the_last_owner_stays_and_a_role_change_ends_sessions_at_once() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("owners").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let first = app
        .invited_administrator(&tenant, &address("first"), "OWNER")
        .await;

    for (query, input) in [
        (
            UPDATE,
            json!({ "input": { "id": first.id, "role": "ADMIN" } }),
        ),
        (REMOVE, json!({ "input": { "id": first.id } })),
    ] {
        let refused = app
            .as_administrator(&first, &path, query, input.clone())
            .await;
        assert_eq!(refused.error_code(), "CONFLICT", "{}", refused.body);
        assert!(refused.error_message().contains("at least one owner"));
        // The owner API key meets the same rule.
        let refused = app.tenant(&tenant, query, input).await;
        assert_eq!(refused.error_code(), "CONFLICT");
    }

    let second = app
        .invited_administrator(&tenant, &address("second"), "OWNER")
        .await;
    let demoted = app
        .as_administrator(
            &second,
            &path,
            UPDATE,
            json!({ "input": { "id": first.id, "role": "VIEWER" } }),
        )
        .await;
    assert_eq!(
        demoted.data()["updateAdministrator"]["administrator"]["role"],
        "VIEWER"
    );
    // The demoted owner's session ended at once.
    let ended = app
        .as_administrator(&first, &path, ADMINISTRATORS, json!({}))
        .await;
    assert_eq!(ended.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.console_session(&first.cookie).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Signing in again gives the new role.
    let credential = first.credential_id();
    let again = app.console_sign_in(first.device, &credential).await;
    assert_eq!(again.session["tenants"][0]["role"], "VIEWER");

    // Removed: the session ends, the tenant is gone from the list, the person stays.
    let removed = app
        .as_administrator(
            &second,
            &path,
            REMOVE,
            json!({ "input": { "id": again.id } }),
        )
        .await;
    assert_eq!(
        removed.data()["removeAdministrator"]["removedAdministratorId"],
        again.id.as_str()
    );
    assert_eq!(
        app.as_administrator(&again, &path, ADMINISTRATORS, json!({}))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    let listed = app
        .as_administrator(&second, &path, ADMINISTRATORS, json!({}))
        .await;
    assert_eq!(listed.data()["administrators"].as_array().unwrap().len(), 1);
    // Someone already administering the tenant is not invited again.
    let twice = app
        .as_administrator(
            &second,
            &path,
            INVITE,
            json!({ "input": { "email": second.email, "role": "ADMIN" } }),
        )
        .await;
    assert_eq!(twice.error_code(), "CONFLICT");
    app.stop().await;
}

#[tokio::test]
async fn a_console_session_needs_its_csrf_header_and_its_browser() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("csrf").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let owner = app
        .invited_administrator(&tenant, &address("owner"), "OWNER")
        .await;

    // Without the CSRF header the cookie is ignored: the request is anonymous.
    let anonymous = app
        .console_graphql(
            &path,
            &owner.cookie,
            None,
            BROWSER,
            ADMINISTRATORS,
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    // A wrong CSRF token is refused, with the reason.
    let forged = app
        .console_graphql(
            &path,
            &owner.cookie,
            Some("forged"),
            BROWSER,
            ADMINISTRATORS,
            json!({}),
        )
        .await;
    assert_eq!(forged.error_code(), "FORBIDDEN");
    assert!(
        forged.error_message().contains("X-Latchkey-CSRF"),
        "{}",
        forged.body
    );
    // The cookie and token from another browser are not the session.
    let elsewhere = app
        .console_graphql(
            &path,
            &owner.cookie,
            Some(&owner.csrf),
            "curl/8.0",
            ADMINISTRATORS,
            json!({}),
        )
        .await;
    assert_eq!(elsewhere.error_code(), "UNAUTHENTICATED");
    // A console session is no bearer token, and an end user's token is no console session.
    let bearer = app
        .as_key(&tenant, &owner.cookie, ADMINISTRATORS, json!({}))
        .await;
    assert_eq!(bearer.error_code(), "UNAUTHENTICATED");
    let (_, _, signed_in) = app.sign_up(&tenant, &address("enduser")).await;
    let end_user = app
        .console_graphql(
            &path,
            &signed_in.access_token,
            Some(&owner.csrf),
            BROWSER,
            ADMINISTRATORS,
            json!({}),
        )
        .await;
    assert_eq!(end_user.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.console_session(&signed_in.access_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An end user's own token with the administrator's cookie beside it acts as the end user.
    let mixed = app
        .graphql(
            &path,
            Some(&signed_in.access_token),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(mixed.data()["viewer"]["kind"], "IDENTITY");

    // The session works, then sign-out ends it (which also needs the CSRF token).
    assert!(
        app.as_administrator(&owner, &path, ADMINISTRATORS, json!({}))
            .await
            .body
            .get("errors")
            .is_none()
    );
    let mut unsigned = app
        .console_post("/console/api/sign-out", json!({}), None)
        .await;
    assert_eq!(unsigned.0, StatusCode::UNAUTHORIZED);
    unsigned = app
        .console_post("/console/api/sign-out", json!({}), Some(&owner))
        .await;
    assert_eq!(unsigned.0, StatusCode::NO_CONTENT);
    assert_eq!(
        app.as_administrator(&owner, &path, ADMINISTRATORS, json!({}))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_of_one_tenant_sees_nothing_of_another() {
    let app = TestApp::start().await;
    let a = app.create_tenant("admin-a").await;
    let b = app.create_tenant("admin-b").await;
    let of_a = app.invited_administrator(&a, &address("a"), "OWNER").await;
    let of_b = app.invited_administrator(&b, &address("b"), "OWNER").await;
    app.tenant(
        &a,
        INVITE,
        json!({ "input": { "email": address("pending-a"), "role": "VIEWER" } }),
    )
    .await
    .data();

    // A's administrator on B's API: unauthenticated, for reads and writes.
    let b_path = format!("/t/{}/graphql", b.slug);
    for (query, variables) in [
        (ADMINISTRATORS, json!({})),
        (
            CREATE_IDENTITY,
            json!({ "input": { "email": address("x") } }),
        ),
        (
            INVITE,
            json!({ "input": { "email": address("y"), "role": "OWNER" } }),
        ),
    ] {
        let answer = app.as_administrator(&of_a, &b_path, query, variables).await;
        assert_eq!(answer.error_code(), "UNAUTHENTICATED", "{}", answer.body);
    }
    // B lists only its own administrators and invitations.
    let listed = app.tenant(&b, ADMINISTRATORS, json!({})).await;
    let listed = listed.data();
    assert_eq!(listed["administrators"].as_array().unwrap().len(), 1);
    assert_eq!(listed["administrators"][0]["id"], of_b.id.as_str());
    assert!(
        listed["administratorInvitations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // B cannot change or remove A's administrator, by key or by session.
    for query in [UPDATE, REMOVE] {
        let input = if query == UPDATE {
            json!({ "input": { "id": of_a.id, "role": "VIEWER" } })
        } else {
            json!({ "input": { "id": of_a.id } })
        };
        assert_eq!(
            app.tenant(&b, query, input.clone()).await.error_code(),
            "NOT_FOUND"
        );
        assert_eq!(
            app.as_administrator(&of_b, &b_path, query, input)
                .await
                .error_code(),
            "NOT_FOUND"
        );
    }
    // A's administrator's session lists A only, and still works there.
    let (status, session) = app.console_session(&of_a.cookie).await;
    assert_eq!(status, StatusCode::OK);
    let slugs: Vec<_> = session["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].clone())
        .collect();
    assert_eq!(slugs, vec![json!(a.slug)]);
    let a_path = format!("/t/{}/graphql", a.slug);
    assert!(
        app.as_administrator(&of_a, &a_path, ADMINISTRATORS, json!({}))
            .await
            .body
            .get("errors")
            .is_none()
    );
    // Not a platform owner: the platform API refuses the session.
    let platform = app
        .as_administrator(
            &of_a,
            "/platform/graphql",
            "{ tenants { nodes { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(platform.error_code(), "FORBIDDEN", "{}", platform.body);
    app.stop().await;
}

#[tokio::test]
async fn recovery_enrols_a_new_passkey_and_ends_the_old_sessions() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("recover").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let email = address("lost");
    let lost = app.invited_administrator(&tenant, &email, "ADMIN").await;

    // Unknown addresses get the same answer, and no mail.
    let unknown = address("nobody");
    let (status, _, body) = app
        .console_post("/console/api/recovery", json!({ "email": unknown }), None)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({ "sent": true }))
    );
    assert!(app.last_mail_to(&unknown).is_none());
    let (status, _, _) = app
        .console_post("/console/api/recovery", json!({ "email": email }), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = mailed_token(&app, &email);
    let (status, view) = {
        let response = app
            .client
            .post(format!("{}/console/api/enrolment", app.url))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["purpose"], "RECOVERY");
    assert_eq!(view["email"], email.as_str());

    let recovered = app.enrol(&token, None).await;
    assert_eq!(recovered.id, lost.id);
    assert_eq!(recovered.session["tenants"][0]["role"], "ADMIN");
    assert_eq!(
        app.as_administrator(&lost, &path, ADMINISTRATORS, json!({}))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    // The new passkey signs in.
    let credential = recovered.credential_id();
    let again = app.console_sign_in(recovered.device, &credential).await;
    assert_eq!(again.id, lost.id);
    app.stop().await;
}

#[tokio::test]
async fn links_serve_once_and_expire_and_idle_sessions_end() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("links").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let email = address("once");
    app.tenant(
        &tenant,
        INVITE,
        json!({ "input": { "email": email, "role": "ADMIN" } }),
    )
    .await
    .data();
    let token = mailed_token(&app, &email);
    let admin = app.enrol(&token, None).await;
    let (status, _, again) = app
        .console_post(
            "/console/api/enrolment/begin",
            json!({ "token": token }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        again["errors"][0]["extensions"]["field"], "token",
        "{again}"
    );

    // An invitation expires after 7 days.
    let late = address("late");
    app.tenant(
        &tenant,
        INVITE,
        json!({ "input": { "email": late, "role": "VIEWER" } }),
    )
    .await
    .data();
    let late_token = mailed_token(&app, &late);
    clock.advance(8 * 24 * 3600);
    let response = app
        .client
        .post(format!("{}/console/api/enrolment", app.url))
        .json(&json!({ "token": late_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // So has the session, idle for more than 30 minutes.
    assert_eq!(
        app.as_administrator(&admin, &path, ADMINISTRATORS, json!({}))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    // A fresh session lasts while it is used, up to 12 hours after its sign-in.
    let credential = admin.credential_id();
    let session = app.console_sign_in(admin.device, &credential).await;
    for step in 1..=37 {
        clock.advance(20 * 60);
        let used = app
            .as_administrator(&session, &path, ADMINISTRATORS, json!({}))
            .await;
        if step * 20 < 12 * 60 {
            assert!(used.body.get("errors").is_none(), "{step}: {}", used.body);
        } else {
            assert_eq!(used.error_code(), "UNAUTHENTICATED", "{step}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_platform_owner_invited_from_the_command_line_runs_the_platform_api() {
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("operator").await;
    let db = latchkey_api::server::open_database(&Config::check(settings).unwrap())
        .await
        .unwrap();
    let email = address("operator");
    let neither = invite_from_command_line(&db, &email, None, AdminRole::Owner, false)
        .await
        .unwrap_err();
    assert!(neither.to_string().contains("--platform"), "{neither}");
    let unknown =
        invite_from_command_line(&db, &email, Some("no-such-tenant"), AdminRole::Owner, true)
            .await
            .unwrap_err();
    assert!(
        unknown.to_string().contains("no active tenant"),
        "{unknown}"
    );
    let token = invite_from_command_line(&db, &email, Some(&tenant.slug), AdminRole::Owner, true)
        .await
        .unwrap();
    let operator = app.enrol(&token, None).await;
    assert_eq!(operator.session["platformRole"], "OWNER");
    // A first-owner link (no address in it) cannot take over an existing administrator.
    let first_owner = latchkey_core::administrators::invite_first_owner(&db, None)
        .await
        .unwrap();
    let (status, _, refused) = app
        .console_post(
            "/console/api/enrolment/begin",
            json!({ "token": first_owner, "email": email }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let newcomer = app.enrol(&first_owner, Some(&address("newcomer"))).await;
    assert_eq!(newcomer.session["platformRole"], "OWNER");
    assert_ne!(newcomer.id, operator.id);
    assert_eq!(operator.session["tenants"][0]["role"], "OWNER");

    let slug = unique("by-operator");
    let created = app
        .as_administrator(
            &operator,
            "/platform/graphql",
            "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { slug } adminApiKey } }",
            json!({ "input": { "slug": slug, "name": "By an operator" } }),
        )
        .await;
    assert_eq!(
        created.data()["createTenant"]["tenant"]["slug"],
        slug.as_str()
    );
    // Without the CSRF header the platform API does not take the cookie.
    let anonymous = app
        .console_graphql(
            "/platform/graphql",
            &operator.cookie,
            None,
            BROWSER,
            "{ tenants { nodes { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    let listed = app
        .as_administrator(
            &operator,
            &format!("/t/{}/graphql", tenant.slug),
            ADMINISTRATORS,
            json!({}),
        )
        .await;
    assert_eq!(listed.data()["administrators"][0]["email"], email.as_str());
    app.stop().await;
}

#[tokio::test]
async fn administrators_introspect_where_anonymous_callers_cannot_and_browsers_get_the_explorer() {
    let mut settings = test_settings();
    settings.graphql_introspection = Some(false);
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("explorer").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let owner = app
        .invited_administrator(&tenant, &address("owner"), "OWNER")
        .await;
    const INTROSPECT: &str = "{ __schema { queryType { name } } }";

    // Refused introspection answers nothing (`__schema` is null), as async-graphql does.
    let anonymous = app.graphql(&path, None, INTROSPECT, json!({})).await;
    assert!(
        anonymous.body["data"]["__schema"].is_null(),
        "{}",
        anonymous.body
    );
    let (_, _, person) = app.sign_up(&tenant, &address("person")).await;
    let end_user = app
        .graphql(&path, Some(&person.access_token), INTROSPECT, json!({}))
        .await;
    assert!(
        end_user.body["data"]["__schema"].is_null(),
        "{}",
        end_user.body
    );
    for answer in [
        app.as_administrator(&owner, &path, INTROSPECT, json!({}))
            .await,
        app.tenant(&tenant, INTROSPECT, json!({})).await,
    ] {
        assert!(answer.data()["__schema"]["queryType"]["name"].is_string());
    }

    // Where GraphiQL used to be, a browser is sent to the explorer; other clients are told.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (endpoint, explorer) in [
        (path.clone(), format!("/console/t/{}/explorer", tenant.slug)),
        (
            "/platform/graphql".to_owned(),
            "/console/platform/explorer".to_owned(),
        ),
    ] {
        let browser = client
            .get(format!("{}{endpoint}", app.url))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(browser.status(), StatusCode::SEE_OTHER);
        assert_eq!(browser.headers()["location"], explorer.as_str());
    }
    let tool = client
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(tool.status(), StatusCode::BAD_REQUEST);

    // The console: its page under the strict CSP, its assets, nothing else.
    let page = client
        .get(format!("{}/console/t/x/identities", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let script = client
        .get(format!("{}/console/assets/console.js", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    // A browser holding the file revalidates it without downloading it again.
    let tag = script.headers()["etag"].clone();
    let again = client
        .get(format!("{}/console/assets/console.js", app.url))
        .header("if-none-match", tag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    for missing in ["/console/assets/nope.js", "/console/api/nope"] {
        let answer = client
            .get(format!("{}{missing}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    app.stop().await;
}

/// What `POST /console/api/enrolment` answers for `token`.
async fn link_status(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .post(format!("{}/console/api/enrolment", app.url))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Invites `email` as `role` with the tenant's owner key: the invitation's id and the mailed token.
async fn invite(
    app: &TestApp,
    tenant: &latchkey_tests::TestTenant,
    email: &str,
    role: &str,
) -> (String, String) {
    let invited = app
        .tenant(
            tenant,
            INVITE,
            json!({ "input": { "email": email, "role": role } }),
        )
        .await;
    let id = invited.data()["inviteAdministrator"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, mailed_token(app, email))
}

#[tokio::test]
async fn invitations_add_a_tenant_once_and_end_when_cancelled_or_their_person_is_removed() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("invites").await;
    let other = app.create_tenant("invites-other").await;
    let path = format!("/t/{}/graphql", tenant.slug);
    let owner = app
        .invited_administrator(&tenant, &address("owner"), "OWNER")
        .await;

    // Two links to one person: the first enrols them, the second cannot change their role.
    let email = address("twice");
    let (_, first) = invite(&app, &tenant, &email, "VIEWER").await;
    let (_, second) = invite(&app, &tenant, &email, "OWNER").await;
    let person = app.enrol(&first, None).await;
    let (status, _, refused) = app
        .console_post(
            "/console/api/enrolment/begin",
            json!({ "token": second }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refused}");
    let mut device = latchkey_tests::passkey::Device::new(&app);
    let credential = device.create(&refused["options"]);
    let (status, _, body) = app
        .console_post(
            "/console/api/enrolment/finish",
            json!({ "ceremonyId": refused["ceremonyId"], "credential": credential }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(person.session["tenants"][0]["role"], "VIEWER");
    // Setting the role they hold changes nothing, and their session goes on.
    app.as_administrator(
        &owner,
        &path,
        UPDATE,
        json!({ "input": { "id": person.id, "role": "VIEWER" } }),
    )
    .await
    .data();
    assert!(
        app.as_administrator(&person, &path, ADMINISTRATORS, json!({}))
            .await
            .body
            .get("errors")
            .is_none()
    );

    // Removing them ends their pending invitations here (the second link, never spent).
    assert_eq!(link_status(&app, &second).await, StatusCode::OK);
    app.as_administrator(
        &owner,
        &path,
        REMOVE,
        json!({ "input": { "id": person.id } }),
    )
    .await
    .data();
    assert_eq!(link_status(&app, &second).await, StatusCode::NOT_FOUND);

    // Cancelling: owners only, this tenant's only, once.
    let (invitation, token) = invite(&app, &tenant, &address("cancelled"), "ADMIN").await;
    let cancel = json!({ "input": { "id": invitation } });
    let viewer = app
        .invited_administrator(&tenant, &address("viewer"), "VIEWER")
        .await;
    assert_eq!(
        app.as_administrator(&viewer, &path, CANCEL, cancel.clone())
            .await
            .error_code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.tenant(&other, CANCEL, cancel.clone())
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(link_status(&app, &token).await, StatusCode::OK);
    let cancelled = app
        .as_administrator(&owner, &path, CANCEL, cancel.clone())
        .await;
    assert_eq!(
        cancelled.data()["cancelAdministratorInvitation"]["cancelledInvitationId"],
        invitation.as_str()
    );
    assert_eq!(link_status(&app, &token).await, StatusCode::NOT_FOUND);
    assert_eq!(
        app.tenant(&tenant, CANCEL, cancel).await.error_code(),
        "NOT_FOUND"
    );
    app.stop().await;
}
