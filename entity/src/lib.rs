//! SeaORM entities: the rows the server stores, one module per table.
//!
//! These are storage types only. GraphQL types live in `api::graphql`, so the schema can change
//! without touching storage and the other way round.

pub mod audit_log;
pub mod cell_alteration;
pub mod cell_focus_event;
pub mod code_execution;
pub mod dashboard_interaction;
pub mod dashboard_user;
pub mod enums;
pub mod group_member;
pub mod markdown_execution;
pub mod notebook;
pub mod notebook_authorization;
pub mod notebook_focus_event;
pub mod notebook_version;
pub mod pending_update_interaction;
pub mod pushed_update;
pub mod refresh_token;
pub mod student_group;
