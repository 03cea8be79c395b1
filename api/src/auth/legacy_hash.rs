//! Verification of legacy Werkzeug (Flask) password hashes.
//!
//! This module owns reading password hashes produced by Python's
//! `werkzeug.security.generate_password_hash`, so that accounts imported from the
//! legacy application can still log in (and be re-hashed with the current
//! algorithm by the caller). It never produces Werkzeug hashes.
//!
//! Stored format: `METHOD$SALT$HEXDIGEST`, split on the first two `$` like
//! Werkzeug's `pwhash.split("$", 2)`. Supported methods, mirroring Werkzeug 3.1's
//! `_hash_internal`:
//!
//! - `scrypt:N:r:p` (or bare `scrypt` = `scrypt:32768:8:1`): `hashlib.scrypt`
//!   with a 64-byte key (hashlib's default `dklen`).
//! - `pbkdf2:HASH:ITERATIONS`, `pbkdf2:HASH` or bare `pbkdf2` (= `sha256`): a
//!   missing iteration count means Werkzeug's *current* default, 1,000,000 in
//!   3.1 (600,000 in 2.3/3.0). Werkzeug itself always writes the count, so bare
//!   forms only appear in hand-written hashes. `dklen` is the digest size
//!   (hashlib's default). `HASH` may be `sha224`, `sha256`, `sha384` or `sha512`;
//!   `sha1`/`md5` (pre-2.0 era hashes) are not supported.
//!
//! The password and the salt *string* are both used as UTF-8 bytes (Werkzeug's
//! `str.encode()`); the salt is not decoded. The digest comparison is done in
//! constant time on the lowercase hex text, exactly like Werkzeug's
//! `hmac.compare_digest` on `.hex()` strings.
//!
//! Deliberate differences from Werkzeug, which would silently return `False` or
//! burn CPU/memory on whatever parameters a stored hash claims:
//!
//! - A stored value that is not `METHOD$SALT$DIGEST`, or whose digest is not
//!   lowercase hex of the expected length, is an error rather than `Ok(false)`.
//! - Parameters above the limits below are rejected before any hashing.
//! - Integer parameters are parsed strictly as decimal (Python's `int()` would
//!   also accept whitespace and `_` separators; Werkzeug never writes those).

use pbkdf2::pbkdf2_hmac;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// Werkzeug 3.1's `DEFAULT_PBKDF2_ITERATIONS`, used when a `pbkdf2` hash has no
/// iteration count.
pub const WERKZEUG_DEFAULT_PBKDF2_ITERATIONS: u32 = 1_000_000;

/// Largest accepted PBKDF2 iteration count.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Largest accepted scrypt `log2(N)` (`N = 2^20`).
pub const MAX_SCRYPT_LOG_N: u8 = 20;

/// Largest accepted scrypt memory use, `128 * N * r` bytes (256 MiB; Werkzeug's
/// default `32768:8:1` uses 32 MiB).
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;

/// Largest accepted scrypt work, `N * r * p` (16x Werkzeug's default of `2^18`).
pub const MAX_SCRYPT_WORK: u64 = 1 << 22;

/// Werkzeug's default scrypt parameters (`scrypt:32768:8:1`).
const SCRYPT_DEFAULT_N: u64 = 1 << 15;
const SCRYPT_DEFAULT_R: u32 = 8;
const SCRYPT_DEFAULT_P: u32 = 1;

/// `hashlib.scrypt`'s default `dklen`.
const SCRYPT_KEY_LEN: usize = 64;

/// Why a stored Werkzeug hash could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyHashError {
    /// Not of the form `METHOD$SALT$DIGEST`.
    #[error("malformed Werkzeug hash: expected `method$salt$digest`")]
    Malformed,
    /// The method (or the PBKDF2 hash function) is not supported.
    #[error("unsupported Werkzeug hash method `{0}`")]
    UnsupportedMethod(String),
    /// The method parameters cannot be parsed or are invalid for the algorithm.
    #[error("invalid `{method}` parameters in Werkzeug hash: {reason}")]
    InvalidParameters {
        /// `scrypt` or `pbkdf2`.
        method: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The parameters are valid but exceed this server's cost limits.
    #[error("`{method}` parameters in Werkzeug hash exceed limits: {reason}")]
    ParametersTooExpensive {
        /// `scrypt` or `pbkdf2`.
        method: &'static str,
        /// Which limit was exceeded.
        reason: String,
    },
    /// The digest is not lowercase hex of the length the method produces.
    #[error("malformed Werkzeug hash digest: expected {expected_hex_len} lowercase hex characters")]
    MalformedDigest {
        /// Number of hex characters the method produces.
        expected_hex_len: usize,
    },
}

