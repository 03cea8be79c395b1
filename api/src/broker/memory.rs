//! The in-process broker: one tokio broadcast channel per topic, created on first subscribe and
//! dropped once nobody listens.

use std::{collections::HashMap, sync::Mutex};

use futures::{StreamExt, stream::BoxStream};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::{Broker, BrokerError, BrokerEvent, Topic};

/// Events a slow subscriber may fall behind by before it misses some. A class of a thousand
/// students joining at once puts a thousand presence and teammate events on a notebook's
/// topics in a burst, so the buffer holds several bursts (it is shared by all receivers).
const CHANNEL_CAPACITY: usize = 4096;

#[derive(Default)]
pub struct MemoryBroker {
    channels: Mutex<HashMap<String, broadcast::Sender<BrokerEvent>>>,
}

impl MemoryBroker {
    pub fn new() -> Self {
        Self::default()
    }

    fn channels(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<BrokerEvent>>> {
        // A panic while holding this lock cannot leave the map inconsistent, so keep going.
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, topic: &Topic, event: BrokerEvent) -> Result<(), BrokerError> {
        let mut channels = self.channels();
        let key = topic.key();
        if let Some(sender) = channels.get(&key)
            && sender.send(event).is_err()
        {
            channels.remove(&key);
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &Topic,
    ) -> Result<BoxStream<'static, BrokerEvent>, BrokerError> {
        let receiver = self
            .channels()
            .entry(topic.key())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        Ok(BroadcastStream::new(receiver)
            .filter_map(|item| async move { item.ok() })
            .boxed())
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(id: &str) -> (Topic, BrokerEvent) {
        (
            Topic::DashboardRefresh {
                notebook_id: id.into(),
            },
            BrokerEvent::DashboardRefresh {
                notebook_id: id.into(),
            },
        )
    }

    #[tokio::test]
    async fn subscribers_receive_only_their_topic() -> Result<(), BrokerError> {
        let broker = MemoryBroker::new();
        let (topic_a, event_a) = refresh("a");
        let (topic_b, event_b) = refresh("b");
        let mut stream = broker.subscribe(&topic_a).await?;
        broker.publish(&topic_b, event_b).await?;
        broker.publish(&topic_a, event_a.clone()).await?;
        assert_eq!(stream.next().await, Some(event_a));
        Ok(())
    }

    #[tokio::test]
    async fn publishing_without_subscribers_succeeds() -> Result<(), BrokerError> {
        let broker = MemoryBroker::new();
        let (topic, event) = refresh("nobody");
        broker.publish(&topic, event).await
    }
}
