//! Rate-limit settings: one rate and burst per key kind, and the proxies whose
//! `X-Forwarded-For` is believed. A rate of 0 turns that limit off.

use clap::Args;

use super::TrustedProxy;

#[derive(Debug, Clone, Args)]
pub struct RateLimits {
    /// Ingest requests per second per (notebook, student); the telemetry extension sends one
    /// request per action.
    #[arg(
        long = "rate-ingest-student-per-sec",
        env = "RATE_INGEST_STUDENT_PER_SEC",
        default_value_t = 20,
        global = true
    )]
    pub ingest_student_per_sec: u32,
    #[arg(
        long = "rate-ingest-student-burst",
        env = "RATE_INGEST_STUDENT_BURST",
        default_value_t = 100,
        global = true
    )]
    pub ingest_student_burst: u32,
    /// Ingest requests per second per client address: a ceiling for a whole class behind one
    /// NAT address (1000 students × a few events per second).
    #[arg(
        long = "rate-ingest-ip-per-sec",
        env = "RATE_INGEST_IP_PER_SEC",
        default_value_t = 5000,
        global = true
    )]
    pub ingest_ip_per_sec: u32,
    #[arg(
        long = "rate-ingest-ip-burst",
        env = "RATE_INGEST_IP_BURST",
        default_value_t = 10_000,
        global = true
    )]
    pub ingest_ip_burst: u32,
    /// Login attempts per minute per username (GraphQL `login` and `/jwt/login`).
    #[arg(
        long = "rate-login-user-per-min",
        env = "RATE_LOGIN_USER_PER_MIN",
        default_value_t = 5,
        global = true
    )]
    pub login_user_per_min: u32,
    #[arg(
        long = "rate-login-user-burst",
        env = "RATE_LOGIN_USER_BURST",
        default_value_t = 10,
        global = true
    )]
    pub login_user_burst: u32,
    /// Login attempts per minute per client address.
    #[arg(
        long = "rate-login-ip-per-min",
        env = "RATE_LOGIN_IP_PER_MIN",
        default_value_t = 60,
        global = true
    )]
    pub login_ip_per_min: u32,
    #[arg(
        long = "rate-login-ip-burst",
        env = "RATE_LOGIN_IP_BURST",
        default_value_t = 60,
        global = true
    )]
    pub login_ip_burst: u32,
    /// GraphQL requests (and websocket operations) per second per authenticated dashboard user.
    #[arg(
        long = "rate-user-per-sec",
        env = "RATE_USER_PER_SEC",
        default_value_t = 50,
        global = true
    )]
    pub user_per_sec: u32,
    #[arg(
        long = "rate-user-burst",
        env = "RATE_USER_BURST",
        default_value_t = 200,
        global = true
    )]
    pub user_burst: u32,
    /// Reverse proxies (IPs or CIDRs, comma separated) whose `X-Forwarded-For` names the
    /// client; from any other peer the header is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<TrustedProxy>,
}

impl Default for RateLimits {
    /// The command line's defaults (`Config::defaults`).
    fn default() -> Self {
        super::Config::defaults().limits.rate
    }
}

impl RateLimits {
    /// Every limit off (load benchmarks measure the server, not the limiter).
    pub fn off() -> Self {
        Self {
            ingest_student_per_sec: 0,
            ingest_ip_per_sec: 0,
            login_user_per_min: 0,
            login_ip_per_min: 0,
            user_per_sec: 0,
            ..Self::default()
        }
    }
}
