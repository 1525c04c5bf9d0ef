//! Organization helpers shared by the organization, invitation and organization-token tests.

use crate::{TestApp, TestTenant, unique};
use serde_json::json;

impl TestApp {
    /// Creates an organization named `name` of `kind` (`CUSTOMER` or `PARTNER`) with a fresh
    /// slug in `tenant`; returns its id and slug.
    pub async fn create_organization(
        &self,
        tenant: &TestTenant,
        name: &str,
        kind: &str,
    ) -> (String, String) {
        let slug = unique("org");
        let response = self
            .tenant(
                tenant,
                "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
                json!({ "input": { "name": name, "slug": slug, "kind": kind } }),
            )
            .await;
        let id = response.data()["createOrganization"]["organization"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (id, slug)
    }

    /// Adds identity `identity` to organization `org` with `roles` (`addOrganizationMember`,
    /// as a tenant admin).
    pub async fn add_organization_member(
        &self,
        tenant: &TestTenant,
        org: &str,
        identity: &str,
        roles: &[&str],
    ) {
        self.tenant(
            tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": identity, "roles": roles } }),
        )
        .await
        .data();
    }

    /// Claims `domain` for organization `org` and verifies it by hand (`addVerifiedDomain`,
    /// `markDomainVerified`).
    pub async fn verified_domain(&self, tenant: &TestTenant, org: &str, domain: &str) {
        let added = self
            .tenant(
                tenant,
                "mutation($input: AddVerifiedDomainInput!) { addVerifiedDomain(input: $input) { domain { id } } }",
                json!({ "input": { "organizationId": org, "domain": domain } }),
            )
            .await;
        let id = added.data()["addVerifiedDomain"]["domain"]["id"].clone();
        self.tenant(
            tenant,
            "mutation($input: DomainIdInput!) { markDomainVerified(input: $input) { domain { id } } }",
            json!({ "input": { "id": id } }),
        )
        .await
        .data();
    }
}
