//! Enumerations stored as their plain words (`ON`, `ADD`, `UPDATE_LATER`, …), the same words the
//! old backend used, so exports and imported data read the same.

use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "user")]
    User,
    #[sea_orm(string_value = "superuser")]
    Superuser,
    #[sea_orm(string_value = "admin")]
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum ExecutionStatus {
    #[sea_orm(string_value = "ok")]
    Ok,
    #[sea_orm(string_value = "error")]
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum ClickType {
    #[sea_orm(string_value = "ON")]
    On,
    #[sea_orm(string_value = "OFF")]
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum AlterationType {
    #[sea_orm(string_value = "ADD")]
    Add,
    #[sea_orm(string_value = "REMOVE")]
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum PendingUpdateAction {
    #[sea_orm(string_value = "UPDATE_NOW")]
    UpdateNow,
    #[sea_orm(string_value = "UPDATE_LATER")]
    UpdateLater,
    #[sea_orm(string_value = "UPDATE_ALL")]
    UpdateAll,
    #[sea_orm(string_value = "DELETE_ALL")]
    DeleteAll,
    #[sea_orm(string_value = "APPLY_SINGLE")]
    ApplySingle,
    #[sea_orm(string_value = "REMOVE_SINGLE")]
    RemoveSingle,
    /// Written by the server when a push replaces an update a student had postponed.
    #[sea_orm(string_value = "OVERRIDE")]
    Override,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum SenderType {
    #[sea_orm(string_value = "teacher")]
    Teacher,
    #[sea_orm(string_value = "teammate")]
    Teammate,
}
