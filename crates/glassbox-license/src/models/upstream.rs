//! Licences the upstream or the model files declare: Ollama `/api/show`'s `license`, GGUF
//! `general.license`, and a Hugging Face-style model card's `license:` front matter in a local
//! model directory. Each gives a licence id or expression ([`licence_from_declared`] maps Hugging
//! Face licence ids such as `llama3.1` or `apache-2.0` to SPDX ids or `LicenseRef-…`).

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::{LicenseDetector, LicenseError};

/// A licence the upstream declared for a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLicence {
    /// Licence id or expression.
    pub licence: String,
    /// Where it was declared (`ollama /api/show`, `gguf general.license in FILE`, …).
    pub source: String,
}

/// Hugging Face licence ids that are not SPDX ids.
const HF_IDS: &[(&str, &str)] = &[
    ("llama2", "LicenseRef-Llama-2-Community"),
    ("llama3", "LicenseRef-Llama-3-Community"),
    ("llama3.1", "LicenseRef-Llama-3.1-Community"),
    ("llama3.2", "LicenseRef-Llama-3.2-Community"),
    ("llama3.3", "LicenseRef-Llama-3.3-Community"),
    ("gemma", "LicenseRef-Gemma"),
    ("openrail", "LicenseRef-OpenRAIL"),
    ("openrail++", "LicenseRef-OpenRAIL"),
    ("creativeml-openrail-m", "LicenseRef-OpenRAIL"),
    ("bigscience-openrail-m", "LicenseRef-OpenRAIL"),
    ("bigscience-bloom-rail-1.0", "LicenseRef-OpenRAIL"),
    ("gpl", "GPL-1.0-or-later"),
    ("gpl-2.0", "GPL-2.0-only"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("lgpl-2.1", "LGPL-2.1-only"),
    ("lgpl-3.0", "LGPL-3.0-only"),
    ("agpl-3.0", "AGPL-3.0-only"),
    ("bsd", "BSD-3-Clause"),
];

/// Maps a declared licence (an SPDX expression, a Hugging Face licence id, a free name) to an
/// SPDX expression or `LicenseRef-…` id. `name` is the model card's `license_name` for
/// `license: other`.
pub fn licence_from_declared(declared: &str, name: Option<&str>) -> String {
    let d = declared.trim();
    let lower = d.to_ascii_lowercase();
    if let Some((_, id)) = HF_IDS.iter().find(|(k, _)| *k == lower) {
        return (*id).to_string();
    }
    if lower == "other" || lower.is_empty() {
        return format!("LicenseRef-{}", sanitize(name.unwrap_or("other")));
    }
    if let Some(l) = spdx::identifiers::LICENSES
        .iter()
        .find(|l| l.name.eq_ignore_ascii_case(d))
    {
        return l.name.to_string();
    }
    if crate::tag::parse_expression(d).is_ok() {
        return d.to_string();
    }
    format!("LicenseRef-{}", sanitize(d))
}

fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        "unnamed".into()
    } else {
        t.to_string()
    }
}

/// Reads the licence from an Ollama `/api/show` response body. Ollama gives the licence's full
/// text (or several, as an array); the licence is identified from its wording with `detector`,
/// and a short single-line value is taken as a declared id.
///
/// # Errors
/// [`LicenseError::Format`] when the body is not JSON.
pub fn from_ollama_show(
    body: &str,
    detector: &LicenseDetector,
) -> Result<Option<UpstreamLicence>, LicenseError> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| LicenseError::Format {
        path: "ollama /api/show response".into(),
        reason: format!("not JSON: {e}"),
    })?;
    let text = match v.get("license") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str())
            .collect::<Vec<_>>()
            .join("\n\n"),
        _ => return Ok(None),
    };
    let source = "ollama /api/show license".to_string();
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.len() <= 80 && !text.trim().contains('\n') {
        return Ok(Some(UpstreamLicence {
            licence: licence_from_declared(&text, None),
            source,
        }));
    }
    // Model licences are recognised by their titles; otherwise the licence with most text wins.
    let found = detector.identify(&text);
    let pick = found
        .iter()
        .find(|(id, _)| id.starts_with("LicenseRef-"))
        .or_else(|| found.first())
        .map(|(id, _)| id.clone());
    Ok(pick.map(|licence| UpstreamLicence { licence, source }))
}

/// Reads a model card's `license:` (and `license_name:`) from the YAML front matter of
/// `README.md` in a local model directory.
///
/// # Errors
/// [`LicenseError::Io`] when `README.md` exists but cannot be read.
pub fn from_model_dir(dir: &Path) -> Result<Option<UpstreamLicence>, LicenseError> {
    let path = dir.join("README.md");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| LicenseError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("---") {
        return Ok(None);
    }
    let (mut licence, mut name) = (None, None);
    for line in lines {
        if line.trim() == "---" {
            break;
        }
        let value = |l: &str| {
            l.split_once(':')
                .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
        };
        if line.starts_with("license:") {
            licence = value(line);
        } else if line.starts_with("license_name:") {
            name = value(line);
        }
    }
    Ok(licence.filter(|l| !l.is_empty()).map(|l| UpstreamLicence {
        licence: licence_from_declared(&l, name.as_deref()),
        source: format!("model card {}", path.display()),
    }))
}

