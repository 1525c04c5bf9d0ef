//! The resource types Latchkey serves over SCIM, the attributes it publishes for them
//! (RFC 7643 §4), the coercion of client resources to those attributes, and the discovery
//! documents built from them: `/Schemas` (§7), `/ResourceTypes` (§6) and
//! `/ServiceProviderConfig` (§5).
//!
//! Only attributes Latchkey stores are published: conformance tools such as scim2-tester
//! write a value into every published attribute and expect to read it back.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::error::{Result, ScimError};
use crate::path::AttributePath;

/// The core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The schema of a query response (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The schema of a PATCH body (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The schema of a `POST /.search` body (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SERVICE_PROVIDER_CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// An object of sub-attributes.
    Complex,
    /// A URI naming a resource.
    Reference,
    /// An `xsd:dateTime` string.
    DateTime,
    /// A whole number.
    Integer,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Complex => "complex",
            Kind::Reference => "reference",
            Kind::DateTime => "dateTime",
            Kind::Integer => "integer",
        }
    }
}

/// Whether and when a client may write an attribute (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service provider only.
    ReadOnly,
    /// Set and changed freely.
    ReadWrite,
    /// Set once, when absent; never changed afterwards.
    Immutable,
    /// Written but never returned (a password).
    WriteOnly,
}

impl Mutability {
    fn name(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute appears in responses (RFC 7643 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    /// In every response, whatever `attributes` or `excludedAttributes` say.
    Always,
    /// Unless excluded.
    Default,
    /// In no response.
    Never,
    /// Only when named in `attributes`.
    Request,
}

impl Returned {
    fn name(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Default => "default",
            Returned::Never => "never",
            Returned::Request => "request",
        }
    }
}

/// A published attribute, as RFC 7643 §7 describes one.
#[derive(Clone, Debug)]
pub struct Attribute {
    /// The canonical name (compared case-insensitively).
    pub name: &'static str,
    /// The data type.
    pub kind: Kind,
    /// Whether the value is an array of values.
    pub multi_valued: bool,
    /// Whether string values compare case-sensitively.
    pub case_exact: bool,
    /// Whether every resource has a value.
    pub required: bool,
    /// Who may write it, and when.
    pub mutability: Mutability,
    /// When responses carry it.
    pub returned: Returned,
    /// Whether values are unique across the service provider (uniqueness "server").
    pub unique: bool,
    /// The suggested values (RFC 7643 §2.3.1: suggestions, not a closed list).
    pub canonical_values: &'static [&'static str],
    /// The sub-attributes of a complex attribute.
    pub sub_attributes: Vec<Attribute>,
    /// What the attribute holds, for a human.
    pub description: &'static str,
}

impl Attribute {
    fn new(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            multi_valued: false,
            case_exact: false,
            required: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: false,
            canonical_values: &[],
            sub_attributes: Vec::new(),
            description,
        }
    }

    fn multi_valued(self) -> Self {
        Self {
            multi_valued: true,
            ..self
        }
    }

    fn case_exact(self) -> Self {
        Self {
            case_exact: true,
            ..self
        }
    }

    fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    fn unique(self) -> Self {
        Self {
            unique: true,
            ..self
        }
    }

    fn mutability(self, mutability: Mutability) -> Self {
        Self { mutability, ..self }
    }

    fn returned_always(self) -> Self {
        Self {
            returned: Returned::Always,
            ..self
        }
    }

    fn canonical(self, canonical_values: &'static [&'static str]) -> Self {
        Self {
            canonical_values,
            ..self
        }
    }

    /// The sub-attribute named `name`, ignoring case.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        named(&self.sub_attributes, name)
    }

    /// The attribute's definition in a `/Schemas` resource (RFC 7643 §7).
    fn document(&self) -> Value {
        let mut document = json!({
            "name": self.name,
            "type": self.kind.name(),
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability.name(),
            "returned": self.returned.name(),
            "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.canonical_values.is_empty() {
            document["canonicalValues"] = json!(self.canonical_values);
        }
        if self.kind == Kind::Reference {
            // The two references published: a member's `$ref` points at a User or a
            // Group, `meta.location` at any URI.
            document["referenceTypes"] = if self.name == "$ref" {
                json!(["User", "Group"])
            } else {
                json!(["uri"])
            };
        }
        if self.kind == Kind::Complex {
            document["subAttributes"] = self
                .sub_attributes
                .iter()
                .map(Attribute::document)
                .collect();
        }
        document
    }
}

