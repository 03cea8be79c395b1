//! Rate limiting: which keys a request is counted against (a student in a notebook, a client
//! address, a login name, a dashboard user), under which rule, and where the counts live.
//!
//! Counts live in process ([`memory`], `governor`'s keyed GCRA limiters) or, when instances
//! share a Redis, in Redis ([`redis`], the same GCRA in a Lua script) so every instance sees
//! the same totals. Redis is an optimisation of fairness, never a dependency: when it fails,
//! the request is counted in process instead and a warning is logged once per outage.
//!
//! Keys never hold raw ids: students and login names are keyed by salted hashes, because the
//! keys of the Redis limiter are visible to anyone who can read that Redis.

mod client_ip;
mod memory;
mod redis;

use std::{collections::HashSet, net::IpAddr, sync::Arc, time::Duration};

pub use client_ip::client_ip;
pub use memory::MemoryBackend;
pub use redis::RedisBackend;

use crate::{
    config::RateLimits,
    error::{AppError, AppResult},
    pseudonym::Pseudonymizer,
};

/// The client address of the request being served (`None` when the transport gave none), put
/// in the GraphQL request data by the HTTP and websocket edges for the resolvers that count by
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientIp(pub Option<IpAddr>);

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Unauthenticated ingest, per (notebook, student).
    IngestStudent,
    /// Unauthenticated ingest, per client address (a ceiling for a class behind one NAT).
    IngestIp,
    LoginUser,
    LoginIp,
    /// Any GraphQL request of an authenticated dashboard user.
    User,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::IngestStudent,
        Scope::IngestIp,
        Scope::LoginUser,
        Scope::LoginIp,
        Scope::User,
    ];

    /// The scope's name in Redis keys and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::IngestStudent => "ingest-student",
            Self::IngestIp => "ingest-ip",
            Self::LoginUser => "login-user",
            Self::LoginIp => "login-ip",
            Self::User => "user",
        }
    }
}

/// A GCRA rule: one request per `interval` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub interval: Duration,
    pub burst: u32,
}

impl Rule {
    /// `count` requests per `window`; `None` (no limit) when `count` is 0.
    pub fn per(count: u32, window: Duration, burst: u32) -> Option<Self> {
        let interval = window.checked_div(count)?;
        Some(Self {
            interval: interval.max(Duration::from_nanos(1)),
            burst: burst.max(1),
        })
    }
}

/// The rule of each scope; a scope without one is not limited.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<(Scope, Rule)>,
}

impl Rules {
    pub fn from_config(limits: &RateLimits) -> Self {
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        let candidates = [
            (
                Scope::IngestStudent,
                Rule::per(
                    limits.ingest_student_per_sec,
                    second,
                    limits.ingest_student_burst,
                ),
            ),
            (
                Scope::IngestIp,
                Rule::per(limits.ingest_ip_per_sec, second, limits.ingest_ip_burst),
            ),
            (
                Scope::LoginUser,
                Rule::per(limits.login_user_per_min, minute, limits.login_user_burst),
            ),
            (
                Scope::LoginIp,
                Rule::per(limits.login_ip_per_min, minute, limits.login_ip_burst),
            ),
            (
                Scope::User,
                Rule::per(limits.user_per_sec, second, limits.user_burst),
            ),
        ];
        let rules = candidates
            .into_iter()
            .filter_map(|(scope, rule)| Some((scope, rule?)))
            .collect();
        Self { rules }
    }

    pub fn get(&self, scope: Scope) -> Option<Rule> {
        self.rules
            .iter()
            .find_map(|(candidate, rule)| (*candidate == scope).then_some(*rule))
    }
}

/// One count to take: a key under a scope and its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub scope: Scope,
    pub rule: Rule,
    pub key: String,
}

/// The answer of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over a limit: the request may be retried after this long.
    Limited(Duration),
}

#[derive(Debug, thiserror::Error)]
#[error("rate-limit store unavailable: {0}")]
pub struct BackendError(pub String);

/// Where counts are kept. A request is counted against all its checks at once; the answer is
/// the longest wait among the checks it is over.
#[async_trait::async_trait]
pub trait LimitBackend: Send + Sync + 'static {
    async fn check(&self, checks: &[Check]) -> Result<Verdict, BackendError>;
}

/// The limiter held in the application state.
pub struct RateLimiter {
    rules: Rules,
    memory: Arc<MemoryBackend>,
    shared: Option<RedisBackend>,
    pseudonyms: Pseudonymizer,
}

impl RateLimiter {
    /// `shared` is the Redis backend when instances share a Redis.
    pub fn new(
        limits: &RateLimits,
        pseudonyms: Pseudonymizer,
        shared: Option<RedisBackend>,
    ) -> Self {
        let rules = Rules::from_config(limits);
        Self {
            memory: MemoryBackend::start(&rules),
            rules,
            shared,
            pseudonyms,
        }
    }

    /// One ingest request: counted once per distinct (notebook, student) it carries, and
    /// once against the client address when known.
    pub async fn ingest<'a>(
        &self,
        ip: Option<IpAddr>,
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> AppResult<()> {
        let mut checks = Vec::new();
        if let Some(rule) = self.rules.get(Scope::IngestStudent) {
            let distinct: HashSet<(&str, &str)> = sources.into_iter().collect();
            checks.extend(distinct.into_iter().map(|(notebook, student)| Check {
                scope: Scope::IngestStudent,
                rule,
                key: self.ingest_student_key(notebook, student),
            }));
        }
        self.push_ip(&mut checks, Scope::IngestIp, ip);
        self.enforce(&checks).await
    }

