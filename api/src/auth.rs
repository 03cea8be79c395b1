//! Authentication and authorization: tokens, password hashes, the viewer of a request, roles and
//! the guards that protect fields.

pub mod guards;
pub mod jwt;
pub mod legacy_hash;
pub mod login;
pub mod password;
pub mod sessions;
pub mod viewer;

pub use guards::{NotebookGuard, RoleGuard};
pub use jwt::{JwtKeys, TokenType};
pub use viewer::{RequestAuth, Viewer};

/// Dashboard roles, ordered: every role can do what the roles below it can. One type for the
/// database, tokens, GraphQL and the CLI.
pub use entity::enums::Role;
