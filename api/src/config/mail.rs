//! The outgoing-mail settings: the From address, and the SMTP server if there is one (else
//! the mailbox file in the data directory).

use super::{ConfigError, bad};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

/// Checked mail settings.
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub(crate) from: Mailbox,
    pub(crate) smtp_url: Option<String>,
    pub(crate) mailbox: PathBuf,
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
}
