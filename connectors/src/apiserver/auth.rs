//! Production-mode authentication and authorization.
//!
//! Tokens are JWTs signed with ES256 (ECDSA P-256 / SHA-256; by default with the server
//! certificate's key, as dcontroller takes its key from the certificate) carrying the claims
//! `{username, namespaces[], rules[]}` where `rules` are Kubernetes RBAC `PolicyRule`s.
//!
//! Authorization, after a valid token: (1) non-resource requests (discovery, OpenAPI) are allowed;
//! (2) namespace gate: with a non-empty `namespaces` list lacking `*`, cluster-wide requests and
//! namespaces not on the list are denied; (3) RBAC: an empty `rules` list allows everything,
//! otherwise some rule must match the verb, API group and resource (`*` wildcards; subresources
//! as `resource/sub`) and, except for list, watch, create and deletecollection, the name when
//! the rule lists `resourceNames`. Missing or invalid tokens get 401, denials 403.

use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};

use super::Error;
use super::status::ApiStatus;
use super::time::now_unix;

/// The `iss` claim of tokens issued here.
pub const ISSUER: &str = "deltaloop";

/// A Kubernetes RBAC `PolicyRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    /// Verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`, or `*`).
    #[serde(default)]
    pub verbs: Vec<String>,
    /// API groups (`""` is core; `*` any).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Resources (plural; `resource/subresource`; `*` any).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Object names; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
}

impl PolicyRule {
    /// A rule over all groups and resources with the given verbs.
    pub fn all_resources(verbs: &[&str]) -> Self {
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: vec!["*".into()],
            resources: vec!["*".into()],
            resource_names: Vec::new(),
        }
    }

    /// Whether the rule allows a request.
    pub fn matches(&self, a: &Attributes<'_>) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        if !any(&self.verbs, a.verb) || !any(&self.api_groups, a.group) {
            return false;
        }
        let resource_ok = self.resources.iter().any(|r| {
            if r == "*" || r == a.resource {
                return true;
            }
            match a.resource.split_once('/') {
                Some((main, sub)) => r == &format!("{main}/*") || r == &format!("*/{sub}"),
                None => false,
            }
        });
        if !resource_ok {
            return false;
        }
        if self.resource_names.is_empty()
            || matches!(a.verb, "list" | "watch" | "create" | "deletecollection")
        {
            return true;
        }
        a.name
            .is_some_and(|n| self.resource_names.iter().any(|x| x == n))
    }
}

/// The claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub username: String,
    /// Namespaces the user may access; empty or containing `*` means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// RBAC rules; empty means full access.
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    /// Issuer.
    #[serde(default)]
    pub iss: String,
    /// Subject (the user name).
    #[serde(default)]
    pub sub: String,
    /// Issued at (Unix seconds).
    #[serde(default)]
    pub iat: i64,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

/// Access profiles for generated kubeconfigs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// get, list, watch.
    Viewer,
    /// viewer plus create, update, patch, delete, deletecollection.
    Editor,
    /// everything (`*`).
    Admin,
}

impl Profile {
    /// Parses `viewer`, `editor` or `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Profile::Viewer),
            "editor" => Some(Profile::Editor),
            "admin" => Some(Profile::Admin),
            _ => None,
        }
    }

    /// The profile's rules.
    pub fn rules(self) -> Vec<PolicyRule> {
        match self {
            Profile::Viewer => vec![PolicyRule::all_resources(&["get", "list", "watch"])],
            Profile::Editor => vec![PolicyRule::all_resources(&[
                "get",
                "list",
                "watch",
                "create",
                "update",
                "patch",
                "delete",
                "deletecollection",
            ])],
            Profile::Admin => vec![PolicyRule::all_resources(&["*"])],
        }
    }
}

/// What a request does, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes<'a> {
    /// The verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`).
    pub verb: &'a str,
    /// The API group.
    pub group: &'a str,
    /// The resource, `plural` or `plural/subresource`.
    pub resource: &'a str,
    /// The namespace, `None` for cluster-wide requests.
    pub namespace: Option<&'a str>,
    /// The object name, if any.
    pub name: Option<&'a str>,
}

/// Issues and verifies ES256 bearer tokens and authorizes requests.
pub struct TokenAuthority {
    key_pair: EcdsaKeyPair,
    public_key: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthority").finish_non_exhaustive()
    }
}

