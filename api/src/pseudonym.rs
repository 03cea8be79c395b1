//! The privacy rule: raw student ids and dashboard usernames are replaced on arrival by
//! `hex(sha256(utf8(raw) ++ utf8(SECRET_SALT)))`, the old backend's exact function, so imported
//! data keeps matching.

use sha2::{Digest, Sha256};

use crate::config::Secret;

/// Length of a pseudonym: 64 lowercase hex characters.
pub const PSEUDONYM_LEN: usize = 64;

#[derive(Clone)]
pub struct Pseudonymizer {
    salt: Secret,
}

impl Pseudonymizer {
    pub fn new(salt: Secret) -> Self {
        Self { salt }
    }

    pub fn pseudonymize(&self, raw: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(raw.as_bytes());
        hasher.update(self.salt.expose().as_bytes());
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_old_backends_function() {
        // python3 -c "import hashlib; print(hashlib.sha256(('student42'+'pepper').encode()).hexdigest())"
        let p = Pseudonymizer::new(Secret::new("pepper"));
        assert_eq!(
            p.pseudonymize("student42"),
            "83d9f6dc36dfc37ab610f834e1efd9b6ac663cc1e8917bb1b20a5fabde854168"
        );
        assert_eq!(
            p.pseudonymize("étudiant"),
            "37d2131f6cdb5f05f09d24aca5cf0a6f25b49699613d9c8031b51ba590bc9e5a"
        );
    }
}
