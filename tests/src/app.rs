//! `TestApp`: the real application on port 0 with a fresh database.

use std::{net::SocketAddr, path::PathBuf, sync::Once};

use api::{
    config::Config,
    config::Secret,
    services::{authorizations, notebooks, users},
    startup::Application,
    state::AppState,
};
use serde_json::{Value, json};

use crate::{graphql::GraphQLResponse, postgres, postgres::TempDatabase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Whether PostgreSQL tests can run; says so once when they cannot.
    pub fn postgres_available() -> bool {
        static SKIP_NOTICE: Once = Once::new();
        let available = std::env::var(postgres::ENV).is_ok_and(|url| !url.is_empty());
        if !available {
            SKIP_NOTICE.call_once(|| {
                eprintln!("PostgreSQL tests skipped: {} is not set", postgres::ENV);
            });
        }
        available
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    pub backend: Backend,
    server: tokio::task::JoinHandle<()>,
    data_dir: PathBuf,
    // Dropped after the server task is aborted (fields drop in order).
    _database: Option<TempDatabase>,
}

/// The upload mutation with every field the tests read.
pub const UPLOAD_NOTEBOOK: &str = r#"mutation($file: Upload!, $name: String) {
    uploadNotebook(file: $file, name: $name) {
        version taggedNotebook
        notebook { id name version downloadUrl cellOrder { cellId cellType }
                   versions { number uploadedBy downloadUrl } } } }"#;

/// Salt of every test app, so tests can compute expected pseudonyms.
pub const TEST_SALT: &str = "test-salt";

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with a configuration adjusted by `configure` (limits, signup, …).
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        init_logs();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let admin_url = std::env::var(postgres::ENV).expect("TEST_DATABASE_URL");
                Some(
                    TempDatabase::create(&admin_url, "test")
                        .await
                        .expect("create a test database"),
                )
            }
        };
        let data_dir = std::env::temp_dir().join(format!("api-test-{}", uuid::Uuid::new_v4()));
        let mut config = Config::defaults();
        config.bind_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data_dir.clone();
        config.database_url = Some(match &database {
            Some(database) => database.url.clone(),
            None => "sqlite::memory:".to_owned(),
        });
        config.jwt_secret = Some(Secret::new("test-jwt-secret"));
        config.secret_salt = Some(Secret::new(TEST_SALT));
        if let Some(redis_url) = redis_url() {
            config.redis_url = Some(redis_url);
            // Tests share one Redis: a prefix per app keeps their channels apart.
            config.redis_key_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        }
        configure(&mut config);
        let app = Application::build(config).await.expect("build application");
        let addr = app.local_addr().expect("bound address");
        let state = app.state().clone();
        let server = tokio::spawn(async move {
            if let Err(error) = app.run_until_stopped().await {
                eprintln!("test server stopped: {error:#}");
            }
        });
        Self {
            addr,
            state,
            client: reqwest::Client::new(),
            backend,
            server,
            data_dir,
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `/readyz`'s JSON body (whatever its status).
    pub async fn readiness(&self) -> Value {
        let response = self.client.get(self.url("/readyz")).send().await;
        response.expect("readyz").json().await.expect("readyz JSON")
    }

    pub fn pseudonym(&self, raw: &str) -> String {
        self.state.pseudonyms.pseudonymize(raw)
    }

    /// Runs a GraphQL operation without a token.
    pub async fn graphql(&self, query: &str, variables: Value) -> GraphQLResponse {
        self.graphql_with(None, query, variables).await
    }

    /// Runs a GraphQL operation with `Authorization: Bearer <token>`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> GraphQLResponse {
        self.graphql_with(Some(token), query, variables).await
    }

    async fn graphql_with(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> GraphQLResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON response");
        GraphQLResponse { status, body }
    }

    /// Sends `uploadNotebook` as a GraphQL multipart request (with the CSRF header when
    /// `csrf_header`), the way `curl -F` or a dashboard would.
    pub async fn upload_notebook(
        &self,
        token: Option<&str>,
        file_name: &str,
        bytes: Vec<u8>,
        name: Option<&str>,
        csrf_header: bool,
    ) -> GraphQLResponse {
        let operations = json!({
            "query": UPLOAD_NOTEBOOK,
            "variables": { "file": null, "name": name },
        });
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str("application/x-ipynb+json")
            .expect("mime type");
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part("0", file);
        let mut request = self.client.post(self.url("/graphql")).multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if csrf_header {
            request = request.header("Apollo-Require-Preflight", "true");
        }
        let response = request.send().await.expect("POST /graphql multipart");
        let status = response.status().as_u16();
        let body = response.json().await.expect("JSON response");
        GraphQLResponse { status, body }
    }

    /// Creates a dashboard user directly in the database.
    pub async fn create_user(&self, username: &str, password: &str, role: api::auth::Role) {
        let hash = api::auth::password::hash(password.to_owned())
            .await
            .expect("hash password");
        users::create(&self.state.db, self.pseudonym(username), hash, role)
            .await
            .expect("create user");
    }

    /// Logs in over HTTP and returns the access token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .graphql(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        response.data()["login"]["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// Creates a user with `role`, logs them in, and returns their access token.
    pub async fn user_token(&self, username: &str, role: api::auth::Role) -> String {
        self.create_user(username, "password-of-test-user", role)
            .await;
        self.login(username, "password-of-test-user").await
    }

    /// Registers a notebook (as an upload would) and returns its row id.
    pub async fn register_notebook(&self, public_id: &str) -> i64 {
        notebooks::register(
            &self.state.db,
            public_id,
            &format!("{public_id}.ipynb"),
            None,
        )
        .await
        .expect("register notebook")
        .id
    }

    /// Authorizes the user `username` for the notebook `public_id`.
    pub async fn authorize(&self, username: &str, public_id: &str) {
        let user = users::get_by_username_hash(&self.state.db, &self.pseudonym(username))
            .await
            .expect("user exists");
        let notebook = notebooks::get_by_public_id(&self.state.db, public_id)
            .await
            .expect("notebook exists");
        authorizations::grant_one(&self.state.db, user.id, notebook.id)
            .await
            .expect("grant");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// `TEST_REDIS_URL`, when set: every test app then uses the Redis broker.
fn redis_url() -> Option<String> {
    static NOTICE: Once = Once::new();
    let url = std::env::var(REDIS_ENV).ok().filter(|url| !url.is_empty());
    NOTICE.call_once(|| match &url {
        Some(_) => eprintln!("test apps use the Redis broker ({REDIS_ENV} is set)"),
        None => eprintln!("Redis broker tests skipped: {REDIS_ENV} is not set (in-process broker)"),
    });
    url
}

const REDIS_ENV: &str = "TEST_REDIS_URL";

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        api::telemetry::init(api::config::LogFormat::Pretty);
    }
}
