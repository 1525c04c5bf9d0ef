//! What a verification email says. Only a code message carries a code; the code is the first
//! run of digits of its text, before the link, so people and mail clients find it.

use super::{CODE_TTL, Purpose};
use crate::mail::TenantMail;
use uuid::Uuid;

/// Which message a start sends: decided by whether an account exists, and never told to the
/// caller (the answer is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Letter {
    /// The code and the link.
    Code,
    /// A sign-up for an address that has an account: sign in or recover it instead.
    AlreadyHaveAccount,
    /// Sign-in, recovery or verification for an address without an active account.
    NoAccount,
    /// An email change to an address another account has.
    AddressTaken,
    /// Verification of an address that is verified already.
    AlreadyVerified,
}

fn what_for(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::SignUp => "create your account",
        Purpose::SignIn => "sign in",
        Purpose::Recovery => "recover your account and register a new passkey",
        Purpose::EmailChange => "move your account to this address",
        Purpose::VerifyAddress => "verify this address",
    }
}

/// The subject and text of `letter`.
pub(super) fn compose(
    mail: &TenantMail<'_>,
    letter: Letter,
    purpose: Purpose,
    challenge_id: Uuid,
    code: &str,
) -> (String, String) {
    let tenant = mail.tenant_name;
    let page = mail.page_url;
    let ignore = "If you did not ask for this, ignore this message: nothing changes.";
    match letter {
        Letter::Code => (
            format!("Your {tenant} verification code"),
            format!(
                "{code} is your {tenant} verification code.\n\n\
                 Enter it on the page where you asked for it to {what}, or open this link and confirm there:\n\n\
                 {page}?verify={challenge_id}&code={code}\n\n\
                 The code works once, for {minutes} minutes. Never give it to anyone: {tenant} will not ask you for it by phone or email.\n\
                 {ignore}\n",
                what = what_for(purpose),
                minutes = CODE_TTL.num_minutes(),
            ),
        ),
        Letter::AlreadyHaveAccount => (
            format!("You already have a {tenant} account"),
            format!(
                "Someone (probably you) asked to create a {tenant} account with this address, but you already have an account.\n\n\
                 Sign in with your passkey at {page}\n\
                 Lost your passkey? Recover your account from the same page (\"Lost your passkey?\").\n\n\
                 {ignore}\n"
            ),
        ),
        Letter::NoAccount => (
            format!("No {tenant} account with this address"),
            format!(
                "Someone (probably you) asked to {what} on {tenant} with this address, but no active account uses it.\n\n\
                 To create an account, go to {page}\n\n\
                 {ignore}\n",
                what = what_for(purpose),
            ),
        ),
        Letter::AddressTaken => (
            format!("This address is already used on {tenant}"),
            format!(
                "Someone asked to move a {tenant} account to this address, but another account already uses it, so nothing changes.\n\n\
                 {ignore}\n"
            ),
        ),
        Letter::AlreadyVerified => (
            format!("Your {tenant} address is already verified"),
            format!(
                "Someone asked to verify this address on {tenant}; it is verified already, so there is nothing to do.\n\n\
                 {ignore}\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{Mailer, Message};

    struct Nowhere;

    #[async_trait::async_trait]
    impl Mailer for Nowhere {
        async fn send(&self, _: &Message) -> crate::error::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_code_is_the_first_run_of_digits_and_comes_before_the_link() {
        let mail = TenantMail {
            mailer: &Nowhere,
            page_url: "https://id.example.com/t/acme2/",
            tenant_name: "Acme 2000",
        };
        let id = Uuid::now_v7();
        for purpose in [Purpose::SignUp, Purpose::Recovery, Purpose::VerifyAddress] {
            let (_, text) = compose(&mail, Letter::Code, purpose, id, "042917");
            let first: String = text
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            assert_eq!(first, "042917");
            assert!(text.find("042917").unwrap() < text.find("https://").unwrap());
            assert!(text.contains(&format!("?verify={id}&code=042917")));
        }
    }

    #[test]
    fn only_the_code_message_has_a_code() {
        let mail = TenantMail {
            mailer: &Nowhere,
            page_url: "https://id.example.com/t/acme/",
            tenant_name: "Acme",
        };
        for letter in [
            Letter::AlreadyHaveAccount,
            Letter::NoAccount,
            Letter::AddressTaken,
            Letter::AlreadyVerified,
        ] {
            let (_, text) = compose(&mail, letter, Purpose::SignUp, Uuid::now_v7(), "123456");
            assert!(!text.contains("123456"), "{letter:?}");
            assert!(!text.contains("verify="), "{letter:?}");
        }
    }
}
