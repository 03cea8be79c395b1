//! Student groups over GraphQL. Teachers authorized for a notebook create, fill, rename and
//! delete its groups, import a whole roster at once, and list them; students ask, with no token
//! like the telemetry extension, for their groups and teammates. Raw student ids are
//! pseudonymized on arrival; only pseudonyms are ever returned.
//!
//! Members are resolved through a `DataLoader` created by each resolver that returns groups,
//! after its guard passed and only for the groups it returns: listing fifty groups costs one
//! members query, and no loader outlives its request or serves another viewer. Creating it
//! there, rather than in the HTTP edge, keeps the edge free of per-domain data and costs
//! nothing for requests that never touch groups.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    dataloader::{DataLoader, Loader},
};
use entity::{dashboard_user, student_group};
use sea_orm::DatabaseConnection;

use super::context::{app, request_auth};
use crate::{
    auth::Role,
    error::{AppError, AppResult},
    graphql::{guards::NotebookGuard, scalar_list::ScalarList},
    pseudonym::Pseudonymizer,
    services::groups::{
        self, GroupInNotebook, RosterGroup, checked_name as group_name,
        pseudonymized_members as members,
    },
    state::AppState,
};

/// Most groups one roster may name.
const MAX_ROSTER_GROUPS: usize = 1000;

#[derive(Default)]
pub struct GroupQuery;

#[derive(Default)]
pub struct GroupMutation;

/// Loads the members of many groups with one query (see the module documentation).
pub struct MembersLoader {
    db: DatabaseConnection,
}

impl Loader<i64> for MembersLoader {
    type Value = Arc<Vec<String>>;
    // The loader hands its error to every waiting field, so it must be cheap to clone.
    type Error = Arc<anyhow::Error>;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        let members = groups::members_of(&self.db, keys)
            .await
            .map_err(|error| Arc::new(anyhow::Error::from(error)))?;
        Ok(members
            .into_iter()
            .map(|(id, list)| (id, Arc::new(list)))
            .collect())
    }
}

type Members = Arc<DataLoader<MembersLoader>>;

fn members_loader(app: &AppState) -> Members {
    let loader = MembersLoader { db: app.db.clone() };
    Arc::new(DataLoader::new(loader, tokio::spawn))
}

/// A named group of students in one notebook.
pub struct Group {
    model: student_group::Model,
    notebook_id: ID,
    members: Members,
}

impl Group {
    /// API groups of one notebook sharing one members loader.
    pub(crate) fn many(
        app: &AppState,
        notebook_id: &str,
        models: Vec<student_group::Model>,
    ) -> Vec<Self> {
        let members = members_loader(app);
        models
            .into_iter()
            .map(|model| Self::new(model, notebook_id, Arc::clone(&members)))
            .collect()
    }

    fn one(app: &AppState, notebook_id: &str, model: student_group::Model) -> Self {
        Self::new(model, notebook_id, members_loader(app))
    }

    fn new(model: student_group::Model, notebook_id: &str, members: Members) -> Self {
        Self {
            model,
            notebook_id: ID(notebook_id.to_owned()),
            members,
        }
    }

    async fn load_members(&self) -> AppResult<Arc<Vec<String>>> {
        let loaded = self
            .members
            .load_one(self.model.id)
            .await
            .map_err(|error| AppError::internal(anyhow::anyhow!("loading members: {error:#}")))?;
        Ok(loaded.unwrap_or_default())
    }
}

/// A named group of students in one notebook.
#[Object]
impl Group {
    /// The group's stable id (its name may change).
    async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    /// The notebook the group belongs to.
    async fn notebook_id(&self) -> &ID {
        &self.notebook_id
    }

    /// Unique within the notebook.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// How many students the group has.
    async fn member_count(&self) -> async_graphql::Result<i32> {
        let members = self.load_members().await?;
        Ok(i32::try_from(members.len()).unwrap_or(i32::MAX))
    }

