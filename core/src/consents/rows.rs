//! Every consent decision as it was made.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub identity_id: Uuid,
    pub purpose: String,
    pub version: i32,
    pub granted: bool,
    pub ip_address: Option<String>,
    pub decided_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
