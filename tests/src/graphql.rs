//! GraphQL responses as tests read them.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct GraphQLResponse {
    pub status: u16,
    pub body: Value,
}

impl GraphQLResponse {
    /// `data`, failing the test with the errors if there are any.
    pub fn data(&self) -> &Value {
        assert!(
            self.errors().is_empty(),
            "unexpected GraphQL errors (HTTP {}): {}",
            self.status,
            self.body
        );
        &self.body["data"]
    }

    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// `extensions.code` of the first error, failing the test if there is none.
    pub fn error_code(&self) -> String {
        let errors = self.errors();
        assert!(!errors.is_empty(), "expected an error, got {}", self.body);
        errors[0]["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned()
    }
}
