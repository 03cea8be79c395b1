//! Rows with a natural key: notebooks (public id), dashboard users (pseudonym), authorizations
//! (user, notebook), groups (notebook, name) and members (group, student). Each is inserted or
//! skipped by that key, in batches, like the events; afterwards the row ids the next tables
//! refer to are loaded into the [`Context`].

use anyhow::Context as _;
use chrono::Utc;
use entity::{
    dashboard_user, enums::Role, group_member, notebook, notebook_authorization, student_group,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryResult, Set, TransactionTrait, Value,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, OnConflict, Query},
};

use super::{
    convert::{Context, NOT_YET, get, time},
    copy::{OldTable, ROWS_PER_STATEMENT, count_of, count_present},
    source::{self, OldQuery},
};

/// Widths of our columns the old values must fit.
const MAX_NOTEBOOK_NAME: usize = 256;
const MAX_GROUP_NAME: usize = 128;
const PSEUDONYM_LEN: usize = 64;

/// A new row and the values of its natural key's columns.
pub type Keyed<A> = (A, Vec<Value>);

/// One kind of old row with a natural key, and where it goes.
pub struct Natural<A> {
    pub name: &'static str,
    pub target: &'static str,
    pub key_columns: &'static [&'static str],
    pub query: OldQuery,
    pub convert: fn(&mut Context, &QueryResult) -> anyhow::Result<Option<Keyed<A>>>,
}

impl<A> OldTable for Natural<A>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    type Model = A;
    type Key = Vec<Value>;

    fn name(&self) -> &'static str {
        self.name
    }

    fn target(&self) -> &'static str {
        self.target
    }

    fn query(&self) -> &OldQuery {
        &self.query
    }

    fn convert(&self, ctx: &mut Context, row: &QueryResult) -> anyhow::Result<Option<Keyed<A>>> {
        (self.convert)(ctx, row)
    }

    async fn count_stored(
        &self,
        db: &impl ConnectionTrait,
        keys: &[Vec<Value>],
    ) -> anyhow::Result<u64> {
        let columns = self
            .key_columns
            .iter()
            .map(|column| Expr::col(Alias::new(*column)));
        let tuples = keys
            .iter()
            .map(|key| Expr::tuple(key.iter().cloned().map(Expr::val)));
        let query = Query::select()
            .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
            .from(Alias::new(self.target))
            .and_where(Expr::tuple(columns).is_in(tuples))
            .to_owned();
        count_of(db.query_one(&query).await?)
    }

    async fn insert_batch(
        &self,
        db: &DatabaseConnection,
        models: Vec<A>,
        keys: &[Vec<Value>],
    ) -> anyhow::Result<(u64, u64)> {
        let txn = db.begin().await?;
        let inserted = insert_all(&txn, self.target, models).await?;
        let present = count_present(&txn, self, keys).await?;
        txn.commit().await?;
        Ok((inserted, present))
    }
}

