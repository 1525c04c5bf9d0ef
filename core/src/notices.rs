//! Security notices by email: a passkey added or removed, an account recovered or a recovery
//! waiting for approval. Each tells the owner what happened and what to do if it was not them.
//! Sent after the change committed; a notice the mailer refuses is logged, never undoes the
//! change (the audit log and the account page keep the event).

use crate::email_templates::{Email, EmailTemplate};
use crate::mail::{Recipient, TenantMail};

/// What happened to the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice<'a> {
    PasskeyAdded {
        name: &'a str,
    },
    PasskeyRemoved {
        name: &'a str,
    },
    /// A new passkey registered through account recovery.
    Recovered {
        signed_out_everywhere: bool,
    },
    /// A recovery that waits for an administrator.
    RecoveryRequested,
    /// The first password of the account.
    PasswordSet,
    /// The signed-in owner changed the password.
    PasswordChanged {
        signed_out_others: bool,
    },
    /// A new password through an emailed code.
    PasswordReset {
        signed_out_everywhere: bool,
    },
    /// An authenticator app became the account's second factor.
    TotpEnabled,
    TotpRemoved,
    /// A sign-in used one of the single-use recovery codes.
    RecoveryCodeUsed {
        left: u64,
    },
    /// Sent to the old address: the account moved to `new_email`; `undo_url` moves it back.
    EmailChanged {
        new_email: &'a str,
        undo_url: &'a str,
        /// How long the link works.
        days: i64,
    },
    /// Sent to the restored address: the change was undone and every session ended.
    EmailChangeUndone,
    /// The owner asked to delete the account: it is erased on `date` (in `days` days) unless
    /// they sign in before; every session ended.
    AccountDeletionScheduled {
        date: &'a str,
        days: i64,
    },
}

const SIGNED_OUT_OTHERS: &str = "sessions-signed-out-others";
const SIGNED_OUT_EVERYWHERE: &str = "sessions-signed-out-everywhere";

fn compose(notice: &Notice<'_>) -> Email {
    match notice {
        Notice::PasskeyAdded { name } => {
            Email::new(EmailTemplate::PasskeyAdded).text("name", *name)
        }
        Notice::PasskeyRemoved { name } => {
            Email::new(EmailTemplate::PasskeyRemoved).text("name", *name)
        }
        Notice::Recovered {
            signed_out_everywhere,
        } => Email::new(EmailTemplate::AccountRecovered).message(
            "sessions",
            signed_out_everywhere.then_some(SIGNED_OUT_OTHERS),
        ),
        Notice::RecoveryRequested => Email::new(EmailTemplate::RecoveryRequested),
        Notice::PasswordSet => Email::new(EmailTemplate::PasswordSet),
        Notice::PasswordChanged { signed_out_others } => Email::new(EmailTemplate::PasswordChanged)
            .message("sessions", signed_out_others.then_some(SIGNED_OUT_OTHERS)),
        Notice::PasswordReset {
            signed_out_everywhere,
        } => Email::new(EmailTemplate::PasswordReset).message(
            "sessions",
            signed_out_everywhere.then_some(SIGNED_OUT_EVERYWHERE),
        ),
        Notice::TotpEnabled => Email::new(EmailTemplate::TotpEnabled),
        Notice::TotpRemoved => Email::new(EmailTemplate::TotpRemoved),
        Notice::RecoveryCodeUsed { left } => Email::new(EmailTemplate::RecoveryCodeUsed)
            .number("left", i64::try_from(*left).unwrap_or(i64::MAX)),
        Notice::EmailChanged {
            new_email,
            undo_url,
            days,
        } => Email::new(EmailTemplate::EmailChanged)
            .text("email", *new_email)
            .text("link", *undo_url)
            .number("days", *days),
        Notice::EmailChangeUndone => Email::new(EmailTemplate::EmailChangeUndone),
        Notice::AccountDeletionScheduled { date, days } => {
            Email::new(EmailTemplate::AccountDeletionScheduled)
                .text("date", *date)
                .number("days", *days)
        }
    }
}

/// Sends `notice` to `to` in their language; a refusal is logged. Call it after the change
/// committed (it reads the tenant's own texts in a transaction of its own).
pub async fn send_notice(mail: &TenantMail<'_>, to: &Recipient<'_>, notice: Notice<'_>) {
    if let Err(error) = mail.send(to, &compose(&notice)).await {
        tracing::warn!(%error, "a security notice could not be sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email_templates::{Brand, render};
    use crate::languages::Language;

    #[test]
    fn a_notice_says_what_happened_and_what_to_do_in_each_language() {
        let brand = Brand {
            tenant_name: "Acme",
            page_url: "https://id.example.com/t/acme/",
            primary_color: "#4f46e5",
        };
        let english = Language::english();
        let email = compose(&Notice::PasswordReset {
            signed_out_everywhere: true,
        });
        let text = render(&email, english, &brand, None).text;
        assert!(text.starts_with(
            "The password of your Acme account was reset with a code sent to this address. Every session of the account was signed out.\n"
        ), "{text}");
        assert!(
            text.contains("(https://id.example.com/t/acme/account)"),
            "{text}"
        );
        let quiet = render(
            &compose(&Notice::PasswordReset {
                signed_out_everywhere: false,
            }),
            english,
            &brand,
            None,
        )
        .text;
        assert!(
            quiet.starts_with(
                "The password of your Acme account was reset with a code sent to this address.\n"
            ),
            "{quiet}"
        );
        let french = render(
            &compose(&Notice::PasskeyAdded { name: "Clé USB" }),
            Language::from_tag("fr").unwrap(),
            &brand,
            None,
        );
        assert_eq!(
            french.subject,
            "Une clé d'accès a été ajoutée à votre compte Acme"
        );
        assert!(french.text.contains("« Clé USB »"), "{}", french.text);
        assert!(french.text.contains("Si c'était vous"), "{}", french.text);
        let spanish = render(
            &compose(&Notice::RecoveryCodeUsed { left: 7 }),
            Language::from_tag("es").unwrap(),
            &brand,
            None,
        );
        assert!(spanish.text.contains("quedan 7"), "{}", spanish.text);
    }
}
