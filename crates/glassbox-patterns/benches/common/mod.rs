//! A deterministic corpus of LLM-answer-like text: prose, code blocks, configuration, with a
//! sprinkling of secrets and PII (about one item per 2 KB), the mix glassbox screens.

#![allow(dead_code)]

/// A tiny deterministic PRNG (xorshift64*), so the corpus is the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "the",
    "model",
    "returns",
    "a",
    "response",
    "with",
    "configuration",
    "for",
    "your",
    "service",
    "deployment",
    "should",
    "use",
    "environment",
    "variables",
    "instead",
    "of",
    "hard-coded",
    "values",
    "and",
    "rotate",
    "credentials",
    "regularly",
    "this",
    "function",
    "parses",
    "input",
    "data",
    "into",
    "structured",
    "records",
    "before",
    "writing",
    "them",
    "to",
    "the",
    "database",
    "cluster",
    "requests",
    "are",
    "retried",
    "three",
    "times",
    "when",
    "upstream",
    "fails",
    "you",
    "can",
    "also",
    "enable",
    "caching",
    "to",
    "reduce",
    "latency",
    "under",
    "load",
    "note",
    "that",
    "version",
    "2.4.1",
    "changed",
    "default",
    "timeout",
    "from",
    "30s",
    "to",
    "60s",
    "in",
    "order",
    "#4521",
    "see",
    "the",
    "documentation",
    "page",
    "about",
    "authentication",
    "tokens",
    "here",
];

const CODE: &[&str] = &[
    "```python\nimport os\n\ndef connect():\n    url = os.environ[\"DATABASE_URL\"]\n    return create_engine(url, pool_size=5)\n```\n",
    "```rust\nfn main() -> anyhow::Result<()> {\n    let cfg = Config::from_env()?;\n    let client = Client::new(&cfg.endpoint);\n    println!(\"{}\", client.get(\"/v1/models\")?);\n    Ok(())\n}\n```\n",
    "```yaml\nservices:\n  api:\n    image: registry.example.com/api:1.9.3\n    environment:\n      - LOG_LEVEL=info\n      - WORKERS=4\n```\n",
    "```javascript\nconst res = await fetch(`${BASE}/items?limit=50`, { headers: { Accept: 'application/json' } });\nconst items = await res.json();\n```\n",
    "```bash\nkubectl rollout restart deployment/api -n prod\nkubectl get pods -l app=api -o wide\n```\n",
];

const SENSITIVE: &[&str] = &[
    "Set GITHUB_TOKEN=ghp_R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0fGa9uEw in CI.",
    "Contact the maintainer at jane.doe@example.org for access.",
    "aws_access_key_id = AKIAZ7QW3ERT5YUI2OPL",
    "Call support on +1 415 555 0132 if the job fails.",
    "postgres://admin:Zq8wP2xLm4@db.internal:5432/app",
    "Card on file: 4111 1111 1111 1111 (test card).",
];

/// About `len` bytes of mixed text.
pub fn corpus(len: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(len + 512);
    let mut since_sensitive = 0;
    while out.len() < len {
        match rng.next() % 10 {
            0..=1 => out.push_str(rng.pick(CODE)),
            _ => {
                let n = 20 + (rng.next() % 40) as usize;
                for i in 0..n {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(rng.pick(WORDS));
                }
                out.push_str(".\n\n");
            }
        }
        if out.len() - since_sensitive > 2048 {
            out.push_str(rng.pick(SENSITIVE));
            out.push('\n');
            since_sensitive = out.len();
        }
    }
    out
}

/// `n` texts of about 2 KB each.
pub fn texts_2k(n: usize) -> Vec<String> {
    (0..n).map(|i| corpus(2048, 1000 + i as u64)).collect()
}
