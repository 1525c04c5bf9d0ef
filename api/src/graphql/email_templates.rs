//! The tenant's own subject and text of each email per language (overrides of the catalogs):
//! read, set and removed.

use super::context::request;
use super::types::IntoGraphql;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::email_templates::{self as core_templates, TemplateOverride};

/// An email Latchkey sends. Placeholders every email has: `{ $tenant }`, `{ $page }` (the
/// hosted sign-in page) and `{ $account_page }`; the others are listed per value.
// `remote` derives the conversions to and from the core's enum, which names the same
// emails.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "core_templates::EmailTemplate")]
pub enum EmailTemplate {
    /// A verification code: `{ $code }` (required), `{ $link }`, `{ $minutes }`, `{ $action }`.
    VerificationCode,
    /// A sign-up for an address that has an account.
    AlreadyHaveAccount,
    /// A code asked for an address without an active account: `{ $action }`.
    NoAccount,
    /// An email change to an address another account uses.
    AddressTaken,
    /// Verification of an address that is verified already.
    AlreadyVerified,
    /// Notice: `{ $name }` of the passkey.
    PasskeyAdded,
    /// Notice: `{ $name }` of the passkey.
    PasskeyRemoved,
    /// Notice: `{ $sessions }` (the sentence on signed-out sessions, or nothing).
    AccountRecovered,
    RecoveryRequested,
    /// The link of an approved recovery: `{ $link }` (required), `{ $hours }`.
    RecoveryApproved,
    /// The link an administrator sends to set up a first passkey (`createRegistrationLink`
    /// with `sendEmail`): `{ $link }` (required), `{ $hours }`.
    PasskeyEnrollment,
    PasswordSet,
    /// Notice: `{ $sessions }`.
    PasswordChanged,
    /// Notice: `{ $sessions }`.
    PasswordReset,
    TotpEnabled,
    TotpRemoved,
    /// Notice: `{ $left }` recovery codes.
    RecoveryCodeUsed,
    /// Notice to the old address of an email change: `{ $email }` (the new address),
    /// `{ $link }` (required: the undo link), `{ $days }`.
    EmailChanged,
    /// Notice: the email change was undone.
    EmailChangeUndone,
    /// Notice of `deleteViewerAccount`: `{ $date }` of the erasure, `{ $days }` until then;
    /// signing in at `{ $page }` keeps the account.
    AccountDeletionScheduled,
    /// An invitation: `{ $organization }`, `{ $email }`, `{ $link }` (required), `{ $days }`.
    Invitation,
}

/// The tenant's own subject and text of one email in one language.
#[derive(SimpleObject, Clone, Debug)]
pub struct EmailTemplateOverride {
    pub template: EmailTemplate,
    /// The language (`en`, `de`, `fr`, `es`, …).
    pub locale: String,
    pub subject: String,
    /// Plain text with placeholders; the HTML part is made from it.
    pub text: String,
    /// The placeholders this template offers (`code`, `tenant`, …).
    pub placeholders: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateOverride> for EmailTemplateOverride {
    fn from(custom: TemplateOverride) -> Self {
        Self {
            template: custom.template.into(),
            locale: custom.language.tag().to_owned(),
            subject: custom.subject,
            text: custom.text,
            placeholders: custom
                .template
                .placeholders()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            updated_at: custom.updated_at,
        }
    }
}

#[derive(Default)]
pub struct EmailTemplateQuery;

#[Object]
impl EmailTemplateQuery {
    /// The tenant's overrides of its emails, by template and language (at most one per
    /// template and supported language). Requires the viewer role.
    async fn email_templates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EmailTemplateOverride>> {
        let (services, req) = request(ctx);
        let overrides = core_templates::list_email_templates(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(overrides.into_iter().map(Into::into).collect())
    }
}

#[derive(InputObject)]
pub struct SetEmailTemplateInput {
    pub template: EmailTemplate,
    /// A supported language (`TenantSettings.supportedLocales`).
    pub locale: String,
    /// One line, at most 200 characters; placeholders allowed.
    pub subject: String,
    /// Plain text, at most 10000 characters, with the template's placeholders written
    /// `{ $name }`; no HTML, scripts or event handlers.
    pub text: String,
}

#[derive(SimpleObject)]
pub struct SetEmailTemplatePayload {
    pub email_template: EmailTemplateOverride,
}

#[derive(InputObject)]
pub struct RemoveEmailTemplateInput {
    pub template: EmailTemplate,
    pub locale: String,
}

#[derive(SimpleObject)]
pub struct RemoveEmailTemplatePayload {
    pub template: EmailTemplate,
    pub locale: String,
}

#[derive(Default)]
pub struct EmailTemplateMutation;

#[Object]
impl EmailTemplateMutation {
    /// Sets the tenant's subject and text of an email in a language, replacing the catalog's
    /// (and an earlier override). Refused with `BAD_USER_INPUT` naming the field for an
    /// unsupported locale, a placeholder the template does not have, a required placeholder
    /// left out, or markup. Requires the admin role.
    async fn set_email_template(
        &self,
        ctx: &Context<'_>,
        input: SetEmailTemplateInput,
    ) -> async_graphql::Result<SetEmailTemplatePayload> {
        let (services, req) = request(ctx);
        let saved = core_templates::set_email_template(
            &services.db,
            &req.scope,
            &req.actor,
            input.template.into(),
            &input.locale,
            &input.subject,
            &input.text,
        )
        .await
        .gql()?;
        Ok(SetEmailTemplatePayload {
            email_template: saved.into(),
        })
    }

    /// Removes the tenant's override of an email in a language: the catalog's text applies
    /// again. `NOT_FOUND` if there is none. Requires the admin role.
    async fn remove_email_template(
        &self,
        ctx: &Context<'_>,
        input: RemoveEmailTemplateInput,
    ) -> async_graphql::Result<RemoveEmailTemplatePayload> {
        let (services, req) = request(ctx);
        core_templates::remove_email_template(
            &services.db,
            &req.scope,
            &req.actor,
            input.template.into(),
            &input.locale,
        )
        .await
        .gql()?;
        Ok(RemoveEmailTemplatePayload {
            template: input.template,
            locale: input.locale,
        })
    }
}