/// Returns whether `stored` looks like a Werkzeug hash (`scrypt…$salt$digest` or
/// `pbkdf2…$salt$digest`), i.e. whether [`verify_werkzeug`] should be used for it.
///
/// This is a cheap structural check: parameters are not validated, so
/// [`verify_werkzeug`] may still return an error for a value accepted here.
/// PHC strings (`$argon2id$…`), bcrypt (`$2b$…`) and the like are not matched.
#[must_use]
pub fn is_werkzeug_hash(stored: &str) -> bool {
    split_stored(stored)
        .is_some_and(|(method, _, _)| matches!(method.split(':').next(), Some("scrypt" | "pbkdf2")))
}

/// Checks `password` against a stored Werkzeug hash, like Werkzeug's
/// `check_password_hash`.
///
/// Returns `Ok(true)` on a match and `Ok(false)` on a wrong password.
///
/// # Errors
///
/// Returns a [`LegacyHashError`] if `stored` is not a well-formed, supported
/// Werkzeug hash or its parameters exceed the limits of this module; no key
/// derivation is run in that case.
pub fn verify_werkzeug(stored: &str, password: &str) -> Result<bool, LegacyHashError> {
    let (method, salt, digest) = split_stored(stored).ok_or(LegacyHashError::Malformed)?;
    let mut args = method.split(':');
    let name = args.next().unwrap_or_default();
    let args: Vec<&str> = args.collect();
    let (password, salt) = (password.as_bytes(), salt.as_bytes());

    match name {
        "scrypt" => {
            let params = scrypt_params(&args)?;
            check_digest_format(digest, SCRYPT_KEY_LEN)?;
            let mut out = [0u8; SCRYPT_KEY_LEN];
            scrypt::scrypt(password, salt, &params, &mut out).map_err(|_| {
                LegacyHashError::InvalidParameters {
                    method: "scrypt",
                    reason: "invalid output length".to_owned(),
                }
            })?;
            Ok(digest_matches(digest, &out))
        }
        "pbkdf2" => {
            let (hash, iterations) = pbkdf2_params(&args)?;
            check_digest_format(digest, hash.output_len())?;
            let mut out = [0u8; 64];
            let out = out
                .get_mut(..hash.output_len())
                .ok_or(LegacyHashError::Malformed)?;
            match hash {
                Pbkdf2Hash::Sha224 => pbkdf2_hmac::<Sha224>(password, salt, iterations, out),
                Pbkdf2Hash::Sha256 => pbkdf2_hmac::<Sha256>(password, salt, iterations, out),
                Pbkdf2Hash::Sha384 => pbkdf2_hmac::<Sha384>(password, salt, iterations, out),
                Pbkdf2Hash::Sha512 => pbkdf2_hmac::<Sha512>(password, salt, iterations, out),
            }
            Ok(digest_matches(digest, out))
        }
        _ => Err(LegacyHashError::UnsupportedMethod(truncated(name))),
    }
}

