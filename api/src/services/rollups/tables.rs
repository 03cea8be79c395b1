//! The event tables the rollups sum. Everything that differs per table (the watermarks, the
//! applier's and the rebuild's reads, the readers' event rows, the event counts) is indexed by
//! [`RolledTable`] or matches on it, so a new rolled-up table is a new variant here and the
//! compiler names every match that must learn it.

use crate::services::catalogue::{EventKind, EventTable};

/// An event table the rollups sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolledTable {
    Executions,
    Focus,
    Markdown,
}

impl RolledTable {
    /// Every rolled table, at its [`index`](Self::index): the order a rebuild and the applier
    /// read them in, and the order of the event counts' columns.
    pub const ALL: [Self; 3] = [Self::Executions, Self::Focus, Self::Markdown];

    /// How many tables are rolled up: the length of every array indexed by [`Self::index`].
    pub const COUNT: usize = Self::ALL.len();

    /// The table's place in [`Self::ALL`] and in the arrays of per-table values.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The kind of event the table stores.
    pub const fn kind(self) -> EventKind {
        match self {
            Self::Executions => EventKind::CodeExecution,
            Self::Focus => EventKind::CellFocus,
            Self::Markdown => EventKind::MarkdownExecution,
        }
    }

    /// The catalogue's entry for the table.
    pub const fn events(self) -> &'static EventTable {
        self.kind().table()
    }

    /// The SQL table, also the name its watermark is stored under.
    pub const fn name(self) -> &'static str {
        self.events().name
    }

    /// The column a row is dated by (and bucketed by in the rollups).
    pub const fn time(self) -> &'static str {
        self.events().time
    }

    /// The short name a statement gives the table's own column (`executions`, `focus`,
    /// `markdown`): the newest ids, the event counts.
    pub const fn alias(self) -> &'static str {
        match self {
            Self::Executions => "executions",
            Self::Focus => "focus",
            Self::Markdown => "markdown",
        }
    }

    /// The rolled table that stores events of `kind`, if the rollups sum them.
    pub fn of_kind(kind: EventKind) -> Option<Self> {
        Self::ALL.into_iter().find(|table| table.kind() == kind)
    }

    /// The rolled table named `name` (a watermark row's `event_table`).
    pub fn of_table(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|table| table.name() == name)
    }
}

// Checked at compile time: `ALL` holds each table at its index, and its last is the last
// variant, so it holds every table and each array of `COUNT` values indexed by `index` has a
// place for each. A new variant fails the match until it is the last in `ALL` and named here.
const _: () = {
    let mut index = 0;
    while index < RolledTable::COUNT {
        assert!(RolledTable::ALL[index].index() == index);
        index += 1;
    }
    match RolledTable::ALL[RolledTable::COUNT - 1] {
        RolledTable::Markdown => {}
        RolledTable::Executions | RolledTable::Focus => {
            panic!("RolledTable::ALL must end with the last variant")
        }
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_is_found_by_its_name_and_its_kind() {
        for table in RolledTable::ALL {
            assert_eq!(RolledTable::of_table(table.name()), Some(table));
            assert_eq!(RolledTable::of_kind(table.kind()), Some(table));
        }
        assert_eq!(RolledTable::of_table("notebook_focus_events"), None);
        assert_eq!(RolledTable::of_kind(EventKind::NotebookFocus), None);
    }

    #[test]
    fn the_names_and_times_are_the_tables_the_rollups_have_always_read() {
        let named = RolledTable::ALL.map(|table| (table.name(), table.time()));
        assert_eq!(
            named,
            [
                ("code_executions", "t_finish"),
                ("cell_focus_events", "time"),
                ("markdown_executions", "time"),
            ]
        );
    }
}
