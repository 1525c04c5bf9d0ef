//! Setup shared by the core's rule tests: a fresh in-memory SQLite database per test with the
//! core's own event reactions registered, tenants made the way the control plane makes them
//! (signing keys, an owner key) plus a viewer key, API-key actors, and end users signed in
//! through a session and its access token. Everything goes through the public API of
//! `latchkey-core`.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use latchkey_core::api_keys::{self, ApiKey};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::catalogue::{self, TenantKey};
use latchkey_core::crypto::MasterKey;
use latchkey_core::ephemeral::InProcessStore;
use latchkey_core::identities::{self, Identity, NewIdentity};
use latchkey_core::invitations::Delivery;
use latchkey_core::mail::{Mailer, Message, TenantMail};
use latchkey_core::organizations::{self, NewOrganization, Organization, OrganizationKind};
use latchkey_core::page::PageRequest;
use latchkey_core::sessions::{self, ClientInfo, KeyCache, TokenIssuer};
use latchkey_core::settings::TenantSettings;
use latchkey_core::signing_keys::{self, SigningKeyCache};
use latchkey_core::validate::{Name, Slug};
use latchkey_core::{Actor, AdminRole, Database, Permission, PoolSettings, Result, TenantScope};
use uuid::Uuid;

/// Asserts that `$result` is an `Err` matching `$pattern` (a pattern of `latchkey_core::Error`),
/// and shows what came instead.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err($pattern) => {}
            Err(other) => panic!("expected {}, got the error {other:?}", stringify!($pattern)),
            Ok(_) => panic!("expected {}, got Ok", stringify!($pattern)),
        }
    };
}
pub(crate) use assert_err;

/// One database with everything the services need beside it.
pub struct World {
    pub db: Database,
    pub store: InProcessStore,
    master_key: MasterKey,
    signing_keys: SigningKeyCache,
    token_keys: KeyCache,
}

/// A tenant with two API keys: the first owner key (as production issues it) and a viewer key.
pub struct TestTenant {
    pub scope: TenantScope,
    pub tenant: catalogue::Tenant,
    pub settings: TenantSettings,
    pub owner_key: ApiKey,
    pub owner_secret: String,
    pub viewer_key: ApiKey,
    pub viewer_secret: String,
}

impl TestTenant {
    /// The issuer URL of the tenant's tokens (any URL will do: it is only compared).
    pub fn issuer(&self) -> String {
        format!("https://login.test/t/{}", self.scope.slug())
    }
}

/// An end user signed in with a session of its tenant.
pub struct SignedIn {
    pub actor: Actor,
    pub session_id: Uuid,
    pub access_token: String,
}

/// A mailer that keeps what it is given.
#[derive(Default)]
pub struct RecordingMailer {
    sent: std::sync::Mutex<Vec<Message>>,
}

impl RecordingMailer {
    pub fn sent(&self) -> Vec<Message> {
        self.sent.lock().expect("mailer lock").clone()
    }
}

#[async_trait::async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: &Message) -> Result<()> {
        self.sent.lock().expect("mailer lock").push(message.clone());
        Ok(())
    }
}

/// The hosted page invitation links point at.
pub const PAGE_URL: &str = "https://login.test/page";

/// The default page (first 100).
pub fn page() -> PageRequest {
    PageRequest::new(None, None).expect("the default page request is valid")
}

impl World {
    /// A fresh database (`sqlite::memory:` with one connection is a database of its own),
    /// migrated, with the core's reactions to domain events.
    pub async fn new() -> Self {
        let db = latchkey_core::connect("sqlite::memory:", PoolSettings::new(1), Vec::new())
            .await
            .expect("connect to in-memory SQLite");
        db.migrate().await.expect("migrate");
        Self {
            db,
            store: InProcessStore::new(10_000),
            master_key: MasterKey::from_bytes([7; 32]),
            signing_keys: SigningKeyCache::default(),
            token_keys: KeyCache::default(),
        }
    }