/// Splits like Python's `pwhash.split("$", 2)`, requiring all three parts.
fn split_stored(stored: &str) -> Option<(&str, &str, &str)> {
    let mut parts = stored.splitn(3, '$');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

#[derive(Debug, Clone, Copy)]
enum Pbkdf2Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Pbkdf2Hash {
    /// Digest size in bytes, which is hashlib's default PBKDF2 `dklen`.
    const fn output_len(self) -> usize {
        match self {
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

fn pbkdf2_params(args: &[&str]) -> Result<(Pbkdf2Hash, u32), LegacyHashError> {
    let (hash_name, iterations) = match args {
        [] => ("sha256", WERKZEUG_DEFAULT_PBKDF2_ITERATIONS),
        [hash_name] => (*hash_name, WERKZEUG_DEFAULT_PBKDF2_ITERATIONS),
        [hash_name, iterations] => (*hash_name, parse_param::<u32>("pbkdf2", iterations)?),
        _ => {
            return Err(LegacyHashError::InvalidParameters {
                method: "pbkdf2",
                reason: "takes at most 2 arguments".to_owned(),
            });
        }
    };
    let hash = match hash_name {
        "sha224" => Pbkdf2Hash::Sha224,
        "sha256" => Pbkdf2Hash::Sha256,
        "sha384" => Pbkdf2Hash::Sha384,
        "sha512" => Pbkdf2Hash::Sha512,
        other => {
            return Err(LegacyHashError::UnsupportedMethod(format!(
                "pbkdf2:{}",
                truncated(other)
            )));
        }
    };
    if iterations == 0 {
        return Err(LegacyHashError::InvalidParameters {
            method: "pbkdf2",
            reason: "iterations must be at least 1".to_owned(),
        });
    }
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(LegacyHashError::ParametersTooExpensive {
            method: "pbkdf2",
            reason: format!("{iterations} iterations > {MAX_PBKDF2_ITERATIONS}"),
        });
    }
    Ok((hash, iterations))
}

fn scrypt_params(args: &[&str]) -> Result<scrypt::Params, LegacyHashError> {
    let invalid = |reason: &str| LegacyHashError::InvalidParameters {
        method: "scrypt",
        reason: reason.to_owned(),
    };
    let too_expensive = |reason: String| LegacyHashError::ParametersTooExpensive {
        method: "scrypt",
        reason,
    };

    let (n, r, p) = match args {
        [] => (SCRYPT_DEFAULT_N, SCRYPT_DEFAULT_R, SCRYPT_DEFAULT_P),
        [n, r, p] => (
            parse_param::<u64>("scrypt", n)?,
            parse_param::<u32>("scrypt", r)?,
            parse_param::<u32>("scrypt", p)?,
        ),
        _ => return Err(invalid("takes 3 arguments (N:r:p)")),
    };
    if n < 2 || !n.is_power_of_two() {
        return Err(invalid("N must be a power of two greater than 1"));
    }
    if r == 0 || p == 0 {
        return Err(invalid("r and p must be at least 1"));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| invalid("N out of range"))?;
    if log_n > MAX_SCRYPT_LOG_N {
        return Err(too_expensive(format!("N = {n} > 2^{MAX_SCRYPT_LOG_N}")));
    }
    // n <= 2^20 and r, p < 2^32, so none of these products overflow a u64.
    let (r64, p64) = (u64::from(r), u64::from(p));
    // RFC 7914's `N < 2^(16*r)`: OpenSSL (hence Werkzeug) enforces it, scrypt
    // 0.11 does too, but scrypt 0.12 dropped it.
    if u64::from(log_n) >= 16 * r64 {
        return Err(invalid("N must be < 2^(16*r)"));
    }
    let memory = 128 * n * r64;
    if memory > MAX_SCRYPT_MEMORY_BYTES {
        return Err(too_expensive(format!(
            "128*N*r = {memory} bytes > {MAX_SCRYPT_MEMORY_BYTES}"
        )));
    }
    let work = n * r64 * p64;
    if work > MAX_SCRYPT_WORK {
        return Err(too_expensive(format!("N*r*p = {work} > {MAX_SCRYPT_WORK}")));
    }
    scrypt::Params::new(log_n, r, p, SCRYPT_KEY_LEN)
        .map_err(|_| invalid("rejected by the scrypt crate"))
}

fn parse_param<T: core::str::FromStr>(method: &'static str, s: &str) -> Result<T, LegacyHashError> {
    // `u32::from_str` alone would also accept a leading `+`.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LegacyHashError::InvalidParameters {
            method,
            reason: format!("`{}` is not a decimal integer", truncated(s)),
        });
    }
    s.parse::<T>()
        .map_err(|_| LegacyHashError::ParametersTooExpensive {
            method,
            reason: format!("`{}` is out of range", truncated(s)),
        })
}

