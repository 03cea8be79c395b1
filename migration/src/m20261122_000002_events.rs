//! One table per event kind (no joined-inheritance join as in the old schema), each with the
//! indexes the dashboard queries start from: notebook + time, notebook + cell + time and
//! notebook + user + time.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_users_and_notebooks::Notebooks;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Common {
    Id,
    EventId,
    NotebookId,
    UserId,
    CellId,
    OrigCellId,
    Time,
    ClickType,
    ClickDuration,
}

#[derive(DeriveIden)]
enum CodeExecutions {
    Table,
    TStart,
    TFinish,
    Status,
    CellInput,
    CellOutputModel,
    CellOutputLength,
    LanguageMimetype,
}

#[derive(DeriveIden)]
enum MarkdownExecutions {
    Table,
    CellContent,
}

#[derive(DeriveIden)]
enum CellFocusEvents {
    Table,
}

#[derive(DeriveIden)]
enum NotebookFocusEvents {
    Table,
}

#[derive(DeriveIden)]
enum CellAlterations {
    Table,
    AlterationType,
}

#[derive(DeriveIden)]
enum PendingUpdateInteractions {
    Table,
    UpdateId,
    Action,
    Sender,
    SenderType,
}

#[derive(DeriveIden)]
enum DashboardInteractions {
    Table,
    SignalOrigin,
}

/// How one event table differs from the others.
struct EventTable {
    table: DynIden,
    time: DynIden,
    /// The cell column the per-cell aggregates group by, if the kind has one.
    cell: Option<DynIden>,
    columns: Vec<ColumnDef>,
    /// Dashboard interactions may name no notebook.
    notebook_optional: bool,
}

fn event_tables() -> Vec<EventTable> {
    let cell_ids = || {
        vec![
            string_len(Common::CellId, 128),
            string_len(Common::OrigCellId, 128),
        ]
    };
    vec![
        EventTable {
            table: CodeExecutions::Table.into_iden(),
            time: CodeExecutions::TFinish.into_iden(),
            cell: Some(Common::OrigCellId.into_iden()),
            columns: [
                cell_ids(),
                vec![
                    timestamp_with_time_zone(CodeExecutions::TStart),
                    timestamp_with_time_zone(CodeExecutions::TFinish),
                    string_len(CodeExecutions::Status, 8),
                    text(CodeExecutions::CellInput),
                    json_binary(CodeExecutions::CellOutputModel),
                    integer(CodeExecutions::CellOutputLength),
                    string_len(CodeExecutions::LanguageMimetype, 128),
                ],
            ]
            .concat(),
            notebook_optional: false,
        },
        EventTable {
            table: MarkdownExecutions::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: Some(Common::OrigCellId.into_iden()),
            columns: [
                cell_ids(),
                vec![
                    timestamp_with_time_zone(Common::Time),
                    text(MarkdownExecutions::CellContent),
                ],
            ]
            .concat(),
            notebook_optional: false,
        },
        EventTable {
            table: CellFocusEvents::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: Some(Common::OrigCellId.into_iden()),
            columns: [
                cell_ids(),
                vec![
                    string_len(Common::ClickType, 8),
                    timestamp_with_time_zone(Common::Time),
                    double_null(Common::ClickDuration),
                ],
            ]
            .concat(),
            notebook_optional: false,
        },
        EventTable {
            table: NotebookFocusEvents::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: None,
            columns: vec![
                string_len(Common::ClickType, 8),
                timestamp_with_time_zone(Common::Time),
                double_null(Common::ClickDuration),
            ],
            notebook_optional: false,
        },
        EventTable {
            table: CellAlterations::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: Some(Common::CellId.into_iden()),
            columns: vec![
                string_len(Common::CellId, 128),
                string_len(CellAlterations::AlterationType, 8),
                timestamp_with_time_zone(Common::Time),
            ],
            notebook_optional: false,
        },
        EventTable {
            table: PendingUpdateInteractions::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: Some(Common::CellId.into_iden()),
            columns: vec![
                string_len_null(Common::CellId, 128),
                string_len_null(PendingUpdateInteractions::UpdateId, 128),
                string_len(PendingUpdateInteractions::Action, 16),
                string_len_null(PendingUpdateInteractions::Sender, 128),
                string_len_null(PendingUpdateInteractions::SenderType, 16),
                timestamp_with_time_zone(Common::Time),
            ],
            notebook_optional: false,
        },
        EventTable {
            table: DashboardInteractions::Table.into_iden(),
            time: Common::Time.into_iden(),
            cell: None,
            columns: vec![
                string_len(Common::ClickType, 8),
                string_len(DashboardInteractions::SignalOrigin, 90),
                timestamp_with_time_zone(Common::Time),
            ],
            notebook_optional: true,
        },
    ]
}

fn create_statement(spec: &EventTable) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table(spec.table.clone())
        .col(big_pk_auto(Common::Id))
        .col(uuid_null(Common::EventId).unique_key())
        .col(char_len(Common::UserId, 64));
    if spec.notebook_optional {
        table.col(big_integer_null(Common::NotebookId));
    } else {
        table.col(big_integer(Common::NotebookId));
    }
    for column in &spec.columns {
        table.col(column.clone());
    }
    table.foreign_key(
        ForeignKey::create()
            .from(spec.table.clone(), Common::NotebookId)
            .to(Notebooks::Table, Notebooks::Id)
            .on_delete(ForeignKeyAction::Cascade),
    );
    table.to_owned()
}

fn index_statements(spec: &EventTable) -> Vec<IndexCreateStatement> {
    let name = spec.table.to_string();
    let mut keys: Vec<(&str, Vec<DynIden>)> = vec![
        ("time", vec![spec.time.clone()]),
        ("user", vec![Common::UserId.into_iden(), spec.time.clone()]),
    ];
    if let Some(cell) = &spec.cell {
        keys.push(("cell", vec![cell.clone(), spec.time.clone()]));
    }
    keys.into_iter()
        .map(|(suffix, columns)| {
            let mut index = Index::create();
            index
                .name(format!("idx_{name}_notebook_{suffix}"))
                .table(spec.table.clone())
                .col(Common::NotebookId);
            for column in columns {
                index.col(column);
            }
            index.to_owned()
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for spec in event_tables() {
            manager.create_table(create_statement(&spec)).await?;
            for index in index_statements(&spec) {
                manager.create_index(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for spec in event_tables().into_iter().rev() {
            manager
                .drop_table(Table::drop().table(spec.table).to_owned())
                .await?;
        }
        Ok(())
    }
}