    /// Creates a tenant as `latchkey_tenants::create_tenant` does (signing keys, audit
    /// event, first owner key, in one platform transaction), with a viewer key as well, and
    /// resolves its scope by slug.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let platform = catalogue::local_operator(&self.db);
        let actor = Actor::platform(&platform, None);
        let settings = TenantSettings::default();
        let tx = self
            .db
            .begin_platform(&platform)
            .await
            .expect("begin platform");
        let (tx, created) = catalogue::create_tenant(
            tx,
            &Slug::parse("slug", slug).expect("slug"),
            Name::parse("name", &format!("Tenant {slug}"), 200).expect("name"),
            serde_json::to_value(&settings).expect("settings as JSON"),
        )
        .await
        .expect("create tenant");
        let manage = authorize(&actor, Permission::ManageTenant, Resource::Tenant)
            .expect("the platform operator manages tenants");
        signing_keys::create_initial_keys(
            &tx,
            &manage,
            &self.master_key,
            settings.signing_algorithm,
        )
        .await
        .expect("signing keys");
        let keys = authorize(&actor, Permission::ManageApiKeys, Resource::Tenant)
            .expect("the platform operator manages keys");
        let (owner_key, owner_secret) = api_keys::issue_api_key(
            &tx,
            &keys,
            Name::parse("name", "Initial owner key", 100).expect("name"),
            vec![AdminRole::Owner],
        )
        .await
        .expect("owner key");
        let (viewer_key, viewer_secret) = api_keys::issue_api_key(
            &tx,
            &keys,
            Name::parse("name", "Viewer key", 100).expect("name"),
            vec![AdminRole::Viewer],
        )
        .await
        .expect("viewer key");
        tx.commit().await.expect("commit the tenant");
        let (scope, tenant) = catalogue::resolve(&self.db, TenantKey::Slug(slug))
            .await
            .expect("resolve the new tenant");
        assert_eq!(tenant.id, created.id);
        assert_eq!(scope.tenant_id(), created.id);
        TestTenant {
            scope,
            tenant,
            settings,
            owner_key,
            owner_secret,
            viewer_key,
            viewer_secret,
        }
    }

    /// What sending invitations of `tenant` needs, with `mailer` delivering.
    pub fn delivery<'a>(
        &'a self,
        tenant: &'a TestTenant,
        mailer: &'a RecordingMailer,
    ) -> Delivery<'a> {
        Delivery {
            mail: self.mail(tenant, mailer),
            store: &self.store,
        }
    }

    /// How `tenant`'s messages go out, with `mailer` delivering.
    pub fn mail<'a>(
        &'a self,
        tenant: &'a TestTenant,
        mailer: &'a RecordingMailer,
    ) -> TenantMail<'a> {
        TenantMail::new(
            mailer,
            &self.db,
            &tenant.scope,
            PAGE_URL,
            &tenant.tenant.name,
            &tenant.settings,
        )
    }

    /// Presents an API key secret on `tenant`'s endpoint.
    pub async fn authenticate_key(&self, tenant: &TestTenant, secret: &str) -> Result<Actor> {
        api_keys::authenticate_api_key(&self.db, &tenant.scope, secret, None).await
    }

    /// The tenant's owner key, authenticated.
    pub async fn owner(&self, tenant: &TestTenant) -> Actor {
        self.authenticate_key(tenant, &tenant.owner_secret)
            .await
            .expect("the owner key authenticates on its tenant")
    }

    /// The tenant's viewer key, authenticated.
    pub async fn viewer(&self, tenant: &TestTenant) -> Actor {
        self.authenticate_key(tenant, &tenant.viewer_secret)
            .await
            .expect("the viewer key authenticates on its tenant")
    }

    /// Creates an identity in `tenant` as its owner key.
    pub async fn identity(&self, tenant: &TestTenant, email: &str, verified: bool) -> Identity {
        let owner = self.owner(tenant).await;
        identities::create_identity(
            &self.db,
            &tenant.scope,
            &owner,
            NewIdentity {
                email: email.to_owned(),
                email_verified: verified,
                ..NewIdentity::default()
            },
        )
        .await
        .expect("create identity")
    }

    /// Creates a customer organization `slug` in `tenant` as its owner key.
    pub async fn organization(&self, tenant: &TestTenant, slug: &str) -> Organization {
        organizations::create_organization(
            &self.db,
            &tenant.scope,
            &self.owner(tenant).await,
            NewOrganization {
                name: format!("Org {slug}"),
                slug: slug.to_owned(),
                kind: OrganizationKind::Customer,
                metadata: None,
                external_id: None,
            },
        )
        .await
        .expect("create organization")
    }

    /// The members of `organization` with their roles, as the owner key lists them.
    pub async fn members(
        &self,
        tenant: &TestTenant,
        organization: Uuid,
    ) -> Vec<(Uuid, Vec<String>)> {
        organizations::list_members(
            &self.db,
            &tenant.scope,
            &self.owner(tenant).await,
            organization,
            organizations::MemberFilter::default(),
            page(),
        )
        .await
        .expect("list members as owner")
        .items
        .into_iter()
        .map(|m| (m.identity.id, m.membership.roles))
        .collect()
    }

    /// Starts a session for `identity_id` (as a sign-in ceremony would, in its own
    /// transaction) and authenticates its access token: the actor of an end user.
    pub async fn sign_in(&self, tenant: &TestTenant, identity_id: Uuid) -> SignedIn {
        let issuer_url = tenant.issuer();
        let issuer = TokenIssuer {
            issuer: &issuer_url,
            settings: &tenant.settings,
            master_key: &self.master_key,
            signing_keys: &self.signing_keys,
        };
        let tx = self.db.begin_tenant(&tenant.scope).await.expect("begin");
        let tokens =
            sessions::start_session_for_tests(&tx, &issuer, identity_id, &ClientInfo::default())
                .await
                .expect("start session");
        tx.commit().await.expect("commit the session");
        let actor = self
            .authenticate_token(tenant, &tokens.access_token)
            .await
            .expect("the access token authenticates on its tenant");
        SignedIn {
            actor,
            session_id: tokens.session_id,
            access_token: tokens.access_token,
        }
    }

    /// Presents an access token on `tenant`'s endpoint (with `tenant`'s issuer).
    pub async fn authenticate_token(&self, tenant: &TestTenant, token: &str) -> Result<Actor> {
        sessions::authenticate_access_token(
            &self.db,
            &self.token_keys,
            &tenant.scope,
            &tenant.issuer(),
            token,
            None,
        )
        .await
    }
}
