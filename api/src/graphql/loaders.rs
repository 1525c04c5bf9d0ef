//! DataLoaders of the tenant API: nested lists (an organization's members, invitations, join
//! requests and domains, an identity's organizations, an identity's passkey count) are loaded
//! for all the parents of a response level at once, so a page of organizations with their
//! members costs the same few SQL statements whatever its size.

use super::context::RequestContext;
use super::types::graphql_error;
use crate::state::Services;
use async_graphql::dataloader::{DataLoader, Loader};
use latchkey_core::domains::{
    self as core_domains, JoinRequest, JoinRequestStatus, OrganizationDomain,
};
use latchkey_core::invitations::{self as core_invitations, Invitation};
use latchkey_core::organizations::{self as core_orgs, Member};
use latchkey_core::page::Page;
use latchkey_core::passkeys;
use latchkey_core::passwords::{self, SignInFactors};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long a loader collects keys before it queries: long enough for a page of 100
/// organizations to ask for all their members in one batch.
const BATCH_WINDOW: Duration = Duration::from_millis(5);

/// Keys per batch: a page of 1000 organizations, or 100 organizations of 50 members each
/// (5000 identities for the passkey counts), is one batch, within the bind-parameter limits
/// of SQLite (32766) and PostgreSQL (65535).
const MAX_BATCH: usize = 10_000;

/// The loaders of one request (they cache what they loaded for the request's lifetime).
pub struct Loaders {
    /// The first page of members of an organization, by (organization id, page size).
    pub members: DataLoader<FirstPagesLoader<MembershipSide>>,
    /// The first page of an identity's memberships, by (identity id, page size).
    pub identity_organizations: DataLoader<FirstPagesLoader<MembershipSide>>,
    /// The first page of an organization's invitations, by (organization id, (pending only,
    /// page size)).
    pub invitations: DataLoader<FirstPagesLoader<OrganizationInvitations>>,
    /// The first page of an organization's join requests, by (organization id, (status, page
    /// size)).
    pub join_requests: DataLoader<FirstPagesLoader<OrganizationJoinRequests>>,
    /// The domains of an organization.
    pub domains: DataLoader<DomainsLoader>,
    /// The number of active passkeys of an identity.
    pub passkey_counts: DataLoader<PasskeyCountLoader>,
    /// Whether an identity has a password and an authenticator app.
    pub sign_in_factors: DataLoader<SignInFactorsLoader>,
}

impl Loaders {
    pub fn new(services: &Arc<Services>, request: &Arc<RequestContext>) -> Self {
        Self {
            members: FirstPagesLoader::batched(services, request, MembershipSide::Organization),
            identity_organizations: FirstPagesLoader::batched(
                services,
                request,
                MembershipSide::Identity,
            ),
            invitations: FirstPagesLoader::batched(services, request, OrganizationInvitations),
            join_requests: FirstPagesLoader::batched(services, request, OrganizationJoinRequests),
            domains: batched(DomainsLoader {
                services: services.clone(),
                request: request.clone(),
            }),
            passkey_counts: batched(PasskeyCountLoader {
                services: services.clone(),
                request: request.clone(),
            }),
            sign_in_factors: batched(SignInFactorsLoader {
                services: services.clone(),
                request: request.clone(),
            }),
        }
    }
}

/// A loader that waits [`BATCH_WINDOW`] for keys and takes up to [`MAX_BATCH`] at once.
fn batched<T: Send + Sync + 'static>(loader: T) -> DataLoader<T> {
    DataLoader::new(loader, tokio::spawn)
        .delay(BATCH_WINDOW)
        .max_batch_size(MAX_BATCH)
}

/// A nested list whose first pages load in batches: the core function that answers the first
/// pages of many parents asked with the same arguments.
pub trait FirstPages: Send + Sync + 'static {
    /// What a page is asked with besides its parent (page size, filters). Parents asked with
    /// the same arguments load together.
    type Arguments: Copy + Eq + Hash + Send + Sync + 'static;
    type Item: Clone + Send + Sync + 'static;

    /// The first pages of those of `parents` the caller may list; the others are left out (the
    /// resolver then asks the single-parent function, which says why).
    fn first_pages(
        &self,
        services: &Services,
        request: &RequestContext,
        parents: &[Uuid],
        arguments: Self::Arguments,
    ) -> impl Future<Output = latchkey_core::Result<HashMap<Uuid, Page<Self::Item>>>> + Send;
}

/// Loads the first pages of a [`FirstPages`] list, by (parent id, arguments).
pub struct FirstPagesLoader<L> {
    services: Arc<Services>,
    request: Arc<RequestContext>,
    list: L,
}

