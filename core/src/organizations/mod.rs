//! B2B organizations: the tenant's business customers and partners, their members with
//! organization roles, and the roles themselves (two built in, the rest defined per tenant).
//!
//! Who may do what: tenant admins (API keys) with `ReadOrganizations` / `WriteOrganizations`
//! act on every organization. An identity acts on an organization only through its membership
//! there: the permissions of its roles decide (`org:admin` manages members, so organizations
//! administer themselves). An admin of a `PARTNER` organization also acts on the `CUSTOMER`
//! organizations a relationship in force gives its partner, with that relationship's roles
//! (`partners`, `relationships`). To an identity, an organization it reaches neither way does
//! not exist (`NotFound`), like one of another tenant.

mod access;
mod directory;
mod entitlements;
mod events;
mod grants;
mod members;
mod model;
mod partners;
mod portable;
mod relationships;
mod roles;
mod store;
mod transitions;
mod window;

pub(crate) use access::{Needs, authorize_in, check_may_grant, permitted_in};
pub use directory::*;
pub use entitlements::{
    Entitlement, EntitlementChange, EntitlementGrant, Holdings, create_entitlement,
    delete_entitlement, entitlement_list, grant_entitlement, held_event_data, list_entitlements,
    organization_entitlements, parse_entitlement_key, revoke_entitlement,
};
pub(crate) use entitlements::{entitlements_in, in_force_in as entitlements_in_force_in};
pub use grants::{GrantChange, GrantSelector, NewGrant, grant_role, revoke_role};
pub use members::*;
pub use model::*;
pub use partners::{
    DelegatedCustomer, NewRelationship, create_relationship, delegated_customers, end_relationship,
    organization_relationships,
};
pub(crate) use portable::{
    by_slug_in, import_membership_in, import_organization_in, import_role_in, memberships_of_in,
    tenant_roles_in,
};
pub use relationships::OrganizationRelationship;
pub use roles::*;
pub(crate) use store::{
    check_roles, context_by_reference, context_in, count_in, existing_in, find_by_external_id,
    find_in, held_by_in as entitlements_held_in, insert_membership_in, is_member_in, member_of,
    membership_in, memberships_page_in, memberships_where_in, organization_in, organizations_of_in,
    page_in, record, role_names_in, roles_in as organization_roles_in,
};
pub use transitions::{POLL_INTERVAL, fire_due, run as run_transitions};
pub use window::{AccessStatus, Window};
