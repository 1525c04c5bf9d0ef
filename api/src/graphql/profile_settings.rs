//! The profile part of the tenant settings in GraphQL: the attribute schema and the consent
//! purposes (`latchkey_core::profile_settings`).

use async_graphql::{Enum, InputObject, SimpleObject};
use latchkey_core::profile_settings as core;

/// The type of an attribute's values.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AttributeType {
    String,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

impl From<core::AttributeType> for AttributeType {
    fn from(kind: core::AttributeType) -> Self {
        match kind {
            core::AttributeType::String => Self::String,
            core::AttributeType::Number => Self::Number,
            core::AttributeType::Boolean => Self::Boolean,
            core::AttributeType::Date => Self::Date,
        }
    }
}

impl From<AttributeType> for core::AttributeType {
    fn from(kind: AttributeType) -> Self {
        match kind {
            AttributeType::String => Self::String,
            AttributeType::Number => Self::Number,
            AttributeType::Boolean => Self::Boolean,
            AttributeType::Date => Self::Date,
        }
    }
}

/// A custom attribute of the tenant's identities.
#[derive(SimpleObject, Clone, Debug)]
pub struct AttributeDefinition {
    pub name: String,
    pub kind: AttributeType,
    /// End users may change it (`updateViewerProfile`); otherwise admins and connectors only.
    pub user_editable: bool,
    pub max_length: Option<u32>,
    pub allowed_values: Vec<String>,
    pub label: Option<String>,
}

impl From<core::AttributeDefinition> for AttributeDefinition {
    fn from(definition: core::AttributeDefinition) -> Self {
        Self {
            name: definition.name,
            kind: definition.kind.into(),
            user_editable: definition.user_editable,
            max_length: definition.max_length,
            allowed_values: definition.allowed_values,
            label: definition.label,
        }
    }
}

/// A custom attribute: a letter then letters, digits or `_` (at most 64); `maxLength` and
/// `allowedValues` for `STRING` only.
#[derive(InputObject, Clone, Debug)]
pub struct AttributeDefinitionInput {
    pub name: String,
    pub kind: AttributeType,
    #[graphql(default)]
    pub user_editable: bool,
    pub max_length: Option<u32>,
    #[graphql(default)]
    pub allowed_values: Vec<String>,
    pub label: Option<String>,
}

impl From<AttributeDefinitionInput> for core::AttributeDefinition {
    fn from(input: AttributeDefinitionInput) -> Self {
        Self {
            name: input.name,
            kind: input.kind.into(),
            user_editable: input.user_editable,
            max_length: input.max_length,
            allowed_values: input.allowed_values,
            label: input.label,
        }
    }
}

/// Something users are asked to consent to.
#[derive(SimpleObject, Clone, Debug)]
pub struct ConsentPurpose {
    pub key: String,
    /// Raise it when the text changes: decisions name the version they were made on.
    pub version: u32,
    pub title: String,
}

impl From<core::ConsentPurpose> for ConsentPurpose {
    fn from(purpose: core::ConsentPurpose) -> Self {
        Self {
            key: purpose.key,
            version: purpose.version,
            title: purpose.title,
        }
    }
}

/// A consent purpose: `key` a letter then letters, digits or `_` (at most 64); `version` 1 or
/// more; `title` 1 to 500 characters.
#[derive(InputObject, Clone, Debug)]
pub struct ConsentPurposeInput {
    pub key: String,
    pub version: u32,
    pub title: String,
}

impl From<ConsentPurposeInput> for core::ConsentPurpose {
    fn from(input: ConsentPurposeInput) -> Self {
        Self {
            key: input.key,
            version: input.version,
            title: input.title,
        }
    }
}