impl<L: FirstPages> FirstPagesLoader<L> {
    fn batched(
        services: &Arc<Services>,
        request: &Arc<RequestContext>,
        list: L,
    ) -> DataLoader<Self> {
        batched(Self {
            services: services.clone(),
            request: request.clone(),
            list,
        })
    }
}

impl<L: FirstPages> Loader<(Uuid, L::Arguments)> for FirstPagesLoader<L> {
    type Value = Page<L::Item>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(Uuid, L::Arguments)],
    ) -> Result<HashMap<(Uuid, L::Arguments), Self::Value>, Self::Error> {
        // One batch per set of arguments (in practice every key of a level has the same).
        let mut batches: HashMap<L::Arguments, Vec<Uuid>> = HashMap::new();
        for (id, arguments) in keys {
            batches.entry(*arguments).or_default().push(*id);
        }
        let mut loaded = HashMap::new();
        for (arguments, ids) in batches {
            let pages = self
                .list
                .first_pages(&self.services, &self.request, &ids, arguments)
                .await
                .map_err(graphql_error)?;
            loaded.extend(pages.into_iter().map(|(id, page)| ((id, arguments), page)));
        }
        Ok(loaded)
    }
}

/// Whose first pages of memberships are loaded (the arguments are the page size).
#[derive(Clone, Copy)]
pub enum MembershipSide {
    /// An organization's members.
    Organization,
    /// An identity's organizations.
    Identity,
}

impl FirstPages for MembershipSide {
    type Arguments = u64;
    type Item = Member;

    async fn first_pages(
        &self,
        services: &Services,
        request: &RequestContext,
        parents: &[Uuid],
        first: u64,
    ) -> latchkey_core::Result<HashMap<Uuid, Page<Member>>> {
        let (db, scope, actor) = (&services.db, &request.scope, &request.actor);
        match self {
            MembershipSide::Organization => {
                core_orgs::first_members(db, scope, actor, parents, first).await
            }
            MembershipSide::Identity => {
                core_orgs::first_identity_memberships(db, scope, actor, parents, first).await
            }
        }
    }
}

/// An organization's invitations (the arguments are: pending only, page size).
pub struct OrganizationInvitations;

impl FirstPages for OrganizationInvitations {
    type Arguments = (bool, u64);
    type Item = Invitation;

    async fn first_pages(
        &self,
        services: &Services,
        request: &RequestContext,
        parents: &[Uuid],
        (pending_only, first): (bool, u64),
    ) -> latchkey_core::Result<HashMap<Uuid, Page<Invitation>>> {
        core_invitations::first_invitations(
            &services.db,
            &request.scope,
            &request.actor,
            parents,
            pending_only,
            first,
        )
        .await
    }
}

/// An organization's join requests (the arguments are: the status asked for, page size).
pub struct OrganizationJoinRequests;

impl FirstPages for OrganizationJoinRequests {
    type Arguments = (Option<JoinRequestStatus>, u64);
    type Item = JoinRequest;

    async fn first_pages(
        &self,
        services: &Services,
        request: &RequestContext,
        parents: &[Uuid],
        (status, first): (Option<JoinRequestStatus>, u64),
    ) -> latchkey_core::Result<HashMap<Uuid, Page<JoinRequest>>> {
        core_domains::first_join_requests(
            &services.db,
            &request.scope,
            &request.actor,
            parents,
            status,
            first,
        )
        .await
    }
}

/// Loads organizations' domains (those the caller may list; the others are left out).
pub struct DomainsLoader {
    services: Arc<Services>,
    request: Arc<RequestContext>,
}

impl Loader<Uuid> for DomainsLoader {
    type Value = Vec<OrganizationDomain>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<OrganizationDomain>>, Self::Error> {
        core_domains::domains_by_organization(
            &self.services.db,
            &self.request.scope,
            &self.request.actor,
            keys,
        )
        .await
        .map_err(graphql_error)
    }
}

pub struct PasskeyCountLoader {
    services: Arc<Services>,
    request: Arc<RequestContext>,
}

impl Loader<Uuid> for PasskeyCountLoader {
    type Value = u64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, u64>, Self::Error> {
        passkeys::count_passkeys(
            &self.services.db,
            &self.request.scope,
            &self.request.actor,
            keys,
        )
        .await
        .map_err(graphql_error)
    }
}

pub struct SignInFactorsLoader {
    services: Arc<Services>,
    request: Arc<RequestContext>,
}

impl Loader<Uuid> for SignInFactorsLoader {
    type Value = SignInFactors;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, SignInFactors>, Self::Error> {
        passwords::sign_in_factors(
            &self.services.db,
            &self.request.scope,
            &self.request.actor,
            keys,
        )
        .await
        .map_err(graphql_error)
    }
}
