//! What a provider's settings and credentials may be, per protocol and preset, checked on save
//! by field; and the one credential Latchkey makes itself, Apple's client secret (an ES256 JWT
//! signed with the team's key).

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// How Latchkey talks to a provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Oidc,
    Saml,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
        }
    }

    pub(super) fn parse(value: &str) -> Result<Self> {
        match value {
            "oidc" => Ok(Protocol::Oidc),
            "saml" => Ok(Protocol::Saml),
            other => Err(Error::internal(format!("unknown protocol {other:?}"))),
        }
    }
}

/// What Latchkey knows about a provider beyond the protocol: its defaults and its quirks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Any standard OpenID Connect provider (Okta, Auth0, Keycloak, Google Workspace, another
    /// Latchkey tenant).
    Generic,
    /// Google: its issuer by default; an address outside `gmail.com` counts only with a
    /// matching signed `hd` claim.
    Google,
    /// Microsoft Entra ID: accounts are keyed by `tid` and `oid`; the `common` and
    /// `organizations` issuers are checked against the token's `tid`; an address counts only
    /// with `xms_edov`.
    Microsoft,
    /// Sign in with Apple: the client secret is an ES256 JWT the server signs with the team's
    /// key; Apple answers by form post.
    Apple,
    /// GitHub (OAuth 2 only: the verified primary address comes from its API).
    Github,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Generic => "generic",
            Preset::Google => "google",
            Preset::Microsoft => "microsoft",
            Preset::Apple => "apple",
            Preset::Github => "github",
        }
    }

    pub(super) fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "generic" => Preset::Generic,
            "google" => Preset::Google,
            "microsoft" => Preset::Microsoft,
            "apple" => Preset::Apple,
            "github" => Preset::Github,
            other => return Err(Error::internal(format!("unknown preset {other:?}"))),
        })
    }

    /// Whether `issuer` is Microsoft's multi-tenant issuer (`common`, `organizations`,
    /// `consumers`): any Entra tenant signs in through it, and its discovery document names
    /// the issuer with a `{tenantid}` placeholder.
    pub fn multi_tenant(self, issuer: &str) -> bool {
        self == Preset::Microsoft
            && ["/common/v2.0", "/organizations/v2.0", "/consumers/v2.0"]
                .iter()
                .any(|tail| issuer.ends_with(tail))
    }

    /// The issuer a preset uses when the settings name none.
    fn default_issuer(self) -> Option<&'static str> {
        match self {
            Preset::Google => Some("https://accounts.google.com"),
            Preset::Microsoft => Some("https://login.microsoftonline.com/organizations/v2.0"),
            Preset::Apple => Some("https://appleid.apple.com"),
            Preset::Generic | Preset::Github => None,
        }
    }

    /// The scopes asked for when the settings name none.
    fn default_scopes(self) -> &'static [&'static str] {
        match self {
            Preset::Apple => &["openid", "email", "name"],
            Preset::Github => &["read:user", "user:email"],
            Preset::Generic | Preset::Google | Preset::Microsoft => &["openid", "email", "profile"],
        }
    }
}

/// GitHub's endpoints (settable, for GitHub Enterprise Server and for tests).
const GITHUB_ENDPOINTS: [(&str, &str); 3] = [
    (
        "authorizationEndpoint",
        "https://github.com/login/oauth/authorize",
    ),
    (
        "tokenEndpoint",
        "https://github.com/login/oauth/access_token",
    ),
    ("apiUrl", "https://api.github.com"),
];

/// A provider's settings as checked on save: what is stored, and the issuer whose discovery
/// document the control plane reads (none for GitHub, which has none).
#[derive(Clone, Debug)]
pub struct CheckedSettings {
    pub value: Value,
    pub issuer: Option<String>,
}

