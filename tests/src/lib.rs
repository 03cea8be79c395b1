//! Test harness: `TestApp` runs the real `Application` on port 0 with a fresh database, and
//! offers typed helpers for GraphQL over HTTP and over a real websocket.
//!
//! Every test written with [`backend_tests!`] runs on an in-memory SQLite database and, when
//! `TEST_DATABASE_URL` is set, also on a fresh PostgreSQL database created and dropped for that
//! test. Logs are printed only when `TEST_LOG` is set.

mod app;
mod fault_proxy;
mod graphql;
mod instance;
mod postgres;
mod progress_reference;
mod socketio;
mod websocket;

pub use app::{Backend, TEST_SALT, TestApp, UPLOAD_NOTEBOOK};
pub use fault_proxy::FaultProxy;
pub use graphql::GraphQLResponse;
pub use instance::{Instance, api_binary};
pub use postgres::{TempDatabase, admin_url_or_skip};
pub use progress_reference::{Run, close, progress_reference};
pub use socketio::SioClient;
pub use websocket::WsClient;

/// Declares tests that run on every backend: each `async fn name(backend) { … }` becomes a
/// module `name` with `on_sqlite` and `on_postgres` tests. The body gets the [`Backend`] and
/// spawns its app with [`TestApp::spawn`] (or a configured variant).
#[macro_export]
macro_rules! backend_tests {
    ($( async fn $name:ident($backend:ident) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test]
                async fn on_sqlite() {
                    let $backend = $crate::Backend::Sqlite;
                    $body
                }

                #[tokio::test]
                async fn on_postgres() {
                    if !$crate::Backend::postgres_available() {
                        return;
                    }
                    let $backend = $crate::Backend::Postgres;
                    $body
                }
            }
        )*
    };
}
