//! Reading the embedded default's mailbox file (`data_dir/mailbox.txt`), where a server
//! without SMTP appends every message, and the email-proof steps tests take through it.

use crate::smtp::Received;
use crate::{GraphqlResponse, TestApp, TestTenant};
use serde_json::{Value, json};

/// The messages in a mailbox file, oldest first.
pub fn messages(path: &std::path::Path) -> Vec<Received> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    text.split("\n\nFrom: ")
        .enumerate()
        .filter(|(_, part)| !part.trim().is_empty())
        .map(|(i, part)| {
            let data = if i == 0 {
                part.to_owned()
            } else {
                format!("From: {part}")
            };
            let to = data
                .lines()
                .take_while(|line| !line.is_empty())
                .filter_map(|line| line.strip_prefix("To: "))
                .map(|to| to.trim().trim_matches(['<', '>']).to_owned())
                .collect();
            Received { to, data }
        })
        .collect()
}

/// The first run of digits in a message's body: the code of a verification email.
pub fn code_of(message: &Received) -> Option<String> {
    let text = message.text();
    let (_, body) = text.split_once("\n\n")?;
    let code: String = body
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    (!code.is_empty()).then_some(code)
}

const START: &str = "mutation($input: StartEmailVerificationInput!) { startEmailVerification(input: $input) { challengeId expiresIn } }";
const COMPLETE: &str = "mutation($input: CompleteEmailVerificationInput!) { completeEmailVerification(input: $input) { emailProof expiresIn purpose email } }";

impl TestApp {
    /// The newest message for `address`: from the SMTP listener if the server has one,
    /// otherwise from the mailbox file.
    pub fn last_mail_to(&self, address: &str) -> Option<Received> {
        if let Some(sink) = &self.smtp {
            return sink.last_for(address);
        }
        messages(&self.mailbox)
            .into_iter()
            .rev()
            .find(|m| m.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
    }

    /// How many messages `address` was sent (SMTP listener or mailbox file).
    pub fn mail_count(&self, address: &str) -> usize {
        if let Some(sink) = &self.smtp {
            return sink.count_for(address);
        }
        messages(&self.mailbox)
            .iter()
            .filter(|m| m.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
            .count()
    }

    /// `startEmailVerification` for `email` and `purpose` (a GraphQL enum value).
    pub async fn start_email_verification(
        &self,
        tenant: &TestTenant,
        email: &str,
        purpose: &str,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            None,
            START,
            json!({ "input": { "email": email, "purpose": purpose } }),
        )
        .await
    }

    /// `completeEmailVerification` with `code`.
    pub async fn complete_email_verification(
        &self,
        tenant: &TestTenant,
        challenge_id: &str,
        code: &str,
    ) -> GraphqlResponse {
        self.anonymous(
            tenant,
            None,
            COMPLETE,
            json!({ "input": { "challengeId": challenge_id, "code": code } }),
        )
        .await
    }

    /// The `beginPasskeyRegistration` input of a sign-up with a fresh, proven address.
    pub async fn sign_up_input(&self, tenant: &TestTenant) -> Value {
        let email = crate::unique_email();
        json!({ "emailProof": self.prove_email(tenant, &email, "SIGN_UP").await })
    }

    /// Proves `email` for `purpose` through the mailbox: starts, reads the code, completes.
    /// Returns the proof.
    pub async fn prove_email(&self, tenant: &TestTenant, email: &str, purpose: &str) -> String {
        let started = self.start_email_verification(tenant, email, purpose).await;
        let challenge: Value = started.data()["startEmailVerification"]["challengeId"].clone();
        let message = self.last_mail_to(email).expect("a verification email");
        let code = code_of(&message).expect("a code in the verification email");
        let completed = self
            .complete_email_verification(tenant, challenge.as_str().unwrap(), &code)
            .await;
        completed.data()["completeEmailVerification"]["emailProof"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}