    /// One salted hash of both: bounded length, and no raw student id in a key.
    fn ingest_student_key(&self, notebook_id: &str, student: &str) -> String {
        self.pseudonyms
            .pseudonymize(&format!("{notebook_id}\u{0}{student}"))
    }

    /// Deletes the shared (Redis) ingest counts of student `student` (a raw id) in each of
    /// `notebook_ids`, for an erasure; returns how many there were. Counts in process are not
    /// reachable from another process; they hold only a salted hash and are dropped within a
    /// minute of the student's last request anyway.
    pub async fn forget_ingest_student(
        &self,
        notebook_ids: &[String],
        student: &str,
    ) -> Result<u64, BackendError> {
        let Some(shared) = &self.shared else {
            return Ok(0);
        };
        let keys: Vec<String> = notebook_ids
            .iter()
            .map(|notebook_id| self.ingest_student_key(notebook_id, student))
            .collect();
        shared.forget(Scope::IngestStudent, &keys).await
    }

    /// One login (or signup) attempt, per login name (hashed) and per client address.
    pub async fn login(&self, ip: Option<IpAddr>, username: Option<&str>) -> AppResult<()> {
        let mut checks = Vec::new();
        if let (Some(rule), Some(username)) = (self.rules.get(Scope::LoginUser), username) {
            checks.push(Check {
                scope: Scope::LoginUser,
                rule,
                key: self.pseudonyms.pseudonymize(username),
            });
        }
        self.push_ip(&mut checks, Scope::LoginIp, ip);
        let verdict = self.enforce(&checks).await;
        if let Err(error) = &verdict {
            // Operators see an attack on an account or from an address: the name only as the
            // first characters of its salted hash.
            let name = checks
                .iter()
                .find(|check| check.scope == Scope::LoginUser)
                .map(|check| check.key.get(..12).unwrap_or_default());
            tracing::warn!(
                user.pseudonym = name,
                client.address = ip.map(|ip| ip.to_string()),
                outcome = "rate limited",
                retry_after_secs = error.retry_after(),
                "login attempt refused"
            );
        }
        verdict
    }

    /// One GraphQL request of an authenticated dashboard user.
    pub async fn user(&self, user_id: i64) -> AppResult<()> {
        let checks: Vec<Check> = self
            .rules
            .get(Scope::User)
            .map(|rule| Check {
                scope: Scope::User,
                rule,
                key: user_id.to_string(),
            })
            .into_iter()
            .collect();
        self.enforce(&checks).await
    }

    fn push_ip(&self, checks: &mut Vec<Check>, scope: Scope, ip: Option<IpAddr>) {
        if let (Some(rule), Some(ip)) = (self.rules.get(scope), ip) {
            checks.push(Check {
                scope,
                rule,
                key: ip.to_string(),
            });
        }
    }

    async fn enforce(&self, checks: &[Check]) -> AppResult<()> {
        if checks.is_empty() {
            return Ok(());
        }
        match self.verdict(checks).await {
            Verdict::Allowed => Ok(()),
            Verdict::Limited(wait) => {
                let scope = checks.first().map_or("unknown", |check| check.scope.name());
                metrics::counter!("rate_limited_total", "scope" => scope).increment(1);
                tracing::debug!(
                    scope = checks.first().map(|check| check.scope.name()),
                    wait_ms = wait.as_millis() as u64,
                    "request rate limited"
                );
                Err(AppError::RateLimited {
                    retry_after_secs: retry_after_secs(wait),
                })
            }
        }
    }

    /// Redis when configured and answering, else the in-process counts.
    async fn verdict(&self, checks: &[Check]) -> Verdict {
        if let Some(shared) = &self.shared
            && let Some(verdict) = shared.check_or_trip(checks).await
        {
            return verdict;
        }
        match self.memory.check(checks).await {
            Ok(verdict) => verdict,
            // The in-process backend cannot fail; should it ever, admitting is the safe side.
            Err(_) => Verdict::Allowed,
        }
    }
}

/// Whole seconds for `Retry-After`, rounded up and at least 1 (0 would invite a retry storm).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn limiter(configure: impl FnOnce(&mut RateLimits)) -> RateLimiter {
        let mut limits = RateLimits::default();
        configure(&mut limits);
        RateLimiter::new(&limits, Pseudonymizer::new(Secret::new("salt")), None)
    }

    #[test]
    fn a_zero_rate_turns_a_limit_off() {
        let rules = Rules::from_config(&RateLimits::off());
        assert!(Scope::ALL.iter().all(|scope| rules.get(*scope).is_none()));
        let rule = Rule::per(5, Duration::from_secs(60), 10);
        assert_eq!(
            rule,
            Some(Rule {
                interval: Duration::from_secs(12),
                burst: 10
            })
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(12)), 12);
    }

    #[tokio::test]
    async fn a_student_over_the_burst_is_limited_and_another_is_not() {
        let limiter = limiter(|limits| {
            limits.ingest_student_per_sec = 1;
            limits.ingest_student_burst = 2;
        });
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..2 {
            assert!(limiter.ingest(ip, [("nb", "alice")]).await.is_ok());
        }
        let over = limiter.ingest(ip, [("nb", "alice")]).await;
        assert!(matches!(
            over,
            Err(AppError::RateLimited {
                retry_after_secs: 1
            })
        ));
        assert!(limiter.ingest(ip, [("nb", "bob")]).await.is_ok());
    }
}
