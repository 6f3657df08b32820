//! `glassbox.yaml`: the proxy's configuration, parsed with unknown fields refused everywhere and
//! validated as a whole before the proxy listens. Every error names the file, the line and
//! column when known, the dotted field path, and what to do. `docs/CONFIG.md` documents each
//! field; `glassbox.example.yaml` is a complete example.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::error::ApiKind;

/// The paths glassbox screens (request and response) unless a route says `screen: false`.
pub const SCREENED_PATHS: &[&str] = &[
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/responses",
    "/v1/messages",
];

/// The name of the policy compiled into the binary (`policies/default.yaml`).
pub const BUILTIN_DEFAULT: &str = "default";

/// The whole proxy configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Serve clients over TLS with this certificate and key (PEM files, relative to this
    /// file). Without it the proxy listens in plain HTTP.
    #[serde(default)]
    pub tls: Option<ListenTls>,
    /// Request size limits.
    #[serde(default)]
    pub limits: Limits,
    /// How long a graceful shutdown waits for in-flight requests and streams. Default `30s`.
    #[serde(default = "default_grace", deserialize_with = "duration")]
    pub shutdown_grace: Duration,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Named policies: name → policy file (relative to this file). `default` is built in and
    /// may be overridden here.
    #[serde(default)]
    pub policies: BTreeMap<String, PathBuf>,
    /// Policy for requests no API key or model override assigns one. Default `default`.
    #[serde(default = "default_policy_name")]
    pub default_policy: String,
    /// Upstream model servers by name.
    pub upstreams: BTreeMap<String, UpstreamConfig>,
    /// Path → upstream. When empty, the screened paths plus `/v1/models` and `/v1/embeddings`
    /// go to the only upstream (an error when there are several).
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Client authentication.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Per served model: policy overrides.
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    /// The audit trail. Without it decisions are only counted in `/metrics`.
    #[serde(default)]
    pub audit: Option<AuditConfig>,
    /// Where the policies' classifiers load their models from and how they run.
    #[serde(default)]
    pub classifiers: ClassifiersConfig,
    /// Where the file was read from (set by [`Config::load`]); relative paths resolve here.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `tls:` — the certificate the proxy presents to its clients.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenTls {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_grace() -> Duration {
    Duration::from_secs(30)
}

fn default_policy_name() -> String {
    BUILTIN_DEFAULT.to_string()
}

/// Request size limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body accepted, in bytes; larger gets 413. Default 4 MiB.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_max_body() -> usize {
    4 << 20
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: default_max_body(),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `glassbox=debug,info`). Default `info`; `RUST_LOG` wins.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "info".into()
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::default(),
            level: default_level(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One upstream model server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Base URL (`http://127.0.0.1:8000`); request paths are appended to its path.
    pub url: String,
    /// The API it speaks: `openai` (default; also vLLM, llama.cpp, Ollama) or `anthropic`.
    #[serde(default)]
    pub kind: ApiKind,
    /// TCP connect timeout. Default `5s`.
    #[serde(default = "default_connect", deserialize_with = "duration")]
    pub connect_timeout: Duration,
    /// Time allowed until the response headers arrive. Default `120s` (a model may take time
    /// to start answering).
    #[serde(default = "default_response", deserialize_with = "duration")]
    pub response_timeout: Duration,
    /// Longest silence allowed between two body chunks. Default `60s`.
    #[serde(default = "default_idle", deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// Headers added to every request to this upstream (replacing the client's), e.g. an API
    /// key read from the environment.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderSource>,
    /// Path probed by `/readyz` (GET, expects 2xx). Default `/v1/models`.
    #[serde(default = "default_health_path")]
    pub health_path: String,
    /// Idle pooled connections kept per upstream. Default 256.
    #[serde(default = "default_pool")]
    pub pool_max_idle: usize,
    /// For an `https` upstream: a PEM file of CA certificates trusted besides the built-in
    /// Mozilla roots (a private CA), relative to this file.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
}

fn default_connect() -> Duration {
    Duration::from_secs(5)
}
fn default_response() -> Duration {
    Duration::from_secs(120)
}
fn default_idle() -> Duration {
    Duration::from_secs(60)
}
fn default_health_path() -> String {
    "/v1/models".into()
}
fn default_pool() -> usize {
    256
}

