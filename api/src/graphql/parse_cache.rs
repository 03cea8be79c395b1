//! Parsed documents cached by their text. The telemetry extension sends the same few mutation
//! texts over and over with new variables; parsing each again cost more than the REST twin's
//! whole request. The `Engine` parses through it, after the size limit and before the others.
//!
//! Bounded twice: only small documents are kept, and the least recently used one is dropped
//! when the cache is full, so a client sending endless distinct queries only churns the cache.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::parser::types::ExecutableDocument;
use lru::LruCache;

/// Documents kept.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(256).unwrap();
/// Longest document text kept (the extension's mutations are a few hundred bytes).
const MAX_CACHED_BYTES: usize = 4096;

type Documents = Arc<Mutex<LruCache<String, ExecutableDocument>>>;

#[derive(Clone)]
pub struct ParseCache {
    documents: Documents,
}

impl Default for ParseCache {
    fn default() -> Self {
        Self {
            documents: Arc::new(Mutex::new(LruCache::new(CAPACITY))),
        }
    }
}

impl ParseCache {
    /// The document of `query`, from the cache or parsed (and kept, when small). The HTTP edge
    /// asks first, to learn which variables the operation declares, and hands it to the
    /// `Engine`.
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        let cacheable = query.len() <= MAX_CACHED_BYTES;
        if cacheable
            && let Ok(mut documents) = self.documents.lock()
            && let Some(document) = documents.get(query)
        {
            return Ok(document.clone());
        }
        let document = async_graphql::parser::parse_query(query)?;
        if cacheable && let Ok(mut documents) = self.documents.lock() {
            documents.put(query.to_owned(), document.clone());
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, Variables};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn value(&self, n: i32) -> i32 {
            n
        }
    }

    #[tokio::test]
    async fn a_repeated_document_is_parsed_once_and_answers_with_its_own_variables() {
        let cache = ParseCache::default();
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let query = "query($n: Int!) { value(n: $n) }";
        for n in [1, 2] {
            let mut request = async_graphql::Request::new(query)
                .variables(Variables::from_json(serde_json::json!({ "n": n })));
            request.set_parsed_query(cache.parse(query).unwrap());
            let response = schema.execute(request).await;
            assert_eq!(
                response.data.into_json().unwrap(),
                serde_json::json!({ "value": n })
            );
        }
        let documents = cache.documents.lock().unwrap();
        assert_eq!(documents.len(), 1);
        assert!(documents.contains(query));
    }
}
