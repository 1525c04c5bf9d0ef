//! The client-facing wording of a rejected WebAuthn response.

use webauthn_rs::prelude::WebauthnError;

/// A client-facing explanation of a rejected WebAuthn response.
pub(crate) fn explain(error: &WebauthnError) -> String {
    match error {
        WebauthnError::InvalidRPOrigin => "the page's origin is not allowed for this tenant".into(),
        WebauthnError::InvalidRPIDHash => "the passkey was made for another relying party (RP id)".into(),
        WebauthnError::CredentialPossibleCompromise => {
            "the passkey's signature counter went backwards: it may be a cloned authenticator, so it was refused".into()
        }
        WebauthnError::UserNotVerified => "user verification (PIN or biometrics) is required".into(),
        WebauthnError::UserNotPresent => "user presence was not confirmed".into(),
        WebauthnError::MismatchedChallenge => "the response does not belong to this ceremony".into(),
        WebauthnError::CredentialMayNotBeHardwareBound => "the authenticator reports a backup state it is not eligible for".into(),
        WebauthnError::AuthenticationFailure => "the passkey's signature is not valid".into(),
        other => format!("the passkey response was not accepted ({other})"),
    }
}
