//! A tenant's own subject and text of an email in a language (`setEmailTemplate`), which
//! replace the catalog's when that email is sent in that language.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE email_templates (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    template TEXT NOT NULL,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, template, locale)
)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "email_templates").await?;
        grant_app_role(manager).await
    }
}
