//! The one decision on whether a caller may act on a resource: tenant roles (API keys, the
//! platform operator), organization roles and their permissions (end users in their
//! organizations), an end user's ownership of what is theirs, and what a CRM connector may
//! write. Deny by default. A resource the caller may not see is `NotFound`; one it sees but may
//! not change is `PermissionDenied`; no credential at all is `Unauthenticated`. The reason is
//! logged; the caller only learns that it was refused.
//!
//! Services call [`authorize`] before they open their transaction (or, for organizations, once
//! they have read what the caller holds there) and keep the [`Grant`] it answers: functions
//! that work inside another service's transaction take the grant instead of trusting their
//! caller.

use crate::actor::{Actor, AdminRole, Permission, Principal};
use crate::error::{Error, Result};
use uuid::Uuid;

/// What a caller acts on.
#[derive(Clone, Copy, Debug)]
pub enum Resource<'a> {
    /// The tenant or a collection of it (identities, keys, settings, connectors): the
    /// caller's tenant roles decide.
    Tenant,
    /// Something that belongs to identity `owner` (its profile, passkeys, sessions and
    /// memberships): the owner itself may; otherwise tenant roles decide, and another end user
    /// does not see it at all.
    OwnedBy(Uuid),
    /// What every signed-in end user of the tenant may read (the organization role
    /// catalogue, so member pages can name roles); other callers by tenant roles.
    Directory,
    /// Organization `id`. An end user needs the organization permission `needs` among the
    /// permissions of the roles it `holds` there (`None`: not a member, so `NotFound`); tenant
    /// credentials need the tenant permission.
    Organization {
        id: Uuid,
        holds: Option<&'a [String]>,
        needs: &'a str,
    },
}

/// Proof that [`authorize`] allowed a caller a permission, tenant-wide or on one identity's
/// own things. Only [`authorize`] makes one.
///
/// ```compile_fail
/// let forged = latchkey_core::authz::Grant {
///     actor: todo!(),
///     permission: latchkey_core::Permission::WriteIdentities,
///     owner: None,
/// };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Grant<'a> {
    actor: &'a Actor,
    permission: Permission,
    /// Set when the grant covers only this identity's own things.
    owner: Option<Uuid>,
}

impl<'a> Grant<'a> {
    pub fn actor(&self) -> &'a Actor {
        self.actor
    }

    /// The identity whose own things this grant is limited to, if it is.
    pub fn owner(&self) -> Option<Uuid> {
        self.owner
    }

    /// Succeeds if this grant covers `permission` across the tenant.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.owner.is_none() && self.permission == permission {
            return Ok(());
        }
        Err(Error::internal(format!(
            "a grant of {:?} used for {permission:?}",
            self.permission
        )))
    }
}

/// Decides whether `actor` may do what `permission` names to `resource`.
pub fn authorize<'a>(
    actor: &'a Actor,
    permission: Permission,
    resource: Resource<'_>,
) -> Result<Grant<'a>> {
    let grant = |owner| Grant {
        actor,
        permission,
        owner,
    };
    match (actor.principal(), resource) {
        (Principal::Anonymous, _) => return Err(Error::Unauthenticated),
        (Principal::Identity { id, .. }, Resource::Directory) => return Ok(grant(Some(*id))),
        (Principal::Identity { id, .. }, Resource::OwnedBy(owner)) => {
            return if *id == owner {
                Ok(grant(Some(owner)))
            } else {
                Err(Error::NotFound)
            };
        }
        (
            Principal::Identity { id, .. },
            Resource::Organization {
                id: org,
                holds,
                needs,
            },
        ) => {
            let Some(holds) = holds else {
                return Err(Error::NotFound);
            };
            if holds.iter().any(|held| held == needs) {
                return Ok(grant(Some(*id)));
            }
            tracing::info!(organization.id = %org, permission = needs, "organization permission denied");
            return Err(Error::PermissionDenied);
        }
        _ => {}
    }
    if tenant_roles_grant(actor, permission) {
        return Ok(grant(None));
    }
    tracing::info!(
        actor = ?actor.principal(),
        permission = ?permission,
        request.id = actor.request_id().unwrap_or(""),
        "permission denied"
    );
    Err(Error::PermissionDenied)
}

/// Whether `actor` may hand out the tenant role `role` (nobody grants more than they hold).
pub fn may_grant(actor: &Actor, role: AdminRole) -> bool {
    actor.roles().iter().any(|held| *held <= role)
}