    /// The members' pseudonyms, sorted.
    async fn members(&self) -> async_graphql::Result<ScalarList<String>> {
        Ok(self.load_members().await?.to_vec().into())
    }
}

/// A group as its student sees it.
#[derive(SimpleObject)]
pub struct StudentGroup {
    pub id: ID,
    pub name: String,
}

/// One group of a roster: its name and its students' raw ids.
#[derive(InputObject)]
pub struct GroupRosterInput {
    /// 1 to 128 bytes once trimmed; unique within the roster.
    pub name: String,
    /// Raw student ids (pseudonymized on arrival); repeated ids count once.
    pub user_ids: Vec<String>,
}

#[Object]
impl GroupQuery {
    /// The groups of a notebook, by name (teachers authorized for the notebook).
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn notebook_groups(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
    ) -> async_graphql::Result<Vec<Group>> {
        let app = app(ctx)?;
        let id = app.notebook_ids.resolve(&app.db, &notebook_id).await?;
        let models = groups::list(&app.db, id).await?;
        Ok(Group::many(app, &notebook_id, models))
    }

    /// A student's groups in a notebook, by name. No token: the telemetry extension asks with
    /// the student's raw id.
    async fn my_groups(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<Vec<StudentGroup>> {
        let app = app(ctx)?;
        let (notebook, user) = student(app, &notebook_id, &user_id).await?;
        let models = groups::groups_of_student(&app.db, notebook, &user).await?;
        Ok(models
            .into_iter()
            .map(|group| StudentGroup {
                id: ID(group.id.to_string()),
                name: group.name,
            })
            .collect())
    }

    /// The pseudonyms of the students sharing at least one group of the notebook with this
    /// student, without the student, sorted. No token, as `myGroups`.
    async fn my_teammates(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        user_id: String,
    ) -> async_graphql::Result<Vec<String>> {
        let app = app(ctx)?;
        let (notebook, user) = student(app, &notebook_id, &user_id).await?;
        Ok(groups::teammates(&app.db, notebook, &user).await?)
    }
}

#[Object]
impl GroupMutation {
    /// Creates a group in a notebook with the students `userIds` (raw ids). `CONFLICT` if the
    /// notebook has a group of that name.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        name: String,
        user_ids: Vec<String>,
    ) -> async_graphql::Result<Group> {
        let (app, actor) = teacher_of(ctx, &notebook_id).await?;
        let name = group_name(&name)?;
        let members = members(&app.pseudonyms, &user_ids)?;
        let model = groups::create(&app.db, actor.id, &notebook_id, name, &members).await?;
        Ok(Group::one(app, &notebook_id, model))
    }

    /// Replaces all members of a group by the students `userIds` (raw ids), at once.
    async fn set_group_members(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        user_ids: Vec<String>,
    ) -> async_graphql::Result<Group> {
        let (app, actor, found) = group_teacher(ctx, &group_id).await?;
        let members = members(&app.pseudonyms, &user_ids)?;
        let model = groups::set_members(&app.db, actor.id, found.group.id, &members).await?;
        Ok(Group::one(app, &found.notebook_public_id, model))
    }

    /// Renames a group. `CONFLICT` if another group of its notebook has the name.
    async fn rename_group(
        &self,
        ctx: &Context<'_>,
        group_id: ID,
        name: String,
    ) -> async_graphql::Result<Group> {
        let (app, actor, found) = group_teacher(ctx, &group_id).await?;
        let name = group_name(&name)?;
        let model = groups::rename(&app.db, actor.id, found.group.id, name).await?;
        Ok(Group::one(app, &found.notebook_public_id, model))
    }

    /// Deletes a group and its memberships; returns its id.
    async fn delete_group(&self, ctx: &Context<'_>, group_id: ID) -> async_graphql::Result<ID> {
        let (app, actor, found) = group_teacher(ctx, &group_id).await?;
        groups::delete(&app.db, actor.id, found.group.id).await?;
        Ok(group_id)
    }

