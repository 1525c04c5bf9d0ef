//! Checking and spending an email proof, in the transaction of whatever trusts it.

use super::{PROOF_PREFIX, Purpose, rows};
use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::secrets;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use serde::{Deserialize, Serialize};

/// An address proven by a live proof, for one purpose. Carries the proof's hash (not the
/// proof) so a ceremony can spend it later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenEmail {
    pub email: String,
    pub email_normalized: String,
    pub purpose: Purpose,
    proof_hash: String,
}

fn unusable() -> Error {
    Error::validation(
        "emailProof",
        "is unknown, expired or already used; verify the address again",
    )
}

async fn live_proof(
    tx: &TenantTx,
    now: DateTime<Utc>,
    proof_hash: &str,
    purposes: &[Purpose],
) -> Result<ProvenEmail> {
    let row = tx
        .find::<rows::Entity>()
        .filter(rows::Column::ProofHash.eq(proof_hash))
        .one()
        .await?
        .filter(|row| {
            row.proof_used_at.is_none() && row.proof_expires_at.is_some_and(|at| at > now)
        })
        .ok_or_else(unusable)?;
    let purpose = Purpose::parse(&row.purpose)?;
    if !purposes.contains(&purpose) {
        let wanted: Vec<&str> = purposes.iter().map(|p| p.api_name()).collect();
        return Err(Error::validation(
            "emailProof",
            format!(
                "proves the address for {}; this takes a proof for {}: verify the address with that purpose",
                purpose.api_name(),
                wanted.join(" or ")
            ),
        ));
    }
    Ok(ProvenEmail {
        email: row.email,
        email_normalized: row.email_normalized,
        purpose,
        proof_hash: row.proof_hash.unwrap_or_default(),
    })
}

/// The address `proof` proves, if the proof is live and for one of `purposes`; does not
/// spend it.
pub async fn check_proof_in(
    tx: &TenantTx,
    now: DateTime<Utc>,
    proof: &str,
    purposes: &[Purpose],
) -> Result<ProvenEmail> {
    if !proof.starts_with(PROOF_PREFIX) {
        return Err(Error::validation(
            "emailProof",
            "is not an email proof (completeEmailVerification answers one)",
        ));
    }
    live_proof(tx, now, &secrets::hash(proof), purposes).await
}

/// Spends a checked proof: after this no one can use it again. Fails if it was spent (or
/// expired) since it was checked.
pub async fn spend_proof_in(tx: &TenantTx, now: DateTime<Utc>, proven: &ProvenEmail) -> Result<()> {
    live_proof(tx, now, &proven.proof_hash, &[proven.purpose]).await?;
    let spent = tx
        .update_many::<rows::Entity>()
        .col_expr(rows::Column::ProofUsedAt, Expr::value(now))
        .filter(rows::Column::ProofHash.eq(proven.proof_hash.as_str()))
        .filter(rows::Column::ProofUsedAt.is_null())
        .exec()
        .await?
        .rows_affected;
    if spent != 1 {
        return Err(unusable());
    }
    Ok(())
}
