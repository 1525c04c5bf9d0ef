//! The federated sign-in flow: the start (a flow kept under a random `state` for ten minutes,
//! the browser sent to the provider; SAML: the request's id is `_{state}`) and the callback
//! (the flow taken once by its `state`, the code exchanged, the ID token validated (GitHub:
//! its API read); SAML: the assertion consumer service, the response through the gate, its
//! assertion id into the replay cache, the flow taken by its `InResponseTo`), then the person
//! signed in or the account linked.
//! Every refusal is audited with its reason.

use super::discovery::Directory;
use super::github;
use super::http::ProviderHttp;
use super::oidc::{self, Refused};
use super::saml::{self, Metadatas, ServiceProvider};
use latchkey_core::crypto::MasterKey;
use latchkey_core::ephemeral::StoreKey;
use latchkey_core::error::{Error, Result};
use latchkey_core::federation::{
    self, Credentials, FederatedLink, FederatedProfile, IdentityProvider, Preset, Protocol,
};
use latchkey_core::oauth::s256_challenge;
use latchkey_core::passkeys::{Ceremonies, CeremonyOutcome};
use latchkey_core::secrets;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// How long a started flow waits for the provider's answer.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// How long a SAML assertion's id is kept to refuse it a second time: as long as it could be
/// accepted (its expiry and the tolerated clock difference), within these bounds.
const REPLAY_MIN: Duration = Duration::from_secs(300);
const REPLAY_MAX: Duration = Duration::from_secs(7 * 86_400);

/// Where the browser goes once the flow is done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Then {
    /// Back to `authorize` with the parked authorization request.
    Authorize { handle: String },
    /// To the account page.
    Account,
    /// Link the provider's account to this signed-in identity, then to the account page.
    Link { identity_id: Uuid },
}

#[derive(Serialize, Deserialize)]
struct Flow {
    provider_id: Uuid,
    nonce: String,
    verifier: String,
    then: Then,
    /// The hash of the secret the starting browser keeps in a cookie: only that browser may
    /// finish the flow (no signing someone in to the attacker's account with a forged link).
    browser: String,
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The secret of the browser's flow cookie.
    pub browser: Option<String>,
    /// Apple's `user` (JSON with the name, posted at the first authorization only).
    pub user: Option<String>,
}

/// The name in Apple's `user` field (`{"name": {"firstName", "lastName"}, "email"}`).
fn apple_name(user: &str) -> Option<String> {
    let user: serde_json::Value = serde_json::from_str(user).ok()?;
    let name = &user["name"];
    let full = [name["firstName"].as_str(), name["lastName"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!full.trim().is_empty() && full.chars().count() <= 200).then(|| full.trim().to_owned())
}

/// A started flow: where to send the browser, and the secret it keeps in a cookie.
pub struct Started {
    pub redirect: String,
    pub browser_secret: String,
}

/// How a flow ended.
pub enum Finished {
    SignedIn {
        outcome: Box<CeremonyOutcome>,
        then: Then,
        /// The provider's preset (for metrics).
        preset: &'static str,
    },
    Linked {
        link: FederatedLink,
        then: Then,
        preset: &'static str,
    },
}

/// The outbound client and the providers' documents: one per server.
pub struct Federation {
    pub http: ProviderHttp,
    pub directory: Directory,
    /// SAML providers' metadata.
    pub metadatas: Metadatas,
}

fn flow_key(ceremonies: &Ceremonies<'_>, state: &str) -> StoreKey {
    StoreKey::tenant(ceremonies.scope, "federation", &secrets::hash(state))
}

/// Audits a refused flow and answers the person's error.
async fn refuse(
    ceremonies: &Ceremonies<'_>,
    provider: Option<Uuid>,
    reason: &'static str,
    message: String,
) -> Error {
    federation::record_refusal(ceremonies, provider, reason, None).await;
    Error::Refused(message)
}

/// Takes the flow kept under `state`, once, and checks it is this browser's.
async fn take_flow(
    ceremonies: &Ceremonies<'_>,
    state: &str,
    browser: Option<&str>,
) -> Result<Flow> {
    let Some(flow) = ceremonies.store.take(&flow_key(ceremonies, state)).await? else {
        return Err(refuse(
            ceremonies,
            None,
            "unknown_state",
            "this sign-in has expired or was already used; start it again".into(),
        )
        .await);
    };
    let flow: Flow = serde_json::from_slice(&flow).map_err(Error::internal)?;
    let same_browser =
        browser.is_some_and(|secret| secrets::same_secret(&secrets::hash(secret), &flow.browser));
    if !same_browser {
        return Err(refuse(
            ceremonies,
            Some(flow.provider_id),
            "other_browser",
            "this sign-in was started in another browser; start it again here".into(),
        )
        .await);
    }
    Ok(flow)
}

/// The metrics' name of a provider's kind.
fn kind(provider: &IdentityProvider) -> &'static str {
    match provider.protocol {
        Protocol::Saml => "saml",
        Protocol::Oidc => provider.preset.as_str(),
    }
}