impl UpstreamConfig {
    /// An upstream at `url` speaking `kind`, with default timeouts.
    pub fn new(url: impl Into<String>, kind: ApiKind) -> Self {
        UpstreamConfig {
            url: url.into(),
            kind,
            connect_timeout: default_connect(),
            response_timeout: default_response(),
            idle_timeout: default_idle(),
            headers: BTreeMap::new(),
            health_path: default_health_path(),
            pool_max_idle: default_pool(),
            tls_ca_file: None,
        }
    }
}

/// A header value: a literal string, or read from an environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum HeaderSource {
    /// Literal value.
    Value(String),
    /// From the environment.
    Env {
        /// Variable name.
        env: String,
        /// Prepended to the value (`"Bearer "`).
        #[serde(default)]
        prefix: String,
    },
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Exact path (`/v1/chat/completions`), or a prefix ending in `/*` (`/v1/*`). Exact paths
    /// win over prefixes; the longest prefix wins among prefixes.
    pub path: String,
    /// Upstream name.
    pub upstream: String,
    /// Screen request and response. Default: true for the screened paths
    /// (`/v1/chat/completions`, `/v1/completions`, `/v1/responses`, `/v1/messages`), false
    /// (pass-through) otherwise.
    #[serde(default)]
    pub screen: Option<bool>,
}

/// Client authentication.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted API keys. None: no client authentication (the client's own `Authorization` /
    /// `x-api-key` headers then pass through to the upstream).
    #[serde(default)]
    pub keys: Vec<ApiKeyConfig>,
}

/// One client API key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Environment variable holding the key (preferred).
    #[serde(default)]
    pub key_env: Option<String>,
    /// The key itself (for tests; prefer `key_env`).
    #[serde(default)]
    pub key: Option<String>,
    /// Tenant recorded with every decision.
    pub tenant: String,
    /// Policy for this tenant. Default: `default_policy`.
    #[serde(default)]
    pub policy: Option<String>,
}

/// `classifiers:` — deployment settings of the classifiers the policies enable (which
/// classifiers run, and how, is policy; where the models are and what runs them is here).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifiersConfig {
    /// The model bundles directory (relative to this file). Default: `$GLASSBOX_MODELS`, else
    /// `./models`.
    #[serde(default)]
    pub models_dir: Option<PathBuf>,
    /// ONNX Runtime settings: `device` (`cpu` | `cuda`), `cuda_device_id`, `ort_library`,
    /// `intra_threads`, `inter_threads`, `spin_wait`, `tokenizer_threads`, `batching`,
    /// `max_batch_tokens`, `max_batch_rows`, `max_queued_tokens` (see docs/CONFIG.md).
    #[serde(default)]
    pub runtime: glassbox_classify::RuntimeConfig,
}

/// The audit trail.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// A directory (file store; relative to this file) or a `postgres://` URL.
    pub store: String,
    /// Writer settings: `signing_key`, `hmac_key` (files from `glassbox audit keygen`,
    /// relative to this file), `instance`, `fsync`, `overflow`, `queue_capacity`,
    /// `checkpoint_every`, … (see the audit crate's `SinkConfig`).
    #[serde(default)]
    pub sink: glassbox_audit::SinkConfig,
}

/// Per-model settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Policy for requests to this model, overriding the API key's.
    pub policy: String,
}

/// A configuration that failed to load, with where and why: the same located error as a bad
/// policy (file, line, column, dotted field, reason), so both read alike.
pub type ConfigError = glassbox_core::PolicyError;

impl Config {
    /// A configuration with one upstream (`default`) and the default routes: what
    /// `glassbox proxy --upstream URL` runs.
    pub fn single(listen: SocketAddr, url: impl Into<String>, kind: ApiKind) -> Config {
        let mut upstreams = BTreeMap::new();
        upstreams.insert("default".to_string(), UpstreamConfig::new(url, kind));
        Config {
            listen,
            limits: Limits::default(),
            shutdown_grace: default_grace(),
            tls: None,
            log: LogConfig::default(),
            policies: BTreeMap::new(),
            default_policy: default_policy_name(),
            upstreams,
            routes: Vec::new(),
            auth: AuthConfig::default(),
            models: BTreeMap::new(),
            audit: None,
            classifiers: ClassifiersConfig::default(),
            base_dir: PathBuf::from("."),
        }
    }

