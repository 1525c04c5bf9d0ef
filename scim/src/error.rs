//! SCIM error responses (RFC 7644 §3.12): an HTTP status, an optional `scimType` naming
//! the kind of client mistake, and a human-readable detail.

use std::fmt;

use serde_json::{Value, json};

/// The schema of an error response body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error: what the service provider answers instead of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status code.
    pub status: u16,
    /// The `scimType` of a 400 or 409 (RFC 7644 §3.12, table 9), if any.
    pub scim_type: Option<&'static str>,
    /// What went wrong, for a human.
    pub detail: String,
}

/// The result of a SCIM operation.
pub type Result<T> = std::result::Result<T, ScimError>;

impl ScimError {
    /// An error with any status and `scimType`.
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidFilter`: the filter syntax was invalid or the filter is too complex.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidFilter"), detail)
    }

    /// 400 `invalidSyntax`: the request body does not have the expected structure.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidSyntax"), detail)
    }

    /// 400 `invalidPath`: a PATCH `path` (or an attribute list) is not a valid path.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidPath"), detail)
    }

    /// 400 `noTarget`: the path designates nothing the operation could act on.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(400, Some("noTarget"), detail)
    }

    /// 400 `invalidValue`: a value is of the wrong type or otherwise unacceptable.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some("invalidValue"), detail)
    }

    /// 400 `mutability`: the change is not allowed by the attribute's mutability.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some("mutability"), detail)
    }

    /// 409 `uniqueness`: a unique value is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some("uniqueness"), detail)
    }

    /// 400 `tooMany`: the request asks for more than the service provider handles.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some("tooMany"), detail)
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 401: the client did not authenticate.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, None, detail)
    }

    /// 412: the resource's version is not the one `If-Match` names.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    /// The response body. `status` is a string, as RFC 7644 §3.12 shows it.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = scim_type.into();
        }
        body
    }
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(scim_type) => write!(f, "{} {scim_type}: {}", self.status, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for ScimError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_constructor_has_the_status_and_scim_type_of_rfc_7644_table_9() {
        let cases = [
            (ScimError::invalid_filter("d"), 400, Some("invalidFilter")),
            (ScimError::invalid_syntax("d"), 400, Some("invalidSyntax")),
            (ScimError::invalid_path("d"), 400, Some("invalidPath")),
            (ScimError::no_target("d"), 400, Some("noTarget")),
            (ScimError::invalid_value("d"), 400, Some("invalidValue")),
            (ScimError::mutability("d"), 400, Some("mutability")),
            (ScimError::uniqueness("d"), 409, Some("uniqueness")),
            (ScimError::too_many("d"), 400, Some("tooMany")),
            (ScimError::not_found("d"), 404, None),
            (ScimError::unauthorized("d"), 401, None),
            (ScimError::precondition_failed("d"), 412, None),
        ];
        for (error, status, scim_type) in cases {
            assert_eq!((error.status, error.scim_type), (status, scim_type));
            assert_eq!(error.detail, "d");
        }
    }

    #[test]
    fn the_body_carries_the_status_as_a_string_and_the_error_schema() {
        assert_eq!(
            ScimError::uniqueness("userName taken").body(),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName taken",
            })
        );
    }

    #[test]
    fn the_body_omits_scim_type_when_there_is_none() {
        // Okta's spec test checks a 404 has `detail` and the Error schema.
        assert_eq!(
            ScimError::not_found("no such user").body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "404", "detail": "no such user"})
        );
    }

    #[test]
    fn display_shows_status_type_and_detail() {
        assert_eq!(
            ScimError::no_target("nothing").to_string(),
            "400 noTarget: nothing"
        );
        assert_eq!(ScimError::unauthorized("token").to_string(), "401: token");
    }
}
