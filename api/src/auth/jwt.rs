//! JSON Web Tokens: short-lived access tokens and long-lived refresh tokens, signed with the
//! deployment's `JWT_SECRET` (HS256). The token type is a claim, so one kind is never accepted
//! where the other is expected.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::{
    config::Secret,
    error::{AppError, AppResult},
};

/// The reason given for an expired refresh token (the old REST routes tell it apart).
pub const REFRESH_EXPIRED: &str = "refresh token expired; log in again";

/// Slack for the clocks of several instances when checking expiry.
pub const CLOCK_LEEWAY_SECS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Dashboard user id.
    pub sub: i64,
    pub typ: TokenType,
    pub iat: i64,
    pub exp: i64,
    /// The user's session version when issued: a bumped version ends the token at once.
    #[serde(default)]
    pub ver: i32,
    /// A refresh token's id (its row in `refresh_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// An access token's login (its refresh tokens' family): ending that login (logout, or a
    /// reused refresh token) ends the access token at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// A signed token and when it stops being valid.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &Secret, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked by `verify` after the token type, so that a refresh token is
        // refused as the wrong kind even once it has expired.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn issue(&self, user_id: i64, typ: TokenType) -> AppResult<IssuedToken> {
        self.issue_versioned(user_id, typ, 0, None)
    }

    /// A token of session version `ver`; a refresh token also names its row (`jti`).
    pub fn issue_versioned(
        &self,
        user_id: i64,
        typ: TokenType,
        ver: i32,
        jti: Option<String>,
    ) -> AppResult<IssuedToken> {
        let ttl = chrono::Duration::from_std(self.ttl(typ)).map_err(AppError::internal)?;
        self.sign(Claims {
            sub: user_id,
            typ,
            iat: Utc::now().timestamp(),
            exp: (Utc::now() + ttl).timestamp(),
            ver,
            jti,
            fam: None,
        })
    }

    /// An access token of session version `ver` for the login `family`.
    pub fn issue_access(&self, user_id: i64, ver: i32, family: &str) -> AppResult<IssuedToken> {
        let ttl = chrono::Duration::from_std(self.access_ttl).map_err(AppError::internal)?;
        self.sign(Claims {
            sub: user_id,
            typ: TokenType::Access,
            iat: Utc::now().timestamp(),
            exp: (Utc::now() + ttl).timestamp(),
            ver,
            jti: None,
            fam: Some(family.to_owned()),
        })
    }

    pub fn ttl(&self, typ: TokenType) -> Duration {
        match typ {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
        }
    }

    /// Issues a token with an explicit expiry (also how tests make expired tokens).
    pub fn issue_expiring_at(
        &self,
        user_id: i64,
        typ: TokenType,
        expires_at: DateTime<Utc>,
    ) -> AppResult<IssuedToken> {
        self.sign(Claims {
            sub: user_id,
            typ,
            iat: Utc::now().timestamp(),
            exp: expires_at.timestamp(),
            ver: 0,
            jti: None,
            fam: None,
        })
    }

    fn sign(&self, claims: Claims) -> AppResult<IssuedToken> {
        let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Checks signature, expiry and type. An expired access token is `TOKEN_EXPIRED` (clients
    /// refresh on exactly that); everything else wrong is `UNAUTHENTICATED`.
    pub fn verify(&self, token: &str, expected: TokenType) -> AppResult<Claims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated("invalid token"))?
            .claims;
        if claims.typ != expected {
            return Err(AppError::Unauthenticated("wrong kind of token"));
        }
        if Utc::now().timestamp() > claims.exp + CLOCK_LEEWAY_SECS {
            return Err(match expected {
                TokenType::Access => AppError::TokenExpired,
                TokenType::Refresh => AppError::Unauthenticated(REFRESH_EXPIRED),
            });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &Secret::new("test secret"),
            Duration::from_secs(60),
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn a_token_verifies_only_as_its_own_type() -> AppResult<()> {
        let keys = keys();
        let access = keys.issue(7, TokenType::Access)?;
        assert_eq!(keys.verify(&access.token, TokenType::Access)?.sub, 7);
        let wrong = keys.verify(&access.token, TokenType::Refresh);
        assert!(matches!(wrong, Err(AppError::Unauthenticated(_))));
        Ok(())
    }

    #[test]
    fn an_expired_access_token_is_told_apart_from_an_invalid_one() -> AppResult<()> {
        let keys = keys();
        let past = Utc::now() - chrono::Duration::minutes(5);
        let expired = keys.issue_expiring_at(7, TokenType::Access, past)?;
        let result = keys.verify(&expired.token, TokenType::Access);
        assert!(matches!(result, Err(AppError::TokenExpired)));
        let other = JwtKeys::new(&Secret::new("other"), Duration::ZERO, Duration::ZERO);
        let forged = other.issue(7, TokenType::Access)?;
        let result = keys.verify(&forged.token, TokenType::Access);
        assert!(matches!(result, Err(AppError::Unauthenticated(_))));
        Ok(())
    }
}