fn string(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, Kind::String, description)
}

fn boolean(name: &'static str, description: &'static str) -> Attribute {
    Attribute::new(name, Kind::Boolean, description)
}

fn complex(
    name: &'static str,
    description: &'static str,
    sub_attributes: Vec<Attribute>,
) -> Attribute {
    Attribute {
        sub_attributes,
        ..Attribute::new(name, Kind::Complex, description)
    }
}

/// The attribute of `attributes` named `name`, ignoring case (RFC 7643 §2.1).
fn named<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

fn id() -> Attribute {
    string("id", "Identifier of the resource, assigned by Latchkey.")
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned_always()
        .unique()
}

fn external_id() -> Attribute {
    string(
        "externalId",
        "Identifier of the resource in the provisioning client.",
    )
    .case_exact()
}

fn meta() -> Attribute {
    let read_only = Mutability::ReadOnly;
    complex(
        "meta",
        "Metadata Latchkey keeps about the resource.",
        vec![
            string("resourceType", "The type of the resource.").mutability(read_only),
            Attribute::new("created", Kind::DateTime, "When the resource was created.")
                .mutability(read_only),
            Attribute::new(
                "lastModified",
                Kind::DateTime,
                "When the resource last changed.",
            )
            .mutability(read_only),
            Attribute::new("location", Kind::Reference, "The URI of the resource.")
                .mutability(read_only),
            string("version", "The version of the resource, sent as its ETag.")
                .case_exact()
                .mutability(read_only),
        ],
    )
    .mutability(read_only)
}

/// Where a path points within a resource type (see [`ResourceSchema::locate`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'s> {
    /// The extension URN whose object holds the attribute; None for a core attribute.
    pub(crate) extension: Option<&'static str>,
    /// The top-level attribute.
    pub(crate) attribute: &'s Attribute,
    /// The sub-attribute the path designates within it, if any.
    pub(crate) sub_attribute: Option<&'s Attribute>,
}

/// A resource type: its core schema's attributes plus its extensions (by URN).
#[derive(Clone, Debug)]
pub struct ResourceSchema {
    /// `User` or `Group`.
    pub name: &'static str,
    /// The endpoint relative to the base URL (`/Users`).
    pub endpoint: &'static str,
    /// The core schema URN.
    pub schema: &'static str,
    /// What the resources are, for a human.
    pub description: &'static str,
    /// The attributes of the core schema.
    pub attributes: Vec<Attribute>,
    /// The schema extensions: (URN, name, attributes).
    pub extensions: Vec<(&'static str, &'static str, Vec<Attribute>)>,
}

/// The User resource type: core User attributes plus the enterprise extension.
pub fn user() -> &'static ResourceSchema {
    static USER_TYPE: OnceLock<ResourceSchema> = OnceLock::new();
    USER_TYPE.get_or_init(|| ResourceSchema {
        name: "User",
        endpoint: "/Users",
        schema: USER,
        description: "A person who signs in to Latchkey.",
        attributes: vec![
            id(),
            external_id(),
            string("userName", "The name the user signs in with.")
                .required()
                .unique(),
            complex(
                "name",
                "The parts of the user's name.",
                vec![
                    string("formatted", "The full name, formatted for display."),
                    string("familyName", "The family name."),
                    string("givenName", "The given name."),
                ],
            ),
            string("displayName", "The name shown for the user."),
            string("title", "The user's job title."),
            string(
                "preferredLanguage",
                "The user's preferred language (an Accept-Language tag).",
            ),
            // Required: a Latchkey user always is active or not (a request without it keeps
            // the state; a new user is active), so it cannot be removed.
            boolean("active", "Whether the user may sign in.").required(),
            complex(
                "emails",
                "The user's email addresses.",
                vec![
                    string("value", "The email address."),
                    string("type", "The kind of address.").canonical(&["work", "home", "other"]),
                    boolean("primary", "Whether this is the preferred address."),
                ],
            )
            .multi_valued(),
            meta(),
        ],
        extensions: vec![(
            ENTERPRISE_USER,
            "EnterpriseUser",
            vec![
                string("employeeNumber", "The user's employee number."),
                string("costCenter", "The user's cost center."),
                string("organization", "The user's organization."),
                string("division", "The user's division."),
                string("department", "The user's department."),
                complex(
                    "manager",
                    "The user's manager.",
                    vec![
                        string("value", "The id of the manager's User resource.").case_exact(),
                        string("displayName", "The manager's display name.")
                            .mutability(Mutability::ReadOnly),
                    ],
                ),
            ],
        )],
    })
}

