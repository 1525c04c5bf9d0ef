//! Security notices by email: a passkey added or removed, an account recovered or a recovery
//! waiting for approval. Each tells the owner what happened and what to do if it was not them.
//! Sent after the change committed; a notice the mailer refuses is logged, never undoes the
//! change (the audit log and the account page keep the event).

use crate::mail::TenantMail;

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
    },
    /// Sent to the restored address: the change was undone and every session ended.
    EmailChangeUndone,
}

fn compose(mail: &TenantMail<'_>, notice: &Notice<'_>) -> (String, String) {
    let tenant = mail.tenant_name;
    let page = mail.page_url;
    let (subject, what) = match notice {
        Notice::PasskeyAdded { name } => (
            format!("A passkey was added to your {tenant} account"),
            format!("A passkey named \"{name}\" was added to your {tenant} account."),
        ),
        Notice::PasskeyRemoved { name } => (
            format!("A passkey was removed from your {tenant} account"),
            format!(
                "The passkey named \"{name}\" was removed from your {tenant} account; it can no longer sign in."
            ),
        ),
        Notice::Recovered {
            signed_out_everywhere,
        } => (
            format!("Your {tenant} account was recovered"),
            format!(
                "Your {tenant} account was recovered with a code sent to this address, and a new passkey was registered.{}",
                if *signed_out_everywhere {
                    " Every other session of the account was signed out."
                } else {
                    ""
                }
            ),
        ),
        Notice::RecoveryRequested => (
            format!("Recovery of your {tenant} account is waiting for approval"),
            format!(
                "Someone with a code sent to this address asked to recover your {tenant} account. An administrator will review the request; once approved you get an email with a link to register a new passkey."
            ),
        ),
        Notice::PasswordSet => (
            format!("A password was set on your {tenant} account"),
            format!("A password was set on your {tenant} account; it can now sign in with it."),
        ),
        Notice::PasswordChanged { signed_out_others } => (
            format!("The password of your {tenant} account was changed"),
            format!(
                "The password of your {tenant} account was changed.{}",
                if *signed_out_others {
                    " Every other session of the account was signed out."
                } else {
                    ""
                }
            ),
        ),
        Notice::PasswordReset {
            signed_out_everywhere,
        } => (
            format!("The password of your {tenant} account was reset"),
            format!(
                "The password of your {tenant} account was reset with a code sent to this address.{}",
                if *signed_out_everywhere {
                    " Every session of the account was signed out."
                } else {
                    ""
                }
            ),
        ),
        Notice::TotpEnabled => (
            format!("An authenticator app now protects your {tenant} account"),
            format!(
                "An authenticator app was added to your {tenant} account: password sign-ins now also ask for its code."
            ),
        ),
        Notice::TotpRemoved => (
            format!("The authenticator app was removed from your {tenant} account"),
            format!(
                "The authenticator app was removed from your {tenant} account: password sign-ins no longer ask for a second factor."
            ),
        ),
        Notice::RecoveryCodeUsed { left } => (
            format!("A recovery code of your {tenant} account was used"),
            format!(
                "A sign-in to your {tenant} account used one of its recovery codes; {left} are left. Each works once."
            ),
        ),
        Notice::EmailChanged {
            new_email,
            undo_url,
        } => (
            format!("The email address of your {tenant} account was changed"),
            format!(
                "Your {tenant} account now uses the address {new_email}; this address no longer signs in to it.\n\nIf you did not do this, undo it within 7 days with this link (it also signs the account out everywhere): {undo_url}"
            ),
        ),
        Notice::EmailChangeUndone => (
            format!("The email address change of your {tenant} account was undone"),
            format!(
                "Your {tenant} account uses this address again, and every session of the account was signed out."
            ),
        ),
    };
    let text = format!(
        "{what}\n\n\
         If this was you, there is nothing to do.\n\n\
         If it was not you: someone can read your email. Secure your mailbox first (change its password), then \
         recover your account at {page} (\"Lost your passkey?\") and choose to sign out everywhere, \
         remove the passkeys you do not know on the account page ({page}account), and tell {tenant}'s support.\n"
    );
    (subject, text)
}

/// Sends `notice` to `to`; a refusal is logged.
pub async fn send_notice(mail: &TenantMail<'_>, to: &str, notice: Notice<'_>) {
    let (subject, text) = compose(mail, &notice);
    if let Err(error) = mail.send(to, subject, text).await {
        tracing::warn!(%error, "a security notice could not be sent");
    }
}
