//! Who a student is. The extensions send a raw student id and a notebook's public id (telemetry,
//! Socket.IO, the old REST routes, GraphQL's student fields); every one of those entry points
//! asks this module, which bounds both, finds the registered notebook and replaces the raw id
//! by its pseudonym before anything else sees it. The id bounds live here too.

use sea_orm::DatabaseConnection;

use crate::{
    error::{AppError, AppResult},
    pseudonym::Pseudonymizer,
    services::notebooks::NotebookIds,
    validation::bounded,
};

/// Longest raw student id (JupyterHub names, UUIDs, university numbers).
pub const MAX_USER_ID_LEN: usize = 256;
/// Longest notebook id (`unianalytics_notebook_id`): what an upload registers, so no longer id
/// can name a notebook.
pub const MAX_NOTEBOOK_ID_LEN: usize = 128;
/// Longest cell, original-cell or update id.
pub const MAX_CELL_ID_LEN: usize = 128;

/// A notebook as the services address it: its row id for SQL, its public id for topics and
/// presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookRef {
    pub row_id: i64,
    pub public_id: String,
}

/// A student of a registered notebook, by pseudonym (the raw id is not kept, so `Debug` is
/// safe).
#[derive(Debug, Clone)]
pub struct StudentRef {
    pub notebook: NotebookRef,
    pub pseudonym: String,
}

/// `BAD_USER_INPUT` for an empty or over-long raw student id.
pub fn check_user_id(raw_user_id: &str) -> AppResult<()> {
    bounded("userId", raw_user_id, MAX_USER_ID_LEN)
}

/// `BAD_USER_INPUT` for an empty or over-long notebook id.
pub fn check_notebook_id(public_id: &str) -> AppResult<()> {
    bounded("notebookId", public_id, MAX_NOTEBOOK_ID_LEN)
}

/// `BAD_USER_INPUT` for an empty or over-long cell id, named `field`.
pub fn check_cell_id(field: &str, cell_id: &str) -> AppResult<()> {
    bounded(field, cell_id, MAX_CELL_ID_LEN)
}

/// The narrow handle identity resolution needs: the database with its cache of notebook keys,
/// and the pseudonymizer.
#[derive(Clone)]
pub struct Identity {
    db: DatabaseConnection,
    notebooks: NotebookIds,
    pseudonyms: Pseudonymizer,
}

impl Identity {
    pub fn new(db: DatabaseConnection, notebooks: NotebookIds, pseudonyms: Pseudonymizer) -> Self {
        Self {
            db,
            notebooks,
            pseudonyms,
        }
    }

    /// The pseudonym of a bounded raw student id.
    pub fn pseudonym(&self, raw_user_id: &str) -> AppResult<String> {
        check_user_id(raw_user_id)?;
        Ok(self.pseudonyms.pseudonymize(raw_user_id))
    }

    /// A bounded, registered notebook (`NOT_FOUND` when it is not registered).
    pub async fn notebook(&self, public_id: &str) -> AppResult<NotebookRef> {
        check_notebook_id(public_id)?;
        let row_id = self.notebooks.resolve(&self.db, public_id).await?;
        Ok(NotebookRef {
            row_id,
            public_id: public_id.to_owned(),
        })
    }

    /// A student of a registered notebook that takes events: `NOTEBOOK_ARCHIVED` for an
    /// archived one (its dashboards stay readable; the cached state keeps this query-free).
    pub async fn recording_student(
        &self,
        public_id: &str,
        raw_user_id: &str,
    ) -> AppResult<StudentRef> {
        check_user_id(raw_user_id)?;
        check_notebook_id(public_id)?;
        // One lookup gives the key and the archive state (not a second one for the key).
        let known = self.notebooks.known(&self.db, public_id).await?;
        if known.archived {
            return Err(AppError::NotebookArchived);
        }
        Ok(StudentRef {
            notebook: NotebookRef {
                row_id: known.row_id,
                public_id: public_id.to_owned(),
            },
            pseudonym: self.pseudonyms.pseudonymize(raw_user_id),
        })
    }

    /// A student of a registered notebook. The order is fixed, so every transport answers the
    /// same: the student id's bound, then the notebook's, then the lookup.
    pub async fn student(&self, public_id: &str, raw_user_id: &str) -> AppResult<StudentRef> {
        check_user_id(raw_user_id)?;
        let notebook = self.notebook(public_id).await?;
        Ok(StudentRef {
            notebook,
            pseudonym: self.pseudonyms.pseudonymize(raw_user_id),
        })
    }
}