    /// Applies a whole roster (say, a pasted CSV) in one transaction: each named group is
    /// created, or gets exactly the listed members if it exists. With `replaceExisting`, the
    /// notebook's groups the roster does not name are deleted. Returns the groups in roster
    /// order. Nothing is stored if any part is refused.
    #[graphql(guard = "NotebookGuard::new(&notebook_id)")]
    async fn import_group_roster(
        &self,
        ctx: &Context<'_>,
        notebook_id: ID,
        groups: Vec<GroupRosterInput>,
        #[graphql(default = false)] replace_existing: bool,
    ) -> async_graphql::Result<Vec<Group>> {
        let (app, actor) = teacher_of(ctx, &notebook_id).await?;
        let roster = roster(&app.pseudonyms, groups).await?;
        let models = groups::import_roster(
            &app.db,
            Some(actor.id),
            &notebook_id,
            &roster,
            replace_existing,
        )
        .await?;
        Ok(Group::many(app, &notebook_id, models))
    }
}

/// The state and the acting teacher of a field guarded by `NotebookGuard` (the guard's check is
/// cached, so asking again costs no query).
async fn teacher_of<'a>(
    ctx: &Context<'a>,
    notebook_id: &str,
) -> AppResult<(&'a AppState, Arc<dashboard_user::Model>)> {
    let app = app(ctx)?;
    let actor = request_auth(ctx)?
        .require_notebook(&app.db, notebook_id)
        .await?;
    Ok((app, actor))
}

/// The group `id` names, once the viewer may change it: a token first (`UNAUTHENTICATED`), then
/// authorization for its notebook (`FORBIDDEN`). As with notebooks, an unknown group is
/// `FORBIDDEN` too except for admins (`NOT_FOUND`), so group ids cannot be probed.
async fn group_teacher<'a>(
    ctx: &Context<'a>,
    id: &ID,
) -> AppResult<(&'a AppState, Arc<dashboard_user::Model>, GroupInNotebook)> {
    let app = app(ctx)?;
    let auth = request_auth(ctx)?;
    let user = auth.current_user(&app.db).await?;
    let no_group = || match user.role {
        Role::Admin => AppError::not_found("no such group"),
        _ => AppError::forbidden("not authorized for this group"),
    };
    let group_id: i64 = id.parse().map_err(|_| no_group())?;
    let found = groups::find(&app.db, group_id)
        .await?
        .ok_or_else(no_group)?;
    let actor = auth
        .require_notebook(&app.db, &found.notebook_public_id)
        .await?;
    Ok((app, actor, found))
}

/// The notebook's row id (`NOT_FOUND` if unknown) and the student's pseudonym.
async fn student(app: &AppState, notebook_id: &str, user_id: &str) -> AppResult<(i64, String)> {
    let student = app.identity.student(notebook_id, user_id).await?;
    Ok((student.notebook.row_id, student.pseudonym))
}

/// Checks and pseudonymizes a roster. A large roster means up to millions of hashes, so they
/// run on the blocking pool rather than stall the executor.
async fn roster(
    pseudonyms: &Pseudonymizer,
    input: Vec<GroupRosterInput>,
) -> AppResult<Vec<RosterGroup>> {
    if input.len() > MAX_ROSTER_GROUPS {
        return Err(AppError::bad_input(format!(
            "a roster names at most {MAX_ROSTER_GROUPS} groups"
        )));
    }
    let pseudonyms = pseudonyms.clone();
    let parse = move || {
        input
            .iter()
            .enumerate()
            .map(|(index, group)| {
                let name = group_name(&group.name);
                let members = name.and_then(|name| {
                    members(&pseudonyms, &group.user_ids)
                        .map(|members| RosterGroup { name, members })
                });
                members.map_err(|error| {
                    AppError::bad_input(format!("group {index}: {}", error.message()))
                })
            })
            .collect()
    };
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(AppError::internal)?
}
