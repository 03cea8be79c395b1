//! The serde seeds of the scan: each walks its part of the body, counting into the `Budget`,
//! and keeps only what the scan returns (the parameters' text, the variables' names).

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{BodyLimits, Envelope};
use crate::error::AppError;

/// A parameter of the body as the scan saw it.
#[derive(Debug, Default)]
pub(super) enum Param {
    #[default]
    Missing,
    Null,
    Text(String),
    /// An object, with its keys.
    Map(Vec<String>),
    Other,
}

#[derive(Debug, Default)]
pub(super) struct Scanned {
    is_object: bool,
    query: Param,
    operation_name: Param,
    variables: Param,
    extensions: Param,
}

impl Scanned {
    /// The checks of GraphQL over HTTP on the parameters' types, with their messages.
    pub(super) fn into_envelope(self) -> Result<Envelope, AppError> {
        let invalid = |message: &str| Err(AppError::bad_input(message.to_owned()));
        if !self.is_object {
            return invalid("the body must be one GraphQL request object (batching is off)");
        }
        let query = match self.query {
            Param::Text(query) => query,
            Param::Missing => return invalid("a GraphQL request needs a `query`"),
            _ => return invalid("`query` must be a string"),
        };
        let operation_name = match self.operation_name {
            Param::Missing | Param::Null => None,
            Param::Text(name) => Some(name),
            _ => return invalid("`operationName` must be a string"),
        };
        let variables = match self.variables {
            Param::Missing | Param::Null => Vec::new(),
            Param::Map(names) => names,
            _ => return invalid("`variables` must be a map"),
        };
        if !matches!(
            self.extensions,
            Param::Missing | Param::Null | Param::Map(_)
        ) {
            return invalid("`extensions` must be a map");
        }
        Ok(Envelope {
            query,
            operation_name,
            variables,
        })
    }
}

/// The values counted so far, and the refusal that stopped the scan, if one did (serde's error
/// cannot carry it).
pub(super) struct Budget {
    values: usize,
    limits: BodyLimits,
    pub(super) refusal: Option<AppError>,
}

impl Budget {
    pub(super) fn new(limits: BodyLimits) -> Self {
        Self {
            values: 0,
            limits,
            refusal: None,
        }
    }

    fn count<E: de::Error>(&mut self) -> Result<(), E> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(self.refuse(AppError::PayloadTooLarge(format!(
                "a GraphQL request may hold at most {} JSON values (GRAPHQL_MAX_BODY_VALUES); \
                 split it",
                self.limits.max_values
            ))));
        }
        Ok(())
    }

    /// Counts an array or object at `depth`.
    fn enter<E: de::Error>(&mut self, depth: usize) -> Result<(), E> {
        self.count()?;
        if depth > self.limits.max_depth {
            return Err(self.refuse(AppError::bad_input(format!(
                "a GraphQL request may nest arrays and objects at most {} deep \
                 (GRAPHQL_MAX_BODY_DEPTH)",
                self.limits.max_depth
            ))));
        }
        Ok(())
    }

    fn refuse<E: de::Error>(&mut self, refusal: AppError) -> E {
        self.refusal = Some(refusal);
        E::custom("refused by the body limits")
    }
}

/// Any value at `depth`: counted, never kept (like `IgnoredAny`).
struct ValueSeed<'b> {
    budget: &'b mut Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.budget.count()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.budget.enter(self.depth)?;
        let depth = self.depth + 1;
        while seq
            .next_element_seed(ValueSeed {
                budget: &mut *self.budget,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.budget.enter(self.depth)?;
        let depth = self.depth + 1;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(ValueSeed {
                budget: &mut *self.budget,
                depth,
            })?;
        }
        Ok(())
    }
}

/// A parameter's value (depth 2): counted like any value, its text or keys kept.
struct ParamSeed<'b> {
    budget: &'b mut Budget,
}

impl<'de> DeserializeSeed<'de> for ParamSeed<'_> {
    type Value = Param;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Param, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamSeed<'_> {
    type Value = Param;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a GraphQL request parameter")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Other)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Text(text.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Param, E> {
        self.budget.count().map(|()| Param::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Param, A::Error> {
        let value = ValueSeed {
            budget: self.budget,
            depth: 2,
        };
        value.visit_seq(seq).map(|()| Param::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Param, A::Error> {
        self.budget.enter(2)?;
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            keys.push(key);
            map.next_value_seed(ValueSeed {
                budget: &mut *self.budget,
                depth: 3,
            })?;
        }
        Ok(Param::Map(keys))
    }
}

/// The whole body (depth 1).
pub(super) struct BodySeed<'b> {
    pub(super) budget: &'b mut Budget,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = Scanned;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scanned, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl BodySeed<'_> {
    /// Anything but an object: scanned all the same, so that JSON that is not a request is
    /// told apart from text that is not JSON.
    fn not_object<E: de::Error>(self) -> Result<Scanned, E> {
        self.budget.count().map(|()| Scanned::default())
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = Scanned;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a GraphQL request object")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scanned, E> {
        self.not_object()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scanned, A::Error> {
        let value = ValueSeed {
            budget: self.budget,
            depth: 1,
        };
        value.visit_seq(seq).map(|()| Scanned::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        self.budget.enter(1)?;
        let mut scanned = Scanned {
            is_object: true,
            ..Scanned::default()
        };
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "query" => &mut scanned.query,
                "operationName" => &mut scanned.operation_name,
                "variables" => &mut scanned.variables,
                "extensions" => &mut scanned.extensions,
                _ => {
                    map.next_value_seed(ValueSeed {
                        budget: &mut *self.budget,
                        depth: 2,
                    })?;
                    continue;
                }
            };
            *slot = map.next_value_seed(ParamSeed {
                budget: &mut *self.budget,
            })?;
        }
        Ok(scanned)
    }
}
