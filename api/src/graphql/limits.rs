//! Limits on what one operation may ask for, checked before anything runs: the document's size,
//! its aliases and its root fields (here, called by the `Engine`), and its depth and
//! complexity (async-graphql's validation, configured in `build_engine`). Each refusal has a
//! code: `PAYLOAD_TOO_LARGE` for the size, `QUERY_TOO_COMPLEX` for the rest. Without them one
//! anonymous request repeating a field thousands of times ran for seconds and took gigabytes.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use crate::{config::Limits, error::AppError};

/// Fragment spreads nest at most this deep while counting (cycles are refused later by
/// validation; this keeps the count itself finite).
const MAX_SPREAD_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    max_query_bytes: usize,
    max_aliases: usize,
    max_root_fields: usize,
}

impl DocumentLimits {
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            max_query_bytes: limits.graphql_max_query_bytes,
            max_aliases: limits.graphql_max_aliases,
            max_root_fields: limits.graphql_max_root_fields,
        }
    }

    /// `PAYLOAD_TOO_LARGE` for a document text over the limit (checked before it is parsed).
    pub(super) fn check_size(&self, query: &str) -> Result<(), AppError> {
        if query.len() > self.max_query_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "a GraphQL document over {} bytes (send data as variables)",
                self.max_query_bytes
            )));
        }
        Ok(())
    }

    /// `QUERY_TOO_COMPLEX` for a parsed document with too many root fields or aliases.
    pub(super) fn check(&self, document: &ExecutableDocument) -> Result<(), AppError> {
        let mut aliases = 0;
        for (_, operation) in document.operations.iter() {
            let mut root_fields = 0;
            count(
                document,
                &operation.node.selection_set.node,
                0,
                &mut |_| {
                    root_fields += 1;
                },
                false,
            );
            if root_fields > self.max_root_fields {
                return Err(AppError::QueryTooComplex(format!(
                    "an operation may have at most {} root fields",
                    self.max_root_fields
                )));
            }
            count(
                document,
                &operation.node.selection_set.node,
                0,
                &mut |aliased| {
                    aliases += usize::from(aliased);
                },
                true,
            );
        }
        if aliases > self.max_aliases {
            return Err(AppError::QueryTooComplex(format!(
                "a document may have at most {} aliases",
                self.max_aliases
            )));
        }
        Ok(())
    }
}

/// Calls `field(aliased)` for each field of `set` (through fragments), and of its sub-selections
/// when `deep`.
fn count(
    document: &ExecutableDocument,
    set: &SelectionSet,
    spread_depth: usize,
    field: &mut dyn FnMut(bool),
    deep: bool,
) {
    if spread_depth > MAX_SPREAD_DEPTH {
        return;
    }
    for selection in &set.items {
        match &selection.node {
            Selection::Field(node) => {
                field(node.node.alias.is_some());
                if deep {
                    count(
                        document,
                        &node.node.selection_set.node,
                        spread_depth,
                        field,
                        deep,
                    );
                }
            }
            Selection::InlineFragment(fragment) => {
                let set = &fragment.node.selection_set.node;
                count(document, set, spread_depth + 1, field, deep);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    let set = &fragment.node.selection_set.node;
                    count(document, set, spread_depth + 1, field, deep);
                }
            }
        }
    }
}
