//! The Redis broker for several instances: publishing goes through a `ConnectionManager`; all
//! subscriptions of the process share ONE pub/sub connection whose messages are fanned out
//! locally to every subscriber (never a Redis connection per websocket). When that connection
//! drops, it is re-established with backoff and every channel is subscribed again.
//!
//! Redis is not needed to start or to serve: the server starts while Redis is unreachable
//! (connecting in the background), commands fail fast with a timeout instead of hanging, and
//! subscriptions made meanwhile are registered and start receiving once Redis is back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{StreamExt, stream::BoxStream};
use redis::{
    AsyncCommands, Client,
    aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink},
};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

use super::{Broker, BrokerError, BrokerEvent, GateAnswer, RefreshGate, Topic};

const CHANNEL_CAPACITY: usize = 4096;
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Longest wait for Redis to answer a command or accept a connection.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(1);

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<BrokerEvent>>>>;
/// The pub/sub connection's command half; `None` while Redis is unreachable.
type Sink = Arc<tokio::sync::Mutex<Option<PubSubSink>>>;

pub struct RedisBroker {
    publisher: ConnectionManager,
    sink: Sink,
    channels: Channels,
    /// Namespaces every key, so deployments (or tests) sharing one Redis never cross-talk.
    prefix: String,
}

fn lock(
    channels: &Channels,
) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<BrokerEvent>>> {
    channels
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(error: redis::RedisError) -> BrokerError {
    BrokerError(error.to_string())
}

impl RedisBroker {
    /// Fails only for a malformed URL: an unreachable Redis is connected to in the background.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BrokerError> {
        let client = Client::open(url).map_err(error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let publisher =
            ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(error)?;
        let sink: Sink = Arc::default();
        let channels: Channels = Arc::default();
        let first = tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub()).await;
        let stream = match first {
            Ok(Ok(pubsub)) => {
                let (new_sink, stream) = pubsub.split();
                *sink.lock().await = Some(new_sink);
                Some(stream)
            }
            _ => {
                tracing::warn!(
                    "Redis unreachable at start: live features degraded until it answers"
                );
                None
            }
        };
        tokio::spawn(fan_out(
            client,
            stream,
            Arc::clone(&sink),
            Arc::clone(&channels),
        ));
        Ok(Self {
            publisher,
            sink,
            channels,
            prefix: prefix.to_owned(),
        })
    }

    /// Presence kept in the same Redis, under the same prefix.
    pub fn presence(
        &self,
        lease: Duration,
        location_freshness: Duration,
    ) -> super::presence::RedisPresence {
        super::presence::RedisPresence::new(
            self.publisher.clone(),
            &self.prefix,
            lease,
            location_freshness,
        )
    }

    /// The refresh gate shared by every instance using this Redis and prefix.
    pub fn refresh_gate(&self) -> RedisRefreshGate {
        RedisRefreshGate {
            connection: self.publisher.clone(),
            prefix: self.prefix.clone(),
            script: redis::Script::new(OPEN_GATE),
        }
    }

    /// The command connection and key prefix, for other shared state kept in this Redis
    /// (the rate limiter's counts).
    pub fn connection(&self) -> (ConnectionManager, &str) {
        (self.publisher.clone(), &self.prefix)
    }

    fn channel(&self, topic: &Topic) -> String {
        format!("{}:{}", self.prefix, topic.key())
    }
}

/// Reads the shared pub/sub connection and hands each message to the local subscribers of its
/// channel; reconnects (and resubscribes) when the connection ends.
async fn fan_out(
    client: Client,
    stream: Option<redis::aio::PubSubStream>,
    sink: Sink,
    channels: Channels,
) {
    let mut stream = match stream {
        Some(stream) => stream,
        None => reconnect(&client, &sink, &channels).await,
    };
    loop {
        while let Some(message) = stream.next().await {
            let Ok(event) = serde_json::from_slice::<BrokerEvent>(message.get_payload_bytes())
            else {
                tracing::warn!(
                    channel = message.get_channel_name(),
                    "unreadable broker message"
                );
                continue;
            };
            if let Some(sender) = lock(&channels).get(message.get_channel_name()) {
                // No receiver left is fine: the next subscriber reuses the channel.
                let _ = sender.send(event);
            }
        }
        tracing::warn!("redis pub/sub connection lost; reconnecting");
        *sink.lock().await = None;
        stream = reconnect(&client, &sink, &channels).await;
    }
}

async fn reconnect(client: &Client, sink: &Sink, channels: &Channels) -> redis::aio::PubSubStream {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        let Ok(Ok(pubsub)) = tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub()).await
        else {
            continue;
        };
        let (mut new_sink, stream) = pubsub.split();
        let keys: Vec<String> = lock(channels).keys().cloned().collect();
        if !keys.is_empty() && new_sink.subscribe(&keys).await.is_err() {
            continue;
        }
        *sink.lock().await = Some(new_sink);
        tracing::info!(channels = keys.len(), "redis pub/sub reconnected");
        return stream;
    }
}

/// Opens the gate (value: when, in ms) if closed; else returns when it was opened and how long
/// it stays closed.
const OPEN_GATE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0, 0} end
return {0, tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}
";

pub struct RedisRefreshGate {
    connection: ConnectionManager,
    prefix: String,
    script: redis::Script,
}

#[async_trait::async_trait]
impl RefreshGate for RedisRefreshGate {
    async fn try_open(
        &self,
        notebook_id: &str,
        period: Duration,
        data_since: chrono::DateTime<chrono::Utc>,
    ) -> Result<GateAnswer, BrokerError> {
        let key = format!("{}:refresh-gate:{notebook_id}", self.prefix);
        let (opened, opened_at, ttl_ms): (i64, i64, i64) = self
            .script
            .key(key)
            .arg(chrono::Utc::now().timestamp_millis())
            .arg(period.as_millis() as u64)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(error)?;
        Ok(if opened == 1 {
            GateAnswer::Open
        } else if opened_at >= data_since.timestamp_millis() {
            GateAnswer::Covered
        } else {
            GateAnswer::RetryIn(Duration::from_millis(ttl_ms.clamp(1, 60_000) as u64))
        })
    }
}

#[async_trait::async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, topic: &Topic, event: BrokerEvent) -> Result<(), BrokerError> {
        let payload = serde_json::to_vec(&event).map_err(|e| BrokerError(e.to_string()))?;
        let mut connection = self.publisher.clone();
        let _receivers: i64 = connection
            .publish(self.channel(topic), payload)
            .await
            .map_err(error)?;
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &Topic,
    ) -> Result<BoxStream<'static, BrokerEvent>, BrokerError> {
        let channel = self.channel(topic);
        let (receiver, is_new) = {
            let mut channels = lock(&self.channels);
            match channels.get(&channel) {
                Some(sender) => (sender.subscribe(), false),
                None => {
                    let (sender, receiver) = broadcast::channel(CHANNEL_CAPACITY);
                    channels.insert(channel.clone(), sender);
                    (receiver, true)
                }
            }
        };
        if is_new {
            // Returns once Redis confirmed, so events published after this call arrive. While
            // Redis is down the channel stays registered and is subscribed on reconnection.
            if let Some(sink) = self.sink.lock().await.as_mut() {
                tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(&channel))
                    .await
                    .map_err(|_| BrokerError("Redis did not confirm a subscription".into()))?
                    .map_err(error)?;
            }
        }
        Ok(BroadcastStream::new(receiver)
            .filter_map(|item| async move { item.ok() })
            .boxed())
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        let mut connection = self.publisher.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(error)?;
        Ok(())
    }
}
