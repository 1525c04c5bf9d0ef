//! The stored email challenges: one row per code sent (a resend replaces the code in place),
//! and, once completed, the proof it produced. Codes and proofs are stored as hashes only.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub purpose: String,
    pub email: String,
    pub email_normalized: String,
    /// SHA-256 of `"{id}:{code}"`; for a message without a code, of a random secret.
    pub code_hash: String,
    /// Wrong codes tried, across resends: a new code does not reset it.
    pub failures: i32,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
    pub proof_hash: Option<String>,
    pub proof_expires_at: Option<DateTimeUtc>,
    pub proof_used_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
