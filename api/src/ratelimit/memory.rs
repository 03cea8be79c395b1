//! In-process counts: one `governor` keyed limiter (GCRA over a concurrent map) per scope.
//! Used alone on a single instance, and as the fallback while Redis cannot be reached.

use std::{
    num::NonZeroU32,
    sync::{Arc, Weak},
    time::Duration,
};

use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use super::{BackendError, Check, LimitBackend, Rules, Scope, Verdict};

/// How often keys whose bucket has refilled are dropped: without it, every student and address
/// ever seen would stay in memory for the life of the process.
const PURGE_EVERY: Duration = Duration::from_secs(60);

pub struct MemoryBackend {
    limiters: Vec<(Scope, DefaultKeyedRateLimiter<String>)>,
}

impl MemoryBackend {
    /// Builds a limiter for each scope that has a rule, and the task that purges them. The task
    /// holds a weak reference and ends with the backend (no process-global state).
    pub fn start(rules: &Rules) -> Arc<Self> {
        let limiters = Scope::ALL
            .into_iter()
            .filter_map(|scope| {
                let rule = rules.get(scope)?;
                let burst = NonZeroU32::new(rule.burst).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(rule.interval)?.allow_burst(burst);
                Some((scope, DefaultKeyedRateLimiter::keyed(quota)))
            })
            .collect();
        let backend = Arc::new(Self { limiters });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(purge(Arc::downgrade(&backend)));
        }
        backend
    }

    fn limiter(&self, scope: Scope) -> Option<&DefaultKeyedRateLimiter<String>> {
        self.limiters
            .iter()
            .find_map(|(candidate, limiter)| (*candidate == scope).then_some(limiter))
    }

    fn check_now(&self, checks: &[Check]) -> Verdict {
        // Every check is taken (not only up to the first refusal), so the longest wait is
        // reported. A request refused by one key still counts against the others: the keys of
        // one request are not updated atomically in process, which only errs on the strict side.
        let longest = checks
            .iter()
            .filter_map(|check| {
                let limiter = self.limiter(check.scope)?;
                let refused = limiter.check_key(&check.key).err()?;
                Some(refused.wait_time_from(limiter.clock().now()))
            })
            .max();
        match longest {
            Some(wait) => Verdict::Limited(wait),
            None => Verdict::Allowed,
        }
    }
}

#[async_trait::async_trait]
impl LimitBackend for MemoryBackend {
    async fn check(&self, checks: &[Check]) -> Result<Verdict, BackendError> {
        Ok(self.check_now(checks))
    }
}

async fn purge(backend: Weak<MemoryBackend>) {
    let mut interval = tokio::time::interval(PURGE_EVERY);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        for (_, limiter) in &backend.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::Rule;

    fn check(scope: Scope, key: &str, rule: Rule) -> Check {
        Check {
            scope,
            rule,
            key: key.to_owned(),
        }
    }

    #[tokio::test]
    async fn the_longest_wait_among_the_refused_keys_is_reported() {
        let limits = crate::config::RateLimits {
            login_user_per_min: 1,
            login_user_burst: 1,
            login_ip_per_min: 6,
            login_ip_burst: 1,
            ..Default::default()
        };
        let rules = Rules::from_config(&limits);
        let backend = MemoryBackend::start(&rules);
        let (Some(user), Some(ip)) = (rules.get(Scope::LoginUser), rules.get(Scope::LoginIp))
        else {
            panic!("both rules configured");
        };
        let checks = [
            check(Scope::LoginUser, "u", user),
            check(Scope::LoginIp, "1.2.3.4", ip),
        ];
        assert_eq!(backend.check_now(&checks), Verdict::Allowed);
        let Verdict::Limited(wait) = backend.check_now(&checks) else {
            panic!("second attempt within the minute must be limited");
        };
        assert!(wait > Duration::from_secs(50), "{wait:?}");
    }
}
