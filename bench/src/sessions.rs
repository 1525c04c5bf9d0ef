//! End users' sign-ins and sessions under load: passkey sign-ins with a real software
//! authenticator, and refresh-token chains. Each worker has its own identity, prepared before
//! the measurement, and calls the server through its own client (`workers[i]`).

use crate::{Figures, drive};
use latchkey_tests::passkey::Device;
use latchkey_tests::{TestApp, TestTenant, unique};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REFRESH: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }";

/// A worker's own identity: its client, authenticator, passkey and first session.
struct Account {
    app: Arc<TestApp>,
    device: Device,
    credential_id: String,
    email: String,
    refresh_token: String,
}

/// A new identity with a passkey for each worker of `tenant`, signed up through `app`.
async fn sign_ups(app: &TestApp, tenant: &TestTenant, workers: &[Arc<TestApp>]) -> Vec<Account> {
    let mut accounts = Vec::new();
    for worker in workers {
        let email = format!("{}@example.com", unique("bench"));
        let (device, credential_id, signed_in) = app.sign_up(tenant, &email).await;
        accounts.push(Account {
            app: worker.clone(),
            device,
            credential_id,
            email,
            refresh_token: signed_in.refresh_token,
        });
    }
    accounts
}

/// Passkey sign-ins by email hint: `beginPasskeySignIn`, the authenticator's signature,
/// `finishPasskeySignIn`. Each worker has its own identity and device (a credential's counter
/// must rise in order).
pub struct PasskeySignIns {
    tenant: TestTenant,
    accounts: Vec<Account>,
}

impl PasskeySignIns {
    pub async fn prepare(app: &TestApp, tenant: &TestTenant, workers: &[Arc<TestApp>]) -> Self {
        Self {
            tenant: tenant.clone(),
            accounts: sign_ups(app, tenant, workers).await,
        }
    }

    /// Runs for `duration`. The first figures are the server's time (begin + finish, one
    /// "request" per sign-in), the second the authenticator's signing between them, which
    /// happens in this process.
    pub async fn run(self, duration: Duration) -> (Figures, Figures) {
        let started = Instant::now();
        let deadline = started + duration;
        let workers: Vec<_> = self
            .accounts
            .into_iter()
            .map(|account| {
                let tenant = self.tenant.clone();
                let Account {
                    app,
                    mut device,
                    credential_id,
                    email,
                    ..
                } = account;
                tokio::spawn(async move {
                    let (mut server, mut signing) = (Vec::new(), Vec::new());
                    while Instant::now() < deadline {
                        let begin = Instant::now();
                        let begun = app.begin_sign_in(&tenant, Some(&email)).await;
                        let begin_time = begin.elapsed();
                        let sign = Instant::now();
                        let assertion = device.get(&begun.options, Some(&credential_id));
                        signing.push(sign.elapsed());
                        let finish = Instant::now();
                        let response = app
                            .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
                            .await;
                        assert!(response.data()["finishPasskeySignIn"]["accessToken"].is_string());
                        server.push(begin_time + finish.elapsed());
                    }
                    (server, signing)
                })
            })
            .collect();
        let (mut server, mut signing) = (Vec::new(), Vec::new());
        for worker in workers {
            let (s, g) = worker.await.expect("worker");
            server.extend(s);
            signing.extend(g);
        }
        let elapsed = started.elapsed();
        (
            Figures::from_latencies(server, elapsed),
            Figures::from_latencies(signing, elapsed),
        )
    }
}

/// `refreshSession` chains: each worker rotates its own session's refresh token.
pub struct RefreshChains {
    tenant: TestTenant,
    chains: Vec<(Arc<TestApp>, String)>,
}

impl RefreshChains {
    pub async fn prepare(app: &TestApp, tenant: &TestTenant, workers: &[Arc<TestApp>]) -> Self {
        let chains = sign_ups(app, tenant, workers)
            .await
            .into_iter()
            .map(|account| (account.app, account.refresh_token))
            .collect();
        Self {
            tenant: tenant.clone(),
            chains,
        }
    }

    pub async fn run(self, duration: Duration) -> Figures {
        let tenant = self.tenant;
        drive(self.chains, duration, move |(app, refresh_token)| {
            let tenant = tenant.clone();
            async move {
                let sent = Instant::now();
                let response = app
                    .anonymous(&tenant, None, REFRESH, json!({ "t": refresh_token }))
                    .await;
                let took = sent.elapsed();
                // After an error the chain goes on with the token it has: a request refused
                // before its transaction did not spend it, and one that did is answered with
                // its successor within the tenant's reuse interval.
                match response.body["data"]["refreshSession"]["refreshToken"].as_str() {
                    Some(next) => ((app, next.to_owned()), Ok(took)),
                    None => {
                        let error = format!("HTTP {}: {}", response.status, response.body);
                        ((app, refresh_token), Err(error))
                    }
                }
            }
        })
        .await
    }
}
