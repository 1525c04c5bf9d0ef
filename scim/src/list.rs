//! Pagination (RFC 7644 §3.4.2.4) and the ListResponse envelope of query results.

use serde_json::{Value, json};

use crate::error::{Result, ScimError};
use crate::schema::LIST_RESPONSE;

/// The page a query asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagination {
    /// The 1-based index of the first result.
    pub start_index: usize,
    /// How many results at most.
    pub count: usize,
}

impl Pagination {
    /// From the `startIndex` and `count` query parameters. `startIndex` below 1 means 1
    /// and a negative `count` means 0 (RFC 7644 §3.4.2.4); `count` is capped at `max`
    /// and is `default` (capped too) when absent. A parameter that is not an integer →
    /// invalid_value.
    pub fn parse(
        start_index: Option<&str>,
        count: Option<&str>,
        default: usize,
        max: usize,
    ) -> Result<Self> {
        let start_index = match start_index {
            None => 1,
            Some(text) => {
                usize::try_from(integer("startIndex", text)?.max(1)).unwrap_or(usize::MAX)
            }
        };
        let count = match count {
            None => default,
            Some(text) => usize::try_from(integer("count", text)?.max(0)).unwrap_or(usize::MAX),
        };
        Ok(Self {
            start_index,
            count: count.min(max),
        })
    }

    /// The 0-based offset of the first result.
    pub fn offset(&self) -> usize {
        self.start_index.saturating_sub(1)
    }
}

/// A decimal integer, saturating beyond the range of i64 (a huge index is still an index).
fn integer(parameter: &str, text: &str) -> Result<i64> {
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::invalid_value(format!(
            "{parameter} must be an integer, not {text:?}"
        )));
    }
    Ok(text.parse().unwrap_or(if text.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// A ListResponse: the total number of matches, the page's start index and its resources.
/// The numbers are JSON integers, as Okta requires.
pub fn list_response(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(start_index: Option<&str>, count: Option<&str>) -> Result<Pagination> {
        Pagination::parse(start_index, count, 100, 200)
    }

    #[test]
    fn absent_parameters_give_the_first_page_of_the_default_size() {
        assert_eq!(
            page(None, None),
            Ok(Pagination {
                start_index: 1,
                count: 100
            })
        );
        assert_eq!(Pagination::parse(None, None, 500, 200).unwrap().count, 200);
    }

    #[test]
    fn okta_lookup_parameters() {
        // Okta: `startIndex=1&count=100`.
        let pagination = page(Some("1"), Some("100")).unwrap();
        assert_eq!(
            (
                pagination.start_index,
                pagination.count,
                pagination.offset()
            ),
            (1, 100, 0)
        );
        assert_eq!(page(Some("21"), Some("10")).unwrap().offset(), 20);
    }

    #[test]
    fn a_start_index_below_one_is_one() {
        assert_eq!(page(Some("0"), None).unwrap().start_index, 1);
        assert_eq!(page(Some("-5"), None).unwrap().start_index, 1);
    }

    #[test]
    fn a_negative_count_is_zero_and_a_large_one_is_capped() {
        assert_eq!(page(None, Some("-1")).unwrap().count, 0);
        assert_eq!(page(None, Some("0")).unwrap().count, 0);
        assert_eq!(page(None, Some("1000")).unwrap().count, 200);
        assert_eq!(
            page(None, Some("99999999999999999999999")).unwrap().count,
            200
        );
    }

    #[test]
    fn parameters_that_are_not_integers_are_invalid_values() {
        for (start_index, count) in [
            (Some("one"), None),
            (None, Some("1.5")),
            (None, Some("")),
            (Some("-"), None),
        ] {
            let error = page(start_index, count).unwrap_err();
            assert_eq!((error.status, error.scim_type), (400, Some("invalidValue")));
        }
        assert_eq!(
            page(None, Some("x")).unwrap_err().detail,
            "count must be an integer, not \"x\""
        );
    }

    #[test]
    fn the_list_response_carries_integers() {
        let resources = vec![json!({"id": "1"}), json!({"id": "2"})];
        assert_eq!(
            list_response(7, 3, resources),
            json!({
                "schemas": [LIST_RESPONSE],
                "totalResults": 7,
                "itemsPerPage": 2,
                "startIndex": 3,
                "Resources": [{"id": "1"}, {"id": "2"}],
            })
        );
        assert_eq!(list_response(0, 1, Vec::new())["Resources"], json!([]));
    }
}
