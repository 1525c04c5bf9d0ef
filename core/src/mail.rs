//! Outgoing email, as the core sees it: a message and something that delivers it. The
//! gateway provides the deliverer (SMTP, or the embedded mode's log and mailbox file).

use crate::db::{Database, TenantTx};
use crate::email_templates::{self, Brand, Email, Rendered};
use crate::error::Result;
use crate::identities::Identity;
use crate::languages::{self, Language};
use crate::scope::TenantScope;
use crate::settings::TenantSettings;
use async_trait::async_trait;

/// A message to one recipient: plain text, and the same as HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML alternative of `text` (`multipart/alternative`), if any.
    pub html: Option<String>,
}

/// Delivers messages. An error means the message was not accepted for delivery.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, message: &Message) -> Result<()>;
}

/// Who an email goes to: the address and, for an identity, the locale stored for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipient<'a> {
    pub address: &'a str,
    pub locale: Option<&'a str>,
}

impl<'a> Recipient<'a> {
    /// Someone Latchkey knows only by address (an invitee, a sign-up).
    pub fn address(address: &'a str) -> Self {
        Self {
            address,
            locale: None,
        }
    }

    /// The owner of `identity`, in the language it chose.
    pub fn identity(identity: &'a Identity) -> Self {
        Self {
            address: &identity.email,
            locale: identity.locale.as_deref(),
        }
    }
}

/// How a tenant's messages go out: the mailer, the tenant's name and colour, its hosted page
/// (`{public}/t/{slug}/`, built from configuration, never from a request's host), which
/// links point to, its default language, the browser languages of the request (when the
/// recipient made it), and its own texts (`email_templates`), read from the database.
#[derive(Clone, Copy)]
pub struct TenantMail<'a> {
    pub mailer: &'a dyn Mailer,
    pub db: &'a Database,
    pub scope: &'a TenantScope,
    pub page_url: &'a str,
    pub tenant_name: &'a str,
    pub primary_color: &'a str,
    pub default_language: Language,
    /// The request's `Accept-Language` header. Leave it out for mail to someone other than
    /// the caller (an invitation, an approved recovery): their browser is not the caller's.
    pub accept_language: Option<&'a str>,
}

impl<'a> TenantMail<'a> {
    /// The tenant's mail, without a browser language.
    pub fn new(
        mailer: &'a dyn Mailer,
        db: &'a Database,
        scope: &'a TenantScope,
        page_url: &'a str,
        tenant_name: &'a str,
        settings: &'a TenantSettings,
    ) -> Self {
        Self {
            mailer,
            db,
            scope,
            page_url,
            tenant_name,
            primary_color: &settings.primary_color,
            default_language: settings.default_language(),
            accept_language: None,
        }
    }

    /// The same mail, for a recipient who is not the caller (no browser language).
    pub fn for_someone_else(self) -> Self {
        Self {
            accept_language: None,
            ..self
        }
    }

    /// The language to write to `to` in: their locale, the browser's, the tenant's default.
    pub fn language_for(&self, to: &Recipient<'_>) -> Language {
        languages::choose(to.locale, self.accept_language, self.default_language)
    }

    fn brand(&self) -> Brand<'a> {
        Brand {
            tenant_name: self.tenant_name,
            page_url: self.page_url,
            primary_color: self.primary_color,
        }
    }

    /// `email` written for `to`, with the tenant's override read in `tx`.
    pub(crate) async fn compose_in(
        &self,
        tx: &TenantTx,
        to: &Recipient<'_>,
        email: &Email,
    ) -> Result<Rendered> {
        let language = self.language_for(to);
        let custom = email_templates::override_in(tx, email.template, language).await?;
        Ok(email_templates::render(
            email,
            language,
            &self.brand(),
            custom.as_ref(),
        ))
    }

    /// Sends `email` to `to`, reading the tenant's override in `tx` (the caller's open
    /// transaction: on SQLite a second one would wait for it).
    pub(crate) async fn send_in(
        &self,
        tx: &TenantTx,
        to: &Recipient<'_>,
        email: &Email,
    ) -> Result<()> {
        let rendered = self.compose_in(tx, to, email).await?;
        self.deliver(to, rendered).await
    }

    /// Sends `email` to `to` when no transaction is open.
    pub async fn send(&self, to: &Recipient<'_>, email: &Email) -> Result<()> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let rendered = self.compose_in(&tx, to, email).await?;
        tx.commit().await?;
        self.deliver(to, rendered).await
    }

    async fn deliver(&self, to: &Recipient<'_>, rendered: Rendered) -> Result<()> {
        self.mailer
            .send(&Message {
                to: to.address.to_owned(),
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
            })
            .await
    }
}
