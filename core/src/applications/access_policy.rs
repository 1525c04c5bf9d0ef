//! Application access policies: who may sign in to an application. Any identity (the
//! default), consumers only (identities without an organization membership in force), or
//! members of organizations, narrowed by kind, by listed organizations, by the roles the member
//! holds there, or by the entitlements the organization holds. Checked at `authorize` (the user
//! sees why, the client gets `access_denied`) and again whenever the application's tokens are
//! issued (code exchange, refresh: `invalid_grant`), so a changed policy or an ended
//! membership takes effect within one access-token lifetime.

use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::organizations::{self, OrgContext, OrganizationKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Entries of each list of a policy, at most.
const MAX_LISTED: usize = 100;
/// The memberships looked at for a request without an organization, at most.
const MAX_MEMBERSHIPS_CHECKED: u64 = 100;

/// Who a policy lets in, before its lists narrow it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allow {
    /// Every active identity of the tenant.
    #[default]
    Any,
    /// Identities that are members of no organization (now).
    Consumers,
    /// Members of an organization (now) that the lists admit.
    Members,
}

/// An application's access policy. The lists apply to `Members` only; each list that is not
/// empty must be met (a kind among `organization_kinds`, an organization among
/// `organization_ids`, a role among `roles`, an entitlement among `entitlements`), by one and
/// the same membership.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessPolicy {
    pub allow: Allow,
    pub organization_kinds: Vec<OrganizationKind>,
    pub organization_ids: Vec<Uuid>,
    pub roles: Vec<String>,
    pub entitlements: Vec<String>,
}