/// The Group resource type.
pub fn group() -> &'static ResourceSchema {
    static GROUP_TYPE: OnceLock<ResourceSchema> = OnceLock::new();
    GROUP_TYPE.get_or_init(|| ResourceSchema {
        name: "Group",
        endpoint: "/Groups",
        schema: GROUP,
        description: "A set of users.",
        attributes: vec![
            id(),
            external_id(),
            string("displayName", "The name of the group.").required(),
            complex(
                "members",
                "The members of the group.",
                vec![
                    string("value", "The id of the member's resource.")
                        .case_exact()
                        .mutability(Mutability::Immutable),
                    // Immutable as in RFC 7643 §8.7.1: a member does not change kind.
                    string("type", "Whether the member is a User or a Group.")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                    // Immutable, as RFC 7643 §8.7.1 has it: a client may name a member by its
                    // `$ref` when it adds one.
                    Attribute::new("$ref", Kind::Reference, "The URI of the member's resource.")
                        .mutability(Mutability::Immutable),
                ],
            )
            .multi_valued(),
            meta(),
        ],
        extensions: Vec::new(),
    })
}

impl ResourceSchema {
    /// The attribute a path designates: the sub-attribute when the path names one
    /// (`name.givenName`, `emails[type eq "work"].value`), else the attribute. Names are
    /// case-insensitive; a URN prefix selects the core schema or an extension, and no
    /// prefix means the core schema. None when not published (and for a bare schema URN,
    /// which names a schema rather than an attribute).
    pub fn find(&self, path: &AttributePath) -> Option<&Attribute> {
        self.locate(path)
            .map(|target| target.sub_attribute.unwrap_or(target.attribute))
    }

    /// The extension whose URN is `urn` (case-insensitive): its canonical URN and its
    /// attributes.
    pub fn extension(&self, urn: &str) -> Option<(&'static str, &[Attribute])> {
        self.extensions
            .iter()
            .find(|(extension, _, _)| extension.eq_ignore_ascii_case(urn))
            .map(|(extension, _, attributes)| (*extension, attributes.as_slice()))
    }

