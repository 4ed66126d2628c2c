//! Bearer tokens: users (with a role) and agents (bound to one cluster). Tokens are random,
//! shown once, and kept only as SHA-256 hashes; master never logs one.

use parking_lot::RwLock;
use std::collections::HashMap;

use atlhyper_model::api::Role;
use base64::Engine as _;
use rand::RngCore as _;
use rand::SeedableRng as _;

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person or a script, with what it may do.
    User {
        id: Option<i64>,
        name: String,
        role: Role,
    },
    /// A cluster's agent: may push and fetch commands for this cluster only.
    Agent { cluster_id: String },
}

impl Principal {
    /// The name audit records show.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { name, .. } => name.clone(),
            Principal::Agent { cluster_id } => format!("cluster:{cluster_id}"),
        }
    }
}

/// A new random token: a prefix naming its kind, then 32 random bytes (base64url).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a token: SHA-256, hex. Tokens are 256-bit random, so a fast hash is
/// enough (no dictionary to guess from).
pub fn hash(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The live tokens, by hash.
#[derive(Default)]
pub struct Tokens {
    by_hash: RwLock<HashMap<String, Principal>>,
}

impl Tokens {
    /// Who presents this token, if anyone.
    pub fn lookup(&self, token: &str) -> Option<Principal> {
        self.by_hash.read().get(&hash(token)).cloned()
    }

    pub fn insert(&self, token_hash: String, principal: Principal) {
        self.by_hash.write().insert(token_hash, principal);
    }

    pub fn remove(&self, token_hash: &str) {
        self.by_hash.write().remove(token_hash);
    }

    /// Forgets every token of a cluster's agent.
    pub fn remove_cluster(&self, cluster_id: &str) {
        self.by_hash
            .write()
            .retain(|_, p| !matches!(p, Principal::Agent { cluster_id: c } if c == cluster_id));
    }

    /// Whether any admin token is live.
    pub fn has_admin(&self) -> bool {
        self.by_hash.read().values().any(|p| {
            matches!(
                p,
                Principal::User {
                    role: Role::Admin,
                    ..
                }
            )
        })
    }
}

/// Reads `Authorization: Bearer <token>`.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    atlhyper_model::auth::bearer(headers.get(http::header::AUTHORIZATION)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_identifies_them() {
        let (a, b) = (generate("atl_"), generate("atl_"));
        assert_ne!(a, b);
        assert!(a.starts_with("atl_") && a.len() == 4 + 43, "{a}");
        let tokens = Tokens::default();
        tokens.insert(
            hash(&a),
            Principal::User {
                id: Some(1),
                name: "alice".into(),
                role: Role::Operator,
            },
        );
        assert!(matches!(
            tokens.lookup(&a),
            Some(Principal::User {
                role: Role::Operator,
                ..
            })
        ));
        assert_eq!(tokens.lookup(&b), None);
        assert!(!tokens.has_admin());
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), a);
    }
}
