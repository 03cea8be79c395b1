//! Presence shared by every instance through Redis. Each connection is a member of a sorted set
//! per (notebook, role, user) scored by its lease expiry; a second set per (notebook, role)
//! holds each user's latest expiry, so "who is connected" is one range query. Every change runs
//! as one Lua script, so concurrent joins and leaves on several instances cannot interleave.
//! Locations are plain keys that expire after the freshness limit.

use std::{collections::HashMap, time::Duration};

use chrono::Utc;
use redis::{AsyncCommands, Script, aio::ConnectionManager};

use super::{Connection, Location, Presence, PresenceRole};
use crate::broker::BrokerError;

/// Adds or renews a connection; returns 1 when the user had no other live connection. A
/// student's lease end is also kept in the deployment-wide `expiring` set (KEYS[3], member
/// ARGV[6]; empty for teachers), where the sweep finds students whose instance died.
const JOIN: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local existed = redis.call('ZCARD', KEYS[1])
local mine = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[6])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
if existed == 0 or (existed == 1 and mine) then return 1 end
return 0
";

/// Removes a connection; returns 1 when it was the user's last live one (then the sweep has
/// nothing left to announce for them).
const LEAVE: &str = r"
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local left = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #left == 0 then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if ARGV[4] ~= '' then redis.call('ZREM', KEYS[3], ARGV[4]) end
  return removed
