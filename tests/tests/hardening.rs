//! The deployment's own hygiene: response headers, no third-party script on any origin of the
//! server, odd paths, the modes of the files it creates, and the metrics token.

use latchkey_tests::{TestApp, test_settings, unique};
use reqwest::StatusCode;
use serde_json::Value;

/// The `src` attributes of the `<script>` elements in an HTML document.
fn script_sources(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut sources = Vec::new();
    for (start, _) in lower.match_indices("<script") {
        let tag = &lower[start..start + lower[start..].find('>').unwrap_or(lower.len() - start)];
        if let Some(at) = tag.find("src=") {
            let value = tag[at + 4..].trim_start_matches(['"', '\'']);
            let end = value.find(['"', '\'', ' ']).unwrap_or(value.len());
            sources.push(value[..end].to_owned());
        }
    }
    sources
}

#[test]
fn script_sources_are_found() {
    assert_eq!(
        script_sources(
            "<p><SCRIPT type=module src=\"./assets/app.js\"></script><script src='https://cdn.example/x.js'></script><script>1</script>"
        ),
        vec!["./assets/app.js", "https://cdn.example/x.js"]
    );
}

#[tokio::test]
async fn no_served_html_loads_a_third_party_script_and_get_queries_still_work() {
    let mut settings = test_settings();
    // The development mode, where GraphiQL used to be served.
    settings.graphql_introspection = Some(true);
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("hygiene").await;
    let pages = [
        format!("/t/{}/", tenant.slug),
        format!("/t/{}/account", tenant.slug),
        format!("/t/{}/graphql", tenant.slug),
        "/graphql".to_owned(),
        "/platform/graphql".to_owned(),
        format!("/t/{}/oauth2/authorize", tenant.slug),
        format!("/t/{}/oauth2/logout", tenant.slug),
        "/console".to_owned(),
        "/console/enrol".to_owned(),
    ];
    for path in &pages {
        let response = app
            .client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let html = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let body = response.text().await.unwrap();
        for source in script_sources(&body) {
            assert!(
                !source.contains("//") && !source.contains(':'),
                "{path} loads {source}"
            );
        }
        if path.ends_with("graphql") {
            assert!(!html, "{path} serves a page: {body}");
        }
        // (`/graphql` on this host names no tenant: 404 before anything else.)
        if path.ends_with("graphql") && path != "/graphql" {
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("?query="),
                "{body}"
            );
        }
    }
    // The hosted page itself loads its own module.
    let page = app
        .client
        .get(format!("{}/t/{}/", app.url, tenant.slug))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!script_sources(&page).is_empty());

    let get_query = app
        .client
        .get(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .query(&[("query", "{ tenant { slug } }")])
        .bearer_auth(&tenant.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(get_query.status(), 200);
    let body: Value = get_query.json().await.unwrap();
    assert_eq!(body["data"]["tenant"]["slug"], tenant.slug.as_str());
    app.stop().await;
}

#[tokio::test]
async fn every_response_refuses_framing_and_https_deployments_send_hsts() {
    let mut settings = test_settings();
    settings.public_url = Some("https://login.example.test".into());
    let https = TestApp::start_with(settings).await;
    let http = TestApp::start().await;
    for app in [&https, &http] {
        let tenant = app.create_tenant("headers").await;
        for path in [
            format!("/t/{}/", tenant.slug),
            format!("/t/{}/oauth2/authorize", tenant.slug),
            "/healthz".to_owned(),
            "/nowhere".to_owned(),
        ] {
            let response = app
                .client
                .get(format!("{}{path}", app.url))
                .send()
                .await
                .unwrap();
            let headers = response.headers();
            assert_eq!(headers["x-frame-options"], "DENY", "{path}");
            let hsts = headers
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap());
            if std::ptr::eq(app, &https) {
                assert_eq!(hsts, Some("max-age=31536000; includeSubDomains"), "{path}");
            } else {
                assert_eq!(hsts, None, "{path}: not over http");
            }
        }
        // The pages keep their frame-ancestors policy beside it.
        let page = app
            .client
            .get(format!("{}/t/{}/", app.url, tenant.slug))
            .send()
            .await
            .unwrap();
        assert!(
            page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
    https.stop().await;
    http.stop().await;
}

#[tokio::test]
async fn a_crlf_in_a_tenant_path_is_not_found() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crlf").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/t/a%0D%0Ab".to_owned(),
        format!("/t/{}%0D%0ALocation:%20https://evil.example", tenant.slug),
        format!("/t/{}%0D%0A/", tenant.slug),
        "/t/%0A".to_owned(),
    ] {
        let response = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(response.headers().get("location").is_none());
    }
    // A real slug without the slash is still redirected.
    let response = client
        .get(format!("{}/t/{}", app.url, tenant.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        format!("/t/{}/", tenant.slug).as_str()
    );
    app.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_embedded_data_directory_and_its_files_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let embedded = |data_dir: std::path::PathBuf| {
        let mut settings = test_settings();
        settings.data_dir = data_dir;
        settings.database_url = None;
        settings.migration_database_url = None;
        settings.master_key = None;
        settings
    };

    // A data directory the server creates.
    let fresh = std::env::temp_dir()
        .join(unique("latchkey-fresh"))
        .join("data");
    let app = TestApp::start_with(embedded(fresh.clone())).await;
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("latchkey.db")), 0o600);
    assert_eq!(mode(&fresh.join("master.key")), 0o600);
    for name in ["latchkey.db-wal", "latchkey.db-shm"] {
        let path = fresh.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    app.stop().await;

    // A database file an earlier version left readable by others is tightened at start.
    let earlier = std::env::temp_dir().join(unique("latchkey-earlier"));
    std::fs::create_dir_all(&earlier).unwrap();
    let database = earlier.join("latchkey.db");
    std::fs::write(&database, b"").unwrap();
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    let app = TestApp::start_with(embedded(earlier.clone())).await;
    assert_eq!(mode(&database), 0o600);
    app.stop().await;
    let _ = std::fs::remove_dir_all(fresh.parent().unwrap());
    let _ = std::fs::remove_dir_all(&earlier);
}

#[tokio::test]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    let token = format!("lkm_{}", unique("metrics-token-of-this-test"));
    let mut settings = test_settings();
    settings.metrics_token = Some(token.clone());
    let app = TestApp::start_with(settings).await;
    let get = |authorization: Option<String>| {
        let mut request = app.client.get(format!("{}/metrics", app.url));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    for authorization in [
        None,
        Some(format!("Bearer {token}x")),
        Some(format!("Bearer {}", &token[..token.len() - 1])),
        Some("Bearer lkm_wrong".to_owned()),
    ] {
        let response = get(authorization.clone()).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("http_requests_total"),
            "no metrics leak: {body}"
        );
    }
    let response = get(Some(format!("Bearer {token}"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("latchkey_http_requests_total")
    );
    app.stop().await;

    // Without a token, /metrics stays open (the default).
    let open = TestApp::start().await;
    let response = open
        .client
        .get(format!("{}/metrics", open.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    open.stop().await;
}
