//! Outgoing email: over SMTP (`lettre`) when `LATCHKEY_SMTP_URL` is set; otherwise (the
//! embedded default) each message goes to the log and is appended to `data_dir/mailbox.txt`,
//! so a developer can open invitation links without a mail server.

use crate::config::files;
use crate::config::mail::MailSettings;
use async_trait::async_trait;
use latchkey_core::Error;
use latchkey_core::mail::{Mailer, Message};
use lettre::message::Mailbox;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;

/// The mailer the settings describe.
pub fn mailer(settings: &MailSettings) -> anyhow::Result<Box<dyn Mailer>> {
    Ok(match &settings.smtp_url {
        Some(url) => Box::new(SmtpMailer {
            transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
            from: settings.from.clone(),
        }),
        None => Box::new(MailboxFile {
            path: settings.mailbox.clone(),
            from: settings.from.clone(),
        }),
    })
}

fn build(from: &Mailbox, message: &Message) -> latchkey_core::Result<lettre::Message> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|_| Error::validation("email", "is not an address mail can be sent to"))?;
    // Quoted-printable: readable where the text is ASCII, safe where it is not.
    let part = |content_type: ContentType, body: &str| {
        SinglePart::builder()
            .header(content_type)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(body.to_owned())
    };
    let builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.subject);
    match &message.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &message.text))
                .singlepart(part(ContentType::TEXT_HTML, html)),
        ),
        None => builder.singlepart(part(ContentType::TEXT_PLAIN, &message.text)),
    }
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
        // The mailbox holds live links: the owner's only (0600, in a 0700 directory).
        if let Some(directory) = self.path.parent() {
            files::create_private_dir(directory).map_err(Error::internal)?;
        }
        files::ensure_private_file(&self.path).map_err(Error::internal)?;
        let mut file = tokio::fs::OpenOptions::new()
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