impl TokenAuthority {
    /// An authority with a fresh random key.
    pub fn generate() -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| Error::Token("generating a key failed".into()))?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// An authority with an ECDSA P-256 private key in PKCS#8 DER (e.g. the server
    /// certificate's key).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| Error::Token(format!("not an ECDSA P-256 PKCS#8 key: {e}")))?;
        let public_key = key_pair.public_key().as_ref().to_vec();
        Ok(TokenAuthority {
            key_pair,
            public_key,
            rng,
        })
    }

    /// Signs claims into a token.
    pub fn issue(&self, claims: &Claims) -> Result<String, Error> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
        let signing_input = format!("{header}.{payload}");
        let sig = self
            .key_pair
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| Error::Token("signing failed".into()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        ))
    }

    /// Issues a token for a user with a profile's rules, limited to `namespaces` (empty: all),
    /// valid for `ttl`.
    pub fn issue_for(
        &self,
        username: &str,
        profile: Profile,
        namespaces: &[String],
        ttl: Duration,
    ) -> Result<String, Error> {
        let now = now_unix();
        self.issue(&Claims {
            username: username.to_string(),
            namespaces: namespaces.to_vec(),
            rules: profile.rules(),
            iss: ISSUER.to_string(),
            sub: username.to_string(),
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        })
    }

    /// Verifies a token's signature, issuer and expiry (401 Unauthorized otherwise).
    pub fn verify(&self, token: &str) -> Result<Claims, ApiStatus> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ApiStatus::unauthorized());
        };
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(ApiStatus::unauthorized)?;
        if header.get("alg").and_then(serde_json::Value::as_str) != Some("ES256") {
            return Err(ApiStatus::unauthorized());
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| ApiStatus::unauthorized())?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public_key)
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| ApiStatus::unauthorized())?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(ApiStatus::unauthorized)?;
        if claims.iss != ISSUER || claims.exp <= now_unix() || claims.username.is_empty() {
            return Err(ApiStatus::unauthorized());
        }
        Ok(claims)
    }

    /// Authenticates a request by its `Authorization: Bearer <token>` header.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Claims, ApiStatus> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(ApiStatus::unauthorized)?;
        self.verify(token)
    }

    /// Authorizes a resource request (403 Forbidden otherwise).
    pub fn authorize(&self, claims: &Claims, a: &Attributes<'_>) -> Result<(), ApiStatus> {
        authorize(claims, a)
    }
}

/// The authorization decision for claims and a request (namespace gate, then RBAC rules).
pub fn authorize(claims: &Claims, a: &Attributes<'_>) -> Result<(), ApiStatus> {
    let deny = || {
        let (main, _) = a.resource.split_once('/').unwrap_or((a.resource, ""));
        let qualified = if a.group.is_empty() {
            main.to_string()
        } else {
            format!("{main}.{}", a.group)
        };
        let subject = match a.name {
            Some(n) => format!("{qualified} \"{n}\""),
            None => qualified,
        };
        let scope = match a.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        ApiStatus::forbidden(format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\" \
             {scope}",
            claims.username, a.verb, a.resource, a.group
        ))
    };
    if !claims.namespaces.is_empty() && !claims.namespaces.iter().any(|n| n == "*") {
        match a.namespace {
            Some(ns) if claims.namespaces.iter().any(|n| n == ns) => {}
            _ => return Err(deny()),
        }
    }
    if claims.rules.is_empty() || claims.rules.iter().any(|r| r.matches(a)) {
        Ok(())
    } else {
        Err(deny())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(verb: &'a str, ns: Option<&'a str>, name: Option<&'a str>) -> Attributes<'a> {
        Attributes {
            verb,
            group: "op.view.dcontroller.io",
            resource: "healthviews",
            namespace: ns,
            name,
        }
    }

    #[test]
    fn tokens_and_rules() -> Result<(), Error> {
        let a = TokenAuthority::generate()?;
        let t = a.issue_for(
            "alice",
            Profile::Viewer,
            &["team".into()],
            Duration::from_secs(60),
        )?;
        let c = a.verify(&t)?;
        assert_eq!(c.username, "alice");
        assert!(authorize(&c, &attrs("get", Some("team"), Some("x"))).is_ok());
        assert_eq!(
            authorize(&c, &attrs("create", Some("team"), None)).map_err(|e| e.code),
            Err(403)
        );
        assert_eq!(
            authorize(&c, &attrs("list", None, None)).map_err(|e| e.code),
            Err(403)
        );
        assert_eq!(
            authorize(&c, &attrs("get", Some("other"), Some("x"))).map_err(|e| e.code),
            Err(403)
        );
        let other = TokenAuthority::generate()?;
        assert_eq!(other.verify(&t).map_err(|e| e.code), Err(401));
        let mut tampered = t.clone();
        tampered.push('A');
        assert_eq!(a.verify(&tampered).map_err(|e| e.code), Err(401));
        let named = Claims {
            rules: vec![PolicyRule {
                verbs: vec!["get".into(), "list".into()],
                api_groups: vec!["*".into()],
                resources: vec!["healthviews".into()],
                resource_names: vec!["x".into()],
            }],
            ..c
        };
        let named = Claims {
            namespaces: vec![],
            ..named
        };
        assert!(authorize(&named, &attrs("get", Some("n"), Some("x"))).is_ok());
        assert!(authorize(&named, &attrs("get", Some("n"), Some("y"))).is_err());
        assert!(authorize(&named, &attrs("list", None, None)).is_ok());
        Ok(())
    }
}