/// Whether the caller's tenant-wide standing grants `permission`: a role of its API key (the
/// platform operator holds the owner role), or the writes a CRM connector applies.
fn tenant_roles_grant(actor: &Actor, permission: Permission) -> bool {
    if actor.roles().iter().any(|role| role.grants(permission)) {
        return true;
    }
    matches!(actor.principal(), Principal::Connector { .. })
        && matches!(
            permission,
            Permission::ReadIdentities
                | Permission::WriteIdentities
                | Permission::ReadOrganizations
                | Permission::WriteOrganizations
                | Permission::ReadAuditEvents
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(roles: &[AdminRole]) -> Actor {
        Actor::new(
            Principal::ApiKey {
                id: Uuid::nil(),
                roles: roles.to_vec(),
            },
            None,
        )
    }

    fn user(id: Uuid) -> Actor {
        Actor::new(
            Principal::Identity {
                id,
                session_id: Uuid::nil(),
            },
            None,
        )
    }

    #[test]
    fn viewer_reads_but_does_not_write() {
        let viewer = key(&[AdminRole::Viewer]);
        assert!(authorize(&viewer, Permission::ReadIdentities, Resource::Tenant).is_ok());
        assert!(matches!(
            authorize(&viewer, Permission::WriteIdentities, Resource::Tenant),
            Err(Error::PermissionDenied)
        ));
    }

    #[test]
    fn nobody_grants_more_than_they_hold() {
        let admin = key(&[AdminRole::Admin]);
        assert!(!may_grant(&admin, AdminRole::Owner));
        assert!(may_grant(&admin, AdminRole::Admin));
        assert!(may_grant(&admin, AdminRole::Viewer));
        assert!(may_grant(&key(&[AdminRole::Owner]), AdminRole::Owner));
    }

    #[test]
    fn anonymous_is_unauthenticated_everywhere() {
        let anonymous = Actor::anonymous(None);
        for resource in [Resource::Tenant, Resource::OwnedBy(Uuid::nil())] {
            assert!(matches!(
                authorize(&anonymous, Permission::ReadTenant, resource),
                Err(Error::Unauthenticated)
            ));
        }
    }

    #[test]
    fn an_end_user_has_its_own_things_and_does_not_see_others() {
        let me = Uuid::now_v7();
        let actor = user(me);
        let grant = authorize(&actor, Permission::WriteIdentities, Resource::OwnedBy(me)).unwrap();
        assert_eq!(grant.owner(), Some(me));
        // A grant on one's own things is no tenant-wide grant.
        assert!(grant.require(Permission::WriteIdentities).is_err());
        assert!(matches!(
            authorize(
                &actor,
                Permission::ReadIdentities,
                Resource::OwnedBy(Uuid::now_v7())
            ),
            Err(Error::NotFound)
        ));
        assert!(matches!(
            authorize(&actor, Permission::ReadIdentities, Resource::Tenant),
            Err(Error::PermissionDenied)
        ));
    }

    #[test]
    fn admins_reach_every_identity() {
        let admin = key(&[AdminRole::Admin]);
        let grant = authorize(
            &admin,
            Permission::WriteIdentities,
            Resource::OwnedBy(Uuid::now_v7()),
        )
        .unwrap();
        assert!(grant.require(Permission::WriteIdentities).is_ok());
        assert!(grant.require(Permission::ManageApiKeys).is_err());
    }

    #[test]
    fn organization_roles_decide_for_members_only() {
        let actor = user(Uuid::now_v7());
        let org = Uuid::now_v7();
        let holds = ["org:members:read".to_owned()];
        let member = |needs| Resource::Organization {
            id: org,
            holds: Some(&holds),
            needs,
        };
        assert!(
            authorize(
                &actor,
                Permission::ReadOrganizations,
                member("org:members:read")
            )
            .is_ok()
        );
        assert!(matches!(
            authorize(
                &actor,
                Permission::WriteOrganizations,
                member("org:members:write")
            ),
            Err(Error::PermissionDenied)
        ));
        let stranger = Resource::Organization {
            id: org,
            holds: None,
            needs: "org:members:read",
        };
        assert!(matches!(
            authorize(&actor, Permission::ReadOrganizations, stranger),
            Err(Error::NotFound)
        ));
        // Tenant credentials go by their tenant role, whatever the organization says.
        let viewer = key(&[AdminRole::Viewer]);
        assert!(authorize(&viewer, Permission::ReadOrganizations, stranger).is_ok());
    }

    #[test]
    fn connectors_write_identities_and_organizations_only() {
        let connector = Actor::new(Principal::Connector { id: Uuid::nil() }, None);
        assert!(authorize(&connector, Permission::WriteIdentities, Resource::Tenant).is_ok());
        assert!(authorize(&connector, Permission::WriteOrganizations, Resource::Tenant).is_ok());
        assert!(matches!(
            authorize(&connector, Permission::ManageApiKeys, Resource::Tenant),
            Err(Error::PermissionDenied)
        ));
    }
}
