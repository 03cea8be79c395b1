//! Enumerations stored as their plain words (`ON`, `ADD`, `UPDATE_LATER`, …), the same words the
//! old backend used, so exports and imported data read the same. The serde names are the same
//! words: the old clients' JSON bodies deserialize straight into these.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Roles in increasing order of rights: a guard for a role admits every higher one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[derive(PartialOrd, Ord)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "user")]
    #[serde(rename = "user")]
    User,
    #[sea_orm(string_value = "superuser")]
    #[serde(rename = "superuser")]
    Superuser,
    #[sea_orm(string_value = "admin")]
    #[serde(rename = "admin")]
    Admin,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum ExecutionStatus {
    #[sea_orm(string_value = "ok")]
    #[serde(rename = "ok")]
    Ok,
    #[sea_orm(string_value = "error")]
    #[serde(rename = "error")]
    Error,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum ClickType {
    #[sea_orm(string_value = "ON")]
    #[serde(rename = "ON")]
    On,
    #[sea_orm(string_value = "OFF")]
    #[serde(rename = "OFF")]
    Off,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum AlterationType {
    #[sea_orm(string_value = "ADD")]
    #[serde(rename = "ADD")]
    Add,
    #[sea_orm(string_value = "REMOVE")]
    #[serde(rename = "REMOVE")]
    Remove,
}

/// An action on a pushed update: a student's answer, or `OVERRIDE`, which only the server
/// records (a newer push replaced an update the student had postponed).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PendingUpdateAction {
    #[sea_orm(string_value = "UPDATE_NOW")]
    #[serde(rename = "UPDATE_NOW")]
    UpdateNow,
    #[sea_orm(string_value = "UPDATE_LATER")]
    #[serde(rename = "UPDATE_LATER")]
    UpdateLater,
    #[sea_orm(string_value = "UPDATE_ALL")]
    #[serde(rename = "UPDATE_ALL")]
    UpdateAll,
    #[sea_orm(string_value = "DELETE_ALL")]
    #[serde(rename = "DELETE_ALL")]
    DeleteAll,
    #[sea_orm(string_value = "APPLY_SINGLE")]
    #[serde(rename = "APPLY_SINGLE")]
    ApplySingle,
    #[sea_orm(string_value = "REMOVE_SINGLE")]
    #[serde(rename = "REMOVE_SINGLE")]
    RemoveSingle,
    /// Written by the server when a push replaces an update a student had postponed.
    #[sea_orm(string_value = "OVERRIDE")]
    #[serde(rename = "OVERRIDE")]
    Override,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SenderType {
    #[sea_orm(string_value = "teacher")]
    #[serde(rename = "teacher")]
    Teacher,
    #[sea_orm(string_value = "teammate")]
    #[serde(rename = "teammate")]
    Teammate,
}