/// GGUF metadata value types.
const GGUF_STRING: u32 = 8;
const GGUF_ARRAY: u32 = 9;

fn gguf_fixed_size(t: u32) -> Option<u64> {
    match t {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    }
}

struct Gguf<R> {
    r: R,
    path: String,
    /// Bytes consumed so far, for error messages.
    pos: u64,
}

impl<R: Read> Gguf<BufReader<R>>
where
    BufReader<R>: Seek,
{
    fn err(&self, reason: String) -> LicenseError {
        LicenseError::Format {
            path: self.path.clone(),
            reason: format!("{reason} (at byte {})", self.pos),
        }
    }

    fn u32(&mut self) -> Result<u32, LicenseError> {
        let mut b = [0u8; 4];
        self.r
            .read_exact(&mut b)
            .map_err(|e| self.err(format!("truncated GGUF metadata: {e}")))?;
        self.pos += 4;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, LicenseError> {
        let mut b = [0u8; 8];
        self.r
            .read_exact(&mut b)
            .map_err(|e| self.err(format!("truncated GGUF metadata: {e}")))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(b))
    }

    fn skip(&mut self, n: u64) -> Result<(), LicenseError> {
        let n = i64::try_from(n).map_err(|_| self.err(format!("implausible length {n}")))?;
        self.r
            .seek_relative(n)
            .map_err(|e| self.err(format!("seek failed: {e}")))?;
        self.pos += n as u64;
        Ok(())
    }

    fn string(&mut self, limit: u64) -> Result<Option<String>, LicenseError> {
        let len = self.u64()?;
        if len > limit {
            self.skip(len)?;
            return Ok(None);
        }
        let mut b = vec![0u8; len as usize];
        self.r
            .read_exact(&mut b)
            .map_err(|e| self.err(format!("truncated GGUF string: {e}")))?;
        self.pos += len;
        Ok(Some(String::from_utf8_lossy(&b).into_owned()))
    }

    fn skip_value(&mut self, t: u32, depth: u32) -> Result<(), LicenseError> {
        if let Some(n) = gguf_fixed_size(t) {
            return self.skip(n);
        }
        match t {
            GGUF_STRING => {
                let len = self.u64()?;
                self.skip(len)
            }
            GGUF_ARRAY if depth < 4 => {
                let et = self.u32()?;
                let n = self.u64()?;
                if let Some(size) = gguf_fixed_size(et) {
                    let total = size
                        .checked_mul(n)
                        .ok_or_else(|| self.err(format!("array of {n} items is too large")))?;
                    return self.skip(total);
                }
                for _ in 0..n {
                    self.skip_value(et, depth + 1)?;
                }
                Ok(())
            }
            other => Err(self.err(format!("unknown GGUF value type {other}"))),
        }
    }
}

/// Reads `general.license` from a GGUF file's metadata (without reading tensors).
///
/// # Errors
/// [`LicenseError::Io`] when the file cannot be opened; [`LicenseError::Format`] when it is not
/// GGUF (v2/v3) or its metadata is truncated or malformed.
pub fn from_gguf(path: &Path) -> Result<Option<UpstreamLicence>, LicenseError> {
    let shown = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| LicenseError::Io {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut g = Gguf {
        r: BufReader::new(f),
        path: shown.clone(),
        pos: 0,
    };
    let mut magic = [0u8; 4];
    g.r.read_exact(&mut magic)
        .map_err(|e| g.err(format!("too short for GGUF: {e}")))?;
    g.pos = 4;
    if &magic != b"GGUF" {
        return Err(LicenseError::Format {
            path: shown,
            reason: "not a GGUF file (magic is not `GGUF`)".into(),
        });
    }
    let version = g.u32()?;
    if !(2..=3).contains(&version) {
        return Err(LicenseError::Format {
            path: shown,
            reason: format!("GGUF version {version} is not supported (2 and 3 are)"),
        });
    }
    let _tensors = g.u64()?;
    let kvs = g.u64()?;
    for _ in 0..kvs {
        let key = g
            .string(65_536)?
            .ok_or_else(|| g.err("metadata key longer than 64 KiB".into()))?;
        let t = g.u32()?;
        if key == "general.license" && t == GGUF_STRING {
            let v = g.string(1 << 20)?.unwrap_or_default();
            if v.trim().is_empty() {
                return Ok(None);
            }
            return Ok(Some(UpstreamLicence {
                licence: licence_from_declared(&v, None),
                source: format!("gguf general.license in {shown}"),
            }));
        }
        g.skip_value(t, 0)?;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_ids() {
        let cases = [
            ("apache-2.0", None, "Apache-2.0"),
            ("Apache-2.0", None, "Apache-2.0"),
            ("llama3.1", None, "LicenseRef-Llama-3.1-Community"),
            ("gemma", None, "LicenseRef-Gemma"),
            ("cc-by-nc-4.0", None, "CC-BY-NC-4.0"),
            (
                "other",
                Some("databricks open model license"),
                "LicenseRef-databricks-open-model-license",
            ),
            ("MIT OR Apache-2.0", None, "MIT OR Apache-2.0"),
            ("Some Custom Terms", None, "LicenseRef-Some-Custom-Terms"),
        ];
        for (d, name, want) in cases {
            let got = licence_from_declared(d, name);
            assert_eq!(got, want, "{d}");
        }
    }
}
