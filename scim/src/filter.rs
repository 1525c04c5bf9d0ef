//! `filter` expressions (RFC 7644 §3.4.2.2): parsing, and evaluation against JSON
//! resources with the schema's `caseExact` and multi-valued attributes.

use std::cmp::Ordering;
use std::fmt::Display;

use serde_json::{Number, Value};

use crate::error::{Result, ScimError};
use crate::json;
use crate::path::{self, AttributePath};
use crate::schema::{Attribute, Kind, ResourceSchema};

/// Filters longer than this many characters are refused (invalidFilter, "too complex").
const MAX_LENGTH: usize = 4096;
/// Parentheses, `not` and value filters nest at most this deep, which bounds recursion.
const MAX_DEPTH: usize = 64;

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Both match.
    And(Box<Filter>, Box<Filter>),
    /// Either matches.
    Or(Box<Filter>, Box<Filter>),
    /// `not (…)`: the filter does not match.
    Not(Box<Filter>),
    /// `path op value`; the path has no value filter.
    Compare {
        path: AttributePath,
        op: CompareOp,
        value: Value,
    },
    /// `path pr`.
    Present(AttributePath),
    /// `path[filter]`: some element of the multi-valued attribute `path` matches `filter`,
    /// whose attribute names are sub-attributes of the element. Entra ID's
    /// `emails[type eq "work"].value eq "x"` is `emails[type eq "work" and value eq "x"]`.
    ValuePath {
        path: AttributePath,
        filter: Box<Filter>,
    },
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains (strings).
    Co,
    /// Starts with (strings).
    Sw,
    /// Ends with (strings).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    /// Whether values ordered `ordering` satisfy the operator (false for co/sw/ew).
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering.is_eq(),
            Self::Ne => ordering.is_ne(),
            Self::Gt => ordering.is_gt(),
            Self::Ge => ordering.is_ge(),
            Self::Lt => ordering.is_lt(),
            Self::Le => ordering.is_le(),
            Self::Co | Self::Sw | Self::Ew => false,
        }
    }
}

impl Filter {
    /// Parses a filter. `or` binds loosest, then `and`, then `not (…)`, parentheses and
    /// value filters; operators, keywords and attribute names are case-insensitive.
    /// Values are JSON strings, numbers, `true`, `false` and `null`.
    ///
    /// Errors → invalid_filter, saying at which character what was expected; also for a
    /// filter longer than 4096 characters or nested deeper than 64 levels.
    pub fn parse(text: &str) -> Result<Filter> {
        if text.chars().count() > MAX_LENGTH {
            return Err(ScimError::invalid_filter(format!(
                "the filter is longer than {MAX_LENGTH} characters"
            )));
        }
        let mut parser = Parser::new(text, 0);
        let filter = parser.or()?;
        parser.skip_whitespace();
        if parser.rest().is_empty() {
            Ok(filter)
        } else {
            Err(parser.error(format!(
                "expected `and`, `or` or the end, found {}",
                parser.found()
            )))
        }
    }

    /// Whether `resource` matches. Strings compare case-insensitively unless the
    /// attribute is `caseExact`; a comparison on a multi-valued attribute matches when
    /// one element does, and a complex one compared without sub-attribute compares its
    /// elements' `value`. An absent attribute (or one the schema does not publish) is
    /// `pr` false, `ne` true, `eq null` true and matches nothing else. Booleans compare
    /// with JSON booleans only (`eq`/`ne`), numbers numerically, strings
    /// lexicographically (dateTimes in one format order chronologically).
    pub fn matches(&self, resource: &Value, schema: &ResourceSchema) -> bool {
        self.evaluate(resource, Scope::Resource(schema))
    }

    /// Whether an element of the multi-valued complex `attribute` matches this value
    /// filter, whose attribute names are sub-attributes of the element.
    pub(crate) fn matches_element(&self, element: &Value, attribute: &Attribute) -> bool {
        self.evaluate(element, Scope::Element(attribute))
    }

