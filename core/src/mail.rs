//! Outgoing email, as the core sees it: a message and something that delivers it. The
//! gateway provides the deliverer (SMTP, or the embedded mode's log and mailbox file).

use crate::error::Result;
use async_trait::async_trait;

/// A plain-text message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Delivers messages. An error means the message was not accepted for delivery.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, message: &Message) -> Result<()>;
}

/// How a tenant's messages go out: the mailer, the tenant's name (signs every message) and its
/// hosted page (`{public}/t/{slug}/`, built from configuration, never from a request's host),
/// which links point to.
#[derive(Clone, Copy)]
pub struct TenantMail<'a> {
    pub mailer: &'a dyn Mailer,
    pub page_url: &'a str,
    pub tenant_name: &'a str,
}

impl TenantMail<'_> {
    /// Sends `subject` and `text` to `to`.
    pub async fn send(&self, to: &str, subject: String, text: String) -> Result<()> {
        self.mailer
            .send(&Message {
                to: to.to_owned(),
                subject,
                text,
            })
            .await
    }
}
