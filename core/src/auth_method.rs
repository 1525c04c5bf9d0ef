//! How the user of a session signed in (`sessions.auth_method`), and what tokens and policies
//! make of it: the `amr` values of ID tokens (RFC 8176), whether the sign-in was phishing
//! resistant (a passkey: what `acr_values=phr` and an organization's `PASSKEY` policy ask for).

/// A passkey (WebAuthn) sign-in.
pub const PASSKEY: &str = "passkey";
/// A one-time code sent to the account's address.
pub const EMAIL_CODE: &str = "email_code";
/// A password alone.
pub const PASSWORD: &str = "password";
/// A password and a second factor (an authenticator app's code or a recovery code).
pub const PASSWORD_MFA: &str = "password_mfa";

/// A sign-in through an identity provider (federation).
pub const FEDERATED: &str = "federated";

/// The `acr` value of a phishing-resistant sign-in (OpenID Connect `acr_values=phr`).
pub const ACR_PHISHING_RESISTANT: &str = "phr";

/// The `amr` values (RFC 8176) of a session's sign-in method.
pub fn amr(auth_method: &str) -> Vec<String> {
    let values: &[&str] = match auth_method {
        PASSKEY => &["webauthn"],
        EMAIL_CODE => &["otp"],
        PASSWORD => &["pwd"],
        PASSWORD_MFA => &["pwd", "otp", "mfa"],
        FEDERATED => &["fed"],
        other => return vec![other.to_owned()],
    };
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// Whether a sign-in by `auth_method` resists phishing (is bound to the origin).
pub fn phishing_resistant(auth_method: &str) -> bool {
    auth_method == PASSKEY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_per_method() {
        assert_eq!(amr(PASSKEY), ["webauthn"]);
        assert_eq!(amr(EMAIL_CODE), ["otp"]);
        assert_eq!(amr(PASSWORD), ["pwd"]);
        assert_eq!(amr(PASSWORD_MFA), ["pwd", "otp", "mfa"]);
        assert!(phishing_resistant(PASSKEY));
        assert!(!phishing_resistant(PASSWORD_MFA));
    }
}