    /// The `eq` comparisons every match satisfies: those among the top-level `and`
    /// conjuncts, including those inside a value filter
    /// (`emails[type eq "work"].value eq "x"`, `members[value eq "x"]`). Each is the
    /// lower-case dotted attribute path without URN nor filter (`username`, `externalid`,
    /// `emails.value`, `members.value`) and the value as written, as a string (`eq null`
    /// is left out). It lets a caller narrow a database query; [`Filter::matches`] stays
    /// the judge, since a case-insensitive attribute matches other spellings too.
    pub fn eq_constraints(&self) -> Vec<(String, String)> {
        let mut constraints = Vec::new();
        for conjunct in self.conjuncts() {
            match conjunct {
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value,
                } => constraints.extend(constraint(None, path, value)),
                Filter::ValuePath {
                    path: parent,
                    filter,
                } => {
                    for inner in filter.conjuncts() {
                        if let Filter::Compare {
                            path,
                            op: CompareOp::Eq,
                            value,
                        } = inner
                        {
                            constraints.extend(constraint(Some(parent), path, value));
                        }
                    }
                }
                _ => {}
            }
        }
        constraints
    }

    /// The filters joined by the top-level `and`s (the filter itself when it is no `and`).
    pub(crate) fn conjuncts(&self) -> Vec<&Filter> {
        match self {
            Filter::And(left, right) => {
                let mut conjuncts = left.conjuncts();
                conjuncts.extend(right.conjuncts());
                conjuncts
            }
            other => vec![other],
        }
    }

    fn evaluate(&self, node: &Value, scope: Scope<'_>) -> bool {
        match self {
            Filter::And(left, right) => left.evaluate(node, scope) && right.evaluate(node, scope),
            Filter::Or(left, right) => left.evaluate(node, scope) || right.evaluate(node, scope),
            Filter::Not(filter) => !filter.evaluate(node, scope),
            Filter::Present(path) => scope
                .values(path, node)
                .is_some_and(|(values, _)| values.iter().any(|value| !is_empty(value))),
            Filter::Compare { path, op, value } => {
                compare_all(scope.values(path, node), *op, value)
            }
            Filter::ValuePath { path, filter } => {
                scope
                    .values(path, node)
                    .is_some_and(|(elements, attribute)| {
                        attribute.kind == Kind::Complex
                            && elements
                                .iter()
                                .any(|element| filter.evaluate(element, Scope::Element(attribute)))
                    })
            }
        }
    }
}

fn constraint(
    parent: Option<&AttributePath>,
    path: &AttributePath,
    value: &Value,
) -> Option<(String, String)> {
    let value = match value {
        Value::String(text) => text.clone(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        _ => return None,
    };
    let names = parent
        .map(|parent| parent.attribute.as_str())
        .into_iter()
        .chain([path.attribute.as_str()])
        .chain(path.sub_attribute.as_deref());
    let key = names.collect::<Vec<_>>().join(".").to_ascii_lowercase();
    Some((key, value))
}

/// Whether a value counts as no value for `pr` (RFC 7644 §3.4.2.2: "non-empty value").
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(elements) => elements.iter().all(is_empty),
        Value::Object(members) => members.values().all(is_empty),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// What attribute names resolve against: a resource, or an element of a multi-valued
/// complex attribute inside a value filter.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Resource(&'s ResourceSchema),
    Element(&'s Attribute),
}

impl<'s> Scope<'s> {
    /// The values `path` designates in `node`, arrays flattened and nulls left out, with
    /// the attribute defining them; None when the schema does not publish the attribute.
    fn values<'v>(
        self,
        path: &AttributePath,
        node: &'v Value,
    ) -> Option<(Vec<&'v Value>, &'s Attribute)> {
        let (container, attribute, sub_attribute) = match self {
            Scope::Resource(schema) => {
                let target = schema.locate(path)?;
                let container = match target.extension {
                    Some(urn) => json::get(node, urn),
                    None => Some(node),
                };
                (container, target.attribute, target.sub_attribute)
            }
            Scope::Element(parent) => {
                if path.urn.is_some() || path.sub_attribute.is_some() {
                    return None;
                }
                (Some(node), parent.sub_attribute(&path.attribute)?, None)
            }
        };
        let mut values = Vec::new();
        if let Some(value) = container.and_then(|container| json::get(container, attribute.name)) {
            flatten(value, &mut values);
        }
        let Some(sub_attribute) = sub_attribute else {
            return Some((values, attribute));
        };
        let mut sub_values = Vec::new();
        for value in values {
            if let Some(sub_value) = json::get(value, sub_attribute.name) {
                flatten(sub_value, &mut sub_values);
            }
        }
        Some((sub_values, sub_attribute))
    }
}