    /// Reads, parses and validates a file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, line, field and problem.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            line: None,
            column: None,
            field: None,
            reason: format!("cannot read the file: {e}"),
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let config = Config::parse_in(&src, &origin, base)?;
        Ok(config)
    }

    /// Parses and validates YAML source; `origin` names it in errors. Relative paths resolve
    /// against the current directory until [`Config::load`] sets `base_dir`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the line, field and problem.
    pub fn parse(src: &str, origin: &str) -> Result<Config, ConfigError> {
        Config::parse_in(src, origin, PathBuf::from("."))
    }

    fn parse_in(src: &str, origin: &str, base_dir: PathBuf) -> Result<Config, ConfigError> {
        let de = serde_norway::Deserializer::from_str(src);
        let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let loc = inner.location();
            let msg = inner.to_string();
            let mut reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            // serde_norway prefixes the parent's path ("upstreams.a: …"); the field says it.
            if let Some((head, rest)) = reason.split_once(": ") {
                if !head.contains(' ') && path.starts_with(head) {
                    reason = rest.to_string();
                }
            }
            ConfigError {
                origin: origin.to_string(),
                line: loc.as_ref().map(|l| l.line()),
                column: loc.as_ref().map(|l| l.column()),
                field: (path != "." && !path.is_empty()).then_some(path),
                reason,
            }
        })?;
        config.base_dir = base_dir;
        // Relative to the file (`join` keeps an absolute path as it is).
        let base = &config.base_dir;
        if let Some(t) = &mut config.tls {
            t.cert_file = base.join(&t.cert_file);
            t.key_file = base.join(&t.key_file);
        }
        for ca in config
            .upstreams
            .values_mut()
            .filter_map(|u| u.tls_ca_file.as_mut())
        {
            *ca = base.join(&*ca);
        }
        config.validate(src, origin)?;
        Ok(config)
    }

    /// Checks what the types cannot: references between sections, URLs, header names, that
    /// environment variables are set.
    ///
    /// # Errors
    /// [`ConfigError`] for the first problem found.
    pub fn validate(&self, src: &str, origin: &str) -> Result<(), ConfigError> {
        let err = |field: String, reason: String| ConfigError {
            origin: origin.to_string(),
            line: find_line(src, &field),
            column: None,
            field: Some(field),
            reason,
        };
        if self.upstreams.is_empty() {
            return Err(err(
                "upstreams".into(),
                "at least one upstream is needed".into(),
            ));
        }
        if self.limits.max_body_bytes == 0 {
            return Err(err(
                "limits.max_body_bytes".into(),
                "must be above 0".into(),
            ));
        }
        if let Some(t) = &self.tls {
            super::tls::server_config(&t.cert_file, &t.key_file)
                .map_err(|r| err("tls".into(), r))?;
        }
        for (name, u) in &self.upstreams {
            let f = |k: &str| format!("upstreams.{name}.{k}");
            parse_base_url(&u.url).map_err(|r| err(f("url"), r))?;
            for (k, d) in [
                ("connect_timeout", u.connect_timeout),
                ("response_timeout", u.response_timeout),
                ("idle_timeout", u.idle_timeout),
            ] {
                if d.is_zero() {
                    return Err(err(f(k), "must be above 0".into()));
                }
            }
            if let Some(ca) = &u.tls_ca_file {
                if !u.url.starts_with("https://") {
                    return Err(err(
                        f("tls_ca_file"),
                        "is for https upstreams; the url is not https://".into(),
                    ));
                }
                super::tls::client_config(Some(ca)).map_err(|r| err(f("tls_ca_file"), r))?;
            }
            if !u.health_path.starts_with('/') {
                return Err(err(f("health_path"), "must start with `/`".into()));
            }
            for (h, v) in &u.headers {
                let hf = format!("upstreams.{name}.headers.{h}");
                http::HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| err(hf.clone(), format!("`{h}` is not a valid header name")))?;
                v.resolve().map_err(|r| err(hf, r))?;
            }
        }
        let known_policy = |p: &str| p == BUILTIN_DEFAULT || self.policies.contains_key(p);
        let policy_list = || {
            let mut names: Vec<&str> = vec![BUILTIN_DEFAULT];
            names.extend(
                self.policies
                    .keys()
                    .map(String::as_str)
                    .filter(|n| *n != BUILTIN_DEFAULT),
            );
            names.join(", ")
        };
        if !known_policy(&self.default_policy) {
            return Err(err(
                "default_policy".into(),
                format!(
                    "no policy named `{}` (known: {})",
                    self.default_policy,
                    policy_list()
                ),
            ));
        }
        for (name, path) in &self.policies {
            let full = self.policy_path(name).unwrap_or_else(|| path.clone());
            if !full.is_file() {
                return Err(err(
                    format!("policies.{name}"),
                    format!("policy file `{}` does not exist", full.display()),
                ));
            }
        }
        let mut seen_paths = std::collections::BTreeSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            let f = |k: &str| format!("routes[{i}].{k}");
            if !r.path.starts_with('/') {
                return Err(err(f("path"), format!("`{}` must start with `/`", r.path)));
            }
            if r.path.contains('*') && !(r.path.ends_with("/*") && r.path.matches('*').count() == 1)
            {
                return Err(err(
                    f("path"),
                    format!(
                        "`{}`: `*` is only allowed as a final `/*` (prefix route)",
                        r.path
                    ),
                ));
            }
            if !seen_paths.insert(r.path.as_str()) {
                return Err(err(f("path"), format!("`{}` is routed twice", r.path)));
            }
            if !self.upstreams.contains_key(&r.upstream) {
                return Err(err(
                    f("upstream"),
                    format!(
                        "no upstream named `{}` (known: {})",
                        r.upstream,
                        self.upstreams
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        if self.routes.is_empty() && self.upstreams.len() > 1 {
            return Err(err(
                "routes".into(),
                "with several upstreams, `routes` must say which path goes where".into(),
            ));
        }
        let mut seen_keys = std::collections::BTreeSet::new();
        for (i, k) in self.auth.keys.iter().enumerate() {
            let f = |x: &str| format!("auth.keys[{i}].{x}");
            let key = match (&k.key, &k.key_env) {
                (Some(key), None) => key.clone(),
                (None, Some(var)) => std::env::var(var).map_err(|_| {
                    err(
                        f("key_env"),
                        format!("environment variable `{var}` is not set"),
                    )
                })?,
                _ => {
                    return Err(err(
                        format!("auth.keys[{i}]"),
                        "give exactly one of `key_env` or `key`".into(),
                    ))
                }
            };
            if key.len() < 8 {
                return Err(err(
                    format!("auth.keys[{i}]"),
                    "the key is shorter than 8 characters".into(),
                ));
            }
            if !seen_keys.insert(key) {
                return Err(err(
                    format!("auth.keys[{i}]"),
                    "the same key is listed twice".into(),
                ));
            }
            if k.tenant.trim().is_empty() {
                return Err(err(f("tenant"), "must not be empty".into()));
            }
            if let Some(p) = &k.policy {
                if !known_policy(p) {
                    return Err(err(
                        f("policy"),
                        format!("no policy named `{p}` (known: {})", policy_list()),
                    ));
                }
            }
        }
        if let Some(a) = &self.audit {
            if a.store.trim().is_empty() {
                return Err(err("audit.store".into(), "must not be empty".into()));
            }
            for (k, p) in [
                ("signing_key", &a.sink.signing_key),
                ("hmac_key", &a.sink.hmac_key),
                ("content_key", &a.sink.content_key),
            ] {
                if let Some(p) = p {
                    let full = self.resolve(p);
                    if !full.is_file() {
                        return Err(err(
                            format!("audit.sink.{k}"),
                            format!(
                                "key file `{}` does not exist (make one with `glassbox audit keygen`)",
                                full.display()
                            ),
                        ));
                    }
                }
            }
        }
        for (model, m) in &self.models {
            if !known_policy(&m.policy) {
                return Err(err(
                    format!("models.{model}.policy"),
                    format!("no policy named `{}` (known: {})", m.policy, policy_list()),
                ));
            }
        }
        Ok(())
    }

    /// The routes in effect: the configured ones, or the defaults to the only upstream.
    pub fn effective_routes(&self) -> Vec<RouteConfig> {
        if !self.routes.is_empty() {
            return self.routes.clone();
        }
        let Some(name) = self.upstreams.keys().next() else {
            return Vec::new();
        };
        SCREENED_PATHS
            .iter()
            .chain(["/v1/models", "/v1/embeddings"].iter())
            .map(|p| RouteConfig {
                path: (*p).to_string(),
                upstream: name.clone(),
                screen: None,
            })
            .collect()
    }

    /// A path from the file, resolved against its directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The audit store, with a relative directory resolved against the file's directory.
    pub fn audit_store(&self) -> Option<String> {
        let a = self.audit.as_ref()?;
        if a.store.contains("://") {
            Some(a.store.clone())
        } else {
            Some(self.resolve(Path::new(&a.store)).display().to_string())
        }
    }

    /// The audit writer settings with key paths resolved against the file's directory.
    pub fn audit_sink_config(&self) -> Option<glassbox_audit::SinkConfig> {
        let a = self.audit.as_ref()?;
        let mut c = a.sink.clone();
        for p in [&mut c.signing_key, &mut c.hmac_key, &mut c.content_key] {
            if let Some(x) = p.as_mut() {
                *x = self.resolve(x);
            }
        }
        Some(c)
    }

    /// The file of a named policy, resolved against the config's directory; `None` for the
    /// built-in default.
    pub fn policy_path(&self, name: &str) -> Option<PathBuf> {
        self.policies.get(name).map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                self.base_dir.join(p)
            }
        })
    }
}

