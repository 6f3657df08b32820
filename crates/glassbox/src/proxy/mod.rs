//! `glassbox proxy`: a reverse proxy that screens OpenAI- and Anthropic-style traffic on its way
//! to real model servers (vLLM, llama.cpp, Ollama, TGI, any OpenAI-compatible server).
//!
//! - [`config`]: `glassbox.yaml`, validated whole before listening.
//! - [`server`]: routing, auth, limits, screening, `/healthz`, `/readyz`, `/metrics`.
//! - [`upstream`]: upstream connection pools (each connection driven by the request that
//!   uses it), timeouts, error mapping, streamed bodies.
//! - [`auth`], [`policies`], [`metrics`], [`error`]: keys → tenants, live policy set with
//!   reload, Prometheus text, API-shaped errors.
//!
//! Entry point: [`run`] (synchronous; it owns its tokio runtime).

pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;
pub mod policies;
mod pool;
pub mod server;
pub mod tls;
pub mod upstream;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use glassbox_core::AuditSink;
use http::HeaderName;

pub use config::Config;
pub use error::{ApiError, ApiKind};
pub use metrics::Metrics;
pub use policies::{Engines, PolicySet};
pub use server::{AppState, Running};

/// The request id header, read from clients (kept when present) and set on every answer.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `glassbox proxy`: screen LLM traffic between clients and model servers.
#[derive(Debug, Clone, clap::Args)]
pub struct ProxyArgs {
    /// Configuration file (`glassbox.yaml`; see docs/CONFIG.md). Validated whole before the
    /// proxy listens.
    #[arg(long, env = "GLASSBOX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides the file's `listen`). Default 127.0.0.1:8080.
    #[arg(long, env = "GLASSBOX_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Upstream base URL when running without a config file (`http://127.0.0.1:8000`).
    #[arg(long, env = "GLASSBOX_UPSTREAM", conflicts_with = "config")]
    pub upstream: Option<String>,
    /// The API the `--upstream` speaks.
    #[arg(
        long,
        env = "GLASSBOX_UPSTREAM_KIND",
        value_enum,
        default_value = "openai"
    )]
    pub upstream_kind: UpstreamKindArg,
    /// Policy file used as `default` (overrides the built-in default policy).
    #[arg(long, env = "GLASSBOX_POLICY")]
    pub policy: Option<PathBuf>,
    /// Audit store (directory or `postgres://` URL); overrides `audit.store`.
    #[arg(long, env = "GLASSBOX_AUDIT")]
    pub audit: Option<String>,
    /// Checkpoint signing key (from `glassbox audit keygen`); overrides `audit.sink.signing_key`.
    #[arg(long, env = "GLASSBOX_SIGNING_KEY", requires = "audit")]
    pub signing_key: Option<PathBuf>,
    /// HMAC deployment key for content digests; overrides `audit.sink.hmac_key`.
    #[arg(long, env = "GLASSBOX_HMAC_KEY", requires = "audit")]
    pub hmac_key: Option<PathBuf>,
    /// Largest request body in bytes (overrides `limits.max_body_bytes`).
    #[arg(long, env = "GLASSBOX_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Log format (overrides `log.format`).
    #[arg(long, env = "GLASSBOX_LOG_FORMAT", value_enum)]
    pub log_format: Option<config::LogFormat>,
    /// Serve clients over TLS with this PEM certificate chain (with `--tls-key`; overrides
    /// `tls.cert_file`).
    #[arg(
        long,
        env = "GLASSBOX_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert` (overrides `tls.key_file`).
    #[arg(
        long,
        env = "GLASSBOX_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Where the classifiers run (adds to `classifiers.runtime`).
    #[command(flatten)]
    pub devices: crate::build::DeviceArgs,
    /// Validate the configuration and its policies, print a summary, and exit.
    #[arg(long)]
    pub check: bool,
}

/// `--upstream-kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpstreamKindArg {
    /// OpenAI-compatible.
    Openai,
    /// Anthropic Messages.
    Anthropic,
}

impl From<UpstreamKindArg> for ApiKind {
    fn from(k: UpstreamKindArg) -> ApiKind {
        match k {
            UpstreamKindArg::Openai => ApiKind::Openai,
            UpstreamKindArg::Anthropic => ApiKind::Anthropic,
        }
    }
}