fn flatten<'v>(value: &'v Value, into: &mut Vec<&'v Value>) {
    match value {
        Value::Null => {}
        Value::Array(elements) => into.extend(elements.iter().filter(|element| !element.is_null())),
        value => into.push(value),
    }
}

/// Whether some of the values found satisfies `op expected` (see [`Filter::matches`]).
fn compare_all(found: Option<(Vec<&Value>, &Attribute)>, op: CompareOp, expected: &Value) -> bool {
    if expected.is_null() {
        let present = found.is_some_and(|(values, _)| !values.is_empty());
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    let (values, attribute) = match found {
        // A complex attribute compared without sub-attribute compares its `value`s.
        Some((values, attribute)) if attribute.kind == Kind::Complex => {
            let Some(value) = attribute.sub_attribute("value") else {
                return op == CompareOp::Ne;
            };
            let mut values_of = Vec::new();
            for element in values {
                if let Some(inner) = json::get(element, value.name) {
                    flatten(inner, &mut values_of);
                }
            }
            (values_of, Some(value))
        }
        Some((values, attribute)) => (values, Some(attribute)),
        None => (Vec::new(), None),
    };
    match attribute {
        Some(attribute) if !values.is_empty() => values
            .iter()
            .any(|actual| compare(actual, op, expected, attribute.case_exact)),
        _ => op == CompareOp::Ne,
    }
}

fn compare(actual: &Value, op: CompareOp, expected: &Value, case_exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(actual), Value::String(expected)) if case_exact => {
            compare_strings(actual, op, expected)
        }
        (Value::String(actual), Value::String(expected)) => {
            compare_strings(&actual.to_lowercase(), op, &expected.to_lowercase())
        }
        (Value::Bool(actual), Value::Bool(expected)) => {
            matches!(op, CompareOp::Eq | CompareOp::Ne) && op.holds(actual.cmp(expected))
        }
        (Value::Number(actual), Value::Number(expected)) => actual
            .as_f64()
            .zip(expected.as_f64())
            .and_then(|(actual, expected)| actual.partial_cmp(&expected))
            .is_some_and(|ordering| op.holds(ordering)),
        _ => op == CompareOp::Ne,
    }
}

fn compare_strings(actual: &str, op: CompareOp, expected: &str) -> bool {
    match op {
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        _ => op.holds(actual.cmp(expected)),
    }
}

/// Parses the value filter of a path: `text[open]` is the `[`. Returns the filter and
/// the byte offset just after the matching `]`.
pub(crate) fn parse_value_filter(text: &str, open: usize) -> Result<(Filter, usize)> {
    let mut parser = Parser::new(text, open);
    let filter = parser.value_filter()?;
    Ok((filter, parser.position))
}