impl HeaderSource {
    /// The value to send.
    ///
    /// # Errors
    /// A message when the variable is unset or the value is not a valid header value.
    pub fn resolve(&self) -> Result<http::HeaderValue, String> {
        let v = match self {
            HeaderSource::Value(v) => v.clone(),
            HeaderSource::Env { env, prefix } => {
                let v = std::env::var(env)
                    .map_err(|_| format!("environment variable `{env}` is not set"))?;
                format!("{prefix}{v}")
            }
        };
        let mut hv = http::HeaderValue::from_str(&v)
            .map_err(|_| "the value has characters not allowed in a header".to_string())?;
        hv.set_sensitive(true);
        Ok(hv)
    }
}

/// Parses an upstream base URL: `http[s]://host[:port][/path]`.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_base_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(format!("`{url}` must start with http:// or https://")),
    }
    if uri.host().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    if uri.query().is_some() {
        return Err(format!("`{url}` must not have a query string"));
    }
    Ok(uri)
}

/// Deserialises a duration: `250ms`, `5s`, `2m`, `1h`, or a number of seconds.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// Parses `250ms`, `5s`, `2m`, `1h` (or a bare number of seconds).
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_duration(t: &str) -> Result<Duration, String> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a duration; write e.g. `250ms`, `5s`, `2m` or `1h`"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "" | "s" => n.saturating_mul(1000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        u => return Err(format!("`{t}`: unknown unit `{u}`; use ms, s, m or h")),
    };
    Ok(Duration::from_millis(ms))
}

