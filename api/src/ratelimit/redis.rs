//! Counts shared by every instance using one Redis and key prefix: the same GCRA as the
//! in-process limiter, run by a Lua script so that checking and counting all keys of a request
//! is one atomic round trip. The script reads Redis's own clock, so instances with skewed
//! clocks still agree.
//!
//! When Redis fails (unreachable, slow, an old server refusing the script), the limiter trips:
//! for [`RETRY_AFTER_FAILURE`] requests are counted in process without asking Redis, so an
//! outage costs at most one timeout per period instead of one per request.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

use super::{BackendError, Check, LimitBackend, Scope, Verdict};

/// Longest wait for Redis's answer before counting in process instead.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a failed Redis is left alone before it is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// KEYS: one per check; ARGV: its interval (µs) and burst, pairwise in the same order.
/// Returns 0 after counting the request against every key, or else the wait in µs (the
/// longest among the keys over their limit), counting nothing.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local next_tat = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local allow_at = tat + interval - burst * interval
  if allow_at - now > wait then wait = allow_at - now end
  next_tat[i] = tat + interval
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local ttl_ms = math.ceil((next_tat[i] - now) / 1000)
  redis.call('SET', key, string.format('%.0f', next_tat[i]), 'PX', string.format('%.0f', ttl_ms))
end
return 0
";

pub struct RedisBackend {
    connection: ConnectionManager,
    prefix: String,
    script: redis::Script,
    /// Until when Redis is skipped after a failure; `None` while it answers.
    tripped_until: Mutex<Option<Instant>>,
}

impl RedisBackend {
    /// Over the broker's connection and key prefix.
    pub fn new(connection: ConnectionManager, prefix: &str) -> Self {
        Self {
            connection,
            prefix: prefix.to_owned(),
            script: redis::Script::new(GCRA),
            tripped_until: Mutex::new(None),
        }
    }

    fn key(&self, check: &Check) -> String {
        self.scoped_key(check.scope, &check.key)
    }

    fn scoped_key(&self, scope: Scope, key: &str) -> String {
        format!("{}:ratelimit:{}:{key}", self.prefix, scope.name())
    }

    /// Deletes the counts of `keys` under `scope`; returns how many existed.
    pub async fn forget(&self, scope: Scope, keys: &[String]) -> Result<u64, BackendError> {
        let mut deleted = 0;
        for chunk in keys.chunks(500) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|key| self.scoped_key(scope, key))
                .collect();
            let mut connection = self.connection.clone();
            let mut command = redis::cmd("DEL");
            command.arg(keys);
            deleted +=
                tokio::time::timeout(COMMAND_TIMEOUT, command.query_async::<u64>(&mut connection))
                    .await
                    .map_err(|_| BackendError("Redis did not answer in time".into()))?
                    .map_err(|error| BackendError(error.to_string()))?;
        }
        Ok(deleted)
    }

    /// The shared verdict, or `None` when Redis failed now or recently (the caller then counts
    /// in process). Logs once when Redis starts failing and once when it is back.
    pub async fn check_or_trip(&self, checks: &[Check]) -> Option<Verdict> {
        if self
            .tripped_until()
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        match self.check(checks).await {
            Ok(verdict) => {
                if self.set_tripped(None).is_some() {
                    tracing::info!("Redis answers again: rate limits are shared again");
                }
                Some(verdict)
            }
            Err(error) => {
                let until = Instant::now() + RETRY_AFTER_FAILURE;
                if self.set_tripped(Some(until)).is_none() {
                    tracing::warn!(
                        %error,
                        "Redis unreachable: rate limits counted per instance until it answers"
                    );
                }
                None
            }
        }
    }

    fn tripped_until(&self) -> Option<Instant> {
        *self
            .tripped_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sets the trip and returns the previous one.
    fn set_tripped(&self, until: Option<Instant>) -> Option<Instant> {
        let mut tripped = self
            .tripped_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *tripped, until)
    }
}

#[async_trait::async_trait]
impl LimitBackend for RedisBackend {
    async fn check(&self, checks: &[Check]) -> Result<Verdict, BackendError> {
        let mut invocation = self.script.prepare_invoke();
        for check in checks {
            invocation
                .key(self.key(check))
                .arg(micros(check.rule.interval))
                .arg(check.rule.burst);
        }
        let mut connection = self.connection.clone();
        let wait_us: i64 =
            tokio::time::timeout(COMMAND_TIMEOUT, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| BackendError("Redis did not answer in time".into()))?
                .map_err(|error| BackendError(error.to_string()))?;
        Ok(if wait_us > 0 {
            Verdict::Limited(Duration::from_micros(wait_us.unsigned_abs()))
        } else {
            Verdict::Allowed
        })
    }
}

/// An interval in whole microseconds, at least 1 (a 5000/s rule is 200 µs).
fn micros(interval: Duration) -> u64 {
    u64::try_from(interval.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}
