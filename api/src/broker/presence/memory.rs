//! Presence of one instance, in memory: a lease is not needed, since the map dies with the
//! process that holds the connections.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::Mutex,
    time::Duration,
};

use chrono::Utc;

use super::{Connection, Location, Presence, PresenceRole};
use crate::broker::BrokerError;

type Users = HashMap<String, HashSet<String>>;

pub struct MemoryPresence {
    connections: Mutex<HashMap<(String, PresenceRole), Users>>,
    locations: Mutex<HashMap<(String, String), Location>>,
    freshness: Duration,
}

impl MemoryPresence {
    pub fn new(location_freshness: Duration) -> Self {
        Self {
            connections: Mutex::default(),
            locations: Mutex::default(),
            freshness: location_freshness,
        }
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, HashMap<(String, PresenceRole), Users>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn location_map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Location>> {
        self.locations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Presence for MemoryPresence {
    async fn join(&self, connection: &Connection) -> Result<bool, BrokerError> {
        let mut map = self.connections();
        let users = map
            .entry((connection.notebook_id.clone(), connection.role))
            .or_default();
        let ids = users.entry(connection.user.clone()).or_default();
        ids.insert(connection.id.clone());
        Ok(ids.len() == 1)
    }

    async fn renew(&self, _connection: &Connection) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn leave(&self, connection: &Connection) -> Result<bool, BrokerError> {
        let mut map = self.connections();
        let key = (connection.notebook_id.clone(), connection.role);
        let Some(users) = map.get_mut(&key) else {
            return Ok(false);
        };
        let Some(ids) = users.get_mut(&connection.user) else {
            return Ok(false);
        };
        let removed = ids.remove(&connection.id);
        let last = removed && ids.is_empty();
        if ids.is_empty() {
            users.remove(&connection.user);
        }
        if users.is_empty() {
            map.remove(&key);
        }
        Ok(last)
    }

    async fn connection_ids(
        &self,
        notebook_id: &str,
        role: PresenceRole,
        user: &str,
    ) -> Result<Vec<String>, BrokerError> {
        let map = self.connections();
        let ids = map
            .get(&(notebook_id.to_owned(), role))
            .and_then(|users| users.get(user))
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        Ok(ids)
    }

    async fn connected(
        &self,
        notebook_id: &str,
        role: PresenceRole,
    ) -> Result<Vec<String>, BrokerError> {
        let map = self.connections();
        let users: BTreeSet<&String> = map
            .get(&(notebook_id.to_owned(), role))
            .map(|users| users.keys().collect())
            .unwrap_or_default();
        Ok(users.into_iter().cloned().collect())
    }

    async fn set_location(
        &self,
        notebook_id: &str,
        user: &str,
        location: &Location,
    ) -> Result<(), BrokerError> {
        self.location_map()
            .insert((notebook_id.to_owned(), user.to_owned()), location.clone());
        Ok(())
    }

    async fn clear_location(&self, notebook_id: &str, user: &str) -> Result<(), BrokerError> {
        self.location_map()
            .remove(&(notebook_id.to_owned(), user.to_owned()));
        Ok(())
    }

    async fn forget_student(&self, notebook_ids: &[String], user: &str) -> Result<(), BrokerError> {
        let mut connections = self.connections();
        let mut locations = self.location_map();
        for notebook_id in notebook_ids {
            let key = (notebook_id.clone(), PresenceRole::Student);
            if let Some(users) = connections.get_mut(&key) {
                users.remove(user);
                if users.is_empty() {
                    connections.remove(&key);
                }
            }
            locations.remove(&(notebook_id.clone(), user.to_owned()));
        }
        Ok(())
    }

    async fn locations(
        &self,
        notebook_id: &str,
        users: &[String],
    ) -> Result<HashMap<String, Location>, BrokerError> {
        let oldest = Utc::now()
            - chrono::Duration::from_std(self.freshness).unwrap_or(chrono::Duration::MAX);
        let map = self.location_map();
        Ok(users
            .iter()
            .filter_map(|user| {
                let location = map.get(&(notebook_id.to_owned(), user.clone()))?;
                (location.updated_at >= oldest).then(|| (user.clone(), location.clone()))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(id: &str) -> Connection {
        Connection {
            notebook_id: "nb".into(),
            role: PresenceRole::Student,
            user: "alice".into(),
            id: id.into(),
        }
    }

    #[tokio::test]
    async fn two_tabs_stay_connected_until_both_close() -> Result<(), BrokerError> {
        let presence = MemoryPresence::new(Duration::from_secs(300));
        assert!(presence.join(&tab("1")).await?, "first tab announces");
        assert!(!presence.join(&tab("2")).await?, "second tab does not");
        assert!(!presence.leave(&tab("1")).await?);
        let connected = presence.connected("nb", PresenceRole::Student).await?;
        assert_eq!(connected, ["alice"]);
        assert!(presence.leave(&tab("2")).await?, "last tab announces");
        assert!(
            presence
                .connected("nb", PresenceRole::Student)
                .await?
                .is_empty()
        );
        assert!(
            presence
                .connected("nb", PresenceRole::Teacher)
                .await?
                .is_empty()
        );
        Ok(())
    }

    #[tokio::test]
    async fn stale_locations_are_not_returned() -> Result<(), BrokerError> {
        let presence = MemoryPresence::new(Duration::from_secs(300));
        let fresh = Location {
            cell_id: "c1".into(),
            cell_index: 1,
            updated_at: Utc::now(),
        };
        let stale = Location {
            updated_at: Utc::now() - chrono::Duration::minutes(6),
            ..fresh.clone()
        };
        presence.set_location("nb", "alice", &fresh).await?;
        presence.set_location("nb", "bob", &stale).await?;
        let users = ["alice".to_owned(), "bob".to_owned(), "carol".to_owned()];
        let found = presence.locations("nb", &users).await?;
        assert_eq!(found.keys().collect::<Vec<_>>(), ["alice"]);
        presence.clear_location("nb", "alice").await?;
        assert!(presence.locations("nb", &users).await?.is_empty());
        Ok(())
    }
}
