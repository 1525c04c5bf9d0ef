//! What a federated sign-in does once the protocol has proven who the provider says the person
//! is: find the identity by its link (provider and subject), or link or create one where the
//! address is proven, give an enterprise provider's people their membership and mapped roles,
//! and start the session. Every refusal is audited with its reason.

use super::links::{self, FederatedLink};
use super::providers::{IdentityProvider, Preset};
use crate::audit::{self, Target};
use crate::auth_method::FEDERATED;
use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityStatus, NewIdentity};
use crate::organizations::{self, ORG_MEMBER, Window};
use crate::outbox::EventType;
use crate::passkeys::{Ceremonies, CeremonyOutcome};
use crate::validate::Email;
use serde_json::{Value, json};
use uuid::Uuid;

/// Who the provider says signed in, as the protocol read and verified it.
#[derive(Clone, Debug, Default)]
pub struct FederatedProfile {
    /// The provider's stable id of the person (`sub`; Microsoft: `{tid}/{oid}`).
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider proves the address (its `email_verified`, Google's `hd`,
    /// Microsoft's `xms_edov`, as the protocol read them).
    pub email_proven: bool,
    pub display_name: Option<String>,
    /// The values of the claim the role mapping reads (OIDC `groups`, a SAML attribute).
    pub groups: Vec<String>,
}

fn refusal(reason: &'static str, message: &str) -> (Error, &'static str) {
    (Error::Refused(message.to_owned()), reason)
}

/// Audits a refused federated sign-in (`federation.refused`) with its reason and provider.
pub async fn record_refusal(
    ceremonies: &Ceremonies<'_>,
    provider_id: Option<Uuid>,
    reason: &str,
    identity_id: Option<Uuid>,
) {
    ceremonies
        .audit_refusal(
            "federation.refused",
            json!({ "reason": reason, "providerId": provider_id, "ipAddress": ceremonies.client.ip_address }),
            identity_id,
        )
        .await;
}

async fn record_in(
    tx: &TenantTx,
    actor: &crate::Actor,
    action: &str,
    identity_id: Uuid,
    details: Value,
) -> Result<()> {
    let target = identity_id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        details,
    )
    .await
}

/// The domain of an address, lower case.
fn domain_of(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase())
}

/// Signs in with a federated profile: the identity its link names, else the identity of a
/// proven address (linked now), else a new identity. An organization's provider answers only
/// for its organization's verified domains and makes the person a member with the roles its
/// mapping gives, at every sign-in.
pub async fn sign_in_federated(
    ceremonies: &Ceremonies<'_>,
    provider: &IdentityProvider,
    profile: FederatedProfile,
) -> Result<CeremonyOutcome> {
    let tx = ceremonies.db.begin_tenant(ceremonies.scope).await?;
    let found = match resolve_in(&tx, ceremonies, provider, &profile).await {
        Ok(found) => found,
        Err((error, reason)) => {
            drop(tx);
            let identity = match &error {
                Error::Refused(_) => None,
                _ => return Err(error),
            };
            record_refusal(ceremonies, Some(provider.id), reason, identity).await;
            return Err(error);
        }
    };
    let (identity, link) = found;
    if let Err(error) = crate::sso::check_in(&tx, identity.id, provider.organization_id).await {
        drop(tx);
        record_refusal(
            ceremonies,
            Some(provider.id),
            "sso_required",
            Some(identity.id),
        )
        .await;
        return Err(error);
    }
    links::touch_in(&tx, link.id).await?;
    if let Some(organization_id) = provider.organization_id {
        join_in(
            &tx,
            ceremonies,
            provider,
            organization_id,
            identity.id,
            &profile,
        )
        .await?;
    }
    let tokens = ceremonies
        .start_session_in(
            &tx,
            identity.id,
            FEDERATED,
            json!({ "providerId": provider.id, "preset": provider.preset.as_str() }),
        )
        .await?;
    tx.commit().await?;
    Ok(CeremonyOutcome {
        identity,
        passkey: None,
        tokens: Some(tokens),
    })
}

