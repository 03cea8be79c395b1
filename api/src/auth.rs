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

/// Dashboard roles, ordered: every role can do what the roles below it can.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Superuser,
    Admin,
}

impl From<entity::enums::Role> for Role {
    fn from(role: entity::enums::Role) -> Self {
        match role {
            entity::enums::Role::User => Self::User,
            entity::enums::Role::Superuser => Self::Superuser,
            entity::enums::Role::Admin => Self::Admin,
        }
    }
}

impl From<Role> for entity::enums::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::User => Self::User,
            Role::Superuser => Self::Superuser,
            Role::Admin => Self::Admin,
        }
    }
}
