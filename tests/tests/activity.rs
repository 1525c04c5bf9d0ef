//! `tenantActivity`: the console overview's figures, counted per UTC day on an injected clock
//! from the audit log, the identities and the sessions; per tenant, for the viewer role.

use latchkey_core::clock::Clock;
use latchkey_tests::clock::ManualClock;
use latchkey_tests::passwords::PASSWORD;
use latchkey_tests::{TestApp, test_settings, unique};
use serde_json::{Value, json};
use std::sync::Arc;

const ACTIVITY: &str = "query($days: Int) { tenantActivity(days: $days) { days { date signIns { method count } failedSignIns newIdentities } activeSessions } }";

fn day(activity: &Value, index: usize) -> &Value {
    &activity["tenantActivity"]["days"][index]
}

fn sign_ins(day: &Value, method: &str) -> u64 {
    day["signIns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|count| count["method"] == method)
        .map_or(0, |count| count["count"].as_u64().unwrap())
}

#[tokio::test]
async fn sign_ins_failures_and_new_identities_are_counted_per_day_and_per_tenant() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("activity").await;
    let other = app.create_tenant("activity-other").await;
    app.allow_passwords(&tenant, json!({})).await;

    // Yesterday: a passkey sign-up (a sign-in) and a password account (another).
    let email = format!("{}@example.com", unique("pw"));
    app.sign_up(&tenant, &format!("{}@example.com", unique("pk")))
        .await;
    app.password_account(&tenant, &email).await;
    clock.advance(24 * 3600);
    // Today: a wrong password, a right one, a new identity by the API.
    let wrong = app
        .sign_in_with_password(&tenant, &email, "not the password at all")
        .await;
    assert_eq!(wrong.error_code(), "FORBIDDEN");
    app.sign_in_with_password(&tenant, &email, PASSWORD)
        .await
        .data();
    app.create_identity(&tenant, &format!("{}@example.com", unique("api")))
        .await;

    let (_, viewer_key) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let activity = app
        .as_key(&tenant, &viewer_key, ACTIVITY, json!({ "days": 3 }))
        .await;
    let activity = activity.data();
    let days = activity["tenantActivity"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 3, "{activity}");
    let today = clock.now().date_naive().format("%Y-%m-%d").to_string();
    assert_eq!(days[2]["date"], today.as_str());
    assert_eq!(day(activity, 0)["newIdentities"], 0);
    assert_eq!(sign_ins(day(activity, 1), "passkey"), 1, "{activity}");
    assert_eq!(sign_ins(day(activity, 1), "password"), 1);
    assert_eq!(day(activity, 1)["newIdentities"], 2);
    assert_eq!(day(activity, 1)["failedSignIns"], 0);
    assert_eq!(sign_ins(day(activity, 2), "password"), 1);
    assert_eq!(sign_ins(day(activity, 2), "passkey"), 0);
    assert_eq!(day(activity, 2)["failedSignIns"], 1);
    assert_eq!(day(activity, 2)["newIdentities"], 1);
    assert_eq!(activity["tenantActivity"]["activeSessions"], 3);

    // Another tenant counts nothing of these.
    let elsewhere = app.tenant(&other, ACTIVITY, json!({ "days": 3 })).await;
    let elsewhere = elsewhere.data();
    assert_eq!(elsewhere["tenantActivity"]["activeSessions"], 0);
    for index in 0..3 {
        assert_eq!(day(elsewhere, index)["signIns"], json!([]));
        assert_eq!(day(elsewhere, index)["newIdentities"], 0);
    }
    // Another tenant's key, an end user and a bad window are refused.
    let foreign = app
        .as_key(&tenant, &other.api_key, ACTIVITY, json!({}))
        .await;
    assert_eq!(foreign.error_code(), "UNAUTHENTICATED");
    let (_, _, person) = app
        .sign_up(&tenant, &format!("{}@example.com", unique("person")))
        .await;
    let end_user = app
        .as_key(&tenant, &person.access_token, ACTIVITY, json!({}))
        .await;
    assert_eq!(end_user.error_code(), "FORBIDDEN", "{}", end_user.body);
    app.tenant(&tenant, ACTIVITY, json!({ "days": 0 }))
        .await
        .assert_bad_input("days");
    app.tenant(&tenant, ACTIVITY, json!({ "days": 91 }))
        .await
        .assert_bad_input("days");
    app.stop().await;
}