/// Signs the person in, or links the account, as the flow said.
async fn conclude(
    ceremonies: &Ceremonies<'_>,
    provider: &IdentityProvider,
    profile: FederatedProfile,
    then: Then,
) -> Result<Finished> {
    match then {
        Then::Link { identity_id } => {
            let link =
                federation::link_federated(ceremonies, identity_id, provider, profile).await?;
            Ok(Finished::Linked {
                link,
                then: Then::Link { identity_id },
                preset: kind(provider),
            })
        }
        then => {
            let outcome = federation::sign_in_federated(ceremonies, provider, profile).await?;
            Ok(Finished::SignedIn {
                outcome: Box::new(outcome),
                then,
                preset: kind(provider),
            })
        }
    }
}

impl Federation {
    /// `allow_private`: `LATCHKEY_ALLOW_PRIVATE_NETWORKS`.
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        Self {
            http: ProviderHttp::new(timeout, allow_private),
            directory: Directory::default(),
            metadatas: Metadatas::default(),
        }
    }

    /// Starts a flow with provider `provider_id` of the tenant (`NotFound` for another
    /// tenant's): answers the provider's URL to send the browser to and the browser's secret.
    /// `callback_url`: where OpenID Connect providers answer; `sp`: Latchkey as the SAML
    /// service provider of this provider.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        &self,
        ceremonies: &Ceremonies<'_>,
        master_key: &MasterKey,
        provider_id: Uuid,
        callback_url: &str,
        sp: &ServiceProvider,
        then: Then,
        login_hint: Option<&str>,
    ) -> Result<Started> {
        let (provider, credentials) =
            federation::provider_for_flow(ceremonies.db, ceremonies.scope, master_key, provider_id)
                .await?;
        let state = secrets::generate("");
        let browser_secret = secrets::generate("");
        let flow = Flow {
            browser: secrets::hash(&browser_secret),
            provider_id,
            nonce: secrets::generate(""),
            verifier: secrets::generate(""),
            then,
        };
        ceremonies
            .store
            .set(
                &flow_key(ceremonies, &state),
                &serde_json::to_vec(&flow).map_err(Error::internal)?,
                FLOW_TTL,
            )
            .await?;
        let challenge = s256_challenge(&flow.verifier);
        let login_hint = login_hint.filter(|hint| hint.len() <= 320);
        let redirect = match provider.preset {
            _ if provider.protocol == Protocol::Saml => {
                let metadata = self
                    .metadatas
                    .get(&self.http, &provider)
                    .await
                    .map_err(|why| self.unreachable(&provider, why))?;
                sp.redirect(
                    &metadata,
                    &format!("_{state}"),
                    &state,
                    ceremonies.clock.now(),
                )?
            }
            Preset::Github => github::authorization_url(
                &provider,
                &credentials,
                callback_url,
                &state,
                &challenge,
                login_hint,
            )?,
            _ => {
                let discovered = self
                    .directory
                    .get(&self.http, &provider)
                    .await
                    .map_err(|why| self.unreachable(&provider, why))?;
                oidc::authorization_url(
                    &discovered,
                    &provider,
                    &credentials,
                    oidc::Request {
                        redirect_uri: callback_url,
                        state: &state,
                        nonce: &flow.nonce,
                        code_challenge: &challenge,
                        login_hint,
                    },
                )
            }
        };
        Ok(Started {
            redirect,
            browser_secret,
        })
    }

    fn unreachable(&self, provider: &IdentityProvider, why: String) -> Error {
        tracing::warn!(provider.id = %provider.id, error = %why, "identity provider unreachable");
        Error::Refused(format!(
            "{} cannot be reached just now; try again later or sign in another way",
            provider.name
        ))
    }

    /// The code exchanged at an OpenID Connect provider and its ID token validated (its keys
    /// read again once when the token names one Latchkey does not have: a rollover).
    async fn oidc_profile(
        &self,
        ceremonies: &Ceremonies<'_>,
        provider: &IdentityProvider,
        credentials: &Credentials,
        code: &str,
        callback_url: &str,
        flow: &Flow,
    ) -> Result<std::result::Result<FederatedProfile, Refused>> {
        let discovered = self
            .directory
            .get(&self.http, provider)
            .await
            .map_err(|why| self.unreachable(provider, why))?;
        let now = ceremonies.clock.now();
        let exchanged = match oidc::exchange(
            &self.http,
            &discovered,
            provider,
            credentials,
            code,
            callback_url,
            &flow.verifier,
            now,
        )
        .await
        {
            Ok(exchanged) => exchanged,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let id_token = &exchanged.id_token;
        let verified = match oidc::verify(
            &discovered,
            provider,
            credentials,
            id_token,
            &flow.nonce,
            now,
        ) {
            Err(refusal) if oidc::unknown_key(&refusal) => {
                let refreshed = self
                    .directory
                    .refresh_keys(&self.http, provider, &discovered)
                    .await
                    .map_err(|why| self.unreachable(provider, why))?;
                oidc::verify(
                    &refreshed,
                    provider,
                    credentials,
                    id_token,
                    &flow.nonce,
                    now,
                )
            }
            other => other,
        };
        let mut claims = match verified {
            Ok(claims) => claims,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if let Err(refusal) = oidc::add_userinfo(
            &self.http,
            &discovered,
            exchanged.access_token.as_deref(),
            &mut claims,
        )
        .await
        {
            return Ok(Err(refusal));
        }
        Ok(oidc::profile(provider, &claims))
    }

    /// Finishes a flow at the callback.
    pub async fn finish(
        &self,
        ceremonies: &Ceremonies<'_>,
        master_key: &MasterKey,
        callback_url: &str,
        callback: Callback,
    ) -> Result<Finished> {
        let Some(state) = callback.state.as_deref().filter(|s| s.len() <= 100) else {
            return Err(refuse(
                ceremonies,
                None,
                "missing_state",
                "the provider's answer carries no state; start the sign-in again".into(),
            )
            .await);
        };
        let flow = take_flow(ceremonies, state, callback.browser.as_deref()).await?;
        let provider_id = Some(flow.provider_id);
        if let Some(error) = callback.error {
            let description = callback.error_description.unwrap_or_default();
            return Err(refuse(
                ceremonies,
                provider_id,
                "provider_error",
                format!(
                    "the provider did not sign you in ({error}{}{description})",
                    if description.is_empty() { "" } else { ": " }
                ),
            )
            .await);
        }
        let Some(code) = callback.code else {
            return Err(refuse(
                ceremonies,
                provider_id,
                "missing_code",
                "the provider's answer carries no code".into(),
            )
            .await);
        };
        let (provider, credentials) = federation::provider_for_flow(
            ceremonies.db,
            ceremonies.scope,
            master_key,
            flow.provider_id,
        )
        .await?;
        let exchanged = match provider.preset {
            Preset::Github => {
                github::profile(
                    &self.http,
                    &provider,
                    &credentials,
                    &code,
                    callback_url,
                    &flow.verifier,
                )
                .await
            }
            _ => {
                self.oidc_profile(
                    ceremonies,
                    &provider,
                    &credentials,
                    &code,
                    callback_url,
                    &flow,
                )
                .await?
            }
        };
        let mut profile = match exchanged {
            Ok(profile) => profile,
            Err(Refused { reason, message }) => {
                return Err(refuse(ceremonies, provider_id, reason, message).await);
            }
        };
        if profile.display_name.is_none() {
            // Apple posts the name once, at the first authorization, outside the ID token.
            profile.display_name = callback.user.as_deref().and_then(apple_name);
        }
        conclude(ceremonies, &provider, profile, flow.then).await
    }

    /// Finishes a SAML flow at provider `provider_id`'s assertion consumer service (`NotFound`
    /// for another tenant's provider, or one that is not SAML).
    pub async fn finish_saml(
        &self,
        ceremonies: &Ceremonies<'_>,
        master_key: &MasterKey,
        sp: &ServiceProvider,
        provider_id: Uuid,
        saml_response: Option<&str>,
        browser: Option<&str>,
    ) -> Result<Finished> {
        let (provider, _) =
            federation::provider_for_flow(ceremonies.db, ceremonies.scope, master_key, provider_id)
                .await?;
        if provider.protocol != Protocol::Saml {
            return Err(Error::NotFound);
        }
        let deny =
            |Refused { reason, message }| refuse(ceremonies, Some(provider_id), reason, message);
        let Some(encoded) = saml_response else {
            return Err(deny(oidc::refused(
                "missing_response",
                "the identity provider's answer carries no SAMLResponse",
            ))
            .await);
        };
        let now = ceremonies.clock.now();
        let metadata = self
            .metadatas
            .get(&self.http, &provider)
            .await
            .map_err(|why| self.unreachable(&provider, why))?;
        let checked = saml::check(
            encoded,
            &saml::Expected {
                idp: &metadata,
                sp,
                now,
            },
        );
        let checked = match checked {
            // A certificate the kept metadata does not list: the IdP may have rolled over. Read
            // again at most every few minutes, whoever posts bad signatures.
            Err(refusal)
                if refusal.reason == "bad_signature"
                    && provider.settings["metadataUrl"].is_string() =>
            {
                match self.metadatas.reread(&self.http, &provider).await {
                    Some(metadata) => {
                        let metadata = metadata.map_err(|why| self.unreachable(&provider, why))?;
                        saml::check(
                            encoded,
                            &saml::Expected {
                                idp: &metadata,
                                sp,
                                now,
                            },
                        )
                    }
                    None => Err(refusal),
                }
            }
            other => other,
        };
        let asserted = match checked {
            Ok(asserted) => asserted,
            Err(refusal) => return Err(deny(refusal).await),
        };
        let seen = StoreKey::tenant(
            ceremonies.scope,
            "saml-assertion",
            &secrets::hash(&format!("{provider_id}/{}", asserted.assertion_id)),
        );
        let keep = (asserted.acceptable_until - now)
            .to_std()
            .unwrap_or_default()
            .clamp(REPLAY_MIN, REPLAY_MAX);
        if ceremonies.store.increment(&seen, keep).await? > 1 {
            return Err(deny(oidc::refused(
                "replayed_assertion",
                "this answer of the identity provider was already used; start the sign-in again",
            ))
            .await);
        }
        let Some(state) = asserted.in_response_to.strip_prefix('_') else {
            return Err(deny(oidc::refused("unknown_request", "the identity provider answers a request Latchkey did not make; start the sign-in again")).await);
        };
        let flow = take_flow(ceremonies, state, browser).await?;
        if flow.provider_id != provider_id {
            return Err(deny(oidc::refused("other_provider", "the answer comes from another identity provider than the sign-in started with; start it again")).await);
        }
        let profile = saml::profile(&provider, &asserted);
        conclude(ceremonies, &provider, profile, flow.then).await
    }
}
