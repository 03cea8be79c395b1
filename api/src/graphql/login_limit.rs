//! Counts every `login` and `signup` field, per login name and per client address, before its
//! resolver hashes or checks a password; over the limit the field fails with `RATE_LIMITED`
//! and `retryAfter`, no Argon2 work done.
//!
//! An extension rather than a line in the resolver so that every path to the field is counted
//! (HTTP, websocket, aliases repeating it in one document) and the auth module stays about
//! credentials. The name may arrive as a variable, so each request's variables are kept for
//! its own extension instance (one per request).

use std::sync::{Arc, Mutex};

use async_graphql::{
    Name, PathSegment, Request, ServerError, ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextResolve, ResolveInfo,
    },
};

use crate::{error::AppError, ratelimit::ClientIp, state::AppState};

/// The fields that hash or check a password before anything else can refuse them: an attempt
/// costs Argon2 work (and a signup, an account), so both count as credential attempts.
const CREDENTIAL_FIELDS: [&str; 2] = ["login", "signup"];

/// The factory registered on the schema.
pub struct LoginLimit;

impl ExtensionFactory for LoginLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LoginLimitOfRequest::default())
    }
}

#[derive(Default)]
struct LoginLimitOfRequest {
    variables: Mutex<Variables>,
}

#[async_trait::async_trait]
impl Extension for LoginLimitOfRequest {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .variables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = request.variables.clone();
        next.run(ctx, request).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.parent_type == "Mutation" && CREDENTIAL_FIELDS.contains(&info.name) {
            self.count(ctx, &info).await?;
        }
        next.run(ctx, info).await
    }
}

impl LoginLimitOfRequest {
    async fn count(&self, ctx: &ExtensionContext<'_>, info: &ResolveInfo<'_>) -> ServerResult<()> {
        let Ok(app) = ctx.data::<AppState>() else {
            return Ok(());
        };
        let ip = ctx.data_opt::<ClientIp>().and_then(|ClientIp(ip)| *ip);
        // An unreadable name fails argument coercion right after; the address still counts.
        let username = self.username(info);
        app.rate_limits
            .login(ip, username.as_deref())
            .await
            .map_err(|error| field_error(error, info))
    }

    fn username(&self, info: &ResolveInfo<'_>) -> Option<String> {
        let argument = info.field.get_argument("username")?.node.clone();
        let variables = self
            .variables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = argument
            .into_const_with(|name: Name| variables.get(&name).cloned().ok_or(()))
            .ok()?;
        match value {
            Value::String(username) => Some(username),
            _ => None,
        }
    }
}

/// The error of the `login` field (with its path, like a resolver's error).
fn field_error(error: AppError, info: &ResolveInfo<'_>) -> ServerError {
    let error = async_graphql::Error::from(error);
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    server_error.path = info
        .path_node
        .to_string_vec()
        .into_iter()
        .map(PathSegment::Field)
        .collect();
    server_error
}