/// The configuration `args` describe: the file with flags applied, or a one-upstream
/// configuration from `--upstream`.
///
/// # Errors
/// The file's first problem (file, line, field, reason), or a missing `--upstream`.
pub fn config_from_args(args: &ProxyArgs) -> anyhow::Result<Config> {
    let mut config = match (&args.config, &args.upstream) {
        (Some(path), _) => Config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        (None, Some(url)) => {
            config::parse_base_url(url).map_err(|e| anyhow::anyhow!("--upstream: {e}"))?;
            let listen = args
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
            Config::single(listen, url.clone(), args.upstream_kind.into())
        }
        (None, None) => anyhow::bail!(
            "give --config FILE (see glassbox.example.yaml) or --upstream URL \
             (e.g. --upstream http://127.0.0.1:8000)"
        ),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(p) = &args.policy {
        if !p.is_file() {
            anyhow::bail!("--policy: `{}` does not exist", p.display());
        }
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        config
            .policies
            .insert(config::BUILTIN_DEFAULT.to_string(), abs);
    }
    if let Some(n) = args.max_body_bytes {
        anyhow::ensure!(n > 0, "--max-body-bytes must be above 0");
        config.limits.max_body_bytes = n;
    }
    if let Some(f) = args.log_format {
        config.log.format = f;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        tls::server_config(cert, key).map_err(|e| anyhow::anyhow!("--tls-cert/--tls-key: {e}"))?;
        config.tls = Some(config::ListenTls {
            cert_file: cert.clone(),
            key_file: key.clone(),
        });
    }
    args.devices.apply(&mut config.classifiers.runtime);
    if let Some(store) = &args.audit {
        let a = config.audit.get_or_insert_with(|| config::AuditConfig {
            store: String::new(),
            sink: glassbox_audit::SinkConfig::default(),
        });
        a.store = absolute(store);
        if let Some(k) = &args.signing_key {
            a.sink.signing_key = Some(PathBuf::from(absolute(&k.display().to_string())));
        }
        if let Some(k) = &args.hmac_key {
            a.sink.hmac_key = Some(PathBuf::from(absolute(&k.display().to_string())));
        }
    }
    Ok(config)
}

/// A path given on the command line, made absolute (URLs unchanged).
fn absolute(p: &str) -> String {
    if p.contains("://") || Path::new(p).is_absolute() {
        return p.to_string();
    }
    std::env::current_dir()
        .map(|d| d.join(p).display().to_string())
        .unwrap_or_else(|_| p.to_string())
}

/// Opens the configured audit trail, if any.
///
/// # Errors
/// A key file cannot be read or the store cannot be opened (the message says which and why).
pub fn open_audit(config: &Config) -> anyhow::Result<Option<Arc<glassbox_audit::AuditWriter>>> {
    let (Some(store), Some(sink)) = (config.audit_store(), config.audit_sink_config()) else {
        return Ok(None);
    };
    let opts = glassbox_audit::SinkOptions::from_config(&sink)
        .with_context(|| "audit.sink: cannot load the writer settings")?;
    let writer = glassbox_audit::open_sink(&store, opts)
        .with_context(|| format!("cannot open the audit store {store}"))?;
    Ok(Some(Arc::new(writer)))
}

/// Sets up `tracing` output once (later calls do nothing).
pub fn init_logging(log: &config::LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
}

/// Runs `glassbox proxy`. Synchronous: builds a multi-threaded tokio runtime and serves until
/// SIGINT/SIGTERM, then finishes in-flight streams (up to `shutdown_grace`). SIGHUP reloads
/// the policies (a bad one is rejected and the old set kept). Returns the exit code.
///
/// # Errors
/// A bad configuration or policy, or an address that cannot be bound.
pub fn run(args: ProxyArgs) -> anyhow::Result<u8> {
    let config = config_from_args(&args)?;
    init_logging(&config.log);
    let engines = Engines::load(&config).context("loading the policies")?;
    if args.check {
        println!(
            "{}: OK",
            args.config
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_else(|| "flags".into())
        );
        for (name, id, sha) in engines.summary() {
            println!("  policy {name}: id {id}, sha256 {sha}");
        }
        for r in config.effective_routes() {
            println!("  route {} -> {}", r.path, r.upstream);
        }
        return Ok(0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(serve_until_signal(args, config, engines))
}

async fn serve_until_signal(
    args: ProxyArgs,
    config: Config,
    engines: Engines,
) -> anyhow::Result<u8> {
    let audit = open_audit(&config)?;
    let sink: Arc<dyn AuditSink> = match &audit {
        Some(w) => {
            tracing::info!(store = %config.audit_store().unwrap_or_default(), "audit trail open");
            w.clone()
        }
        None => {
            tracing::warn!("no audit store configured (`audit.store` or --audit): decisions are only counted in /metrics");
            Arc::new(glassbox_core::audit::NoAudit)
        }
    };
    let policies = PolicySet::new(engines);
    let (running, state) = server::start(&config, policies.clone(), sink, Metrics::new()).await?;
    tracing::info!(addr = %running.addr, tls = config.tls.is_some(), upstreams = config.upstreams.len(), "glassbox proxy listening");
    wait_for_shutdown(
        &args,
        &config,
        &policies,
        &state.metrics,
        running.tls.as_deref(),
    )
    .await;
    tracing::info!(grace = ?config.shutdown_grace, "shutting down: finishing in-flight requests");
    let mut code = match running.shutdown(config.shutdown_grace).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "shutdown");
            1
        }
    };
    if let Some(w) = audit {
        match w.close() {
            Ok(s) => tracing::info!(
                records = s.written,
                decisions = s.decisions,
                dropped = s.dropped,
                "audit trail closed"
            ),
            Err(e) => {
                tracing::error!(error = %e, "closing the audit trail failed");
                code = 1;
            }
        }
    }
    tracing::info!("stopped");
    Ok(code)
}

