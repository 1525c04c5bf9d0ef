//! DataLoaders of the tenant API: nested lists (an organization's members, an identity's
//! organizations, an identity's passkey count) are loaded for all the parents of a response level at once, so a page of
//! organizations with their members costs the same few SQL statements whatever its size.

use super::context::RequestContext;
use super::types::graphql_error;
use crate::state::Services;
use async_graphql::dataloader::{DataLoader, Loader};
use latchkey_core::organizations::{self as core_orgs, Member};
use latchkey_core::page::Page;
use latchkey_core::passkeys;
use std::collections::HashMap;
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
    pub members: DataLoader<MembersLoader>,
    /// The first page of an identity's memberships, by (identity id, page size).
    pub identity_organizations: DataLoader<MembersLoader>,
    /// The number of active passkeys of an identity.
    pub passkey_counts: DataLoader<PasskeyCountLoader>,
}

impl Loaders {
    pub fn new(services: &Services, request: &RequestContext) -> Self {
        Self {
            members: MembersLoader::batched(services, request, MembershipSide::Organization),
            identity_organizations: MembersLoader::batched(
                services,
                request,
                MembershipSide::Identity,
            ),
            passkey_counts: DataLoader::new(
                PasskeyCountLoader {
                    services: services.clone(),
                    request: request.clone(),
                },
                tokio::spawn,
            )
            .delay(BATCH_WINDOW)
            .max_batch_size(MAX_BATCH),
        }
    }
}

/// Whose first pages of memberships a [`MembersLoader`] loads.
#[derive(Clone, Copy)]
pub enum MembershipSide {
    /// An organization's members.
    Organization,
    /// An identity's organizations.
    Identity,
}

pub struct MembersLoader {
    services: Services,
    request: RequestContext,
    side: MembershipSide,
}

impl MembersLoader {
    fn batched(
        services: &Services,
        request: &RequestContext,
        side: MembershipSide,
    ) -> DataLoader<Self> {
        DataLoader::new(
            MembersLoader {
                services: services.clone(),
                request: request.clone(),
                side,
            },
            tokio::spawn,
        )
        .delay(BATCH_WINDOW)
        .max_batch_size(MAX_BATCH)
    }
}

impl Loader<(Uuid, u64)> for MembersLoader {
    type Value = Page<Member>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(Uuid, u64)],
    ) -> Result<HashMap<(Uuid, u64), Self::Value>, Self::Error> {
        // One batch per page size (in practice every key of a level has the same).
        let mut sizes: Vec<u64> = keys.iter().map(|(_, first)| *first).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut loaded = HashMap::new();
        for first in sizes {
            let ids: Vec<Uuid> = keys
                .iter()
                .filter(|(_, size)| *size == first)
                .map(|(id, _)| *id)
                .collect();
            let (db, scope, actor) = (&self.services.db, &self.request.scope, &self.request.actor);
            let pages = match self.side {
                MembershipSide::Organization => {
                    core_orgs::first_members(db, scope, actor, &ids, first).await
                }
                MembershipSide::Identity => {
                    core_orgs::first_identity_memberships(db, scope, actor, &ids, first).await
                }
            }
            .map_err(graphql_error)?;
            loaded.extend(pages.into_iter().map(|(id, page)| ((id, first), page)));
        }
        Ok(loaded)
    }
}

pub struct PasskeyCountLoader {
    services: Services,
    request: RequestContext,
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
