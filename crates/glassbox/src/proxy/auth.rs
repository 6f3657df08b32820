//! Client authentication: API keys (from `Authorization: Bearer …` or `x-api-key`) → tenant
//! and policy. Keys are kept only as SHA-256 digests, so a lookup takes the same path whatever
//! key is tried.

use std::collections::HashMap;

use http::{header, HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use super::config::AuthConfig;
use super::error::ApiError;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Tenant, when authentication is on.
    pub tenant: Option<String>,
    /// The tenant's policy, when it has one.
    pub policy: Option<String>,
}

/// The key table.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    keys: HashMap<[u8; 32], Caller>,
}

impl Auth {
    /// Builds the table (keys from `key_env` are read now; config validation checked them).
    ///
    /// # Errors
    /// A message when a key's variable is unset.
    pub fn new(config: &AuthConfig) -> Result<Auth, String> {
        let mut keys = HashMap::new();
        for (i, k) in config.keys.iter().enumerate() {
            let key = match (&k.key, &k.key_env) {
                (Some(key), _) => key.clone(),
                (None, Some(var)) => std::env::var(var)
                    .map_err(|_| format!("auth.keys[{i}].key_env: `{var}` is not set"))?,
                (None, None) => return Err(format!("auth.keys[{i}]: no key")),
            };
            keys.insert(
                digest(key.as_bytes()),
                Caller {
                    tenant: Some(k.tenant.clone()),
                    policy: k.policy.clone(),
                },
            );
        }
        Ok(Auth { keys })
    }

    /// Whether clients must authenticate.
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Identifies the caller.
    ///
    /// # Errors
    /// 401 in the API's shape when a key is needed and missing or unknown.
    pub fn check(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        if !self.enabled() {
            return Ok(Caller {
                tenant: None,
                policy: None,
            });
        }
        let key = presented_key(headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>` with \
                 a key listed in the proxy's `auth.keys`",
            )
        })?;
        self.keys
            .get(&digest(key.as_bytes()))
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid API key: it is not one of the proxy's `auth.keys`",
                )
            })
    }
}

fn digest(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// The key a client sent: `x-api-key`, else a bearer token.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let k = k.trim();
        if !k.is_empty() {
            return Some(k);
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::super::config::ApiKeyConfig;
    use super::*;

    fn auth() -> Auth {
        Auth::new(&AuthConfig {
            keys: vec![ApiKeyConfig {
                key_env: None,
                key: Some("gb-team-a-0123456789".into()),
                tenant: "team-a".into(),
                policy: Some("strict".into()),
            }],
        })
        .unwrap()
    }

    #[test]
    fn keys_map_to_tenants() {
        let a = auth();
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("authorization", "Bearer gb-team-a-0123456789", Ok("team-a")),
            ("authorization", "bearer gb-team-a-0123456789", Ok("team-a")),
            ("x-api-key", "gb-team-a-0123456789", Ok("team-a")),
            (
                "authorization",
                "Bearer wrong-key-000000",
                Err("invalid API key"),
            ),
            (
                "authorization",
                "Basic Zm9vOmJhcg==",
                Err("missing API key"),
            ),
            ("x-api-key", "", Err("missing API key")),
            ("x-other", "gb-team-a-0123456789", Err("missing API key")),
        ];
        for (h, v, want) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::HeaderName::from_static(h),
                http::HeaderValue::from_str(v).unwrap(),
            );
            match (a.check(&headers), want) {
                (Ok(c), Ok(t)) => {
                    assert_eq!(c.tenant.as_deref(), Some(*t));
                    assert_eq!(c.policy.as_deref(), Some("strict"));
                }
                (Err(e), Err(words)) => {
                    assert_eq!(e.status, StatusCode::UNAUTHORIZED);
                    assert!(e.message.contains(words), "{h}: {v}: {}", e.message);
                }
                (got, want) => panic!("{h}: {v}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn no_keys_means_open() {
        let a = Auth::new(&AuthConfig::default()).unwrap();
        assert!(!a.enabled());
        assert_eq!(a.check(&HeaderMap::new()).unwrap().tenant, None);
    }
}