fn check_digest_format(digest: &str, output_len: usize) -> Result<(), LegacyHashError> {
    let expected_hex_len = output_len * 2;
    let lower_hex = digest
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if digest.len() == expected_hex_len && lower_hex {
        Ok(())
    } else {
        Err(LegacyHashError::MalformedDigest { expected_hex_len })
    }
}

/// Constant-time comparison of the stored hex digest with the computed key.
fn digest_matches(stored_hex: &str, computed: &[u8]) -> bool {
    let computed_hex = hex::encode(computed);
    bool::from(stored_hex.as_bytes().ct_eq(computed_hex.as_bytes()))
}

/// Bounds attacker- or corruption-controlled text echoed in error messages.
fn truncated(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/werkzeug_hashes.json");

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[derive(serde::Deserialize)]
    struct Fixture {
        generator: String,
        hashes: Vec<FixtureHash>,
    }

    #[derive(serde::Deserialize)]
    struct FixtureHash {
        method: String,
        password: String,
        hash: String,
    }

    fn fixture() -> Result<Fixture, serde_json::Error> {
        serde_json::from_str(FIXTURE)
    }

    #[test]
    fn fixture_hashes_verify() -> TestResult {
        let fixture = fixture()?;
        assert!(fixture.generator.starts_with("werkzeug "));
        assert!(fixture.hashes.len() >= 3);
        for h in &fixture.hashes {
            assert!(is_werkzeug_hash(&h.hash), "{}", h.method);
            assert_eq!(
                verify_werkzeug(&h.hash, &h.password),
                Ok(true),
                "{}",
                h.method
            );
            let wrong = format!("{}!", h.password);
            assert_eq!(verify_werkzeug(&h.hash, &wrong), Ok(false), "{}", h.method);
        }
        Ok(())
    }

    #[test]
    fn fixture_covers_methods_and_non_ascii() -> TestResult {
        let fixture = fixture()?;
        let has = |prefix: &str| fixture.hashes.iter().any(|h| h.hash.starts_with(prefix));
        assert!(has("scrypt:32768:8:1$"));
        assert!(has("pbkdf2:sha256:1000000$"));
        assert!(
            fixture
                .hashes
                .iter()
                .any(|h| h.hash.starts_with("pbkdf2:sha256:") && !h.password.is_ascii())
        );
        Ok(())
    }

    /// Bare `scrypt` / `pbkdf2` / `pbkdf2:sha256` mean Werkzeug's defaults (the
    /// fixtures were generated with those defaults). Only the right password is
    /// checked: 1M PBKDF2 iterations take seconds in an unoptimized test build.
    #[test]
    fn omitted_parameters_use_werkzeug_defaults() -> TestResult {
        let fixture = fixture()?;
        let find = |prefix: &str| {
            fixture
                .hashes
                .iter()
                .find_map(|h| Some((h.hash.strip_prefix(prefix)?, h.password.as_str())))
                .ok_or(format!("no {prefix} fixture"))
        };
        let (rest, password) = find("pbkdf2:sha256:1000000$")?;
        for v in [format!("pbkdf2:sha256${rest}"), format!("pbkdf2${rest}")] {
            assert_eq!(verify_werkzeug(&v, password), Ok(true), "{v}");
        }
        let (rest, password) = find("scrypt:32768:8:1$")?;
        let v = format!("scrypt${rest}");
        assert_eq!(verify_werkzeug(&v, password), Ok(true), "{v}");
        assert_eq!(verify_werkzeug(&v, "nope"), Ok(false), "{v}");
        Ok(())
    }

    #[test]
    fn tampered_salt_or_digest_does_not_verify() -> TestResult {
        let fixture = fixture()?;
        let h = fixture
            .hashes
            .iter()
            .find(|h| h.hash.starts_with("pbkdf2:sha512:10000$"))
            .ok_or("no pbkdf2:sha512:10000 fixture")?;
        assert_eq!(verify_werkzeug(&h.hash, &h.password), Ok(true));
        let (method, salt, digest) = split_stored(&h.hash).ok_or("split")?;
        let other_salt = format!("{method}$x{salt}${digest}");
        assert_eq!(verify_werkzeug(&other_salt, &h.password), Ok(false));
        let flipped: String = digest
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    if c == '0' { '1' } else { '0' }
                } else {
                    c
                }
            })
            .collect();
        let other_digest = format!("{method}${salt}${flipped}");
        assert_eq!(verify_werkzeug(&other_digest, &h.password), Ok(false));
        Ok(())
    }

    #[test]
    fn malformed_hashes_are_errors() {
        let d64 = "ab".repeat(32);
        let cases = [
            String::new(),
            "no-dollars".to_owned(),
            "pbkdf2:sha256:1000$only-salt".to_owned(),
            format!("bcrypt$salt${d64}"),
            format!("pbkdf2:md5:1000$salt${d64}"),
            format!("pbkdf2:sha256:1:2$salt${d64}"),
            format!("pbkdf2:sha256:abc$salt${d64}"),
            format!("pbkdf2:sha256:+1000$salt${d64}"),
            format!("scrypt:16384:8$salt${d64}"),
            format!("scrypt:16384:8:x$salt${d64}"),
            // Wrong digest length / not lowercase hex.
            "pbkdf2:sha256:1000$salt$abcd".to_owned(),
            format!("pbkdf2:sha256:1000$salt${}", "AB".repeat(32)),
            format!("pbkdf2:sha256:1000$salt${}", "zz".repeat(32)),
            format!("scrypt:16384:8:1$salt${d64}$"),
        ];
        for stored in &cases {
            assert!(
                verify_werkzeug(stored, "pw").is_err(),
                "{stored:?} should be an error"
            );
        }
        assert!(!is_werkzeug_hash(""));
        assert!(!is_werkzeug_hash("no-dollars"));
        assert!(!is_werkzeug_hash(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
        ));
        assert!(!is_werkzeug_hash(
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
        ));
        assert!(!is_werkzeug_hash(&format!("bcrypt$salt${d64}")));
        assert!(is_werkzeug_hash(&format!("pbkdf2:sha256:1000$salt${d64}")));
        assert!(is_werkzeug_hash(&format!(
            "scrypt$salt${}",
            "ab".repeat(64)
        )));
    }

    #[test]
    fn absurd_parameters_are_rejected_without_hashing() {
        let d32 = "ab".repeat(32);
        let d64 = "ab".repeat(64);
        let cases = [
            format!("scrypt:1000:8:1$salt${d64}"), // N not a power of two
            format!("scrypt:1:8:1$salt${d64}"),    // N too small
            format!("scrypt:0:8:1$salt${d64}"),    // N zero
            format!("scrypt:2097152:8:1$salt${d64}"), // N = 2^21
            format!("scrypt:{}:8:1$salt${d64}", 1u64 << 63),
            format!("scrypt:99999999999999999999999:8:1$salt${d64}"),
            format!("scrypt:16384:0:1$salt${d64}"),    // r = 0
            format!("scrypt:16384:8:0$salt${d64}"),    // p = 0
            format!("scrypt:16384:1024:1$salt${d64}"), // 2 GiB of memory
            format!("scrypt:16384:8:1024$salt${d64}"), // r*p too large
            format!("scrypt:1048576:1:4096$salt${d64}"),
            format!("scrypt:65536:1:1$salt${d64}"), // N >= 2^(16r), rejected by OpenSSL
            format!("pbkdf2:sha256:0$salt${d32}"),
            format!("pbkdf2:sha256:10000001$salt${d32}"),
            format!("pbkdf2:sha256:4294967296$salt${d32}"),
        ];
        let start = std::time::Instant::now();
        for stored in &cases {
            assert!(
                verify_werkzeug(stored, "pw").is_err(),
                "{stored} should be rejected"
            );
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(matches!(
            verify_werkzeug(&format!("pbkdf2:sha256:10000001$salt${d32}"), "pw"),
            Err(LegacyHashError::ParametersTooExpensive { .. })
        ));
        assert!(matches!(
            verify_werkzeug(&format!("scrypt:1000:8:1$salt${d64}"), "pw"),
            Err(LegacyHashError::InvalidParameters { .. })
        ));
    }
}