end
redis.call('ZADD', KEYS[2], left[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[3], left[2], ARGV[4]) end
return 0
";

/// Claims a student whose every lease ran out (their instance died without leaving): removes
/// them from `expiring` (KEYS[1]) and from the notebook's users (KEYS[2]). Atomic, so of all
/// the instances sweeping, exactly one gets 1 and announces the leave.
const CLAIM_EXPIRED: &str = r"
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if score and tonumber(score) > tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
";

/// Students claimed per sweep (the rest wait for the next one).
const SWEEP_BATCH: isize = 500;

pub struct RedisPresence {
    connection: ConnectionManager,
    prefix: String,
    lease: Duration,
    freshness: Duration,
    join: Script,
    leave: Script,
    claim_expired: Script,
}

fn error(error: redis::RedisError) -> BrokerError {
    BrokerError(error.to_string())
}

/// A student's member of the `expiring` set: `notebook NUL student`.
fn student_member(notebook_id: &str, user: &str) -> String {
    format!("{notebook_id}\0{user}")
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl RedisPresence {
    pub fn new(
        connection: ConnectionManager,
        prefix: &str,
        lease: Duration,
        freshness: Duration,
    ) -> Self {
        Self {
            connection,
            prefix: prefix.to_owned(),
            lease,
            freshness,
            join: Script::new(JOIN),
            leave: Script::new(LEAVE),
            claim_expired: Script::new(CLAIM_EXPIRED),
        }
    }

    fn users_key(&self, notebook_id: &str, role: PresenceRole) -> String {
        format!(
            "{}:presence:{notebook_id}:{}:users",
            self.prefix,
            role.word()
        )
    }

    /// One user's connections (id → lease end) in a notebook.
    fn connections_key(&self, notebook_id: &str, role: PresenceRole, user: &str) -> String {
        format!("{}:{user}", self.users_key(notebook_id, role))
    }

    fn keys(&self, connection: &Connection) -> (String, String) {
        let (notebook_id, role, user) =
            (&connection.notebook_id, connection.role, &connection.user);
        (
            self.connections_key(notebook_id, role, user),
            self.users_key(notebook_id, role),
        )
    }

    /// Every student connection's lease end, deployment-wide, by `notebook NUL student`
    /// (neither can hold a NUL: ids with one are refused, pseudonyms are hex).
    fn expiring_key(&self) -> String {
        format!("{}:presence:students-expiring", self.prefix)
    }

    /// The `expiring` member of a student connection; empty for a teacher's.
    fn expiring_member(connection: &Connection) -> String {
        match connection.role {
            PresenceRole::Student => student_member(&connection.notebook_id, &connection.user),
            PresenceRole::Teacher => String::new(),
        }
    }

    fn location_key(&self, notebook_id: &str, user: &str) -> String {
        format!("{}:location:{notebook_id}:{user}", self.prefix)
    }

    async fn run_join(&self, connection: &Connection) -> Result<bool, BrokerError> {
        let (conns, users) = self.keys(connection);
        let now = now_ms();
        let lease_ms = self.lease.as_millis() as i64;
        let first: i64 = self
            .join
            .key(conns)
            .key(users)
            .key(self.expiring_key())
            .arg(&connection.id)
            .arg(now)
            .arg(now + lease_ms)
            .arg(&connection.user)
            // The keys outlive one lease so a renewal that comes late still finds them.
            .arg(lease_ms * 4)
            .arg(Self::expiring_member(connection))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(error)?;
        Ok(first == 1)
    }
}

#[async_trait::async_trait]
impl Presence for RedisPresence {
    async fn join(&self, connection: &Connection) -> Result<bool, BrokerError> {
        self.run_join(connection).await
    }

    async fn renew(&self, connection: &Connection) -> Result<(), BrokerError> {
        self.run_join(connection).await.map(|_| ())
    }

    async fn leave(&self, connection: &Connection) -> Result<bool, BrokerError> {
        let (conns, users) = self.keys(connection);
        let last: i64 = self
            .leave
            .key(conns)
            .key(users)
            .key(self.expiring_key())
            .arg(&connection.id)
            .arg(now_ms())
            .arg(&connection.user)
            .arg(Self::expiring_member(connection))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(error)?;
        Ok(last == 1)
    }

    async fn connection_ids(
        &self,
        notebook_id: &str,
        role: PresenceRole,
        user: &str,
    ) -> Result<Vec<String>, BrokerError> {
        let conns = self.connections_key(notebook_id, role, user);
        self.connection
            .clone()
            .zrangebyscore(conns, now_ms(), "+inf")
            .await
            .map_err(error)
    }

    async fn connected(
        &self,
        notebook_id: &str,
        role: PresenceRole,
    ) -> Result<Vec<String>, BrokerError> {
        let mut users: Vec<String> = self
            .connection
            .clone()
            .zrangebyscore(self.users_key(notebook_id, role), now_ms(), "+inf")
            .await
            .map_err(error)?;
        users.sort();
        Ok(users)
    }

    async fn set_location(
        &self,
        notebook_id: &str,
        user: &str,
        location: &Location,
    ) -> Result<(), BrokerError> {
        let value = serde_json::to_string(location).map_err(|e| BrokerError(e.to_string()))?;
        let options = redis::SetOptions::default()
            .with_expiration(redis::SetExpiry::PX(self.freshness.as_millis() as u64));
        let _: () = self
            .connection
            .clone()
            .set_options(self.location_key(notebook_id, user), value, options)
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn clear_location(&self, notebook_id: &str, user: &str) -> Result<(), BrokerError> {
        let _: i64 = self
            .connection
            .clone()
            .del(self.location_key(notebook_id, user))
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn forget_student(&self, notebook_ids: &[String], user: &str) -> Result<(), BrokerError> {
        // One round trip per few hundred notebooks rather than three commands each.
        for chunk in notebook_ids.chunks(300) {
            let mut pipe = redis::pipe();
            for notebook_id in chunk {
                let users = self.users_key(notebook_id, PresenceRole::Student);
                let connections = self.connections_key(notebook_id, PresenceRole::Student, user);
                pipe.del(connections).ignore();
                pipe.zrem(users, user).ignore();
                pipe.zrem(self.expiring_key(), student_member(notebook_id, user))
                    .ignore();
                pipe.del(self.location_key(notebook_id, user)).ignore();
            }
            let _: () = pipe
                .query_async(&mut self.connection.clone())
                .await
                .map_err(error)?;
        }
        Ok(())
    }

    async fn locations(
        &self,
        notebook_id: &str,
        users: &[String],
    ) -> Result<HashMap<String, Location>, BrokerError> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<String> = users
            .iter()
            .map(|user| self.location_key(notebook_id, user))
            .collect();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(error)?;
        Ok(users
            .iter()
            .zip(values)
            .filter_map(|(user, value)| {
                let location = serde_json::from_str(&value?).ok()?;
                Some((user.clone(), location))
            })
            .collect())
    }

    async fn claim_expired_students(&self) -> Result<Vec<(String, String)>, BrokerError> {
        let now = now_ms();
        let due: Vec<String> = self
            .connection
            .clone()
            .zrangebyscore_limit(self.expiring_key(), "-inf", now, 0, SWEEP_BATCH)
            .await
            .map_err(error)?;
        let mut claimed = Vec::new();
        for member in due {
            let Some((notebook_id, user)) = member.split_once('\0') else {
                continue;
            };
            let won: i64 = self
                .claim_expired
                .key(self.expiring_key())
                .key(self.users_key(notebook_id, PresenceRole::Student))
                .arg(&member)
                .arg(user)
                .arg(now)
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(error)?;
            if won == 1 {
                claimed.push((notebook_id.to_owned(), user.to_owned()));
            }
        }
        Ok(claimed)
    }
}
