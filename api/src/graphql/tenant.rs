//! The tenant API, `/t/{slug}/graphql`: the root of its schema, which merges the queries and
//! mutations of every area (the viewer, identities, API keys, the audit log, passkey
//! ceremonies, sessions, passkeys, the tenant's settings, applications, organizations,
//! invitations, organization roles, domains, domain events, CRM connectors, email
//! verification and account recovery). The tenant
//! comes from the URL or host, never from an argument; resolvers only translate between
//! GraphQL and one core call each.

use super::access::{AccessMutation, AccessQuery};
use super::activity::ActivityQuery;
use super::administrators::{AdministratorMutation, AdministratorQuery};
use super::api_keys::{ApiKeyMutation, ApiKeyQuery};
use super::applications::{ApplicationMutation, ApplicationQuery};
use super::audit::AuditQuery;
use super::ceremonies::CeremonyMutation;
use super::connectors::{ConnectorMutation, ConnectorQuery};
use super::data_rights::DataRightsMutation;
use super::domains::DomainMutation;
use super::email_templates::{EmailTemplateMutation, EmailTemplateQuery};
use super::email_verification::EmailVerificationMutation;
use super::entitlements::{EntitlementMutation, EntitlementQuery};
use super::events::EventQuery;
use super::identities::{IdentityMutation, IdentityQuery};
use super::identity_providers::{IdentityProviderMutation, IdentityProviderQuery};
use super::identity_transfer::{IdentityTransferMutation, IdentityTransferQuery};
use super::invitations::InvitationMutation;
use super::organization_roles::{OrganizationRoleMutation, OrganizationRoleQuery};
use super::organizations::{OrganizationMutation, OrganizationQuery};
use super::passkeys::{PasskeyMutation, PasskeyQuery};
use super::passwords::PasswordMutation;
use super::profile::ProfileMutation;
use super::recovery::{RecoveryMutation, RecoveryQuery};
use super::relationships::{RelationshipMutation, RelationshipQuery};
use super::scim_tokens::{ScimTokenMutation, ScimTokenQuery};
use super::sessions::{SessionMutation, SessionQuery};
use super::settings::{SettingsMutation, SettingsQuery};
use super::viewer::ViewerQuery;
use async_graphql::{EmptySubscription, MergedObject, Schema};

pub type TenantSchema = Schema<TenantQuery, TenantMutation, EmptySubscription>;

/// The tenant API's queries: administration and the end user's account.
#[derive(MergedObject, Default)]
pub struct TenantQuery(
    ViewerQuery,
    IdentityQuery,
    ApiKeyQuery,
    AuditQuery,
    PasskeyQuery,
    SessionQuery,
    SettingsQuery,
    ApplicationQuery,
    OrganizationQuery,
    AccessQuery,
    OrganizationRoleQuery,
    EntitlementQuery,
    RelationshipQuery,
    EventQuery,
    ConnectorQuery,
    RecoveryQuery,
    EmailTemplateQuery,
    IdentityProviderQuery,
    ScimTokenQuery,
    IdentityTransferQuery,
    AdministratorQuery,
    ActivityQuery,
);

/// The tenant API's mutations: administration and the end user's account.
#[derive(MergedObject, Default)]
pub struct TenantMutation(
    IdentityMutation,
    ApiKeyMutation,
    CeremonyMutation,
    PasswordMutation,
    ProfileMutation,
    SessionMutation,
    PasskeyMutation,
    SettingsMutation,
    ApplicationMutation,
    OrganizationMutation,
    AccessMutation,
    InvitationMutation,
    OrganizationRoleMutation,
    EntitlementMutation,
    RelationshipMutation,
    DomainMutation,
    ConnectorMutation,
    EmailVerificationMutation,
    RecoveryMutation,
    EmailTemplateMutation,
    IdentityProviderMutation,
    ScimTokenMutation,
    IdentityTransferMutation,
    DataRightsMutation,
    AdministratorMutation,
);
