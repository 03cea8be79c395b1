//! Authentication and authorization: tokens, password hashes, the viewer of a request and roles.
//! The guards that protect GraphQL fields live with the schema (`graphql::guards`).

pub mod accounts;
pub mod jwt;
pub mod legacy_hash;
pub mod login;
pub mod password;
pub mod sessions;
pub mod viewer;

pub use accounts::Accounts;
pub use jwt::{JwtKeys, TokenType};
pub use viewer::{RequestAuth, Viewer};

/// Dashboard roles, ordered: every role can do what the roles below it can. One type for the
/// database, tokens, GraphQL and the CLI.
pub use entity::enums::Role;