type Resolved = std::result::Result<(Identity, FederatedLink), (Error, &'static str)>;

async fn resolve_in(
    tx: &TenantTx,
    ceremonies: &Ceremonies<'_>,
    provider: &IdentityProvider,
    profile: &FederatedProfile,
) -> Resolved {
    let internal = |error: Error| (error, "error");
    if let Some(link) = links::by_subject_in(tx, provider.id, &profile.subject)
        .await
        .map_err(internal)?
    {
        let identity = identities::find_in(tx, link.identity_id)
            .await
            .map_err(internal)?;
        if identity.status != IdentityStatus::Active {
            return Err(refusal(
                "identity_not_active",
                "this account cannot sign in",
            ));
        }
        return Ok((identity, link));
    }
    let Some(email) = profile.email.as_deref() else {
        return Err(refusal(
            "no_email",
            "the provider did not give an email address; ask your administrator to release the email claim",
        ));
    };
    let email = Email::parse("email", email).map_err(|_| {
        refusal(
            "bad_email",
            "the provider gave an address that is not a valid email address",
        )
    })?;
    if let Some(organization_id) = provider.organization_id {
        let domain = domain_of(email.as_str()).unwrap_or_default();
        let owner = crate::domains::verified_owner_in(tx, &domain)
            .await
            .map_err(internal)?;
        if owner != Some(organization_id) {
            return Err(refusal(
                "domain_not_of_organization",
                "this sign-in provider answers only for its organization's verified domains; sign in another way",
            ));
        }
    }
    // An organization's provider speaks for its verified domains, except Google's, where
    // any Workspace signs in through the same issuer: there the signed `hd` must match too.
    let authoritative = match (provider.organization_id, provider.preset) {
        (Some(_), Preset::Google) | (None, _) => profile.email_proven,
        (Some(_), _) => true,
    };
    let existing = identities::find_by_email(tx, email.normalized())
        .await
        .map_err(internal)?;
    let actor = ceremonies.actor;
    match existing {
        Some(_) if !authoritative => Err(refusal(
            "email_not_proven",
            "an account with this address exists, and the provider does not prove the address; sign in with your account and link the provider from your account page",
        )),
        None if !authoritative => Err(refusal(
            "email_not_proven",
            "the provider does not prove this address; sign up another way, then link the provider from your account page",
        )),
        Some(identity) if identity.status != IdentityStatus::Active => Err(refusal(
            "identity_not_active",
            "this account cannot sign in",
        )),
        Some(identity) if !identity.email_verified => Err(refusal(
            "existing_address_unverified",
            "an account with this address exists but its address was never verified; sign in with it and verify the address first",
        )),
        Some(identity) => {
            let details = json!({ "providerId": provider.id, "by": "proven_email" });
            let link = link_in(
                tx,
                actor,
                &identity,
                provider,
                profile,
                "federation.link",
                details,
            )
            .await
            .map_err(internal)?;
            Ok((identity, link))
        }
        None => {
            let identity = identities::insert_in(
                tx,
                Uuid::now_v7(),
                NewIdentity {
                    email: email.as_str().to_owned(),
                    email_verified: true,
                    display_name: profile
                        .display_name
                        .clone()
                        .filter(|n| n.chars().count() <= 200),
                    ..NewIdentity::default()
                },
            )
            .await
            .map_err(internal)?;
            identities::publish(tx, actor, EventType::IdentityCreated, &identity, &[])
                .await
                .map_err(internal)?;
            let details = json!({ "providerId": provider.id, "email": identity.email });
            let link = link_in(
                tx,
                actor,
                &identity,
                provider,
                profile,
                "federation.provision",
                details,
            )
            .await
            .map_err(internal)?;
            Ok((identity, link))
        }
    }
}

/// Links `identity` to the profile's subject at `provider` and audits it as `action`.
async fn link_in(
    tx: &TenantTx,
    actor: &crate::Actor,
    identity: &Identity,
    provider: &IdentityProvider,
    profile: &FederatedProfile,
    action: &str,
    details: Value,
) -> Result<FederatedLink> {
    let link = links::insert_in(
        tx,
        identity.id,
        provider.id,
        &profile.subject,
        Some(identity.email.as_str()),
    )
    .await?;
    record_in(tx, actor, action, identity.id, details).await?;
    Ok(link)
}

/// Makes the person a member of the provider's organization (just in time) and applies the
/// role mapping to the membership at every sign-in.
async fn join_in(
    tx: &TenantTx,
    ceremonies: &Ceremonies<'_>,
    provider: &IdentityProvider,
    organization_id: Uuid,
    identity_id: Uuid,
    profile: &FederatedProfile,
) -> Result<()> {
    let mapped = provider
        .role_mapping
        .as_ref()
        .map(|mapping| mapping.roles_for(&profile.groups))
        .filter(|roles| !roles.is_empty());
    if organizations::is_member_in(tx, organization_id, identity_id).await? {
        if let Some(roles) = mapped {
            organizations::sync_roles_in(
                tx,
                ceremonies.actor,
                organization_id,
                identity_id,
                &roles,
                "identity_provider",
            )
            .await?;
        }
        return Ok(());
    }
    let roles = mapped.unwrap_or_else(|| vec![ORG_MEMBER.to_owned()]);
    organizations::insert_membership_in(
        tx,
        ceremonies.actor,
        organization_id,
        identity_id,
        &roles,
        Window::default(),
    )
    .await?;
    record_in(
        tx,
        ceremonies.actor,
        "federation.provision",
        identity_id,
        json!({ "providerId": provider.id, "organizationId": organization_id, "roles": roles }),
    )
    .await
}

/// Links the signed-in identity to the account it just proved at the provider (from the
/// account page). `Conflict` if that account is linked to another identity.
pub async fn link_federated(
    ceremonies: &Ceremonies<'_>,
    identity_id: Uuid,
    provider: &IdentityProvider,
    profile: FederatedProfile,
) -> Result<FederatedLink> {
    let tx = ceremonies.db.begin_tenant(ceremonies.scope).await?;
    if let Some(link) = links::by_subject_in(&tx, provider.id, &profile.subject).await? {
        if link.identity_id == identity_id {
            return Ok(link);
        }
        drop(tx);
        record_refusal(
            ceremonies,
            Some(provider.id),
            "linked_to_another_identity",
            Some(identity_id),
        )
        .await;
        return Err(Error::Conflict(
            "this account at the provider is linked to another identity".into(),
        ));
    }
    if let Some(organization_id) = provider.organization_id
        && !organizations::is_member_in(&tx, organization_id, identity_id).await?
    {
        drop(tx);
        record_refusal(
            ceremonies,
            Some(provider.id),
            "not_a_member",
            Some(identity_id),
        )
        .await;
        return Err(Error::Refused(
            "only members of the provider's organization link its accounts".into(),
        ));
    }
    let link = links::insert_in(
        &tx,
        identity_id,
        provider.id,
        &profile.subject,
        profile.email.as_deref(),
    )
    .await?;
    record_in(
        &tx,
        ceremonies.actor,
        "federation.link",
        identity_id,
        json!({ "providerId": provider.id, "by": "signed_in" }),
    )
    .await?;
    tx.commit().await?;
    Ok(link)
}
