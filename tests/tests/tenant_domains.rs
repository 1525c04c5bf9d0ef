//! Custom domains of tenants: the deployment's own names are refused, a domain routes only
//! once its DNS TXT record is verified (through a real DNS server on loopback), one tenant's
//! claim or token does not serve another, and a tenant's host serves only that tenant's
//! `/t/{slug}/…` paths while the public host, loopback and unknown hosts serve any.

use latchkey_tests::dns::DnsServer;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique};
use serde_json::{Value, json};

const BASE: &str = "lk.test";
const PUBLIC_HOST: &str = "id.deploy-lk.test";
const ADD: &str = "mutation($id: ID!, $domain: String!) { addTenantDomain(input: { tenantId: $id, domain: $domain }) { tenant { domains } domain { domain verified verifiedAt txtRecordName txtRecordValue } } }";
const VERIFY: &str = "mutation($id: ID!, $domain: String!) { verifyTenantDomain(input: { tenantId: $id, domain: $domain }) { tenant { domains customDomains { domain verified } } domain { domain verified verifiedAt } } }";

async fn app() -> (TestApp, DnsServer) {
    let dns = DnsServer::start().await;
    let mut settings = test_settings();
    settings.dns_server = Some(dns.addr.to_string());
    settings.base_domain = Some(BASE.into());
    settings.public_url = Some(format!("http://{PUBLIC_HOST}"));
    (TestApp::start_with(settings).await, dns)
}

fn domain_name() -> String {
    format!("{}.example.com", unique("login"))
}

async fn add(app: &TestApp, tenant: &TestTenant, domain: &str) -> GraphqlResponse {
    app.platform(ADD, json!({ "id": tenant.id, "domain": domain }))
        .await
}

async fn verify(app: &TestApp, tenant: &TestTenant, domain: &str) -> GraphqlResponse {
    app.platform(VERIFY, json!({ "id": tenant.id, "domain": domain }))
        .await
}

/// POSTs `{ tenant { slug } }` to `path` with the `Host` header `host` and `tenant`'s key.
async fn slug_at(app: &TestApp, host: &str, path: &str, tenant: &TestTenant) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.url))
        .header("host", host)
        .bearer_auth(&tenant.api_key)
        .json(&json!({ "query": "{ tenant { slug } }" }))
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// GETs `path` with the `Host` header `host`: the status.
async fn get_status(app: &TestApp, host: &str, path: &str) -> u16 {
    app.client
        .get(format!("{}{path}", app.url))
        .header("host", host)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn names_of_the_deployment_are_refused_as_custom_domains() {
    let (app, _dns) = app().await;
    let alpha = app.create_tenant("alpha").await;
    let bravo = app.create_tenant("bravo").await;
    for own in [
        format!("{}.{BASE}", bravo.slug),
        format!("{}.{BASE}", bravo.slug.to_uppercase()),
        BASE.to_owned(),
        format!("deep.name.{BASE}"),
        PUBLIC_HOST.to_owned(),
        format!("x.{PUBLIC_HOST}"),
    ] {
        let refused = add(&app, &alpha, &own).await;
        assert_eq!(
            refused.error_code(),
            "BAD_USER_INPUT",
            "{own}: {:?}",
            refused.body
        );
        assert_eq!(
            refused.body["errors"][0]["extensions"]["field"], "domain",
            "{own}"
        );
    }
    // Bravo's host still serves bravo.
    let (status, body) = slug_at(&app, &format!("{}.{BASE}", bravo.slug), "/graphql", &bravo).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["tenant"]["slug"], bravo.slug.as_str());
    app.stop().await;
}

#[tokio::test]
async fn a_custom_domain_routes_only_once_its_txt_record_is_verified() {
    let (app, dns) = app().await;
    let alpha = app.create_tenant("alpha").await;
    let bravo = app.create_tenant("bravo").await;
    let domain = domain_name();
    let added = add(&app, &alpha, &domain.to_uppercase()).await;
    let payload = &added.data()["addTenantDomain"];
    assert_eq!(payload["tenant"]["domains"], json!([]));
    let claimed = &payload["domain"];
    assert_eq!(claimed["domain"], domain.as_str());
    assert_eq!(claimed["verified"], false);
    assert_eq!(claimed["verifiedAt"], Value::Null);
    let record_name = claimed["txtRecordName"].as_str().unwrap().to_owned();
    let record_value = claimed["txtRecordValue"].as_str().unwrap().to_owned();
    assert_eq!(record_name, format!("_latchkey-verification.{domain}"));
    assert!(record_value.starts_with("latchkey-verification="));

    // Unverified: the domain names no tenant.
    let (status, body) = slug_at(&app, &domain, "/graphql", &alpha).await;
    assert_eq!(status, 404, "{body}");
    let missing = verify(&app, &alpha, &domain).await;
    assert_eq!(missing.error_code(), "FORBIDDEN");
    assert!(
        missing.error_message().contains(&record_name),
        "{:?}",
        missing.body
    );
    let (status, _) = slug_at(&app, &domain, "/graphql", &alpha).await;
    assert_eq!(status, 404);

    dns.publish_txt(&record_name, &record_value);
    let verified = verify(&app, &alpha, &domain).await;
    let payload = &verified.data()["verifyTenantDomain"];
    assert_eq!(payload["domain"]["verified"], true);
    assert!(payload["domain"]["verifiedAt"].is_string());
    assert_eq!(payload["tenant"]["domains"], json!([domain]));
    assert_eq!(
        payload["tenant"]["customDomains"],
        json!([{ "domain": domain, "verified": true }])
    );

    let (status, body) = slug_at(&app, &domain, "/graphql", &alpha).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["tenant"]["slug"], alpha.slug.as_str());
    let (status, body) = slug_at(&app, &format!("{domain}:8443"), "/graphql", &alpha).await;
    assert_eq!(status, 200, "with a port: {body}");
    let (status, body) = slug_at(&app, &domain, "/graphql", &bravo).await;
    assert_eq!(status, 401, "bravo's key on alpha's domain: {body}");
    let (status, _) = slug_at(&app, "unknown.example.org", "/graphql", &alpha).await;
    assert_eq!(status, 404);
    // Verifying again changes nothing.
    verify(&app, &alpha, &domain).await.data();
    app.stop().await;
}

