//! The HTTP calls to identity providers: https only and public addresses only (unless the
//! deployment allows private networks, which also allows plain http for loopback test set-ups
//! and providers inside the network), no redirects, answers of at most 1 MiB, read as JSON.

use crate::outbound;
use serde_json::Value;
use std::time::Duration;

/// The largest answer read from a provider.
const MAX_BODY: usize = 1024 * 1024;

/// How the client authenticates at a token endpoint.
pub enum ClientAuth<'a> {
    /// HTTP basic with the client secret (`client_secret_basic`).
    Basic(&'a str),
    /// The secret in the form (`client_secret_post`: Apple, GitHub).
    Post(&'a str),
    /// No secret: a public client, PKCE alone.
    Public,
}

/// The client for every call to identity providers.
pub struct ProviderHttp {
    http: reqwest::Client,
    allow_private: bool,
}

impl ProviderHttp {
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        Self {
            http: outbound::client(timeout, allow_private),
            allow_private,
        }
    }

    /// Whether `url` may be called; the reason if not.
    pub fn check_url(&self, url: &str) -> Result<url::Url, String> {
        let parsed = url::Url::parse(url).map_err(|_| format!("{url} is not a URL"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(format!("{url} is not an https URL")),
        }
        if let Some(why) = outbound::refused_literal(&parsed, self.allow_private) {
            return Err(why);
        }
        Ok(parsed)
    }

    /// GETs a JSON document.
    pub async fn get_json(&self, url: &str) -> Result<Value, String> {
        let url = self.check_url(url)?;
        let request = self
            .http
            .get(url.clone())
            .header("accept", "application/json");
        self.read(&url, request).await
    }

    /// POSTs a form (the token endpoint) as `client_id`, authenticated as `auth` says.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        client_id: &str,
        auth: ClientAuth<'_>,
    ) -> Result<Value, String> {
        let url = self.check_url(url)?;
        let request = self
            .http
            .post(url.clone())
            .header("accept", "application/json");
        let mut fields = form.to_vec();
        let request = match auth {
            ClientAuth::Basic(secret) => {
                // RFC 6749 §2.3.1: the id and secret are form-encoded before basic auth.
                let encode = |value: &str| {
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                };
                request.basic_auth(encode(client_id), Some(encode(secret)))
            }
            ClientAuth::Post(secret) => {
                fields.push(("client_id", client_id));
                fields.push(("client_secret", secret));
                request
            }
            ClientAuth::Public => {
                fields.push(("client_id", client_id));
                request
            }
        };
        self.read(&url, request.form(&fields)).await
    }

    /// GETs a JSON document of an API with an access token.
    pub async fn get_api(&self, url: &str, token: &str) -> Result<Value, String> {
        let url = self.check_url(url)?;
        let request = self
            .http
            .get(url.clone())
            .bearer_auth(token)
            .header("accept", "application/vnd.github+json, application/json");
        self.read(&url, request).await
    }

    /// GETs a text document (SAML metadata): a success status is required.
    pub async fn get_text(&self, url: &str) -> Result<String, String> {
        let url = self.check_url(url)?;
        let (status, body) = self.body(&url, self.http.get(url.clone())).await?;
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        String::from_utf8(body).map_err(|_| format!("{url} answered with a body that is not UTF-8"))
    }

    /// Sends `request` and reads its body (at most 1 MiB; redirects are not followed).
    async fn body(
        &self,
        url: &url::Url,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
        let mut response = request
            .send()
            .await
            .map_err(|error| format!("{url} could not be reached: {}", chain(&error)))?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| format!("{url} answered badly: {}", chain(&error)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("{url} answered with more than 1 MiB"));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_redirection() {
            return Err(format!(
                "{url} answered with a redirect ({status}); redirects are not followed"
            ));
        }
        Ok((status, body))
    }

    async fn read(
        &self,
        url: &url::Url,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, String> {
        let (status, body) = self.body(url, request).await?;
        let json = serde_json::from_slice::<Value>(&body)
            .map_err(|_| format!("{url} answered {status} without JSON"))?;
        if !status.is_success() {
            let error = json["error"].as_str().unwrap_or("");
            let description = json["error_description"].as_str().unwrap_or("");
            return Err(format!("{url} answered {status}: {error} {description}")
                .trim()
                .to_owned());
        }
        Ok(json)
    }
}

/// An error with its causes (a refused address, a TLS or DNS failure).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