/// Waits for SIGINT/SIGTERM; reloads policies (and the TLS certificate, when serving TLS) on
/// SIGHUP meanwhile.
async fn wait_for_shutdown(
    args: &ProxyArgs,
    config: &Config,
    policies: &PolicySet,
    metrics: &Metrics,
    tls: Option<&tls::ServerTls>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut hup), Ok(mut term)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot install signal handlers; stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = term.recv() => return,
                _ = hup.recv() => {
                    reload(args, config, policies, metrics);
                    if let Some(t) = tls {
                        reload_certificate(t, metrics);
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (args, config, policies, metrics, tls);
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Re-reads the TLS certificate and key; a bad pair is logged and the running one kept.
pub fn reload_certificate(tls: &tls::ServerTls, metrics: &Metrics) {
    match tls.reload() {
        Ok(()) => {
            metrics.certificate_reload(true);
            tracing::info!("TLS certificate reloaded");
        }
        Err(e) => {
            metrics.certificate_reload(false);
            tracing::error!(error = %e, "TLS certificate reload rejected: keeping the running certificate");
        }
    }
}

/// Reloads the policies: from the config file again when there is one (its `policies`,
/// `default_policy` and `models`; other changes need a restart), else the same policy files.
pub fn reload(args: &ProxyArgs, startup: &Config, policies: &PolicySet, metrics: &Metrics) {
    let config = match &args.config {
        Some(_) => match config_from_args(args) {
            Ok(c) => c,
            Err(e) => {
                metrics.policy_reload(false);
                tracing::error!(error = %e, "reload rejected: the configuration is invalid; keeping the running policies");
                return;
            }
        },
        None => startup.clone(),
    };
    match policies.reload(&config) {
        Ok(()) => {
            metrics.policy_reload(true);
            let loaded: Vec<String> = policies
                .current()
                .summary()
                .into_iter()
                .map(|(n, id, sha)| format!("{n}={id}@{}", &sha[..sha.len().min(12)]))
                .collect();
            tracing::info!(policies = %loaded.join(","), "policies reloaded");
        }
        Err(e) => {
            metrics.policy_reload(false);
            tracing::error!(error = %format!("{e:#}"), "reload rejected: keeping the running policies");
        }
    }
}
