//! Email addresses with an internationalized domain get the stored form the server now gives
//! them (`validate::Email` in `latchkey-core`): the domain by UTS 46 ToASCII, so
//! `ada@exämple.com` is stored as `ada@xn--exmple-cua.com` in `identities.email_normalized`
//! and `invitations.email_normalized`. ASCII addresses are already in that form and are not
//! touched; the addresses as given (`email`) are kept.
//!
//! A live identity whose new form another live identity of its tenant already has (the same
//! mailbox signed up twice in two spellings) keeps its old form: it stays reachable by id, and
//! an operator decides which of the two to keep. A domain ToASCII refuses is left as it is.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The stored form of `stored`, an address stored before this migration (its local part is
/// already in lower case). The rules are the server's as of this migration, written out here
/// because a migration must keep doing what it did when later versions change the server's.
fn ascii_form(stored: &str) -> Option<String> {
    use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
    let (local, domain) = stored.rsplit_once('@')?;
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?;
    Some(format!("{local}@{ascii}"))
}

/// A placeholder for the `n`th bound value.
fn bind(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

/// Rewrites the non-ASCII `email_normalized` values of `identities` and `invitations` (of the
/// tenant set for the transaction, on PostgreSQL).
async fn rewrite(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    let backend = connection.get_database_backend();
    let non_ascii = match backend {
        DbBackend::Postgres => "octet_length(email_normalized) <> char_length(email_normalized)",
        _ => "length(CAST(email_normalized AS BLOB)) <> length(email_normalized)",
    };
    for table in ["identities", "invitations"] {
        let stored = connection
            .query_all_raw(Statement::from_string(
                backend,
                format!("SELECT DISTINCT email_normalized FROM {table} WHERE {non_ascii}"),
            ))
            .await?;
        for row in stored {
            let old: String = row.try_get("", "email_normalized")?;
            let Some(new) = ascii_form(&old).filter(|new| *new != old) else {
                continue;
            };
            let (new_at, old_at) = (bind(backend, 1), bind(backend, 2));
            let sql = if table == "identities" {
                // Not onto a form a live identity of the same tenant already has.
                let taken_at = bind(backend, 3);
                format!(
                    "UPDATE identities SET email_normalized = {new_at} WHERE email_normalized = {old_at} \
                     AND (deleted_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM identities AS taken \
                     WHERE taken.tenant_id = identities.tenant_id AND taken.email_normalized = {taken_at} \
                     AND taken.deleted_at IS NULL))"
                )
            } else {
                format!(
                    "UPDATE invitations SET email_normalized = {new_at} WHERE email_normalized = {old_at}"
                )
            };
            let mut values: Vec<Value> = vec![new.clone().into(), old.into()];
            if table == "identities" {
                values.push(new.into());
            }
            connection
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        if connection.get_database_backend() != DbBackend::Postgres {
            return rewrite(manager).await;
        }
        // Row-level security shows one tenant's rows at a time.
        let tenants = connection
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT id::text AS id FROM tenants",
            ))
            .await?;
        for tenant in tenants {
            let id: String = tenant.try_get("", "id")?;
            connection
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT set_config('latchkey.tenant_id', $1, true)",
                    [id.into()],
                ))
                .await?;
            rewrite(manager).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_form;

    #[test]
    fn only_internationalized_domains_change() {
        assert_eq!(
            ascii_form("ada@exämple.com").as_deref(),
            Some("ada@xn--exmple-cua.com")
        );
        assert_eq!(
            ascii_form("zoë@example.com").as_deref(),
            Some("zoë@example.com")
        );
        assert_eq!(ascii_form("ada@exa_mple.com"), None);
    }
}
