//! `glassbox policy check FILE…`: parse, validate and compile policies; explain what is wrong.

use std::path::PathBuf;

use clap::Subcommand;

use glassbox::build;

/// Policy subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files: exit 0 when all are valid, 1 when one is not (with file, line,
    /// field and reason).
    Check {
        /// Policy YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a policy subcommand.
pub fn run(command: PolicyCommand) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Check { files } => {
            let mut bad = 0;
            for file in files {
                match build::load_policy(Some(&file)).and_then(|p| {
                    let id = p.id.clone();
                    let sha = p.sha256.clone();
                    let notes =
                        build::check_classifier_bundles(&p, &build::ClassifierOptions::default())?;
                    let classifiers = p.classifiers.0.len();
                    build::patterns_engine(p).map(|e| (id, sha, e, classifiers, notes))
                }) {
                    Ok((id, sha, engine, classifiers, notes)) => {
                        println!(
                            "{}: ok: policy `{id}` (sha256 {}), {} detector(s), {classifiers} classifier(s), max stream hold-back {} bytes",
                            file.display(),
                            &sha[..12],
                            engine.detectors().len(),
                            engine.max_holdback()
                        );
                        for n in notes {
                            eprintln!("{}: note: {n}", file.display());
                        }
                    }
                    Err(e) => {
                        bad += 1;
                        eprintln!("{e:#}");
                    }
                }
            }
            Ok(u8::from(bad > 0))
        }
    }
}
