//! Reading SAML's XML strictly: one parser (the one the signature library verifies on), no
//! document type declarations (no entities, no external anything), attributes only without a
//! namespace prefix, and text only where an element holds nothing but text (a comment or an
//! element inside a value is refused, never skipped: skipping is how a value is split).

use uppsala::{Document, NodeId, NodeKind, Parser};

pub const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Parses `xml`, refusing document type declarations.
pub fn parse(xml: &str) -> Result<Document<'_>, String> {
    Parser::new()
        .with_forbid_dtd(true)
        .parse(xml)
        .map_err(|error| format!("is not well-formed XML without a DTD ({error})"))
}

/// Whether `id` is the element `{namespace}local`.
pub fn is(doc: &Document<'_>, id: NodeId, namespace: &str, local: &str) -> bool {
    doc.element(id)
        .is_some_and(|e| e.matches_name_ns(namespace, local))
}

/// The child elements of `parent` named `{namespace}local`.
pub fn children(doc: &Document<'_>, parent: NodeId, namespace: &str, local: &str) -> Vec<NodeId> {
    doc.children_iter(parent)
        .filter(|&child| is(doc, child, namespace, local))
        .collect()
}

/// The only child element `{namespace}local` of `parent`: `None` when there is none, an error
/// when there are several.
pub fn only_child(
    doc: &Document<'_>,
    parent: NodeId,
    namespace: &str,
    local: &str,
) -> Result<Option<NodeId>, String> {
    match children(doc, parent, namespace, local).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(format!("holds more than one {local}")),
    }
}

/// The attribute `name` without a namespace.
pub fn attr<'d>(doc: &'d Document<'_>, id: NodeId, name: &str) -> Option<&'d str> {
    doc.element(id)?
        .attributes
        .iter()
        .find(|a| {
            a.name.namespace_uri.is_none() && a.name.prefix.is_none() && a.name.local_name == name
        })
        .map(|a| a.value.as_ref())
}

/// The text of an element that holds only text (trimmed); `None` for anything else.
pub fn text(doc: &Document<'_>, id: NodeId) -> Option<String> {
    let mut value = String::new();
    for child in doc.children_iter(id) {
        match doc.node_kind(child) {
            Some(NodeKind::Text(t) | NodeKind::CData(t)) => value.push_str(t),
            _ => return None,
        }
    }
    Some(value.trim().to_owned())
}

/// Escapes a value for an XML attribute or text.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dtd_is_refused() {
        let xml = r#"<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>"#;
        assert!(parse(xml).is_err());
    }

    #[test]
    fn text_split_by_a_comment_is_no_text() {
        let doc = parse("<r><a>admin@example.com<!---->.evil.test</a><b> x </b></r>").unwrap();
        let root = doc.document_element().unwrap();
        let kids: Vec<_> = doc.children_iter(root).collect();
        assert_eq!(text(&doc, kids[0]), None);
        assert_eq!(text(&doc, kids[1]).as_deref(), Some("x"));
    }

    #[test]
    fn prefixed_attributes_are_not_read() {
        let doc = parse(r#"<r xmlns:x="urn:x" x:Destination="evil"/>"#).unwrap();
        let root = doc.document_element().unwrap();
        assert_eq!(attr(&doc, root, "Destination"), None);
    }
}
