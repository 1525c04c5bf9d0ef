//! Keyset pagination shared by every list: ids are UUIDv7, so ordering by id is ordering by
//! creation, and the cursor is the last id seen.

use crate::db::Query;
use crate::error::{Error, Result};
use std::collections::HashMap;
use uuid::Uuid;

pub const DEFAULT_PAGE_SIZE: u64 = 100;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A validated page request.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn new(first: Option<i64>, after: Option<Uuid>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => return Err(Error::validation("first", "must not be negative")),
            Some(n) if n as u64 > MAX_PAGE_SIZE => {
                return Err(Error::validation(
                    "first",
                    format!("must be at most {MAX_PAGE_SIZE}"),
                ));
            }
            Some(n) => n as u64,
        };
        Ok(Self { first, after })
    }
}

/// One page of results and what the client needs to ask for the next one.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` fetched rows (the extra row tells whether more exist).
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, total_count: u64) -> Self {
        let has_next_page = rows.len() as u64 > request.first;
        rows.truncate(request.first as usize);
        Self {
            items: rows,
            has_next_page,
            total_count,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

/// Runs `query` as one keyset page ordered by `id` (UUIDv7, so creation order), with the total
/// of rows matching `query` counted before the cursor applies. Every list of the core pages
/// through this, so filters always sit inside the SQL, before the limit.
pub async fn keyset<E>(
    query: Query<'_, sea_orm::Select<E>>,
    id: E::Column,
    request: PageRequest,
) -> Result<Page<E::Model>>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
{
    let total = query.clone().count().await?;
    keyset_with_total(query, id, request, total).await
}

/// [`keyset`] with the total already known (kept by the caller, see
/// `identity_search::list_identities`).
pub async fn keyset_with_total<E>(
    query: Query<'_, sea_orm::Select<E>>,
    id: E::Column,
    request: PageRequest,
    total: u64,
) -> Result<Page<E::Model>>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
{
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = query;
    if let Some(after) = request.after {
        query = query.filter(id.gt(after));
    }
    let rows = query
        .order_by_asc(id)
        .limit(request.first + 1)
        .all()
        .await?;
    Ok(Page::from_rows(rows, request, total))
}

/// The first page of each of many parents (the DataLoaders' batches): the totals and the page
/// size that [`first_pages`] found, to group its rows by parent once they are completed.
#[derive(Debug)]
pub struct FirstPages {
    parents: Vec<Uuid>,
    totals: HashMap<Uuid, u64>,
    request: PageRequest,
}

impl FirstPages {
    /// One page for each parent asked for (empty when it has no rows), from `items`: the rows
    /// [`first_pages`] answered, in their order, converted or completed.
    pub fn split<T>(self, items: Vec<T>, parent_of: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Page<T>> {
        let mut grouped: HashMap<Uuid, Vec<T>> =
            self.parents.iter().map(|id| (*id, Vec::new())).collect();
        for item in items {
            grouped.entry(parent_of(&item)).or_default().push(item);
        }
        grouped
            .into_iter()
            .map(|(id, rows)| {
                let total = self.totals.get(&id).copied().unwrap_or(0);
                (id, Page::from_rows(rows, self.request, total))
            })
            .collect()
    }
}

/// The first page (`first` rows, oldest first) of each of `parents` among the rows `query`
/// selects, `parent` being the column that names a row's parent, with each parent's total: two
/// statements whatever the number of parents, none without parents. Like [`keyset`], the
/// query's filters apply in the SQL before the rows are ranked and counted. Answers up to
/// `first + 1` rows per parent (the extra one tells whether more exist), by parent then id,
/// and what [`FirstPages::split`] needs to make them pages.
pub async fn first_pages<E>(
    query: Query<'_, sea_orm::Select<E>>,
    parent: E::Column,
    id: E::Column,
    parents: &[Uuid],
    first: u64,
) -> Result<(Vec<E::Model>, FirstPages)>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
{
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let request = PageRequest { first, after: None };
    if parents.is_empty() {
        let none = FirstPages {
            parents: Vec::new(),
            totals: HashMap::new(),
            request,
        };
        return Ok((Vec::new(), none));
    }
    let query = query.filter(parent.is_in(parents.iter().copied()));
    let totals: Vec<(Uuid, i64)> = query
        .clone()
        .select_only()
        .column(parent)
        .column_as(id.count(), "total")
        .group_by(parent)
        .into_tuple()
        .all()
        .await?;
    let rows = query
        .first_of_each(parent, id, first.saturating_add(1))
        .all()
        .await?;
    let totals = totals
        .into_iter()
        .map(|(parent, total)| (parent, u64::try_from(total).unwrap_or(0)))
        .collect();
    Ok((
        rows,
        FirstPages {
            parents: parents.to_vec(),
            totals,
            request,
        },
    ))
}

impl<T> Page<T> {
    /// Converts every item with a fallible conversion.
    pub fn try_map<U>(self, f: impl FnMut(T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_>>()?,
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        })
    }
}

/// The `LIKE` pattern (escaped with a backslash) that finds `search`, trimmed and lower-cased,
/// anywhere in a lower-cased column.
pub fn contains_pattern(search: &str) -> String {
    let escaped = search
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(
            PageRequest::new(None, None).unwrap().first,
            DEFAULT_PAGE_SIZE
        );
        assert!(PageRequest::new(Some(1001), None).is_err());
        assert!(PageRequest::new(Some(-1), None).is_err());
        assert_eq!(PageRequest::new(Some(0), None).unwrap().first, 0);
    }

    #[test]
    fn extra_row_means_next_page() {
        let request = PageRequest::new(Some(2), None).unwrap();
        let page = Page::from_rows(vec![1, 2, 3], request, 10);
        assert_eq!(page.items, vec![1, 2]);
        assert!(page.has_next_page);
        let page = Page::from_rows(vec![1, 2], request, 2);
        assert!(!page.has_next_page);
    }

    #[test]
    fn first_pages_split_by_parent_and_every_parent_gets_one() {
        let (a, b, empty) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let pages = FirstPages {
            parents: vec![a, b, empty],
            totals: HashMap::from([(a, 5), (b, 1)]),
            request: PageRequest::new(Some(2), None).unwrap(),
        }
        .split(vec![(a, 1), (a, 2), (a, 3), (b, 4)], |(parent, _)| *parent);
        let items = |id: Uuid| pages[&id].items.iter().map(|(_, n)| *n).collect::<Vec<_>>();
        assert_eq!(items(a), [1, 2]);
        assert!(pages[&a].has_next_page);
        assert_eq!(pages[&a].total_count, 5);
        assert_eq!(items(b), [4]);
        assert!(!pages[&b].has_next_page);
        assert!(pages[&empty].items.is_empty());
        assert_eq!(pages[&empty].total_count, 0);
    }
}
