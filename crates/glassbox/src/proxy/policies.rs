//! The proxy's named policies, compiled into engines, swapped whole on reload: a reload builds
//! every engine first and applies them only if all succeed, so a bad policy file leaves the
//! running set untouched.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use glassbox_core::{Engine, Policy};

use super::config::{Config, BUILTIN_DEFAULT};

/// One compiled policy set.
#[derive(Debug)]
pub struct Engines {
    by_name: BTreeMap<String, Engine>,
    default: String,
    models: BTreeMap<String, String>,
}

/// The policy chosen for a request.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The policy's name in the configuration.
    pub name: String,
    /// Its engine.
    pub engine: Engine,
}

impl Engines {
    /// Compiles every policy the configuration names.
    ///
    /// # Errors
    /// Which policy failed and why (file, line, field from the policy parser).
    pub fn load(config: &Config) -> anyhow::Result<Engines> {
        let options = crate::build::ClassifierOptions {
            models_dir: config
                .classifiers
                .models_dir
                .as_ref()
                .map(|d| config.base_dir.join(d)),
            runtime: config.classifiers.runtime.clone(),
        };
        let mut by_name = BTreeMap::new();
        let mut bundles = std::collections::BTreeSet::new();
        if !config.policies.contains_key(BUILTIN_DEFAULT) {
            let p = Policy::default_policy();
            bundles.extend(p.classifiers.0.values().map(|c| c.model.clone()));
            let engine = crate::build::engine_with(p, &options)
                .map_err(|e| anyhow::anyhow!("policy `{BUILTIN_DEFAULT}` (built in): {e:#}"))?;
            by_name.insert(BUILTIN_DEFAULT.to_string(), engine);
        }
        for name in config.policies.keys() {
            let Some(path) = config.policy_path(name) else {
                continue;
            };
            let src = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!("policy `{name}`: cannot read {}: {e}", path.display())
            })?;
            let policy = Policy::from_yaml(&src, &path.display().to_string())
                .map_err(|e| anyhow::anyhow!("policy `{name}`: {e}"))?;
            bundles.extend(policy.classifiers.0.values().map(|c| c.model.clone()));
            let engine = crate::build::engine_with(policy, &options)
                .map_err(|e| anyhow::anyhow!("policy `{name}` ({}): {e:#}", path.display()))?;
            by_name.insert(name.clone(), engine);
        }
        let used = bundles.iter().map(String::as_str).collect();
        if let Some((bundle, used)) =
            crate::build::unused_bundle_device(&config.classifiers.runtime, &used)
        {
            anyhow::bail!(
                "classifiers.runtime.devices.{bundle}: no policy uses a model bundle `{bundle}` (they use: {used})"
            );
        }
        Ok(Engines {
            by_name,
            default: config.default_policy.clone(),
            models: config
                .models
                .iter()
                .map(|(m, c)| (m.clone(), c.policy.clone()))
                .collect(),
        })
    }

    /// A set holding one engine as `default` (tests, the demo).
    pub fn single(engine: Engine) -> Engines {
        let mut by_name = BTreeMap::new();
        by_name.insert(BUILTIN_DEFAULT.to_string(), engine);
        Engines {
            by_name,
            default: BUILTIN_DEFAULT.to_string(),
            models: BTreeMap::new(),
        }
    }

    /// The policy for a request: the model's override, else the tenant's, else the default.
    pub fn select(&self, tenant_policy: Option<&str>, model: Option<&str>) -> Option<Selected> {
        let name = model
            .and_then(|m| self.models.get(m))
            .map(String::as_str)
            .or(tenant_policy)
            .unwrap_or(&self.default);
        self.by_name.get(name).map(|engine| Selected {
            name: name.to_string(),
            engine: engine.clone(),
        })
    }

    /// Name, policy id and SHA-256 of each loaded policy.
    pub fn summary(&self) -> Vec<(String, String, String)> {
        self.by_name
            .iter()
            .map(|(n, e)| (n.clone(), e.policy().id.clone(), e.policy().sha256.clone()))
            .collect()
    }
}

/// The live policy set, replaced whole on reload.
#[derive(Debug, Clone)]
pub struct PolicySet {
    current: Arc<RwLock<Arc<Engines>>>,
}

impl PolicySet {
    /// Wraps a compiled set.
    pub fn new(engines: Engines) -> Self {
        PolicySet {
            current: Arc::new(RwLock::new(Arc::new(engines))),
        }
    }

    /// The set in force now.
    pub fn current(&self) -> Arc<Engines> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Replaces the set.
    pub fn replace(&self, engines: Engines) {
        match self.current.write() {
            Ok(mut g) => *g = Arc::new(engines),
            Err(p) => *p.into_inner() = Arc::new(engines),
        }
    }

    /// Re-reads and recompiles every policy of `config`; on any error keeps the old set.
    ///
    /// # Errors
    /// Why the new set was rejected.
    pub fn reload(&self, config: &Config) -> anyhow::Result<()> {
        let engines = Engines::load(config)?;
        self.replace(engines);
        Ok(())
    }
}
