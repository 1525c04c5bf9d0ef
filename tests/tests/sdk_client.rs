//! The Rust SDK's typed client against a running server: identities and applications are
//! created and read in its own tenant only; the API's errors arrive typed.

use latchkey_sdk::{ApplicationType, ClientError, NewApplication};
use latchkey_tests::{TestApp, unique_email};

#[tokio::test]
async fn the_typed_client_creates_and_reads_in_its_own_tenant_only() {
    let app = TestApp::start().await;
    let (acme, other) = (
        app.create_tenant("sdk-acme").await,
        app.create_tenant("sdk-other").await,
    );
    let client = app.sdk(&acme);
    let email = unique_email();
    let created = client.create_identity(&email, Some("Ada")).await.unwrap();
    assert_eq!(created.email, email);
    assert_eq!(created.display_name.as_deref(), Some("Ada"));
    assert_eq!(created.status, "ACTIVE");
    let read = client.identity(&created.id).await.unwrap();
    assert_eq!(read, Some(created.clone()));
    // Another tenant's client does not see it, and the same email there is a new identity.
    assert_eq!(app.sdk(&other).identity(&created.id).await.unwrap(), None);
    match client.create_identity(&email, None).await {
        Err(ClientError::Api { code, .. }) => assert_eq!(code, "CONFLICT"),
        other => panic!("a taken email: {other:?}"),
    }
    match client.create_identity("not an email", None).await {
        Err(ClientError::Api { code, field, .. }) => {
            assert_eq!(code, "BAD_USER_INPUT");
            assert_eq!(field.as_deref(), Some("email"));
        }
        other => panic!("a bad email: {other:?}"),
    }

    let web = client
        .create_application(&NewApplication {
            name: "Portal".into(),
            app_type: ApplicationType::Web,
            redirect_uris: vec!["https://portal.example/callback".into()],
            post_logout_redirect_uris: vec![],
            scopes: None,
        })
        .await
        .unwrap();
    assert_eq!(web.application.app_type, ApplicationType::Web);
    assert!(
        web.client_secret.is_some_and(|s| !s.is_empty()),
        "shown once, at creation"
    );
    let spa = client
        .create_application(&NewApplication {
            name: "Single page".into(),
            app_type: ApplicationType::Spa,
            redirect_uris: vec!["https://spa.example/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: Some(vec!["openid".into(), "email".into()]),
        })
        .await
        .unwrap();
    assert_eq!(spa.client_secret, None, "public clients have no secret");
    assert_eq!(spa.application.scopes, ["openid", "email"]);
    // A rotation of another tenant's application is NOT_FOUND.
    match app
        .sdk(&other)
        .rotate_application_secret(&web.application.id)
        .await
    {
        Err(ClientError::Api { code, .. }) => assert_eq!(code, "NOT_FOUND"),
        other => panic!("cross-tenant rotation: {other:?}"),
    }
    app.stop().await;
}