/// An https (or, for loopback test set-ups, http) URL without query or fragment.
fn url_setting(field: &str, value: &str) -> Result<String> {
    let value = value.trim().trim_end_matches('/').to_owned();
    let parsed = url::Url::parse(&value).map_err(|_| Error::validation(field, "is not a URL"))?;
    if !matches!(parsed.scheme(), "https" | "http")
        || parsed.host_str().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || value.len() > 500
    {
        return Err(Error::validation(
            field,
            "must be an https URL without query or fragment (at most 500 characters)",
        ));
    }
    Ok(value)
}

fn scopes_setting(preset: Preset, value: &Value) -> Result<Vec<String>> {
    let mut scopes = match value {
        Value::Null => {
            return Ok(preset
                .default_scopes()
                .iter()
                .map(|s| (*s).to_owned())
                .collect());
        }
        Value::Array(items) => {
            let mut scopes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let scope = item.as_str().filter(|s| {
                    !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_graphic())
                });
                let Some(scope) = scope else {
                    return Err(Error::validation(
                        &format!("settings.scopes[{i}]"),
                        "must be a scope name (printable ASCII without spaces)",
                    ));
                };
                scopes.push(scope.to_owned());
            }
            scopes
        }
        _ => {
            return Err(Error::validation(
                "settings.scopes",
                "must be a list of scope names",
            ));
        }
    };
    if preset != Preset::Github && !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    if scopes.len() > 30 {
        return Err(Error::validation("settings.scopes", "at most 30 scopes"));
    }
    Ok(scopes)
}