/// Best-effort line of the last component of a dotted field path in the YAML source.
fn find_line(src: &str, field: &str) -> Option<usize> {
    let last = field.rsplit('.').next()?;
    let key = last.split('[').next()?;
    if key.is_empty() {
        return None;
    }
    let mut parents: Vec<&str> = field
        .split('.')
        .map(|p| p.split('[').next().unwrap_or(p))
        .collect();
    parents.pop();
    // Find the parents in order, then the key after them.
    let mut from = 0;
    let lines: Vec<&str> = src.lines().collect();
    for p in parents {
        from = lines[from..]
            .iter()
            .position(|l| is_key_line(l, p))
            .map(|i| from + i)
            .unwrap_or(from);
    }
    lines[from..]
        .iter()
        .position(|l| is_key_line(l, key))
        .map(|i| from + i + 1)
}

fn is_key_line(line: &str, key: &str) -> bool {
    let t = line.trim_start().trim_start_matches("- ");
    t.strip_prefix(key)
        .or_else(|| {
            t.strip_prefix('"')
                .and_then(|r| r.strip_prefix(key))
                .and_then(|r| r.strip_prefix('"'))
        })
        .is_some_and(|r| r.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen: 127.0.0.1:9000
upstreams:
  local:
    url: http://127.0.0.1:8000
    kind: openai
    response_timeout: 30s
  claude:
    url: http://127.0.0.1:8001/base
    kind: anthropic
    headers:
      x-extra: hello
routes:
  - path: /v1/chat/completions
    upstream: local
  - path: /v1/messages
    upstream: claude
  - path: /v1/*
    upstream: local
auth:
  keys:
    - key: team-a-secret-key
      tenant: team-a
models:
  llama-3.1-8b:
    policy: default
audit:
  store: audit
  sink:
    fsync: every_record
    checkpoint_every: 100
"#;

    #[test]
    fn a_full_config_parses() {
        let c = Config::parse(GOOD, "glassbox.yaml").unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(
            c.upstreams["local"].response_timeout,
            Duration::from_secs(30)
        );
        assert_eq!(c.upstreams["local"].idle_timeout, Duration::from_secs(60));
        assert_eq!(c.upstreams["claude"].kind, ApiKind::Anthropic);
        assert_eq!(c.routes.len(), 3);
        assert_eq!(c.auth.keys[0].tenant, "team-a");
        assert_eq!(c.models["llama-3.1-8b"].policy, "default");
        assert_eq!(c.audit_store().as_deref(), Some("./audit"));
        assert_eq!(c.audit_sink_config().unwrap().checkpoint_every, Some(100));
    }

    #[test]
    fn the_example_file_is_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::env::set_var("GLASSBOX_EXAMPLE_UPSTREAM_KEY", "sk-example-upstream");
        std::env::set_var("GLASSBOX_EXAMPLE_TEAM_A_KEY", "gb-team-a-0123456789");
        // The example names key files a user makes with `glassbox audit keygen`: the only
        // error it may give is that they are missing.
        let src = std::fs::read_to_string(root.join("glassbox.example.yaml")).unwrap();
        let e = Config::parse_in(&src, "glassbox.example.yaml", root.clone()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("audit.sink.signing_key"), "{e}");
        let without_keys = src
            .replace("    signing_key: keys/audit-signing.key\n", "")
            .replace("    hmac_key: keys/audit-hmac.key\n", "");
        let c = Config::parse_in(&without_keys, "glassbox.example.yaml", root).unwrap();
        assert!(!c.upstreams.is_empty());
        assert_eq!(
            c.classifiers.models_dir.as_deref(),
            Some(Path::new("models"))
        );
        assert!(c.classifiers.runtime.batching);
    }

    /// (name, yaml, expected field, expected words in the reason)
    const BAD: &[(&str, &str, &str, &str)] = &[
        (
            "unknown classifier runtime field",
            "upstreams: {a: {url: 'http://x'}}\nclassifiers:\n  runtime:\n    gpu: true\n",
            "classifiers.runtime.gpu",
            "unknown field `gpu`",
        ),
        (
            "bad classifier device",
            "upstreams: {a: {url: 'http://x'}}\nclassifiers:\n  runtime:\n    device: tpu\n",
            "classifiers.runtime.device",
            "unknown variant `tpu`",
        ),
        (
            "unknown top-level field",
            "listen: 127.0.0.1:1\nlisten_port: 3\nupstreams: {a: {url: 'http://x'}}\n",
            "",
            "unknown field `listen_port`",
        ),
        (
            "unknown upstream field",
            "upstreams:\n  a:\n    url: http://x\n    timeout: 3s\n",
            "upstreams.a.timeout",
            "unknown field `timeout`",
        ),
        (
            "bad kind",
            "upstreams:\n  a:\n    url: http://x\n    kind: gemini\n",
            "upstreams.a.kind",
            "unknown variant `gemini`",
        ),
        (
            "bad duration unit",
            "upstreams:\n  a:\n    url: http://x\n    idle_timeout: 5 fortnights\n",
            "upstreams.a.idle_timeout",
            "unknown unit",
        ),
        (
            "bad listen",
            "listen: localhost\nupstreams: {a: {url: 'http://x'}}\n",
            "listen",
            "invalid socket address",
        ),
        (
            "not http",
            "upstreams:\n  a:\n    url: ftp://api.example.com\n",
            "upstreams.a.url",
            "must start with http:// or https://",
        ),
        (
            "CA file for a plain http upstream",
            "upstreams:\n  a:\n    url: http://x\n    tls_ca_file: ca.pem\n",
            "upstreams.a.tls_ca_file",
            "is for https upstreams",
        ),
        (
            "CA file missing",
            "upstreams:\n  a:\n    url: https://x\n    tls_ca_file: /nonexistent/ca.pem\n",
            "upstreams.a.tls_ca_file",
            "cannot read `/nonexistent/ca.pem`",
        ),
        (
            "not a url",
            "upstreams:\n  a:\n    url: 127.0.0.1:8000\n",
            "upstreams.a.url",
            "must start with http://",
        ),
        (
            "route to unknown upstream",
            "upstreams: {a: {url: 'http://x'}}\nroutes:\n  - path: /v1/messages\n    upstream: b\n",
            "routes[0].upstream",
            "no upstream named `b`",
        ),
        (
            "route path wildcard inside",
            "upstreams: {a: {url: 'http://x'}}\nroutes:\n  - path: /v1/*/x\n    upstream: a\n",
            "routes[0].path",
            "only allowed as a final",
        ),
        (
            "several upstreams, no routes",
            "upstreams: {a: {url: 'http://x'}, b: {url: 'http://y'}}\n",
            "routes",
            "must say which path goes where",
        ),
        (
            "unknown default policy",
            "default_policy: strict\nupstreams: {a: {url: 'http://x'}}\n",
            "default_policy",
            "no policy named `strict`",
        ),
        (
            "key without key",
            "upstreams: {a: {url: 'http://x'}}\nauth:\n  keys:\n    - tenant: t\n",
            "auth.keys[0]",
            "exactly one of `key_env` or `key`",
        ),
        (
            "key env unset",
            "upstreams: {a: {url: 'http://x'}}\nauth:\n  keys:\n    - key_env: GLASSBOX_TEST_SURELY_UNSET\n      tenant: t\n",
            "auth.keys[0].key_env",
            "`GLASSBOX_TEST_SURELY_UNSET` is not set",
        ),
        (
            "header env unset",
            "upstreams:\n  a:\n    url: http://x\n    headers:\n      authorization: {env: GLASSBOX_TEST_SURELY_UNSET, prefix: 'Bearer '}\n",
            "upstreams.a.headers.authorization",
            "is not set",
        ),
        (
            "model policy unknown",
            "upstreams: {a: {url: 'http://x'}}\nmodels:\n  m1:\n    policy: nope\n",
            "models.m1.policy",
            "no policy named `nope`",
        ),
        (
            "missing upstreams",
            "listen: 127.0.0.1:1\n",
            "",
            "missing field `upstreams`",
        ),
        (
            "audit key missing",
            "upstreams: {a: {url: 'http://x'}}\naudit:\n  store: /tmp/a\n  sink:\n    signing_key: /surely/not/here.key\n",
            "audit.sink.signing_key",
            "glassbox audit keygen",
        ),
        (
            "audit sink unknown field",
            "upstreams: {a: {url: 'http://x'}}\naudit:\n  store: /tmp/a\n  sink:\n    fsnyc: batched\n",
            "audit.sink.fsnyc",
            "unknown field `fsnyc`",
        ),
        (
            "zero body limit",
            "limits: {max_body_bytes: 0}\nupstreams: {a: {url: 'http://x'}}\n",
            "limits.max_body_bytes",
            "must be above 0",
        ),
    ];

    #[test]
    fn bad_configs_name_the_field() {
        for (name, yaml, field, words) in BAD {
            let e = Config::parse(yaml, "g.yaml").expect_err(name);
            let shown = e.to_string();
            assert!(shown.contains(words), "{name}: {shown}");
            if field.is_empty() {
                continue;
            }
            assert_eq!(e.field.as_deref(), Some(*field), "{name}: {shown}");
            assert!(
                shown.contains(&format!("field `{field}`")),
                "{name}: {shown}"
            );
        }
    }

    #[test]
    fn errors_carry_the_line() {
        let e = Config::parse(
            "upstreams:\n  a:\n    url: http://x\n    kind: gemini\n",
            "g.yaml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let e = Config::parse(
            "upstreams: {a: {url: 'http://x'}}\nroutes:\n  - path: /v1/messages\n    upstream: b\n",
            "g.yaml",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
    }

    #[test]
    fn durations() {
        for (t, ms) in [
            ("250ms", 250),
            ("5s", 5000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("7", 7000),
        ] {
            assert_eq!(parse_duration(t), Ok(Duration::from_millis(ms)), "{t}");
        }
        for t in ["", "s", "5 fortnights", "-1s", "1.5s"] {
            assert!(parse_duration(t).is_err(), "{t}");
        }
    }

    #[test]
    fn default_routes_go_to_the_only_upstream() {
        let c = Config::single(default_listen(), "http://127.0.0.1:8000", ApiKind::Openai);
        let routes = c.effective_routes();
        assert!(routes.iter().any(|r| r.path == "/v1/messages"));
        assert!(routes.iter().any(|r| r.path == "/v1/models"));
        assert!(routes.iter().all(|r| r.upstream == "default"));
    }
}
