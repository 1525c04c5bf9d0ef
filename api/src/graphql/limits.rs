//! The alias limit, which async-graphql does not have: many aliases of one expensive field
//! multiply its cost without deepening the query.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Counts every aliased field in the document's operations and fragments.
pub fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = document
        .operations
        .iter()
        .map(|(_, op)| walk(&op.node.selection_set.node))
        .sum();
    let fragments: usize = document
        .fragments
        .values()
        .map(|fragment| walk(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_everywhere() {
        let document = async_graphql::parser::parse_query(
            "query { a: viewer { kind } b: viewer { k: kind } ...F } fragment F on Query { c: tenant { id } }",
        )
        .unwrap();
        assert_eq!(count_aliases(&document), 4);
    }
}