fn only_keys(object: &Map<String, Value>, known: &[&str], what: &str) -> Result<()> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(Error::validation(
            &format!("settings.{unknown}"),
            format!("is not a setting of {what} ({})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// The largest IdP metadata document kept in a provider's settings.
const MAX_METADATA: usize = 512 * 1024;

/// A SAML provider's settings: the IdP's metadata, `{ metadataXml }` (the document) or
/// `{ metadataUrl }` (where Latchkey reads it, and reads it again each hour and at a
/// certificate rollover). The document itself is checked where it is read.
fn saml_settings(preset: Preset, object: &Map<String, Value>) -> Result<CheckedSettings> {
    if preset != Preset::Generic {
        return Err(Error::validation(
            "preset",
            "SAML providers use the GENERIC preset (the presets are OpenID Connect providers)",
        ));
    }
    only_keys(object, &["metadataXml", "metadataUrl"], "a SAML provider")?;
    let value = match (object.get("metadataXml"), object.get("metadataUrl")) {
        (Some(Value::String(document)), None) => {
            if document.trim().is_empty() || document.len() > MAX_METADATA {
                return Err(Error::validation(
                    "settings.metadataXml",
                    format!("must be the IdP's metadata document (at most {MAX_METADATA} bytes)"),
                ));
            }
            json!({ "metadataXml": document })
        }
        (None, Some(Value::String(url))) => {
            let parsed = url::Url::parse(url.trim())
                .map_err(|_| Error::validation("settings.metadataUrl", "is not a URL"))?;
            if !matches!(parsed.scheme(), "https" | "http")
                || parsed.host_str().is_none()
                || parsed.fragment().is_some()
                || url.len() > 2000
            {
                return Err(Error::validation(
                    "settings.metadataUrl",
                    "must be an https URL without fragment (at most 2000 characters)",
                ));
            }
            json!({ "metadataUrl": parsed.as_str() })
        }
        _ => {
            return Err(Error::validation(
                "settings",
                "a SAML provider takes its IdP's metadata: { metadataXml } (the document) or { metadataUrl } (where to read it), one of them",
            ));
        }
    };
    Ok(CheckedSettings {
        value,
        issuer: None,
    })
}

/// Checks the settings of a provider of `preset`. OpenID Connect: `{ issuer, scopes? }` (the
/// issuer may be left out where the preset has one). GitHub: `{ scopes?, authorizationEndpoint?,
/// tokenEndpoint?, apiUrl? }`. Every field error names its field.
pub fn check_settings(
    protocol: Protocol,
    preset: Preset,
    settings: &Value,
) -> Result<CheckedSettings> {
    let object = settings
        .as_object()
        .ok_or_else(|| Error::validation("settings", "must be an object"))?;
    if protocol == Protocol::Saml {
        return saml_settings(preset, object);
    }
    let scopes = scopes_setting(preset, &settings["scopes"])?;
    if preset == Preset::Github {
        let known: Vec<&str> = GITHUB_ENDPOINTS
            .iter()
            .map(|(k, _)| *k)
            .chain(["scopes"])
            .collect();
        only_keys(object, &known, "the GITHUB preset")?;
        let mut value = json!({ "scopes": scopes });
        for (name, default) in GITHUB_ENDPOINTS {
            let url = match &settings[name] {
                Value::Null => default.to_owned(),
                Value::String(url) => url_setting(&format!("settings.{name}"), url)?,
                _ => {
                    return Err(Error::validation(
                        &format!("settings.{name}"),
                        "must be a URL",
                    ));
                }
            };
            value[name] = json!(url);
        }
        return Ok(CheckedSettings {
            value,
            issuer: None,
        });
    }
    only_keys(object, &["issuer", "scopes"], "an OpenID Connect provider")?;
    let issuer = match (&settings["issuer"], preset.default_issuer()) {
        (Value::String(issuer), _) => url_setting("settings.issuer", issuer)?,
        (Value::Null, Some(default)) => default.to_owned(),
        _ => {
            return Err(Error::validation(
                "settings.issuer",
                "is required: the provider's issuer URL (its discovery document is at {issuer}/.well-known/openid-configuration)",
            ));
        }
    };
    Ok(CheckedSettings {
        value: json!({ "issuer": issuer, "scopes": scopes }),
        issuer: Some(issuer),
    })
}

/// An organization's Microsoft provider names its own Entra tenant: through a multi-tenant
/// issuer any Entra tenant could claim addresses at the organization's domains.
pub(super) fn check_enterprise_issuer(
    organization_id: Option<Uuid>,
    preset: Preset,
    checked: &CheckedSettings,
) -> Result<()> {
    if organization_id.is_some()
        && checked
            .issuer
            .as_deref()
            .is_some_and(|i| preset.multi_tenant(i))
    {
        return Err(Error::validation(
            "settings.issuer",
            "an organization's Microsoft provider names its Entra tenant: https://login.microsoftonline.com/{tenant-id}/v2.0 (a multi-tenant issuer would let any Entra tenant sign in with the organization's addresses)",
        ));
    }
    Ok(())
}

/// The credentials of a provider, unsealed for the flows only.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// Empty for a SAML provider, which has none.
    pub client_id: String,
    /// `None` for a public client (PKCE alone; the client id goes in the token request) and for
    /// Apple (whose secret is made per request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Apple: the team, the key's id and the key (PKCS#8 PEM, as Apple's `.p8` file holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apple: Option<AppleKey>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
    pub private_key: String,
}

impl Credentials {
    /// Apple's client secret: an ES256 JWT from the team for the Services ID, for `audience`
    /// (Apple's issuer), valid five minutes. `None` for other providers.
    pub fn apple_client_secret(
        &self,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let Some(apple) = &self.apple else {
            return Ok(None);
        };
        let key = jsonwebtoken::EncodingKey::from_ec_pem(apple.private_key.as_bytes())
            .map_err(Error::internal)?;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(apple.key_id.clone());
        let claims = json!({
            "iss": apple.team_id,
            "iat": now.timestamp(),
            "exp": now.timestamp() + 300,
            "aud": audience,
            "sub": self.client_id,
        });
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Some)
            .map_err(Error::internal)
    }
}

/// A credential field: absent, or a string of at most 4,096 characters.
fn credential(credentials: &Value, name: &str) -> Result<Option<String>> {
    match &credentials[name] {
        Value::Null => Ok(None),
        Value::String(v) if !v.is_empty() && v.len() <= 4096 => Ok(Some(v.clone())),
        _ => Err(Error::validation(
            &format!("credentials.{name}"),
            "must be the value the provider gave when you registered Latchkey (at most 4096 characters)",
        )),
    }
}

fn required(credentials: &Value, name: &str, what: &str) -> Result<String> {
    credential(credentials, name)?.ok_or_else(|| {
        Error::validation(
            &format!("credentials.{name}"),
            format!("is required ({what})"),
        )
    })
}

/// Checks the credentials of a provider of `preset`: SAML: `{}`; `{ clientId, clientSecret? }` (no secret:
/// a public client, PKCE alone; GitHub needs one); Apple: `{ clientId, teamId, keyId,
/// privateKey }`.
pub fn check_credentials(
    protocol: Protocol,
    preset: Preset,
    credentials: &Value,
) -> Result<Credentials> {
    let object = credentials
        .as_object()
        .ok_or_else(|| Error::validation("credentials", "must be an object"))?;
    if protocol == Protocol::Saml {
        if let Some(unknown) = object.keys().next() {
            return Err(Error::validation(
                &format!("credentials.{unknown}"),
                "a SAML provider takes no credentials: Latchkey does not sign its requests; the IdP signs its responses",
            ));
        }
        return Ok(Credentials {
            client_id: String::new(),
            client_secret: None,
            apple: None,
        });
    }
    let known: &[&str] = match preset {
        Preset::Apple => &["clientId", "teamId", "keyId", "privateKey"],
        _ => &["clientId", "clientSecret"],
    };
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Error::validation(
            &format!("credentials.{unknown}"),
            format!(
                "is not a credential of this provider ({})",
                known.join(", ")
            ),
        ));
    }
    let client_id = required(
        credentials,
        "clientId",
        "the client id the provider gave when you registered Latchkey",
    )?;
    if preset == Preset::Apple {
        let apple = AppleKey {
            team_id: required(credentials, "teamId", "your Apple Developer Team ID")?,
            key_id: required(
                credentials,
                "keyId",
                "the Key ID of your Sign in with Apple key",
            )?,
            private_key: required(
                credentials,
                "privateKey",
                "the contents of the key's .p8 file",
            )?,
        };
        jsonwebtoken::EncodingKey::from_ec_pem(apple.private_key.as_bytes()).map_err(|_| {
            Error::validation(
                "credentials.privateKey",
                "is not a P-256 private key in PEM (paste the whole .p8 file Apple gave you)",
            )
        })?;
        return Ok(Credentials {
            client_id,
            client_secret: None,
            apple: Some(apple),
        });
    }
    let client_secret = match preset {
        Preset::Github => Some(required(
            credentials,
            "clientSecret",
            "GitHub OAuth apps always have one",
        )?),
        _ => credential(credentials, "clientSecret")?,
    };
    Ok(Credentials {
        client_id,
        client_secret,
        apple: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(preset: Preset, settings: Value) -> String {
        match check_settings(Protocol::Oidc, preset, &settings) {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settings_are_checked_by_field_with_the_presets_defaults() {
        let checked = check_settings(
            Protocol::Oidc,
            Preset::Generic,
            &json!({ "issuer": "https://idp.example/" }),
        )
        .unwrap();
        assert_eq!(checked.issuer.as_deref(), Some("https://idp.example"));
        assert_eq!(
            checked.value["scopes"],
            json!(["openid", "email", "profile"])
        );
        let google = check_settings(
            Protocol::Oidc,
            Preset::Google,
            &json!({ "scopes": ["email"] }),
        )
        .unwrap();
        assert_eq!(
            google.issuer.as_deref(),
            Some("https://accounts.google.com")
        );
        assert_eq!(google.value["scopes"], json!(["openid", "email"]));
        let apple = check_settings(Protocol::Oidc, Preset::Apple, &json!({})).unwrap();
        assert_eq!(apple.issuer.as_deref(), Some("https://appleid.apple.com"));
        assert_eq!(apple.value["scopes"], json!(["openid", "email", "name"]));
        let github = check_settings(Protocol::Oidc, Preset::Github, &json!({})).unwrap();
        assert_eq!(github.issuer, None);
        assert_eq!(
            github.value["tokenEndpoint"],
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(github.value["scopes"], json!(["read:user", "user:email"]));
        assert_eq!(field(Preset::Generic, json!({})), "settings.issuer");
        assert_eq!(
            field(Preset::Generic, json!({ "issuer": "ftp://x" })),
            "settings.issuer"
        );
        assert_eq!(
            field(
                Preset::Generic,
                json!({ "issuer": "https://x", "scopes": ["a b"] })
            ),
            "settings.scopes[0]"
        );
        assert_eq!(
            field(
                Preset::Generic,
                json!({ "issuer": "https://x", "other": 1 })
            ),
            "settings.other"
        );
        assert_eq!(
            field(Preset::Github, json!({ "issuer": "https://x" })),
            "settings.issuer"
        );
        assert_eq!(
            field(Preset::Github, json!({ "apiUrl": "nope" })),
            "settings.apiUrl"
        );
    }

    #[test]
    fn credentials_are_checked_per_preset() {
        let missing = |preset, value: Value| match check_credentials(Protocol::Oidc, preset, &value)
        {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{:?}", other.map(|c| c.client_id)),
        };
        assert_eq!(
            missing(Preset::Generic, json!({ "clientSecret": "a" })),
            "credentials.clientId"
        );
        assert_eq!(
            missing(Preset::Generic, json!({ "clientId": "a", "x": 1 })),
            "credentials.x"
        );
        assert_eq!(
            missing(Preset::Github, json!({ "clientId": "a" })),
            "credentials.clientSecret"
        );
        assert_eq!(
            missing(
                Preset::Apple,
                json!({ "clientId": "a", "teamId": "T", "keyId": "K", "privateKey": "nope" })
            ),
            "credentials.privateKey"
        );
        assert_eq!(
            check_credentials(Protocol::Oidc, Preset::Generic, &json!({ "clientId": "a" }))
                .unwrap()
                .client_secret,
            None
        );
        assert!(check_credentials(Protocol::Saml, Preset::Generic, &json!({})).is_ok());
        assert!(matches!(
            check_credentials(Protocol::Saml, Preset::Generic, &json!({ "clientId": "a" })),
            Err(Error::Validation { field, .. }) if field == "credentials.clientId"
        ));
    }

    #[test]
    fn saml_settings_take_the_metadata_one_way() {
        let saml = |preset, settings: Value| check_settings(Protocol::Saml, preset, &settings);
        let url = saml(
            Preset::Generic,
            json!({ "metadataUrl": "https://login.example/fm.xml?appid=1" }),
        )
        .unwrap();
        assert_eq!(
            url.value["metadataUrl"],
            "https://login.example/fm.xml?appid=1"
        );
        assert!(
            saml(
                Preset::Generic,
                json!({ "metadataXml": "<md:EntityDescriptor/>" })
            )
            .is_ok()
        );
        let field = |result: Result<CheckedSettings>| match result {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(saml(Preset::Generic, json!({}))), "settings");
        assert_eq!(
            field(saml(
                Preset::Generic,
                json!({ "metadataXml": "<x/>", "metadataUrl": "https://x" })
            )),
            "settings"
        );
        assert_eq!(
            field(saml(Preset::Generic, json!({ "metadataUrl": "ftp://x" }))),
            "settings.metadataUrl"
        );
        assert_eq!(
            field(saml(Preset::Generic, json!({ "issuer": "https://x" }))),
            "settings.issuer"
        );
        assert_eq!(
            field(saml(Preset::Google, json!({ "metadataXml": "<x/>" }))),
            "preset"
        );
    }
}
