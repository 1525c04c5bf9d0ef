//! What an operation may cost, counted before it runs, and how many list items it may answer,
//! counted while it runs. A list field's cost is its page size (`first`, or the default page
//! size when absent) times the cost of one item, so nested lists multiply; the operations of a
//! batched request share one budget.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, NextValidation, ResolveInfo,
};
use async_graphql::{ServerError, ServerResult, ValidationResult, Value};
use latchkey_core::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A cost no sum of field costs can overflow from (the limits are far below it).
const COST_CEILING: usize = 1 << 40;

/// The cost of a list field that answers a page of `first` items costing `per_item` each (the
/// complexity of a connection field). Out-of-range page sizes are refused when the field runs;
/// here they count as the largest page.
pub fn page_cost(first: Option<i32>, per_item: usize) -> usize {
    let size = match first {
        None => DEFAULT_PAGE_SIZE,
        Some(n) => u64::try_from(n).map_or(MAX_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE)),
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    size.saturating_mul(per_item)
        .saturating_add(1)
        .min(COST_CEILING)
}

/// The limits of one HTTP request, shared by the operations of a batch.
pub struct Budget {
    max_cost: usize,
    max_nodes: usize,
    spent: AtomicUsize,
    nodes: AtomicUsize,
}

impl Budget {
    pub fn new(max_cost: usize, max_nodes: usize) -> Arc<Self> {
        Arc::new(Self {
            max_cost,
            max_nodes,
            spent: AtomicUsize::new(0),
            nodes: AtomicUsize::new(0),
        })
    }

    /// Adds an operation's cost; refuses it when the request's total goes over the limit.
    fn charge(&self, cost: usize) -> Result<(), ServerError> {
        let total = self
            .spent
            .fetch_add(cost, Ordering::Relaxed)
            .saturating_add(cost);
        if total > self.max_cost {
            return Err(ServerError::new(
                format!(
                    "the query costs {total}, over the limit of {} \
                     (LATCHKEY_GRAPHQL_MAX_COST): a list costs its page size (`first`, {} when \
                     absent) times the cost of one item, and nested lists multiply; ask for \
                     smaller pages or fewer nested lists",
                    self.max_cost, DEFAULT_PAGE_SIZE
                ),
                None,
            ));
        }
        Ok(())
    }

    /// Counts `items` list items of the response; refuses the field that goes over the limit.
    fn count(&self, items: usize) -> Result<(), ServerError> {
        let total = self.nodes.fetch_add(items, Ordering::Relaxed) + items;
        if total > self.max_nodes {
            return Err(ServerError::new(
                format!(
                    "the response would hold more than {} list items \
                     (LATCHKEY_GRAPHQL_MAX_NODES); ask for smaller pages",
                    self.max_nodes
                ),
                None,
            ));
        }
        Ok(())
    }
}

/// The schema extension that applies the request's [`Budget`] (from the request data): the
/// cost after validation, the list items as fields resolve.
pub struct CostGuard;

impl ExtensionFactory for CostGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostGuardExtension)
    }
}

struct CostGuardExtension;

#[async_trait::async_trait]
impl Extension for CostGuardExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(budget) = ctx.data_opt::<Arc<Budget>>() {
            budget.charge(result.complexity).map_err(|e| vec![e])?;
        }
        Ok(result)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let value = next.run(ctx, info).await?;
        if let (Some(Value::List(items)), Some(budget)) = (&value, ctx.data_opt::<Arc<Budget>>()) {
            budget.count(items.len())?;
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_costs_its_size_times_an_item() {
        assert_eq!(page_cost(Some(10), 3), 31);
        assert_eq!(page_cost(None, 3), 3 * 100 + 1);
        assert_eq!(page_cost(Some(-5), 2), 2001);
        assert_eq!(page_cost(Some(5000), 2), 2001);
        assert_eq!(page_cost(Some(1000), COST_CEILING), COST_CEILING);
    }

    #[test]
    fn a_batch_shares_one_budget() {
        let budget = Budget::new(100, 10);
        assert!(budget.charge(60).is_ok());
        let refused = budget
            .charge(60)
            .expect_err("the second operation goes over");
        assert!(refused.message.contains("LATCHKEY_GRAPHQL_MAX_COST"));
        assert!(budget.count(10).is_ok());
        assert!(budget.count(1).is_err());
    }
}
