//! The authorization endpoint's decisions: resuming a parked request (with the organization
//! the user picked) or checking a new one, then, given the browser session, whether the user
//! signs in first, picks an organization, or goes back to the client with a code or an error.

use super::authorize::{AuthorizationRequest, AuthorizeParams};
use super::{OAuthError, OAuthResult, Provider};
use crate::organizations::Organization;

/// What reached the authorization endpoint.
#[derive(Clone, Debug)]
pub enum AuthorizeInput {
    /// A new request from a client.
    New(Box<AuthorizeParams>),
    /// A request parked under `handle` (the sign-in page or the organization picker coming
    /// back), with the organization picked, if any.
    Resume {
        handle: String,
        organization: Option<String>,
    },
}

/// What the authorization endpoint answers.
#[derive(Clone, Debug)]
pub enum AuthorizeOutcome {
    /// An error shown to the user, never redirected (no open redirector): unknown client or
    /// redirect URI, an expired or completed request. The page is in the first of `ui_locales`
    /// (the request's, when it is known) with a catalog.
    ErrorPage {
        error: OAuthError,
        ui_locales: Option<String>,
    },
    /// Back to the client's (checked) redirect URI with an error.
    RedirectError {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
    /// The user is signed in, but the application's access policy keeps them out: a page
    /// that says why (in the first of `ui_locales` with a catalog), with a way back to the
    /// client's redirect URI with `access_denied`.
    Denied {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
        application: String,
        ui_locales: Option<String>,
    },
    /// Back to the client's redirect URI with an authorization code.
    Code {
        redirect_uri: String,
        state: Option<String>,
        code: String,
    },
    /// To the hosted sign-in page, which comes back with the request parked under `handle`.
    SignIn {
        handle: String,
        login_hint: Option<String>,
        /// The identity provider to go straight to (`idp_hint`).
        idp_hint: Option<uuid::Uuid>,
        /// The languages the client asked the pages to be in (`ui_locales`).
        ui_locales: Option<String>,
        prompt_login: bool,
        /// Only a passkey sign-in will do (`acr_values=phr`, or the organization's policy):
        /// the page offers nothing else.
        passkey_required: bool,
    },
    /// The user belongs to several organizations and picks one; the request is parked under
    /// `handle`. The picker is in the first of `ui_locales` with a catalog.
    ChooseOrganization {
        handle: String,
        organizations: Vec<Organization>,
        ui_locales: Option<String>,
    },
}

/// Applies the organization picker's choice to a parked request. Membership is checked when
/// the code is issued.
fn apply_choice(parked: &mut AuthorizationRequest, chosen: Option<String>) -> OAuthResult<()> {
    if let Some(chosen) = chosen {
        if !parked.select_organization {
            return Err(OAuthError::invalid_request(
                "the application did not ask to choose an organization here",
            ));
        }
        parked.organization = Some(chosen);
        parked.select_organization = false;
    }
    Ok(())
}

/// Settles `prompt=select_organization` with the user's organizations: none leaves the
/// request without one, a single one is chosen, and several are returned for the picker.
fn settle_organization(
    request: &mut AuthorizationRequest,
    organizations: Vec<Organization>,
) -> Option<Vec<Organization>> {
    match organizations.len() {
        0 => {}
        1 => request.organization = organizations.first().map(|only| only.id.to_string()),
        _ => return Some(organizations),
    }
    request.select_organization = false;
    None
}

impl Provider<'_> {
    /// The authorization endpoint: checks or resumes the request, and with the browser
    /// session of `session_cookie` (when it satisfies the request) decides what comes next.
    #[tracing::instrument(name = "core.oauth.authorize", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn authorize(
        &self,
        input: AuthorizeInput,
        session_cookie: Option<&str>,
    ) -> crate::Result<AuthorizeOutcome> {
        let (app, mut request) = match input {
            AuthorizeInput::Resume {
                handle,
                organization,
            } => {
                let Some(mut parked) = self.resume_request(&handle).await? else {
                    return Ok(AuthorizeOutcome::ErrorPage {
                        error: OAuthError::invalid_request(
                            "this sign-in request has expired or was already completed; start again from the application",
                        ),
                        ui_locales: None,
                    });
                };
                let checked = match apply_choice(&mut parked, organization) {
                    Ok(()) => {
                        self.authorization_client(
                            Some(&parked.client_id),
                            Some(&parked.redirect_uri),
                        )
                        .await
                    }
                    Err(error) => Err(error),
                };
                match checked {
                    Ok(app) => (app, parked),
                    Err(error) => {
                        return Ok(AuthorizeOutcome::ErrorPage {
                            error,
                            ui_locales: parked.ui_locales,
                        });
                    }
                }
            }
            AuthorizeInput::New(params) => {
                let app = match self
                    .authorization_client(
                        params.client_id.as_deref(),
                        params.redirect_uri.as_deref(),
                    )
                    .await
                {
                    Ok(app) => app,
                    Err(error) => {
                        return Ok(AuthorizeOutcome::ErrorPage {
                            error,
                            ui_locales: params.ui_locales,
                        });
                    }
                };
                let redirect_uri = params.redirect_uri.clone().unwrap_or_default();
                let state = params.state.clone();
                match self.check_authorization_request(&app, *params) {
                    Ok(checked) => (app, checked),
                    Err(error) => {
                        return Ok(AuthorizeOutcome::RedirectError {
                            redirect_uri,
                            state,
                            error,
                        });
                    }
                }
            }
        };
        let session = match session_cookie {
            Some(cookie) => self.cookie_session(cookie).await?,
            None => None,
        }
        .filter(|session| self.session_satisfies(&request, session));
        let step_up = match &session {
            Some(session) => self.needs_step_up(&request, session).await?,
            None => false,
        };
        let session = session.filter(|_| !step_up);
        if let Some(session) = &session
            && request.select_organization
        {
            let organizations = self.member_organizations(session.identity_id).await?;
            if let Some(organizations) = settle_organization(&mut request, organizations) {
                return Ok(AuthorizeOutcome::ChooseOrganization {
                    handle: self.park_request(&request).await?,
                    organizations,
                    ui_locales: request.ui_locales,
                });
            }
        }
        if let Some(session) = &session
            && let Some(error) = self.policy_refusal(&app, &request, session).await?
        {
            return Ok(match request.prompt_none {
                true => AuthorizeOutcome::RedirectError {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    error,
                },
                false => AuthorizeOutcome::Denied {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    error,
                    application: app.name,
                    ui_locales: request.ui_locales,
                },
            });
        }
        Ok(match session {
            Some(session) => match self.issue_code(&app, &request, &session).await {
                Ok(code) => AuthorizeOutcome::Code {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    code,
                },
                Err(error) => AuthorizeOutcome::RedirectError {
                    redirect_uri: request.redirect_uri,
                    state: request.state,
                    error,
                },
            },
            None if request.prompt_none => AuthorizeOutcome::RedirectError {
                redirect_uri: request.redirect_uri,
                state: request.state,
                error: if step_up {
                    OAuthError::new(
                        "interaction_required",
                        "the request needs a passkey sign-in, and the user signed in otherwise",
                    )
                } else {
                    OAuthError::new("login_required", "the user is not signed in")
                },
            },
            None => AuthorizeOutcome::SignIn {
                handle: self.park_request(&request).await?,
                login_hint: request.login_hint,
                idp_hint: request.idp_hint,
                ui_locales: request.ui_locales,
                prompt_login: request.prompt_login,
                passkey_required: step_up || request.phishing_resistant,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations::{AuthenticationPolicy, DomainPolicy, OrganizationKind};
    use chrono::Utc;
    use uuid::Uuid;

    fn request(select_organization: bool) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "client".into(),
            redirect_uri: "https://app.example.com/cb".into(),
            scope: "openid".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt_none: false,
            prompt_login: false,
            max_age: None,
            login_hint: None,
            idp_hint: None,
            ui_locales: None,
            organization: None,
            select_organization,
            received_at: 0,
            phishing_resistant: false,
        }
    }

    fn organization(name: &str) -> Organization {
        Organization {
            id: Uuid::new_v4(),
            name: name.into(),
            slug: name.to_lowercase(),
            kind: OrganizationKind::Customer,
            metadata: serde_json::json!({}),
            external_id: None,
            domain_policy: DomainPolicy::None,
            authentication_policy: AuthenticationPolicy::Any,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_choice_is_taken_only_where_the_picker_was_asked_for() {
        let mut parked = request(true);
        apply_choice(&mut parked, Some("acme".into())).unwrap();
        assert_eq!(parked.organization.as_deref(), Some("acme"));
        assert!(!parked.select_organization);

        let mut not_asked = request(false);
        let error = apply_choice(&mut not_asked, Some("acme".into())).unwrap_err();
        assert_eq!(error.error, "invalid_request");
        assert_eq!(not_asked.organization, None);

        let mut no_choice = request(true);
        apply_choice(&mut no_choice, None).unwrap();
        assert!(no_choice.select_organization);
        assert_eq!(no_choice.organization, None);
    }

    #[test]
    fn the_picker_is_shown_only_for_several_organizations() {
        let mut none = request(true);
        assert!(settle_organization(&mut none, Vec::new()).is_none());
        assert_eq!(none.organization, None);
        assert!(!none.select_organization);

        let only = organization("Acme");
        let mut one = request(true);
        assert!(settle_organization(&mut one, vec![only.clone()]).is_none());
        assert_eq!(one.organization, Some(only.id.to_string()));
        assert!(!one.select_organization);

        let mut several = request(true);
        let choices = settle_organization(
            &mut several,
            vec![organization("Acme"), organization("Globex")],
        )
        .unwrap();
        let names: Vec<&str> = choices.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["Acme", "Globex"]);
        assert_eq!(several.organization, None);
        assert!(several.select_organization);
    }
}
