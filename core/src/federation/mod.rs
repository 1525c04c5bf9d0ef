//! Federation: signing in through an identity provider (a tenant-wide social provider, or an
//! organization's enterprise SSO). The protocols (OpenID Connect discovery, the code flow, ID
//! token validation) run in the control plane (`latchkey_tenants::federation`), which does the
//! outbound calls; here are the rules that need no network: the providers and their checks
//! (`providers`), the links of identities to provider accounts (`links`), what a proven
//! federated profile signs in, links or provisions (`sign_in`), and the account's view of its
//! links (`account`).
//!
//! Layers: `presets` (settings and credentials per preset), `role_mapping` → `providers`, `links` → `sign_in`, `account`, `requirement` (an organization's SSO
//! requirement; the check at every sign-in is `crate::sso`).

mod account;
mod links;
mod presets;
mod providers;
mod requirement;
mod role_mapping;
mod sign_in;

pub use account::{LinkedProvider, federated_links, unlink_provider};
pub use links::FederatedLink;
pub(crate) use links::of_identities_in as links_of_identities_in;
pub(crate) use links::{erase_links_in, of_identity_in as links_of_identity_in};
pub use presets::AppleKey;
pub use providers::{
    CheckedSettings, Credentials, IdentityProvider, NewProvider, Preset, Protocol, ProviderChanges,
    RoleMapping, RoleRule, SignInOptions, check_changes, check_new, create_provider,
    delete_provider, list_providers, provider_for_domain, provider_for_flow, sign_in_options,
    update_provider,
};
pub use requirement::{set_sso_requirement, sso_requirement};
pub use sign_in::{FederatedProfile, link_federated, record_refusal, sign_in_federated};
