//! The live features over GraphQL (were Socket.IO): the students' and teachers' session
//! subscriptions, pushes, chat, locations and teammates. Students call with their raw id and no
//! token, as the telemetry extension does; teachers need a token authorized for the notebook.

pub mod events;

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, future::ready, stream};

use self::events::{ChatMessageView, DashboardEvent, PushedUpdateView, StudentEvent};
use super::context::{app, request_auth};
use crate::{
    broker::{Topic, live::PushedCell, presence::Location},
    error::{AppError, AppResult},
    graphql::guards::NotebookGuard,
    services::live::{LiveNotebook, MAX_TEXT_BYTES, NewPush, Session, SessionKind},
    state::AppState,
    validation::bounded,
};

const MAX_USER_ID_LEN: usize = 256;

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

async fn notebook(app: &AppState, id: &str) -> AppResult<LiveNotebook> {
    let row_id = app.notebook_ids.resolve(&app.db, id).await?;
    Ok(LiveNotebook {
        row_id,
        public_id: id.to_owned(),
    })
}

/// A student's pseudonym from their raw id (never kept).
fn student(app: &AppState, user_id: &str) -> AppResult<String> {
    bounded("userId", user_id, MAX_USER_ID_LEN)?;
    Ok(app.pseudonyms.pseudonymize(user_id))
}

/// Bounds are checked by the service (`NewPush::validate`).
fn cell(input: PushedCellInput) -> PushedCell {
    PushedCell {
        cell_id: input.cell_id,
        cell_type: input.cell_type,
        source: input.source,
    }
}

fn text(field: &str, value: &str) -> AppResult<()> {
    bounded(field, value, MAX_TEXT_BYTES)
}

fn lease(app: &AppState) -> Duration {
    Duration::from_secs(app.config.limits.presence_lease_secs)
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
        let notebook = notebook(app, &notebook_id).await?;
        let me = student(app, &user_id)?;
        // Subscribe before joining, so nothing sent in between is missed.
        let events = app
            .broker
            .subscribe(&Topic::students(&notebook_id))
            .await
            .map_err(|error| AppError::internal(anyhow::Error::new(error)))?;
        let session = Session::open(
            &app.live(),
            notebook,
            SessionKind::Student,
            me.clone(),
            lease(app),
        )
        .await?;
        Ok(events.filter_map(move |event| {
            let _open = &session;
            ready(StudentEvent::for_student(event, &me))
        }))
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
        let notebook = notebook(app, &notebook_id).await?;
        let subscribe = |topic: Topic| async move {
            app.broker
                .subscribe(&topic)
                .await
                .map_err(|error| AppError::internal(anyhow::Error::new(error)))
        };
        let refresh = subscribe(Topic::refresh(&notebook_id)).await?;
        let teachers = subscribe(Topic::teachers(&notebook_id)).await?;
        let session = Session::open(
            &app.live(),
            notebook,
            SessionKind::Teacher,
            teacher.username_hash.clone(),
            lease(app),
        )
        .await?;
        Ok(stream::select(refresh, teachers).filter_map(move |event| {
            let _open = &session;
            ready(DashboardEvent::for_teachers(event))
        }))
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
        push.validate()?;
        let notebook = notebook(app, &notebook_id).await?;
        let update = app
            .live()
            .push_update(&notebook, &teacher.username_hash, push, to_students)
            .await?;
        Ok(update.into())
    }

    /// A student shares a cell with their connected teammates; returns how many received it.
    async fn share_cell_with_teammates(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
        cell: PushedCellInput,
        hint: Option<String>,
    ) -> async_graphql::Result<i32> {
        let app = app(ctx)?;
        let me = student(app, &user_id)?;
        let push = NewPush {
            update_id: None,
            cells: vec![self::cell(cell)],
            hint,
        };
        push.validate()?;
        let notebook = notebook(app, &notebook_id).await?;
        let count = app
            .live()
            .share_with_teammates(&notebook, &me, push)
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
        self::text("text", &text)?;
        notebook(app, &notebook_id).await?;
        let message = app
            .live()
            .chat(&notebook_id, &teacher.username_hash, Some(student), text)
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
        let me = student(app, &user_id)?;
        self::text("text", &text)?;
        notebook(app, &notebook_id).await?;
        let message = app.live().chat(&notebook_id, &me, None, text).await?;
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
        let me = student(app, &user_id)?;
        bounded("cellId", &cell_id, 128)?;
        let notebook = notebook(app, &notebook_id).await?;
        let location = Location {
            cell_id,
            cell_index,
            updated_at: Utc::now(),
        };
        app.live()
            .set_location(&notebook, &me, Some(location))
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
        let me = student(app, &user_id)?;
        let notebook = notebook(app, &notebook_id).await?;
        app.live().set_location(&notebook, &me, None).await?;
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
        let me = student(app, &user_id)?;
        let notebook = notebook(app, &notebook_id).await?;
        Ok(app.live().connected_teammates(&notebook, &me).await?)
    }

    /// Where the student's connected teammates are (locations fresher than 5 minutes).
    async fn my_teammate_locations(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<Vec<TeammateLocation>> {
        let app = app(ctx)?;
        let me = student(app, &user_id)?;
        let notebook = notebook(app, &notebook_id).await?;
        let list = app.live().teammate_locations(&notebook, &me).await?;
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