#[tokio::test]
async fn domain_claims_and_tokens_do_not_cross_tenants() {
    let (app, dns) = app().await;
    let alpha = app.create_tenant("alpha").await;
    let bravo = app.create_tenant("bravo").await;
    let alpha_domain = domain_name();
    let bravo_domain = domain_name();
    let alpha_claim = add(&app, &alpha, &alpha_domain).await;
    let alpha_claim = &alpha_claim.data()["addTenantDomain"]["domain"];
    let bravo_claim = add(&app, &bravo, &bravo_domain).await;
    let bravo_claim = &bravo_claim.data()["addTenantDomain"]["domain"];

    // A domain of alpha cannot be added to bravo, nor verified as bravo's.
    assert_eq!(
        add(&app, &bravo, &alpha_domain).await.error_code(),
        "CONFLICT"
    );
    assert_eq!(
        verify(&app, &bravo, &alpha_domain).await.error_code(),
        "NOT_FOUND"
    );
    // Bravo's token published on alpha's domain does not verify it.
    dns.publish_txt(
        alpha_claim["txtRecordName"].as_str().unwrap(),
        bravo_claim["txtRecordValue"].as_str().unwrap(),
    );
    assert_eq!(
        verify(&app, &alpha, &alpha_domain).await.error_code(),
        "FORBIDDEN"
    );
    let (status, _) = slug_at(&app, &alpha_domain, "/graphql", &alpha).await;
    assert_eq!(status, 404);
    // Alpha's own token does.
    dns.publish_txt(
        alpha_claim["txtRecordName"].as_str().unwrap(),
        alpha_claim["txtRecordValue"].as_str().unwrap(),
    );
    verify(&app, &alpha, &alpha_domain).await.data();
    let (status, body) = slug_at(&app, &alpha_domain, "/graphql", &alpha).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_host_serves_only_its_own_tenant_paths() {
    let (app, dns) = app().await;
    let alpha = app.create_tenant("alpha").await;
    let bravo = app.create_tenant("bravo").await;
    let bravo_host = format!("{}.{BASE}", bravo.slug);
    let bravo_domain = domain_name();
    let claim = add(&app, &bravo, &bravo_domain).await;
    let claim = &claim.data()["addTenantDomain"]["domain"];
    dns.publish_txt(
        claim["txtRecordName"].as_str().unwrap(),
        claim["txtRecordValue"].as_str().unwrap(),
    );
    verify(&app, &bravo, &bravo_domain).await.data();
    let alpha_graphql = format!("/t/{}/graphql", alpha.slug);
    let bravo_graphql = format!("/t/{}/graphql", bravo.slug);

    for host in [bravo_host.as_str(), bravo_domain.as_str()] {
        let (status, body) = slug_at(&app, host, &alpha_graphql, &alpha).await;
        assert_eq!(status, 404, "{host}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
        let (status, body) = slug_at(&app, host, &bravo_graphql, &bravo).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["data"]["tenant"]["slug"], bravo.slug.as_str());
        for path in [
            format!("/t/{}/.well-known/openid-configuration", alpha.slug),
            format!("/t/{}/", alpha.slug),
            format!("/t/{}/config.json", alpha.slug),
            format!("/t/{}/jwks.json", alpha.slug),
        ] {
            assert_eq!(get_status(&app, host, &path).await, 404, "{host}{path}");
        }
        assert_eq!(
            get_status(
                &app,
                host,
                &format!("/t/{}/.well-known/openid-configuration", bravo.slug)
            )
            .await,
            200,
            "{host}"
        );
        // The inbound webhook route: refused for the tenant (the error shape), not for the
        // connector (`{"error": "not_found"}`), which is what the public host answers.
        let webhook = format!("/t/{}/connectors/{}/webhook", alpha.slug, uuid::Uuid::nil());
        let response = app
            .client
            .post(format!("{}{webhook}", app.url))
            .header("host", host)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{body}"
        );
    }
    let public = app
        .client
        .post(format!(
            "{}/t/{}/connectors/{}/webhook",
            app.url,
            alpha.slug,
            uuid::Uuid::nil()
        ))
        .header("host", PUBLIC_HOST)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);
    assert_eq!(public.json::<Value>().await.unwrap()["error"], "not_found");

    // Shared hosts: the public host, loopback (as sent by the client) and unknown hosts.
    let loopback = app.url.trim_start_matches("http://").to_owned();
    for host in [
        PUBLIC_HOST,
        "127.0.0.1",
        loopback.as_str(),
        "[::1]:8080",
        "localhost",
        "elsewhere.example.org",
    ] {
        let (status, body) = slug_at(&app, host, &alpha_graphql, &alpha).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["data"]["tenant"]["slug"], alpha.slug.as_str());
        assert_eq!(
            get_status(
                &app,
                host,
                &format!("/t/{}/.well-known/openid-configuration", alpha.slug)
            )
            .await,
            200,
            "{host}"
        );
    }
    app.stop().await;
}