    /// Where `path` points: the extension holding the attribute, the attribute and the
    /// sub-attribute (the one before a value filter or the one after it).
    pub(crate) fn locate(&self, path: &AttributePath) -> Option<Target<'_>> {
        let (extension, attributes) = match &path.urn {
            None => (None, self.attributes.as_slice()),
            Some(urn) if urn.eq_ignore_ascii_case(self.schema) => {
                (None, self.attributes.as_slice())
            }
            Some(urn) => {
                let (urn, attributes) = self.extension(urn)?;
                (Some(urn), attributes)
            }
        };
        let attribute = named(attributes, &path.attribute)?;
        let sub_attribute = match path
            .sub_attribute
            .as_ref()
            .or(path.filter_sub_attribute.as_ref())
        {
            Some(name) => Some(attribute.sub_attribute(name)?),
            None => None,
        };
        Some(Target {
            extension,
            attribute,
            sub_attribute,
        })
    }

    /// Coerces a resource from a client (a POST or PUT body) to what Latchkey stores:
    /// attribute names in canonical case (found case-insensitively, sub-attributes too;
    /// the extension's key is its full URN), string booleans (`"True"`, `"false"`, any
    /// case: Entra ID sends them) as booleans, and a string given for a complex attribute
    /// with a `value` sub-attribute as that `value` (Entra ID sends the enterprise
    /// `manager` as the manager's id).
    ///
    /// Dropped: attributes not published (Okta's `password`, Entra's `phoneNumbers`…),
    /// null values (unassigned, RFC 7643 §2.5), and read-only attributes and
    /// sub-attributes (`id`, `meta`, `members.display`…), which the service provider owns
    /// and RFC 7644 §3.3 and §3.5.1 tell it to ignore in requests. `schemas` is kept.
    ///
    /// Errors: not an object → invalid_syntax; a value of the wrong JSON type for a
    /// published attribute (a number for `userName`, an object where an array belongs)
    /// → invalid_value naming the attribute.
    pub fn normalize(&self, resource: &mut Value) -> Result<()> {
        let Value::Object(object) = resource else {
            return Err(ScimError::invalid_syntax(
                "a resource must be a JSON object",
            ));
        };
        let mut normalized = Map::new();
        for (key, value) in std::mem::take(object) {
            if key.eq_ignore_ascii_case("schemas") {
                if !value.is_array() {
                    return Err(ScimError::invalid_value("schemas must be an array of URNs"));
                }
                normalized.insert("schemas".to_owned(), value);
            } else if let Some((urn, attributes)) = self.extension(&key) {
                match value {
                    Value::Null => {}
                    Value::Object(members) => {
                        let members = normalize_members(attributes, members)?;
                        normalized.insert(urn.to_owned(), Value::Object(members));
                    }
                    _ => return Err(ScimError::invalid_value(format!("{urn} must be an object"))),
                }
            } else if let Some(attribute) = named(&self.attributes, &key)
                && let Some(value) = normalize_member(attribute, value)?
            {
                normalized.insert(attribute.name.to_owned(), value);
            }
        }
        *object = normalized;
        Ok(())
    }

    /// The `/Schemas` resources of this resource type: the core schema, then each
    /// extension, in RFC 7643 §7 form.
    pub fn schema_documents(&self, base: &str) -> Vec<Value> {
        let core = schema_document(
            base,
            self.schema,
            self.name,
            self.description,
            &self.attributes,
        );
        let extensions = self.extensions.iter().map(|(urn, name, attributes)| {
            let description = format!("Extension of the {} resource type.", self.name);
            schema_document(base, urn, name, &description, attributes)
        });
        std::iter::once(core).chain(extensions).collect()
    }

    /// This type's `/ResourceTypes` resource (RFC 7643 §6). Extensions are optional
    /// (`required` false): a User without enterprise attributes is a valid User.
    pub fn resource_type_document(&self, base: &str) -> Value {
        let mut document = json!({
            "schemas": [RESOURCE_TYPE],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{}/ResourceTypes/{}", trimmed(base), self.name),
            },
        });
        if !self.extensions.is_empty() {
            document["schemaExtensions"] = self
                .extensions
                .iter()
                .map(|(urn, _, _)| json!({"schema": urn, "required": false}))
                .collect();
        }
        document
    }
}

/// `/ServiceProviderConfig` (RFC 7643 §5): PATCH, filters (up to `max_results` results)
/// and ETags are supported; bulk, password changes and sorting are not. Clients
/// authenticate with a bearer token.
pub fn service_provider_config(
    base: &str,
    max_results: usize,
    documentation_uri: Option<&str>,
) -> Value {
    let mut config = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A SCIM token created in Latchkey, sent as a Bearer token in the Authorization header.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", trimmed(base)),
        },
    });
    if let Some(uri) = documentation_uri {
        config["documentationUri"] = uri.into();
    }
    config
}

fn trimmed(base: &str) -> &str {
    base.trim_end_matches('/')
}

fn schema_document(
    base: &str,
    id: &str,
    name: &str,
    description: &str,
    attributes: &[Attribute],
) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Attribute::document).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{id}", trimmed(base)),
        },
    })
}