/// A recursive-descent parser over the filter text.
struct Parser<'t> {
    text: &'t str,
    /// Byte offset of the next character.
    position: usize,
    depth: usize,
    in_value_filter: bool,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str, position: usize) -> Self {
        Self {
            text,
            position,
            depth: 0,
            in_value_filter: false,
        }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.position += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, expected: char) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position += expected.len_utf8();
        }
        found
    }

    /// The characters of a word (attribute path, operator or keyword) at the position.
    fn peek_word(&self) -> &'t str {
        let rest = self.rest();
        let is_word =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '-' | '_' | '$');
        &rest[..rest.find(|c| !is_word(c)).unwrap_or(rest.len())]
    }

    fn word(&mut self) -> &'t str {
        let word = self.peek_word();
        self.position += word.len();
        word
    }

    /// Consumes `keyword` (any case) after optional whitespace, if it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        self.skip_whitespace();
        let found = self.peek_word().eq_ignore_ascii_case(keyword);
        if found {
            self.position += keyword.len();
        }
        found
    }

    fn error(&self, what: impl Display) -> ScimError {
        self.error_at(self.position, what)
    }

    fn error_at(&self, position: usize, what: impl Display) -> ScimError {
        let character = self.text[..position].chars().count();
        ScimError::invalid_filter(format!("at character {character}: {what}"))
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("`{c}`"),
            None => "the end".to_owned(),
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter> {
        let mut filter = self.and()?;
        while self.keyword("or") {
            filter = Filter::Or(Box::new(filter), Box::new(self.and()?));
        }
        Ok(filter)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut filter = self.unary()?;
        while self.keyword("and") {
            filter = Filter::And(Box::new(filter), Box::new(self.unary()?));
        }
        Ok(filter)
    }

    /// `not (…)`, `(…)`, or an attribute expression.
    fn unary(&mut self) -> Result<Filter> {
        self.skip_whitespace();
        if self.peek() == Some('(') {
            return self.parenthesized();
        }
        let start = self.position;
        let word = self.word();
        if word.eq_ignore_ascii_case("not") {
            self.skip_whitespace();
            if self.peek() != Some('(') {
                return Err(self.error(format!("expected `(` after `not`, found {}", self.found())));
            }
            return Ok(Filter::Not(Box::new(self.parenthesized()?)));
        }
        if word.is_empty() {
            return Err(self.error(format!(
                "expected an attribute path, found {}",
                self.found()
            )));
        }
        let path = AttributePath::parse_attribute(word)
            .map_err(|error| self.error_at(start, error.detail))?;
        if path.is_schema_urn() {
            return Err(self.error_at(start, format!("{word} is a schema, not an attribute")));
        }
        if self.peek() != Some('[') {
            return self.condition(path);
        }
        if self.in_value_filter {
            return Err(self.error("value filters do not nest"));
        }
        if path.sub_attribute.is_some() {
            return Err(self.error("a value filter must follow an attribute name"));
        }
        let filter = self.value_filter()?;
        if !self.eat('.') {
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(filter),
            });
        }
        // `emails[type eq "work"].value eq "x"`: the comparison applies to the same element.
        let sub_start = self.position;
        let sub_attribute = self.word();
        if !path::is_name(sub_attribute) {
            return Err(self.error_at(sub_start, "expected a sub-attribute name after `].`"));
        }
        let condition = self.condition(AttributePath::parse_attribute(sub_attribute)?)?;
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(Filter::And(Box::new(filter), Box::new(condition))),
        })
    }

    /// `( filter )`, at the `(`.
    fn parenthesized(&mut self) -> Result<Filter> {
        self.eat('(');
        self.enter()?;
        let filter = self.or()?;
        self.skip_whitespace();
        if !self.eat(')') {
            return Err(self.error(format!("expected `)`, found {}", self.found())));
        }
        self.depth -= 1;
        Ok(filter)
    }

    /// `[ filter ]`, at the `[`.
    fn value_filter(&mut self) -> Result<Filter> {
        self.eat('[');
        self.enter()?;
        self.in_value_filter = true;
        let filter = self.or()?;
        self.skip_whitespace();
        if !self.eat(']') {
            return Err(self.error(format!("expected `]`, found {}", self.found())));
        }
        self.in_value_filter = false;
        self.depth -= 1;
        Ok(filter)
    }

    /// `pr`, or an operator and a value, after `path`.
    fn condition(&mut self, path: AttributePath) -> Result<Filter> {
        self.skip_whitespace();
        let start = self.position;
        let operator = self.word();
        if operator.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::from_name(operator).ok_or_else(|| {
            let found = if operator.is_empty() {
                self.found()
            } else {
                format!("`{operator}`")
            };
            self.error_at(
                start,
                format!(
                    "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found {found}"
                ),
            )
        })?;
        self.skip_whitespace();
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// A JSON string or number, `true`, `false` or `null` (keywords in any case).
    fn value(&mut self) -> Result<Value> {
        let start = self.position;
        let rest = self.rest();
        match self.peek() {
            Some('"') => {
                let mut escaped = false;
                let end = rest.char_indices().skip(1).find_map(|(index, c)| {
                    let closes = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    closes.then_some(index + 1)
                });
                let end = end.ok_or_else(|| self.error("unterminated string"))?;
                let text: String = serde_json::from_str(&rest[..end])
                    .map_err(|error| self.error_at(start, format!("invalid string: {error}")))?;
                self.position += end;
                Ok(Value::String(text))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let is_number =
                    |c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E');
                let end = rest.find(|c| !is_number(c)).unwrap_or(rest.len());
                let number: Number = serde_json::from_str(&rest[..end]).map_err(|_| {
                    self.error_at(start, format!("invalid number `{}`", &rest[..end]))
                })?;
                self.position += end;
                Ok(Value::Number(number))
            }
            _ => {
                let word = self.word();
                match word.to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" => Ok(Value::Null),
                    _ => Err(self.error_at(
                        start,
                        "expected a value (a JSON string, a number, true, false or null)",
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{group, user};
    use serde_json::json;

    fn parsed(text: &str) -> Filter {
        Filter::parse(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
    }

    fn attribute(text: &str) -> AttributePath {
        AttributePath::parse(text).unwrap()
    }

    fn eq(path: &str, value: Value) -> Filter {
        Filter::Compare {
            path: attribute(path),
            op: CompareOp::Eq,
            value,
        }
    }

    fn ann() -> Value {
        json!({
            "id": "2819c223",
            "externalId": "Ext-1",
            "userName": "Ann@Example.com",
            "name": {"givenName": "Ann", "familyName": "Smith"},
            "displayName": "",
            "active": true,
            "emails": [
                {"value": "ann@work.example", "type": "work", "primary": true},
                {"value": "ann@home.example", "type": "home"},
            ],
            "meta": {"created": "2024-03-01T10:00:00Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701",
                "manager": {"value": "m-1"},
            },
        })
    }

    fn matches(text: &str) -> bool {
        parsed(text).matches(&ann(), user())
    }

    fn error(text: &str) -> ScimError {
        let error = Filter::parse(text).unwrap_err();
        assert_eq!(error.scim_type, Some("invalidFilter"), "{text:?}");
        error
    }

    #[test]
    fn a_comparison_parses_with_case_insensitive_operator_and_attribute() {
        assert_eq!(parsed(r#"UserName EQ "ann""#), eq("UserName", json!("ann")));
    }

    #[test]
    fn or_binds_looser_than_and() {
        let a = || Box::new(Filter::Present(attribute("a")));
        let b = || Box::new(Filter::Present(attribute("b")));
        let c = || Box::new(Filter::Present(attribute("c")));
        assert_eq!(
            parsed("a pr or b pr and c pr"),
            Filter::Or(a(), Box::new(Filter::And(b(), c())))
        );
        assert_eq!(
            parsed("(a pr or b pr) and c pr"),
            Filter::And(Box::new(Filter::Or(a(), b())), c())
        );
        assert_eq!(
            parsed("a pr AND b pr and c pr"),
            Filter::And(Box::new(Filter::And(a(), b())), c())
        );
    }

    #[test]
    fn not_takes_a_parenthesized_filter() {
        assert_eq!(
            parsed("not (a pr)"),
            Filter::Not(Box::new(Filter::Present(attribute("a"))))
        );
        assert_eq!(
            parsed("NOT(a pr)"),
            Filter::Not(Box::new(Filter::Present(attribute("a"))))
        );
        assert!(
            error("not a pr")
                .detail
                .contains("expected `(` after `not`")
        );
    }

    #[test]
    fn values_are_json_strings_numbers_booleans_and_null() {
        let value = |text: &str| match parsed(&format!("a eq {text}")) {
            Filter::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(value(r#""say \"hi\"\n\u00e9""#), json!("say \"hi\"\né"));
        assert_eq!(value("-1.5e2"), json!(-150.0));
        assert_eq!(value("42"), json!(42));
        assert_eq!(value("true"), json!(true));
        assert_eq!(value("False"), json!(false));
        assert_eq!(value("null"), Value::Null);
    }

    #[test]
    fn a_value_path_holds_a_filter_on_the_elements() {
        assert_eq!(
            parsed(r#"emails[type eq "work" and not (primary eq false)]"#),
            Filter::ValuePath {
                path: attribute("emails"),
                filter: Box::new(Filter::And(
                    Box::new(eq("type", json!("work"))),
                    Box::new(Filter::Not(Box::new(eq("primary", json!(false))))),
                )),
            }
        );
    }

    #[test]
    fn entra_value_path_with_sub_attribute_compares_the_same_element() {
        // Entra ID's matching attribute can be `emails[type eq "work"].value`.
        assert_eq!(
            parsed(r#"emails[type eq "work"].value eq "ann@work.example""#),
            Filter::ValuePath {
                path: attribute("emails"),
                filter: Box::new(Filter::And(
                    Box::new(eq("type", json!("work"))),
                    Box::new(eq("value", json!("ann@work.example"))),
                )),
            }
        );
        assert!(matches(
            r#"emails[type eq "work"].value eq "ANN@work.example""#
        ));
        assert!(!matches(
            r#"emails[type eq "home"].value eq "ann@work.example""#
        ));
    }

    #[test]
    fn parse_errors_say_where_and_what() {
        assert_eq!(
            error(r#"userName eq"#).detail,
            "at character 11: expected a value (a JSON string, a number, true, false or null)"
        );
        assert_eq!(
            error(r#"userName is "ann""#).detail,
            "at character 9: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found `is`"
        );
        assert_eq!(
            error(r#"(a pr"#).detail,
            "at character 5: expected `)`, found the end"
        );
        assert_eq!(
            error(r#"a pr b pr"#).detail,
            "at character 5: expected `and`, `or` or the end, found `b`"
        );
        assert_eq!(
            error(r#"é eq 1"#).detail,
            "at character 0: expected an attribute path, found `é`"
        );
        assert_eq!(
            error(r#"a eq "x"#).detail,
            "at character 5: unterminated string"
        );
        assert!(
            error("")
                .detail
                .starts_with("at character 0: expected an attribute path")
        );
        assert!(
            error(r#"emails[value[type eq "x"] pr]"#)
                .detail
                .contains("do not nest")
        );
        assert!(
            error("urn:ietf:params:scim:schemas:core:2.0:User pr")
                .detail
                .contains("is a schema")
        );
    }

    #[test]
    fn overlong_and_overnested_filters_are_refused() {
        let long = format!(r#"userName eq "{}""#, "a".repeat(MAX_LENGTH));
        assert!(error(&long).detail.contains("longer than 4096"));
        let nested = format!("{}a pr{}", "(".repeat(65), ")".repeat(65));
        assert!(error(&nested).detail.contains("deeper than 64"));
        let deepest = format!("{}a pr{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(parsed(&deepest), Filter::Present(attribute("a")));
    }

    #[test]
    fn strings_compare_case_insensitively_unless_case_exact() {
        // userName is caseExact false: Okta's spec test filters with an upper-cased userName.
        assert!(matches(r#"userName eq "ANN@EXAMPLE.COM""#));
        assert!(matches(r#"externalId eq "Ext-1""#));
        assert!(!matches(r#"externalId eq "ext-1""#));
        assert!(!matches(r#"id eq "2819C223""#));
    }

    #[test]
    fn substring_and_ordering_operators_on_strings() {
        assert!(matches(r#"userName co "@example""#));
        assert!(matches(r#"userName sw "ann@""#));
        assert!(matches(r#"userName ew ".COM""#));
        assert!(!matches(r#"userName sw "example""#));
        assert!(matches(r#"name.familyName gt "Jones""#));
        assert!(matches(r#"name.familyName le "smith""#));
        assert!(!matches(r#"name.familyName lt "Smith""#));
        assert!(matches(r#"meta.created ge "2024-01-01T00:00:00Z""#));
        assert!(!matches(r#"meta.created gt "2024-06-01T00:00:00Z""#));
    }

    #[test]
    fn booleans_compare_with_json_booleans_only() {
        assert!(matches("active eq true"));
        assert!(!matches("active eq false"));
        assert!(matches("active ne false"));
        assert!(!matches(r#"active eq "true""#));
        // Ordering booleans parses but never matches.
        assert!(!matches("active gt false"));
        let stored_string = json!({"active": "true"});
        assert!(!parsed("active eq true").matches(&stored_string, user()));
    }

    #[test]
    fn numbers_compare_numerically() {
        // No published attribute is numeric: the comparison itself is what is tested.
        assert!(compare(&json!(10), CompareOp::Gt, &json!(9.5), false));
        assert!(compare(&json!(-3), CompareOp::Le, &json!(-3), false));
        assert!(compare(&json!(2), CompareOp::Eq, &json!(2.0), false));
        assert!(!compare(&json!(2), CompareOp::Co, &json!(2), false));
        assert!(!compare(&json!("10"), CompareOp::Eq, &json!(10), false));
    }

    #[test]
    fn a_multi_valued_attribute_matches_when_one_element_does() {
        assert!(matches(r#"emails.value eq "ann@home.example""#));
        assert!(matches(r#"emails.type eq "work""#));
        // Without sub-attribute, a complex multi-valued attribute compares its `value`s.
        assert!(matches(r#"emails co "home""#));
        assert!(!matches(r#"emails.value eq "bob@x""#));
    }

    #[test]
    fn value_filters_evaluate_on_each_element() {
        assert!(matches(r#"emails[type eq "work" and primary eq true]"#));
        assert!(!matches(r#"emails[type eq "home" and primary eq true]"#));
        assert!(matches(r#"emails[type eq "home" or value sw "x"]"#));
        assert!(!matches(r#"emails[nothing pr]"#));
        // A single-valued complex attribute is its one element.
        assert!(matches(r#"name[givenName eq "Ann" and familyName sw "S"]"#));
    }

    #[test]
    fn absent_attributes_are_pr_false_ne_true_eq_null_true() {
        assert!(!matches("title pr"));
        assert!(matches(r#"title ne "x""#));
        assert!(matches("title eq null"));
        assert!(!matches(r#"title eq "x""#));
        assert!(!matches(r#"title gt "a""#));
        assert!(!matches("userName eq null"));
        assert!(matches("userName ne null"));
        assert!(matches(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager ne null"
        ));
        assert!(parsed("name eq null").matches(&json!({"userName": "x"}), user()));
        // An empty string is no value for `pr`.
        assert!(!matches("displayName pr"));
        assert!(matches("name pr"));
    }

    #[test]
    fn attributes_not_in_the_schema_are_absent() {
        assert!(!matches(r#"phoneNumbers pr"#));
        assert!(matches(r#"nickName ne "x""#));
        assert!(!matches(r#"emails[display eq "x"]"#));
    }

    #[test]
    fn extension_attributes_are_reached_through_their_urn() {
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701""#
        ));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1""#
        ));
        assert!(matches(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "m-1""#
        ));
        assert!(!matches(r#"employeeNumber eq "701""#));
    }

    #[test]
    fn group_members_compare_exactly_and_display_names_do_not() {
        let admins =
            json!({"displayName": "Admins", "members": [{"value": "U-1"}, {"value": "u-2"}]});
        let matches = |text: &str| parsed(text).matches(&admins, group());
        assert!(matches(r#"displayName eq "admins""#));
        assert!(matches(r#"members[value eq "U-1"]"#));
        assert!(!matches(r#"members[value eq "u-1"]"#));
        assert!(matches(r#"members.value eq "u-2""#));
    }

    #[test]
    fn eq_constraints_report_the_top_level_equalities() {
        let constraints = |text: &str| parsed(text).eq_constraints();
        assert_eq!(
            constraints(r#"userName eq "Ann""#),
            [("username".to_owned(), "Ann".to_owned())]
        );
        assert_eq!(
            constraints(r#"externalId eq "e" and (id eq "1" or id eq "2") and active eq true"#),
            [
                ("externalid".to_owned(), "e".to_owned()),
                ("active".to_owned(), "true".to_owned())
            ]
        );
        assert_eq!(
            constraints(r#"emails[type eq "work"].value eq "a@x""#),
            [
                ("emails.type".to_owned(), "work".to_owned()),
                ("emails.value".to_owned(), "a@x".to_owned())
            ]
        );
        assert_eq!(
            constraints(r#"members[value eq "u1"]"#),
            [("members.value".to_owned(), "u1".to_owned())]
        );
        assert_eq!(
            constraints(
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#
            ),
            [("manager.value".to_owned(), "m".to_owned())]
        );
        assert!(constraints(r#"userName ne "x" or displayName eq "y""#).is_empty());
        assert!(constraints(r#"not (userName eq "x")"#).is_empty());
        assert!(constraints("title eq null").is_empty());
    }
}
