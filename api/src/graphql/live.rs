//! The live features over GraphQL (were Socket.IO): the students' and teachers' session
//! subscriptions, pushes, chat, locations and teammates. Students call with their raw id and no
//! token, as the telemetry extension does; teachers need a token authorized for the notebook.

pub mod events;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, future::ready};

use self::events::{ChatMessageView, DashboardEvent, PushedUpdateView, StudentEvent};
use super::context::{app, request_auth};
use crate::{
    broker::{live::PushedCell, presence::Location},
    graphql::guards::NotebookGuard,
    services::live::{LiveClient, NewPush},
};

#[derive(Default)]
pub struct LiveQuery;
#[derive(Default)]
pub struct LiveMutation;
#[derive(Default)]
pub struct LiveSubscription;

/// A cell to push: its original id, type and source.
#[derive(InputObject)]
pub struct PushedCellInput {
    pub cell_id: String,
    /// `code`, `markdown` or `raw`.
    pub cell_type: String,
    pub source: String,
}

/// Where a connected teammate is.
#[derive(SimpleObject)]
pub struct TeammateLocation {
    pub user: String,
    pub cell_id: String,
    pub cell_index: i32,
    pub updated_at: DateTime<Utc>,
}

/// Bounds are checked by the service (`NewPush::validate`).
fn cell(input: PushedCellInput) -> PushedCell {
    PushedCell {
        cell_id: input.cell_id,
        cell_type: input.cell_type,
        source: input.source,
    }
}

#[Subscription]
impl LiveSubscription {
    /// A student's live session (no token; `userId` is the raw id, pseudonymized on arrival).
    /// While it is open the student counts as connected to the notebook. Delivers pushed
    /// updates addressed to them, chat from a teacher, and their teammates' connections and
    /// locations (members of the same groups only). `NOT_FOUND` for an unknown notebook.
    async fn student_session(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<impl Stream<Item = StudentEvent> + use<>> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        let events = app
            .live()
            .open_student(student, LiveClient::GraphQl)
            .await?;
        Ok(events.filter_map(|event| ready(StudentEvent::from_event(event))))
    }

    /// A teacher's dashboard session (token authorized for the notebook): refresh signals after
    /// new events, students connecting and disconnecting, and students' chat messages.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn dashboard_session(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = DashboardEvent> + use<>> {
        let app = app(ctx)?;
        let teacher = request_auth(ctx)?.current_user(&app.db).await?;
        let notebook = app.identity.notebook(&notebook_id).await?;
        let events = app
            .live()
            .open_teacher(notebook, Some(teacher.username_hash.clone()))
            .await?;
        Ok(events.filter_map(|event| ready(DashboardEvent::from_event(event))))
    }
}

#[Object]
impl LiveMutation {
    /// Pushes cells to every connected student of the notebook, or to `toStudents`
    /// (pseudonyms). A recipient who had postponed (`UPDATE_LATER`) another update of one of
    /// these cells gets one `OVERRIDE` interaction recorded for it, exactly once.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn push_update(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        cells: Vec<PushedCellInput>,
        to_students: Option<Vec<String>>,
        hint: Option<String>,
    ) -> async_graphql::Result<PushedUpdateView> {
        let app = app(ctx)?;
        let teacher = request_auth(ctx)?.current_user(&app.db).await?;
        let push = NewPush {
            update_id: None,
            cells: cells.into_iter().map(cell).collect(),
            hint,
        };
        let notebook = app.identity.notebook(&notebook_id).await?;
        let update = app
            .live()
            .push_update(&notebook, &teacher.username_hash, push, to_students)
            .await?;
        Ok(update.into())
    }

    /// A student shares a cell with their connected teammates; returns how many received it.
    /// A teammate who had postponed (`UPDATE_LATER`) another update of this cell gets one
    /// `OVERRIDE` recorded for it (sender type `teammate`), as a teacher's push does: the share
    /// replaces it in their extension. A share is not a teacher update in `pendingUpdateStats`.
    async fn share_cell_with_teammates(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
        cell: PushedCellInput,
        hint: Option<String>,
    ) -> async_graphql::Result<i32> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        let push = NewPush {
            update_id: None,
            cells: vec![self::cell(cell)],
            hint,
        };
        let count = app
            .live()
            .share_with_teammates(&student.notebook, &student.pseudonym, push)
            .await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }

    /// A teacher writes to one student (pseudonym) of the notebook.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn send_chat_message_to_student(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        student: String,
        text: String,
    ) -> async_graphql::Result<ChatMessageView> {
        let app = app(ctx)?;
        let teacher = request_auth(ctx)?.current_user(&app.db).await?;
        let notebook = app.identity.notebook(&notebook_id).await?;
        let message = app
            .live()
            .chat(&notebook, &teacher.username_hash, Some(student), text)
            .await?;
        Ok(message.into())
    }

    /// A student writes to the notebook's teachers.
    async fn send_chat_message_to_teachers(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
        text: String,
    ) -> async_graphql::Result<ChatMessageView> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        let message = app
            .live()
            .chat(&student.notebook, &student.pseudonym, None, text)
            .await?;
        Ok(message.into())
    }

    /// Where the student is (their teammates are told); kept in the presence store with a
    /// freshness limit (5 minutes by default), never in SQL.
    async fn update_location(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
        cell_id: String,
        cell_index: i32,
    ) -> async_graphql::Result<bool> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        let location = Location {
            cell_id,
            cell_index,
            updated_at: Utc::now(),
        };
        app.live()
            .set_location(&student.notebook, &student.pseudonym, Some(location))
            .await?;
        Ok(true)
    }

    /// Forgets where the student is (their teammates are told).
    async fn clear_location(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<bool> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        app.live()
            .set_location(&student.notebook, &student.pseudonym, None)
            .await?;
        Ok(true)
    }
}

#[Object]
impl LiveQuery {
    /// The student's teammates (pseudonyms) connected right now.
    async fn my_connected_teammates(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<Vec<String>> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        Ok(app
            .live()
            .connected_teammates(&student.notebook, &student.pseudonym)
            .await?)
    }

    /// Where the student's connected teammates are (locations fresher than 5 minutes).
    async fn my_teammate_locations(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<Vec<TeammateLocation>> {
        let app = app(ctx)?;
        let student = app.identity.student(&notebook_id, &user_id).await?;
        let list = app
            .live()
            .teammate_locations(&student.notebook, &student.pseudonym)
            .await?;
        Ok(list
            .into_iter()
            .map(|(user, location)| TeammateLocation {
                user,
                cell_id: location.cell_id,
                cell_index: location.cell_index,
                updated_at: location.updated_at,
            })
            .collect())
    }
}