/// The published members of `members`, normalized (see [`ResourceSchema::normalize`]).
fn normalize_members(
    attributes: &[Attribute],
    members: Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut normalized = Map::new();
    for (key, value) in members {
        if let Some(attribute) = named(attributes, &key)
            && let Some(value) = normalize_member(attribute, value)?
        {
            normalized.insert(attribute.name.to_owned(), value);
        }
    }
    Ok(normalized)
}

/// A member's value normalized, or None when it is to be dropped (null or read-only).
fn normalize_member(attribute: &Attribute, mut value: Value) -> Result<Option<Value>> {
    if value.is_null() || attribute.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    normalize_value(attribute, &mut value)?;
    Ok(Some(value))
}

/// Coerces the value of `attribute` (an array for a multi-valued one; null elements are
/// dropped) — see [`ResourceSchema::normalize`].
pub(crate) fn normalize_value(attribute: &Attribute, value: &mut Value) -> Result<()> {
    if !attribute.multi_valued || value.is_null() {
        return normalize_single(attribute, value);
    }
    let Value::Array(elements) = value else {
        return Err(wrong_type(attribute));
    };
    elements.retain(|element| !element.is_null());
    elements
        .iter_mut()
        .try_for_each(|element| normalize_single(attribute, element))
}

/// Coerces one value of `attribute` (one element of a multi-valued attribute).
pub(crate) fn normalize_single(attribute: &Attribute, value: &mut Value) -> Result<()> {
    match (attribute.kind, &mut *value) {
        (_, Value::Null)
        | (Kind::String | Kind::Reference | Kind::DateTime, Value::String(_))
        | (Kind::Boolean, Value::Bool(_)) => Ok(()),
        (Kind::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => Ok(()),
        (Kind::Boolean, Value::String(text))
            if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
        {
            *value = Value::Bool(text.eq_ignore_ascii_case("true"));
            Ok(())
        }
        (Kind::Complex, Value::String(_)) if attribute.sub_attribute("value").is_some() => {
            *value = json!({ "value": value.take() });
            Ok(())
        }
        (Kind::Complex, Value::Object(members)) => {
            *members = normalize_members(&attribute.sub_attributes, std::mem::take(members))?;
            Ok(())
        }
        _ => Err(wrong_type(attribute)),
    }
}

fn wrong_type(attribute: &Attribute) -> ScimError {
    let expected = match attribute.kind {
        _ if attribute.multi_valued => "an array",
        Kind::String | Kind::DateTime | Kind::Reference => "a string",
        Kind::Boolean => "a boolean",
        Kind::Complex => "an object",
        Kind::Integer => "an integer",
    };
    ScimError::invalid_value(format!("{} must be {expected}", attribute.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttributePath {
        AttributePath::parse(text).unwrap()
    }

    fn normalized(schema: &ResourceSchema, mut resource: Value) -> Result<Value> {
        schema.normalize(&mut resource).map(|()| resource)
    }

    #[test]
    fn find_ignores_case_and_reaches_sub_attributes() {
        assert_eq!(
            user().find(&path("USERNAME")).map(|a| a.name),
            Some("userName")
        );
        assert_eq!(
            user().find(&path("name.GivenName")).map(|a| a.name),
            Some("givenName")
        );
        let work = path(r#"emails[type eq "work"].value"#);
        assert_eq!(user().find(&work).map(|a| a.name), Some("value"));
    }

    #[test]
    fn find_follows_the_core_and_extension_urn_prefixes() {
        let qualified = path("urn:ietf:params:scim:schemas:core:2.0:User:userName");
        assert_eq!(user().find(&qualified).map(|a| a.name), Some("userName"));
        let manager =
            path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        let found = user().find(&manager).unwrap();
        assert_eq!((found.name, found.case_exact), ("value", true));
    }

    #[test]
    fn find_returns_none_for_what_is_not_published() {
        assert!(user().find(&path("phoneNumbers")).is_none());
        assert!(user().find(&path("name.honorificPrefix")).is_none());
        // Extension attributes need their URN (RFC 7644 §3.10).
        assert!(user().find(&path("employeeNumber")).is_none());
        assert!(user().find(&path(ENTERPRISE_USER)).is_none());
        assert!(
            group()
                .find(&path("urn:ietf:params:scim:schemas:core:2.0:User:userName"))
                .is_none()
        );
    }

    #[test]
    fn the_published_attributes_have_the_rfc_characteristics() {
        let find = |schema: &'static ResourceSchema, text: &str| schema.find(&path(text)).unwrap();
        let id = find(user(), "id");
        assert_eq!(
            (id.mutability, id.returned, id.case_exact, id.unique),
            (Mutability::ReadOnly, Returned::Always, true, true)
        );
        let user_name = find(user(), "userName");
        assert_eq!(
            (user_name.required, user_name.unique, user_name.case_exact),
            (true, true, false)
        );
        assert!(find(user(), "externalId").case_exact);
        assert!(find(user(), "meta.version").case_exact);
        assert!(!find(user(), "displayName").case_exact);
        assert_eq!(
            find(user(), "emails.type").canonical_values,
            ["work", "home", "other"]
        );
        assert_eq!(
            find(group(), "members.value").mutability,
            Mutability::Immutable
        );
        assert_eq!(
            find(group(), "members.$ref").mutability,
            Mutability::Immutable
        );
        // Latchkey's users are always active or not.
        assert!(find(user(), "active").required);
        assert!(find(group(), "displayName").required);
        assert!(find(group(), "members").multi_valued);
    }

    #[test]
    fn normalize_gives_attribute_names_their_canonical_case() {
        let body = json!({
            "Schemas": [USER],
            "USERNAME": "ann",
            "NAME": {"GIVENNAME": "Ann"},
            "emails": [{"VALUE": "ann@example.com", "Primary": true}],
            "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User": {"EmployeeNumber": "7"},
        });
        assert_eq!(
            normalized(user(), body).unwrap(),
            json!({
                "schemas": [USER],
                "userName": "ann",
                "name": {"givenName": "Ann"},
                "emails": [{"value": "ann@example.com", "primary": true}],
                ENTERPRISE_USER: {"employeeNumber": "7"},
            })
        );
    }

    #[test]
    fn normalize_turns_string_booleans_into_booleans() {
        // Entra ID sends "True"/"False" (https://github.com/zitadel/zitadel/pull/9296).
        let body = json!({"active": "False", "emails": [{"value": "a@x", "primary": "TRUE"}]});
        assert_eq!(
            normalized(user(), body).unwrap(),
            json!({"active": false, "emails": [{"value": "a@x", "primary": true}]})
        );
        let error = normalized(user(), json!({"active": "yes"})).unwrap_err();
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (Some("invalidValue"), "active must be a boolean")
        );
    }

    #[test]
    fn normalize_drops_unpublished_null_and_read_only_attributes() {
        let body = json!({
            "id": "abc",
            "meta": {"version": "W/\"1\""},
            "userName": "ann",
            "password": "secret",
            "phoneNumbers": [{"value": "555"}],
            "title": null,
            "name": {"givenName": "Ann", "honorificPrefix": "Dr"},
        });
        assert_eq!(
            normalized(user(), body).unwrap(),
            json!({"userName": "ann", "name": {"givenName": "Ann"}})
        );
        let members =
            json!({"members": [{"value": "u1", "display": "Ann", "$ref": "https://x/Users/u1"}]});
        assert_eq!(
            normalized(group(), members).unwrap(),
            json!({"members": [{"value": "u1", "$ref": "https://x/Users/u1"}]})
        );
    }

    #[test]
    fn normalize_takes_a_string_manager_as_its_value() {
        // Entra ID sends the manager as the manager's id
        // (https://github.com/apache/directory-scimple/pull/1244).
        let body = json!({ENTERPRISE_USER: {"manager": "m-1"}});
        assert_eq!(
            normalized(user(), body).unwrap(),
            json!({ENTERPRISE_USER: {"manager": {"value": "m-1"}}})
        );
    }

    #[test]
    fn normalize_rejects_values_of_the_wrong_json_type() {
        let error = |body| normalized(user(), body).unwrap_err();
        let number = error(json!({"userName": 7}));
        assert_eq!(
            (number.status, number.scim_type, number.detail.as_str()),
            (400, Some("invalidValue"), "userName must be a string")
        );
        assert_eq!(
            error(json!({"emails": {"value": "a@x"}})).detail,
            "emails must be an array"
        );
        assert_eq!(
            error(json!({"name": ["Ann"]})).detail,
            "name must be an object"
        );
        assert_eq!(
            error(json!({ENTERPRISE_USER: "x"})).detail,
            format!("{ENTERPRISE_USER} must be an object")
        );
        assert_eq!(
            normalized(user(), json!([])).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
    }

    #[test]
    fn schema_documents_describe_the_core_schema_and_each_extension() {
        let documents = user().schema_documents("https://id.example/scim/v2/");
        assert_eq!(documents.len(), 2);
        let core = &documents[0];
        assert_eq!(core["id"], USER);
        assert_eq!(core["name"], "User");
        assert_eq!(core["schemas"], json!([SCHEMA]));
        assert_eq!(
            core["meta"],
            json!({"resourceType": "Schema", "location": format!("https://id.example/scim/v2/Schemas/{USER}")})
        );
        let user_name = core["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "userName")
            .unwrap();
        assert_eq!(
            user_name,
            &json!({
                "name": "userName", "type": "string", "multiValued": false,
                "description": "The name the user signs in with.", "required": true,
                "caseExact": false, "mutability": "readWrite", "returned": "default",
                "uniqueness": "server",
            })
        );
        let emails = core["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(
            emails["subAttributes"][1]["canonicalValues"],
            json!(["work", "home", "other"])
        );
        assert_eq!(documents[1]["id"], ENTERPRISE_USER);
        assert_eq!(documents[1]["name"], "EnterpriseUser");
        assert_eq!(
            documents[1]["attributes"][5]["subAttributes"][1]["mutability"],
            "readOnly"
        );
    }

    #[test]
    fn reference_attributes_list_their_reference_types() {
        let documents = group().schema_documents("https://x");
        let members = &documents[0]["attributes"][3];
        assert_eq!(members["subAttributes"][2]["name"], "$ref");
        assert_eq!(
            members["subAttributes"][2]["referenceTypes"],
            json!(["User", "Group"])
        );
        assert_eq!(
            documents[0]["attributes"][4]["subAttributes"][3]["referenceTypes"],
            json!(["uri"])
        );
    }

    #[test]
    fn resource_type_documents_list_optional_extensions() {
        assert_eq!(
            user().resource_type_document("https://x/scim/v2"),
            json!({
                "schemas": [RESOURCE_TYPE],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "A person who signs in to Latchkey.",
                "schema": USER,
                "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
                "meta": {"resourceType": "ResourceType", "location": "https://x/scim/v2/ResourceTypes/User"},
            })
        );
        let group_type = group().resource_type_document("https://x");
        assert_eq!(group_type["endpoint"], "/Groups");
        assert!(group_type.get("schemaExtensions").is_none());
    }

    #[test]
    fn the_service_provider_config_advertises_what_latchkey_supports() {
        let config =
            service_provider_config("https://x/scim/v2", 200, Some("https://docs.example/scim"));
        assert_eq!(config["schemas"], json!([SERVICE_PROVIDER_CONFIG]));
        assert_eq!(config["patch"], json!({"supported": true}));
        assert_eq!(
            config["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0})
        );
        assert_eq!(
            config["filter"],
            json!({"supported": true, "maxResults": 200})
        );
        assert_eq!(config["changePassword"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        assert_eq!(
            config["authenticationSchemes"][0]["type"],
            "oauthbearertoken"
        );
        assert_eq!(
            config["authenticationSchemes"][0]["name"],
            "OAuth Bearer Token"
        );
        assert_eq!(config["authenticationSchemes"][0]["primary"], true);
        assert_eq!(config["documentationUri"], "https://docs.example/scim");
        assert_eq!(
            config["meta"],
            json!({"resourceType": "ServiceProviderConfig", "location": "https://x/scim/v2/ServiceProviderConfig"})
        );
        assert!(
            service_provider_config("https://x", 1, None)
                .get("documentationUri")
                .is_none()
        );
    }
}
