//! What a verification email says. Only a code message carries a code; the code is the first
//! run of digits of its text, before the link, so people and mail clients find it.

use super::{CODE_TTL, Purpose};
use crate::email_templates::{Email, EmailTemplate};
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

/// The catalog message that says what a code is for (`{ $action }`).
fn what_for(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::SignUp => "action-sign-up",
        Purpose::SignIn => "action-sign-in",
        Purpose::Recovery => "action-recovery",
        Purpose::EmailChange => "action-email-change",
        Purpose::VerifyAddress => "action-verify-address",
    }
}

/// The email of `letter`, to be written in the recipient's language.
pub(super) fn compose(
    page_url: &str,
    letter: Letter,
    purpose: Purpose,
    challenge_id: Uuid,
    code: &str,
) -> Email {
    match letter {
        Letter::Code => Email::new(EmailTemplate::VerificationCode)
            .text("code", code)
            .text(
                "link",
                format!("{page_url}?verify={challenge_id}&code={code}"),
            )
            .number("minutes", CODE_TTL.num_minutes())
            .message("action", Some(what_for(purpose))),
        Letter::AlreadyHaveAccount => Email::new(EmailTemplate::AlreadyHaveAccount),
        Letter::NoAccount => {
            Email::new(EmailTemplate::NoAccount).message("action", Some(what_for(purpose)))
        }
        Letter::AddressTaken => Email::new(EmailTemplate::AddressTaken),
        Letter::AlreadyVerified => Email::new(EmailTemplate::AlreadyVerified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email_templates::{Brand, render};
    use crate::languages::Language;

    const BRAND: Brand<'static> = Brand {
        tenant_name: "Acme 2000",
        page_url: "https://id.example.com/t/acme2/",
        primary_color: "#4f46e5",
    };

    #[test]
    fn the_code_is_the_first_run_of_digits_and_comes_before_the_link_in_every_language() {
        let id = Uuid::now_v7();
        for language in Language::all() {
            for purpose in [Purpose::SignUp, Purpose::Recovery, Purpose::VerifyAddress] {
                let email = compose(BRAND.page_url, Letter::Code, purpose, id, "042917");
                let text = render(&email, language, &BRAND, None).text;
                let first: String = text
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                assert_eq!(first, "042917", "{}", language.tag());
                assert!(text.find("042917").unwrap() < text.find("https://").unwrap());
                assert!(text.contains(&format!("?verify={id}&code=042917")));
            }
        }
    }

    #[test]
    fn only_the_code_message_has_a_code() {
        for language in Language::all() {
            for letter in [
                Letter::AlreadyHaveAccount,
                Letter::NoAccount,
                Letter::AddressTaken,
                Letter::AlreadyVerified,
            ] {
                let email = compose(
                    BRAND.page_url,
                    letter,
                    Purpose::SignUp,
                    Uuid::now_v7(),
                    "123456",
                );
                let rendered = render(&email, language, &BRAND, None);
                assert!(!rendered.text.contains("123456"), "{letter:?}");
                assert!(!rendered.text.contains("verify="), "{letter:?}");
                assert!(!rendered.html.contains("123456"), "{letter:?}");
            }
        }
    }
}
