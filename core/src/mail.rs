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
