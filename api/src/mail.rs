//! Outgoing email: over SMTP (`lettre`) when `LATCHKEY_SMTP_URL` is set; otherwise (the
//! embedded default) each message goes to the log and is appended to `data_dir/mailbox.txt`,
//! so a developer can open invitation links without a mail server.

use crate::config::{ConfigError, bad};
use async_trait::async_trait;
use latchkey_core::Error;
use latchkey_core::mail::{Mailer, Message};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Checked mail settings.
#[derive(Clone, Debug)]
pub struct MailSettings {
    from: Mailbox,
    smtp_url: Option<String>,
    mailbox: PathBuf,
}

impl MailSettings {
    pub fn check(smtp_url: Option<&str>, from: &str, data_dir: &Path) -> Result<Self, ConfigError> {
        let from: Mailbox = from.parse().map_err(|_| {
            bad(
                "LATCHKEY_MAIL_FROM",
                format!("{from:?} is not an address such as \"Acme <no-reply@acme.example>\""),
            )
        })?;
        if let Some(url) = smtp_url {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
                bad(
                    "LATCHKEY_SMTP_URL",
                    format!("not an SMTP URL such as smtp://user:password@mail.example:587 ({e})"),
                )
            })?;
        }
        Ok(Self {
            from,
            smtp_url: smtp_url.map(str::to_owned),
            mailbox: data_dir.join("mailbox.txt"),
        })
    }

    /// The mailer these settings describe.
    pub fn mailer(&self) -> anyhow::Result<Box<dyn Mailer>> {
        Ok(match &self.smtp_url {
            Some(url) => Box::new(SmtpMailer {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
                from: self.from.clone(),
            }),
            None => Box::new(MailboxFile {
                path: self.mailbox.clone(),
                from: self.from.clone(),
            }),
        })
    }
}

fn build(from: &Mailbox, message: &Message) -> latchkey_core::Result<lettre::Message> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|_| Error::validation("email", "is not an address mail can be sent to"))?;
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(Error::internal)
}

struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &Message) -> latchkey_core::Result<()> {
        let email = build(&self.from, message)?;
        self.transport.send(email).await.map_err(|error| {
            tracing::error!(%error, "the SMTP server refused the message");
            Error::Refused("the email could not be sent; try again later".into())
        })?;
        Ok(())
    }
}

struct MailboxFile {
    path: PathBuf,
    from: Mailbox,
}

#[async_trait]
impl Mailer for MailboxFile {
    async fn send(&self, message: &Message) -> latchkey_core::Result<()> {
        let email = build(&self.from, message)?;
        tracing::info!(
            mail.to = %message.to,
            mail.subject = %message.subject,
            mailbox = %self.path.display(),
            "no SMTP server configured; the message is in the mailbox file"
        );
        if let Some(directory) = self.path.parent() {
            tokio::fs::create_dir_all(directory)
                .await
                .map_err(Error::internal)?;
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(Error::internal)?;
        let mut text = email.formatted();
        text.extend_from_slice(b"\r\n");
        file.write_all(&text).await.map_err(Error::internal)?;
        // tokio writes in the background: flush so the message is in the file when the
        // invitation is reported sent.
        file.flush().await.map_err(Error::internal)?;
        Ok(())
    }
}
