//! A list of scalars answered as one value.
//!
//! When a schema has extensions, async-graphql resolves each item of a `Vec` as a field of its
//! own: a future, a path node, two type names formatted and the extensions' `resolve` chain,
//! per item. A page of `focusDurationsPerCell` holds tens of thousands of durations, and that
//! per-item work took longer than reading them from the database. A scalar item has no
//! selection and cannot fail, so the list's value is built directly; its type in the schema is
//! the `Vec`'s, so clients see no difference.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, OutputType, Positioned, ScalarType, ServerResult, Value,
    parser::types::Field, registry::Registry,
};

/// `[T!]!` in the schema, as `Vec<T>` is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalarList<T>(pub Vec<T>);

impl<T> From<Vec<T>> for ScalarList<T> {
    fn from(items: Vec<T>) -> Self {
        Self(items)
    }
}

impl<T: OutputType + ScalarType> OutputType for ScalarList<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        _ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        Ok(Value::List(
            self.0.iter().map(ScalarType::to_value).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::ScalarList;

    struct Query;

    #[Object]
    impl Query {
        async fn listed(&self) -> Vec<f64> {
            vec![1.5, 2.0, 0.25]
        }

        async fn scalar_list(&self) -> ScalarList<f64> {
            vec![1.5, 2.0, 0.25].into()
        }
    }

    #[tokio::test]
    async fn a_scalar_list_has_the_vecs_type_and_answer() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let sdl = schema.sdl();
        assert!(sdl.contains("listed: [Float!]!"), "{sdl}");
        assert!(sdl.contains("scalarList: [Float!]!"), "{sdl}");
        let response = schema.execute("{ listed scalarList }").await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = response.data.into_json().expect("the data is JSON");
        assert_eq!(data["listed"], serde_json::json!([1.5, 2.0, 0.25]));
        assert_eq!(data["scalarList"], data["listed"]);
    }
}
