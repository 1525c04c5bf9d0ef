//! The stored administrators: people, their roles per tenant, their passkeys, their console
//! sessions and the one-time links that enrol a passkey (an invitation, a recovery, the first
//! owner). Platform tables: nothing cached depends on them.

macro_rules! platform_rows {
    ($($module:ident),*) => {
        $(impl crate::db::PlatformTable for $module::Entity {
            const GUARD: crate::freshness::Guard = crate::freshness::Guard::Nothing;
        })*
    };
}

platform_rows!(
    administrator_row,
    role_row,
    passkey_row,
    session_row,
    enrolment_row
);

/// `administrators`: one person of the deployment, by address.
pub mod administrator_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "administrators")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub email: String,
        pub email_normalized: String,
        pub display_name: Option<String>,
        /// `owner` for a platform operator.
        pub platform_role: Option<String>,
        pub created_at: DateTimeUtc,
        pub last_sign_in_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `administrator_roles`: an administrator's role in one tenant.
pub mod role_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "administrator_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub administrator_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        pub role: String,
        pub granted_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `administrator_passkeys`: the webauthn-rs passkey, by credential id.
pub mod passkey_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "administrator_passkeys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub administrator_id: Uuid,
        pub credential_id: String,
        pub passkey: Json,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `administrator_sessions`: a console session, by the hash of its cookie.
pub mod session_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "administrator_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub administrator_id: Uuid,
        pub token_hash: String,
        pub csrf_token: String,
        pub user_agent_hash: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// `administrator_enrolments`: a one-time link to enrol a passkey, by the hash of its token.
pub mod enrolment_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "administrator_enrolments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub token_hash: String,
        pub purpose: String,
        pub email: Option<String>,
        /// The administrator a recovery link is for.
        pub administrator_id: Option<Uuid>,
        /// The tenant and role an invitation grants.
        pub tenant_id: Option<Uuid>,
        pub role: Option<String>,
        pub platform_role: Option<String>,
        /// Who invited, as the audit log names them (`api_key:<id>`, `administrator:<id>`).
        pub invited_by: Option<String>,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