impl AccessPolicy {
    /// Checks the policy against the tenant's organizations, roles and entitlements (another
    /// tenant's organization is not found here); errors name `accessPolicy.<list>[i]`.
    pub(crate) async fn check_in(&self, tx: &TenantTx) -> Result<()> {
        let lists = [
            ("organizationKinds", self.organization_kinds.len()),
            ("organizationIds", self.organization_ids.len()),
            ("roles", self.roles.len()),
            ("entitlements", self.entitlements.len()),
        ];
        for (name, len) in lists {
            let field = format!("accessPolicy.{name}");
            if len > MAX_LISTED {
                return Err(Error::validation(&field, format!("at most {MAX_LISTED}")));
            }
            if len > 0 && self.allow != Allow::Members {
                return Err(Error::validation(
                    &field,
                    "narrows who may sign in among members; set allow to MEMBERS",
                ));
            }
        }
        let existing = organizations::existing_in(tx, &self.organization_ids).await?;
        if let Some(i) = self
            .organization_ids
            .iter()
            .position(|id| !existing.contains(id))
        {
            return Err(Error::validation(
                &format!("accessPolicy.organizationIds[{i}]"),
                format!(
                    "{} is not an organization of this tenant",
                    self.organization_ids[i]
                ),
            ));
        }
        if !self.roles.is_empty() {
            let roles = organizations::role_names_in(tx).await?;
            if let Some(i) = self.roles.iter().position(|role| !roles.contains(role)) {
                return Err(Error::validation(
                    &format!("accessPolicy.roles[{i}]"),
                    format!(
                        "{:?} is not an organization role of this tenant",
                        self.roles[i]
                    ),
                ));
            }
        }
        if !self.entitlements.is_empty() {
            let keys: Vec<String> = organizations::entitlements_in(tx)
                .await?
                .into_iter()
                .map(|entitlement| entitlement.key)
                .collect();
            if let Some(i) = self.entitlements.iter().position(|key| !keys.contains(key)) {
                return Err(Error::validation(
                    &format!("accessPolicy.entitlements[{i}]"),
                    format!(
                        "{:?} is not an entitlement of this tenant",
                        self.entitlements[i]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The policy with each list's entries once, in their first order.
    pub(crate) fn deduplicated(mut self) -> Self {
        fn once<T: PartialEq>(list: &mut Vec<T>) {
            let mut kept: Vec<T> = Vec::with_capacity(list.len());
            for item in list.drain(..) {
                if !kept.contains(&item) {
                    kept.push(item);
                }
            }
            *list = kept;
        }
        once(&mut self.organization_kinds);
        once(&mut self.organization_ids);
        once(&mut self.roles);
        once(&mut self.entitlements);
        self
    }

    /// Whether one membership (its context now) meets every list.
    fn admits(&self, context: &OrgContext) -> bool {
        let meets = |listed: bool, matched: bool| !listed || matched;
        meets(
            !self.organization_kinds.is_empty(),
            self.organization_kinds.contains(&context.kind),
        ) && meets(
            !self.organization_ids.is_empty(),
            self.organization_ids.contains(&context.id),
        ) && meets(
            !self.roles.is_empty(),
            context.roles.iter().any(|role| self.roles.contains(role)),
        ) && meets(
            !self.entitlements.is_empty(),
            context
                .entitlements
                .iter()
                .any(|key| self.entitlements.contains(key)),
        )
    }

    /// Why the policy keeps `identity_id` out, in words for the user; `None` when it lets them
    /// in. `organization` is the one the tokens are to be scoped to: it alone must then meet
    /// the policy; without one, any membership in force may.
    pub(crate) async fn refusal_in(
        &self,
        tx: &TenantTx,
        identity_id: Uuid,
        organization: Option<&OrgContext>,
    ) -> Result<Option<String>> {
        match self.allow {
            Allow::Any => Ok(None),
            Allow::Consumers => {
                let member = organization.is_some()
                    || !organizations::organizations_of_in(tx, identity_id, 1)
                        .await?
                        .is_empty();
                Ok(member.then(|| {
                    "this application is for consumers only; members of an organization cannot sign in to it".to_owned()
                }))
            }
            Allow::Members => {
                let admitted = match organization {
                    Some(context) => self.admits(context),
                    None => self.any_membership_admits(tx, identity_id).await?,
                };
                Ok((!admitted).then(|| self.members_refusal()))
            }
        }
    }

    async fn any_membership_admits(&self, tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
        let member_of =
            organizations::organizations_of_in(tx, identity_id, MAX_MEMBERSHIPS_CHECKED).await?;
        for organization in member_of {
            let context = organizations::context_in(tx, organization.id, identity_id).await?;
            if context.is_some_and(|context| self.admits(&context)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn members_refusal(&self) -> String {
        let mut which = Vec::new();
        if !self.organization_kinds.is_empty() {
            let kinds: Vec<&str> = self
                .organization_kinds
                .iter()
                .map(|kind| kind.as_str())
                .collect();
            which.push(format!("of kind {}", kinds.join(" or ")));
        }
        if !self.organization_ids.is_empty() {
            which.push("listed by the application".to_owned());
        }
        if !self.roles.is_empty() {
            which.push(format!("with the role {}", self.roles.join(" or ")));
        }
        if !self.entitlements.is_empty() {
            which.push(format!(
                "whose organization holds {}",
                self.entitlements.join(" or ")
            ));
        }
        let mut text = "this application is open only to members of organizations".to_owned();
        if !which.is_empty() {
            text.push(' ');
            text.push_str(&which.join(", "));
        }
        text.push_str("; your account does not meet that here");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations::AuthenticationPolicy;

    fn context(kind: OrganizationKind, roles: &[&str], entitlements: &[&str]) -> OrgContext {
        OrgContext {
            id: Uuid::nil(),
            kind,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            authentication_policy: AuthenticationPolicy::Any,
            entitlements: entitlements.iter().map(|e| e.to_string()).collect(),
            permissions: Vec::new(),
            until: None,
        }
    }

    #[test]
    fn every_nonempty_list_must_be_met_by_the_same_membership() {
        let policy = AccessPolicy {
            allow: Allow::Members,
            organization_kinds: vec![OrganizationKind::Partner],
            roles: vec!["admin".into()],
            ..AccessPolicy::default()
        };
        assert!(policy.admits(&context(OrganizationKind::Partner, &["admin"], &[])));
        assert!(!policy.admits(&context(OrganizationKind::Customer, &["admin"], &[])));
        assert!(!policy.admits(&context(OrganizationKind::Partner, &["member"], &[])));
        let by_entitlement = AccessPolicy {
            allow: Allow::Members,
            entitlements: vec!["analytics".into()],
            ..AccessPolicy::default()
        };
        assert!(by_entitlement.admits(&context(OrganizationKind::Customer, &[], &["analytics"])));
        assert!(!by_entitlement.admits(&context(OrganizationKind::Customer, &[], &["sso"])));
        let any_member = AccessPolicy {
            allow: Allow::Members,
            ..AccessPolicy::default()
        };
        assert!(any_member.admits(&context(OrganizationKind::Customer, &[], &[])));
        assert!(
            any_member
                .members_refusal()
                .ends_with("does not meet that here")
        );
        assert!(
            policy
                .members_refusal()
                .contains("of kind partner, with the role admin")
        );
    }

    #[test]
    fn lists_keep_one_of_each() {
        let policy = AccessPolicy {
            allow: Allow::Members,
            roles: vec!["a".into(), "b".into(), "a".into()],
            ..AccessPolicy::default()
        }
        .deduplicated();
        assert_eq!(policy.roles, ["a", "b"]);
    }
}