/// Inserts `models` with `ON CONFLICT DO NOTHING` and no conflict target: whatever the table's
/// unique key, a row already there is skipped. Returns how many were inserted.
async fn insert_all<A>(
    txn: &impl ConnectionTrait,
    target: &str,
    mut models: Vec<A>,
) -> anyhow::Result<u64>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
{
    let mut inserted = 0;
    while !models.is_empty() {
        let rest = models.split_off(models.len().min(ROWS_PER_STATEMENT));
        inserted += <A::Entity as EntityTrait>::insert_many(models)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(txn)
            .await
            .with_context(|| format!("inserting into {target}"))?;
        models = rest;
    }
    Ok(inserted)
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

pub const NOTEBOOKS: Natural<notebook::ActiveModel> = Natural {
    name: "Notebook",
    target: "notebooks",
    key_columns: &["public_id"],
    query: source::NOTEBOOKS,
    convert: |ctx, row| {
        let public_id: String = get(row, "notebook_id")?;
        let name: String = get(row, "name")?;
        if name.len() > MAX_NOTEBOOK_NAME {
            ctx.warn("notebook names longer than 256 bytes (truncated)");
        }
        let model = notebook::ActiveModel {
            public_id: Set(public_id.clone()),
            name: Set(truncate(name, MAX_NOTEBOOK_NAME)),
            storage_key: Set(None),
            version: Set(1),
            uploaded_at: Set(time(row, "time")?),
            uploaded_by: Set(None),
            ..Default::default()
        };
        Ok(Some((model, vec![public_id.into()])))
    },
};

pub const USERS: Natural<dashboard_user::ActiveModel> = Natural {
    name: "AuthUsers",
    target: "dashboard_users",
    key_columns: &["username_hash"],
    query: source::AUTH_USERS,
    convert: |ctx, row| {
        let username_hash: String = get(row, "username_hash")?;
        if username_hash.len() != PSEUDONYM_LEN {
            ctx.warn("dashboard users whose username hash is not a pseudonym (skipped)");
            return Ok(None);
        }
        let role = match (
            get::<bool>(row, "is_admin")?,
            get::<bool>(row, "is_superuser")?,
        ) {
            (true, _) => Role::Admin,
            (false, true) => Role::Superuser,
            (false, false) => Role::User,
        };
        let model = dashboard_user::ActiveModel {
            username_hash: Set(username_hash.clone()),
            // Werkzeug hashes as they are: the login verifies them and re-hashes with Argon2id.
            password_hash: Set(get(row, "password_hash")?),
            role: Set(role),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        Ok(Some((model, vec![username_hash.into()])))
    },
};

pub const AUTHORIZATIONS: Natural<notebook_authorization::ActiveModel> = Natural {
    name: "AuthAssociation",
    target: "notebook_authorizations",
    key_columns: &["user_id", "notebook_id"],
    query: source::AUTHORIZATIONS,
    convert: |ctx, row| {
        let username_hash: Option<String> = get(row, "username_hash")?;
        let public_id: Option<String> = get(row, "notebook_id")?;
        let (Some(username_hash), Some(public_id)) = (username_hash, public_id) else {
            ctx.warn("incomplete authorizations (skipped)");
            return Ok(None);
        };
        let what = "authorizations for a notebook missing from the old Notebook table (skipped)";
        let Some(notebook_id) = ctx.notebook(&public_id, what) else {
            return Ok(None);
        };
        let user_id = match ctx.users.get(&username_hash) {
            Some(id) => *id,
            None if ctx.dry_run => NOT_YET,
            None => {
                ctx.warn("authorizations of a user not imported (skipped)");
                return Ok(None);
            }
        };
        let model = notebook_authorization::ActiveModel {
            user_id: Set(user_id),
            notebook_id: Set(notebook_id),
            granted_at: Set(Utc::now()),
        };
        Ok(Some((model, vec![user_id.into(), notebook_id.into()])))
    },
};

pub const GROUPS: Natural<student_group::ActiveModel> = Natural {
    name: "UserGroups",
    target: "student_groups",
    key_columns: &["notebook_id", "name"],
    query: source::GROUPS,
    convert: |ctx, row| {
        let public_id: String = get(row, "notebook_id")?;
        let name: String = get(row, "group_name")?;
        let what = "groups of a notebook missing from the old Notebook table (skipped)";
        let Some(notebook_id) = ctx.notebook(&public_id, what) else {
            return Ok(None);
        };
        if name.len() > MAX_GROUP_NAME {
            ctx.warn("group names longer than 128 bytes (skipped)");
            return Ok(None);
        }
        let model = student_group::ActiveModel {
            notebook_id: Set(notebook_id),
            name: Set(name.clone()),
            created_at: Set(Utc::now()),
            ..Default::default()
        };
        Ok(Some((model, vec![notebook_id.into(), name.into()])))
    },
};

pub const MEMBERS: Natural<group_member::ActiveModel> = Natural {
    name: "UserGroupAssociation",
    target: "group_members",
    key_columns: &["group_id", "user_id"],
    query: source::GROUP_MEMBERS,
    convert: |ctx, row| {
        let public_id: String = get(row, "notebook_id")?;
        let user_id: String = get(row, "user_id")?;
        let what = "group members in a notebook missing from the old Notebook table (skipped)";
        let Some(notebook_id) = ctx.notebook(&public_id, what) else {
            return Ok(None);
        };
        let group = (notebook_id, get::<String>(row, "group_name")?);
        let group_id = match ctx.groups.get(&group) {
            Some(id) => *id,
            None if ctx.dry_run => NOT_YET,
            None => {
                ctx.warn("members of a group not imported (skipped)");
                return Ok(None);
            }
        };
        let model = group_member::ActiveModel {
            group_id: Set(group_id),
            user_id: Set(user_id.clone()),
        };
        Ok(Some((model, vec![group_id.into(), user_id.into()])))
    },
};

/// Our row ids of the notebooks `public_ids`; in a dry run the missing ones are [`NOT_YET`].
pub async fn load_notebooks(
    db: &DatabaseConnection,
    ctx: &mut Context,
    public_ids: Vec<String>,
) -> anyhow::Result<()> {
    let found = notebook::Entity::find()
        .filter(notebook::Column::PublicId.is_in(public_ids.clone()))
        .all(db)
        .await
        .context("loading imported notebooks")?;
    for notebook in found {
        ctx.notebooks.insert(notebook.public_id, notebook.id);
    }
    if ctx.dry_run {
        for public_id in public_ids {
            ctx.notebooks.entry(public_id).or_insert(NOT_YET);
        }
    }
    Ok(())
}

/// Row ids of every dashboard user and of the groups of the imported notebooks.
pub async fn load_users_and_groups(
    db: &DatabaseConnection,
    ctx: &mut Context,
) -> anyhow::Result<()> {
    for user in dashboard_user::Entity::find().all(db).await? {
        ctx.users.insert(user.username_hash, user.id);
    }
    let notebooks: Vec<i64> = ctx.notebooks.values().copied().collect();
    let groups = student_group::Entity::find()
        .filter(student_group::Column::NotebookId.is_in(notebooks))
        .all(db)
        .await
        .context("loading imported groups")?;
    for group in groups {
        ctx.groups.insert((group.notebook_id, group.name), group.id);
    }
    Ok(())
}
