//! The built-in secrets catalogue: one or more [`Rule`]s per credential format (`secret.<kind>`),
//! plus the policy's custom patterns.
//!
//! Every pattern is bounded (its longest match is known, at most [`MAX_MATCH_LEN`] bytes) and
//! uses ASCII word boundaries only, so the whole catalogue compiles into one `RegexSet` and the
//! streaming hold-back stays finite. Where a format has a checksum or a structure (GitHub and
//! npm CRC32, age bech32, JWT header, Discord user id, base64 `user:password`), a validator
//! checks it; heuristic context rules (`generic_password`, `generic_api_key`) score below 1.0.
//!
//! Formats are described in `SECRETS.md` (generated from [`catalogue`] by a test).
//!
//! Reported spans: a rule with a named group `s` reports only the credential (the value of an
//! assignment, the password of a URL); token formats report the token itself, never the
//! character after it that the pattern reads to know the token ended.
//!
//! Overlaps: context rules (`generic_api_key`, `generic_password`, `bearer_token`, `basic_auth`,
//! `api_key_header`, `uri_credentials`, `curl_user_password`, `npmrc_auth_token`,
//! `docker_registry_auth`, `connection_string_password`, `nuget_config_password`) report the
//! value they find whatever its format, so they can report the same span as a format rule
//! (`OPENAI_API_KEY=sk-proj-…` is `generic_api_key` at 0.7 and `openai_api_key` at 1.0). Format
//! rules never overlap each other on the fixtures (tested).
//!
//! Anchors: token rules end with "the next character is not part of the token, or the text
//! ends" (`\z`), and the unquoted assignment rules end at the end of a line (`(?m:$)`), so a
//! streaming matcher must hold back a match that touches the end of what it has seen so far.

use std::sync::LazyLock;

use glassbox_core::policy::{CustomPattern, SecretsConfig};
use glassbox_core::Family;

use crate::rule::{is_placeholder, shannon_entropy, Rule};

/// The longest match any built-in or custom secret pattern may have, in bytes.
pub const MAX_MATCH_LEN: usize = 8192;

/// Documentation of one built-in kind, as listed in `SECRETS.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct KindDoc {
    /// The kind: findings are `secret.<kind>`.
    pub kind: &'static str,
    /// What the credential is (for a kind with several rules, each rule's context, `; `-joined).
    pub description: String,
    /// The shape of a match, e.g. `` `ghp_` + 36 base62 ``.
    pub shape: String,
    /// What is checked beyond the regex: minimum entropy, validator (empty: the regex alone).
    pub checks: String,
    /// The score of a finding (the highest over the kind's rules).
    pub score: f32,
}

/// The built-in catalogue, built once.
static BUILTIN: LazyLock<Vec<Entry>> = LazyLock::new(builtin);

/// The kinds of all built-in rules, in catalogue order, each once.
pub fn kinds() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for e in BUILTIN.iter() {
        if !out.contains(&e.doc.kind) {
            out.push(e.doc.kind);
        }
    }
    out
}

/// The documentation of every built-in kind, in catalogue order.
pub fn catalogue() -> Vec<KindDoc> {
    let mut out: Vec<KindDoc> = Vec::new();
    for e in BUILTIN.iter() {
        let mut checks: Vec<String> = Vec::new();
        if let Some(bits) = e.rule.min_entropy {
            checks.push(format!("entropy ≥ {bits:.1} bits/byte"));
        }
        if !e.doc.checks.is_empty() {
            checks.push(e.doc.checks.to_string());
        }
        let checks = checks.join("; ");
        match out.iter_mut().find(|d| d.kind == e.doc.kind) {
            None => out.push(KindDoc {
                kind: e.doc.kind,
                description: e.doc.description.to_string(),
                shape: e.doc.shape.to_string(),
                checks,
                score: e.rule.score,
            }),
            Some(d) => {
                d.description = format!("{}; {}", d.description, e.doc.description);
                d.shape = format!("{}; {}", d.shape, e.doc.shape);
                if !checks.is_empty() && !d.checks.contains(&checks) {
                    d.checks = if d.checks.is_empty() {
                        checks
                    } else {
                        format!("{}; {checks}", d.checks)
                    };
                }
                d.score = d.score.max(e.rule.score);
            }
        }
    }
    out
}

/// The secret rules a policy's `secrets:` section asks for: the built-in rules (unless
/// `enabled: false`) minus the `disable`d kinds, then the `custom` patterns.
///
/// Custom patterns reject obvious placeholders (`YOUR_API_KEY`, `${VAR}`, `xxxx`) like the
/// built-in ones, and score 1.0; a custom regex may name a group `s` to report only that part
/// of its match (`token=(?P<s>[a-z0-9]{32})`).
///
/// # Errors
/// A message naming the problem when a `disable` entry is not a built-in kind (with the closest
/// known kind), or a custom pattern's id repeats or shadows a built-in kind, or its regex is
/// invalid, unbounded, longer than [`MAX_MATCH_LEN`] or uses Unicode word boundaries.
pub fn rules(cfg: &SecretsConfig) -> Result<Vec<Rule>, String> {
    let known = kinds();
    for (i, d) in cfg.disable.iter().enumerate() {
        if !known.contains(&d.as_str()) {
            let hint = closest(d, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(format!(
                "secrets.disable[{i}]: unknown secret kind `{d}`{hint} (`glassbox policy check` lists the known kinds)"
            ));
        }
    }
    let mut out: Vec<Rule> = if cfg.enabled {
        BUILTIN
            .iter()
            .map(|e| e.rule.clone())
            .filter(|r| !cfg.disable.contains(&r.kind))
            .collect()
    } else {
        Vec::new()
    };
    let mut custom_ids: Vec<&str> = Vec::new();
    for (i, c) in cfg.custom.iter().enumerate() {
        if known.contains(&c.id.as_str()) {
            return Err(format!(
                "secrets.custom[{i}]: id `{}` is a built-in secret kind; choose another id (or disable the built-in kind)",
                c.id
            ));
        }
        if custom_ids.contains(&c.id.as_str()) {
            return Err(format!(
                "secrets.custom[{i}]: id `{}` is used by an earlier custom pattern",
                c.id
            ));
        }
        custom_ids.push(&c.id);
        out.push(custom_rule(c).map_err(|e| format!("secrets.custom[{i}] (`{}`): {e}", c.id))?);
    }
    Ok(out)
}

/// The known kind closest to `name`: kinds containing `name` first, then by edit distance.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().copied().min_by_key(|k| {
        (
            !k.contains(name),
            glassbox_core::category::edit_distance(name, k),
        )
    })
}

fn custom_rule(c: &CustomPattern) -> Result<Rule, String> {
    check_bounded(&c.regex)?;
    let mut rule = Rule::new(Family::Secret, c.id.clone(), c.regex.clone()).reject_placeholders();
    if let Some(bits) = c.min_entropy {
        if !(0.0..=8.0).contains(&bits) {
            return Err(format!("min_entropy {bits} is outside 0..=8 bits per byte"));
        }
        rule = rule.min_entropy(bits);
    }
    rule.compile().map_err(|e| format!("invalid regex: {e}"))?;
    Ok(rule)
}

/// Checks that `pattern` parses, has a finite longest match of at most [`MAX_MATCH_LEN`] bytes
/// and uses no Unicode word boundaries (they make the lazy DFA give up on non-ASCII text).
///
/// # Errors
/// A message naming what is wrong: the parse error, the unbounded repetition, the length or the
/// boundary.
pub fn check_bounded(pattern: &str) -> Result<(), String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| format!("invalid regex: {e}"))?;
    match hir.properties().maximum_len() {
        None => {
            return Err(
                "unbounded regex: every repetition needs an upper bound (`{1,64}`, not `+` or `*`)"
                    .into(),
            )
        }
        Some(n) if n > MAX_MATCH_LEN => {
            return Err(format!(
                "the longest match is {n} bytes, more than the {MAX_MATCH_LEN} allowed"
            ))
        }
        Some(_) => {}
    }
    if has_unicode_word_boundary(&hir) {
        return Err("Unicode word boundary `\\b`: write `(?-u:\\b)` (ASCII) instead".into());
    }
    Ok(())
}

/// Whether `hir` contains a Unicode word-boundary assertion (`\b`, `\B`, `\<`, `\>` in Unicode
/// mode).
pub fn has_unicode_word_boundary(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{HirKind, Look};
    match hir.kind() {
        HirKind::Look(l) => matches!(
            l,
            Look::WordUnicode
                | Look::WordUnicodeNegate
                | Look::WordStartUnicode
                | Look::WordEndUnicode
                | Look::WordStartHalfUnicode
                | Look::WordEndHalfUnicode
        ),
        HirKind::Repetition(r) => has_unicode_word_boundary(&r.sub),
        HirKind::Capture(c) => has_unicode_word_boundary(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(has_unicode_word_boundary),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => false,
    }
}

// === catalogue ===

/// One built-in rule with the documentation of its context.
struct Entry {
    rule: Rule,
    doc: EntryDoc,
}

/// What [`catalogue`] says about one rule.
struct EntryDoc {
    kind: &'static str,
    description: &'static str,
    shape: &'static str,
    checks: &'static str,
}

impl Entry {
    /// A rule reporting group `s` (or the whole match), rejecting placeholders, score 1.0.
    fn new(
        kind: &'static str,
        description: &'static str,
        shape: &'static str,
        pattern: String,
    ) -> Self {
        Entry {
            rule: Rule::new(Family::Secret, kind, pattern).reject_placeholders(),
            doc: EntryDoc {
                kind,
                description,
                shape,
                checks: "",
            },
        }
    }

    fn entropy(mut self, bits: f32) -> Self {
        self.rule = self.rule.min_entropy(bits);
        self
    }

    fn check(
        mut self,
        what: &'static str,
        f: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.rule = self.rule.validate(f);
        self.doc.checks = what;
        self
    }

    fn score(mut self, s: f32) -> Self {
        self.rule = self.rule.score(s);
        self
    }

    /// For formats whose bodies are long base64 (PEM): the substring markers of
    /// [`is_placeholder`] would reject real keys by chance; their validator checks instead.
    fn keep_placeholders(mut self) -> Self {
        self.rule.reject_placeholders = false;
        self
    }
}

/// ASCII word boundary.
const B: &str = r"(?-u:\b)";
/// The end of a token over `[0-9A-Za-z_-]`: the next character is none of those, or the text
/// ends. It is consumed by the match but not part of the reported group `s`.
const E: &str = r"(?:[^0-9A-Za-z_\-]|\z)";
/// The end of a base64 (standard or URL-safe) token.
const E64: &str = r"(?:[^0-9A-Za-z+/=_\-]|\z)";

/// A prefixed token: `\b(?P<s>body)` followed by the end of the token.
fn tok(body: &str) -> String {
    format!("{B}(?P<s>{body}){E}")
}

/// A base64 token.
fn tok64(body: &str) -> String {
    format!("{B}(?P<s>{body}){E64}")
}

/// A value assigned to a name that starts (at a word boundary or after `_`) with one of `names`,
/// case-insensitive, followed by up to 24 name characters: `DD_API_KEY = "value"`,
/// `datadog_api_key: value`, `"datadog": "value"`, `MY_TWILIO_TOKEN => 'value'`.
fn ctx(names: &str, value: &str) -> String {
    format!(
        r#"(?:{B}|_)(?i-u:{names})[0-9A-Za-z_.\-]{{0,24}}["'\x60]?[ \t]{{0,4}}(?:=|:=|=>|:)[ \t]{{0,4}}["'\x60]?(?P<s>{value}){E}"#
    )
}

/// Printable ASCII except space, quotes, backslash and backtick: a quoted password value.
const QUOTED_VALUE: &str = r"[\x21\x23-\x26\x28-\x5B\x5D-\x5F\x61-\x7E]";
/// Printable ASCII except space, quotes, backslash, backtick, parentheses, `,` and `;`: an
/// unquoted value that ends its line (`.env`, YAML, INI).
const BARE_VALUE: &str = r"[\x21\x23-\x26\x2A\x2B\x2D-\x3A\x3C-\x5B\x5D-\x5F\x61-\x7E]";
/// Assignment operators.
const ASSIGN: &str = r#"["'\x60]?[ \t]{0,4}(?:=|:=|=>|:)[ \t]{0,4}"#;
/// Names of password fields.
const PASSWORD_NAMES: &str = r"(?i-u:password|passwd|passphrase|pwd)";
/// Names of API key / token / secret fields.
const KEY_NAMES: &str = r"(?i-u:api[_\-]?key|apikey|api[_\-]?secret|api[_\-]?token|access[_\-]?key|access[_\-]?token|auth[_\-]?token|secret[_\-]?key|client[_\-]?secret|private[_\-]?token|secret|token)";

#[allow(clippy::too_many_lines)] // the catalogue is one table
fn builtin() -> Vec<Entry> {
    let github = "the CRC32 of the 30 random characters, base62, is the last 6";
    vec![
        // --- AWS ---
        Entry::new(
            "aws_access_key_id",
            "AWS access key id (long-term AKIA, temporary ASIA, and other IAM unique-id prefixes)",
            "`AKIA` / `ASIA` / `ABIA` / `ACCA` / `A3T?` + 16 base32",
            tok("(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
        )
        .entropy(3.0),
        Entry::new(
            "aws_secret_access_key",
            "AWS secret access key assigned to an AWS secret-key name",
            "`aws_secret_access_key = ` + 40 base64",
            format!(r#"(?i-u:aws_?secret_?(?:access_?)?key|secret_?access_?key){ASSIGN}["'\x60]?(?P<s>[0-9A-Za-z/+]{{40}})(?:[^0-9A-Za-z/+=]|\z)"#),
        )
        .entropy(4.0),
        Entry::new(
            "aws_session_token",
            "AWS STS session token",
            "`IQoJb3JpZ2luX2Vj` / `FwoGZXIvYXdzE` + 100–1400 base64",
            tok64("(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE|FQoGZXIvYXdzE)[0-9A-Za-z+/]{100,1400}={0,2}"),
        ),
        Entry::new(
            "aws_mws_key",
            "Amazon Marketplace Web Service auth token",
            "`amzn.mws.` + UUID",
            tok(r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ),
        Entry::new(
            "aws_bedrock_api_key",
            "Amazon Bedrock long-term API key",
            "`ABSK` + 109–269 base64",
            tok64("ABSK[0-9A-Za-z+/]{109,269}={0,2}"),
        )
        .entropy(4.0),
        // --- Google ---
        Entry::new(
            "google_api_key",
            "Google / GCP / Firebase / Gemini API key",
            "`AIza` + 35 `[0-9A-Za-z_-]`",
            tok(r"AIza[0-9A-Za-z_\-]{35}"),
        )
        .entropy(3.5),
        Entry::new(
            "gcp_service_account_key_id",
            "`private_key_id` of a GCP service-account JSON key",
            "`\"private_key_id\": \"` + 40 hex",
            r#""private_key_id"[ \t]{0,4}:[ \t]{0,4}"(?P<s>[0-9a-f]{40})""#.to_string(),
        )
        .entropy(3.0),
        Entry::new(
            "google_oauth_client_secret",
            "Google OAuth client secret",
            "`GOCSPX-` + 28 `[0-9A-Za-z_-]`",
            tok(r"GOCSPX-[0-9A-Za-z_\-]{28}"),
        ),
        Entry::new(
            "google_oauth_access_token",
            "Google OAuth 2.0 access token",
            "`ya29.` + 30–512 `[0-9A-Za-z_-]`",
            tok(r"ya29\.[0-9A-Za-z_\-]{30,512}"),
        )
        .entropy(3.5),
        Entry::new(
            "google_oauth_refresh_token",
            "Google OAuth 2.0 refresh token",
            "`1//0` + 40–400 `[0-9A-Za-z_-]`",
            tok(r"1//0[0-9A-Za-z_\-]{40,400}"),
        )
        .entropy(4.0),
        Entry::new(
            "firebase_cloud_messaging_key",
            "Firebase Cloud Messaging legacy server key",
            "`AAAA` + 7 + `:APA91b` + 134",
            tok(r"AAAA[0-9A-Za-z_\-]{7}:APA91b[0-9A-Za-z_\-]{134}"),
        ),
        // --- Azure ---
        Entry::new(
            "azure_storage_key",
            "Azure Storage / Cosmos DB account key (`AccountKey=` in a connection string, or an Azure key assignment)",
            "`AccountKey=` + 86 base64 + `==`",
            format!(r#"(?i-u:accountkey|azure[0-9a-z_\-]{{0,24}}key){ASSIGN}["']?(?P<s>[0-9A-Za-z+/]{{86}}==)"#),
        )
        .entropy(4.0),
        Entry::new(
            "azure_shared_access_key",
            "Azure Service Bus / Event Hubs / IoT Hub shared access key",
            "`SharedAccessKey=` + 43 base64 + `=`",
            r"(?i-u:sharedaccesskey)[ \t]{0,2}=[ \t]{0,2}(?P<s>[0-9A-Za-z+/]{42}[AEIMQUYcgkosw048]=)".to_string(),
        )
        .entropy(4.0),
        Entry::new(
            "azure_sas_token",
            "signature of an Azure shared access signature URL",
            "`?sv=YYYY-MM-DD&…&sig=` + URL-encoded base64",
            r"[?&](?:[a-z]{1,8}=[0-9A-Za-z%:.,_\-]{0,64}&){0,14}sv=[0-9]{4}-[0-9]{2}-[0-9]{2}&(?:[a-z]{1,8}=[0-9A-Za-z%:.,_\-]{0,64}&){0,14}sig=(?P<s>(?:[0-9A-Za-z+/]|%2[BbFf]){30,120}(?:=|%3[Dd]){0,2})".to_string(),
        )
        .entropy(4.0),
        Entry::new(
            "azure_client_secret",
            "Microsoft Entra ID (Azure AD) application client secret",
            "3 chars + digit + `Q~` + 31–34",
            r"(?:\A|[^0-9A-Za-z_~.\-])(?P<s>[0-9A-Za-z_~.]{3}[0-9]Q~[0-9A-Za-z_~.\-]{31,34})(?:[^0-9A-Za-z_~.\-]|\z)".to_string(),
        )
        .entropy(3.5),
        Entry::new(
            "azure_devops_pat",
            "Azure DevOps personal access token (legacy 52-character format) in an Azure DevOps assignment",
            "`AZURE_DEVOPS_PAT=` + 52 base32",
            ctx("azure_?devops|ado_|vsts|azdo", "[a-z2-7]{52}"),
        )
        .entropy(3.5),
        Entry::new(
            "connection_string_password",
            "password in an ADO.NET / ODBC connection string",
            "`…;Password=` value",
            format!(r"(?i-u:;[ \t]{{0,2}}(?:password|pwd)[ \t]{{0,2}}=[ \t]{{0,2}})(?P<s>{QUOTED_VALUE}{{3,128}}?)(?:;|[ \t\r\n]|\z)"),
        )
        .check("not a common placeholder password", password_literal_ok)
        .score(0.9),
        // --- GitHub ---
        Entry::new(
            "github_token",
            "GitHub classic personal access token",
            "`ghp_` + 36 base62",
            tok("ghp_[0-9A-Za-z]{36}"),
        )
        .check(github, checksum_token_ok),
        Entry::new(
            "github_oauth_token",
            "GitHub OAuth access token",
            "`gho_` + 36 base62",
            tok("gho_[0-9A-Za-z]{36}"),
        )
        .check(github, checksum_token_ok),
        Entry::new(
            "github_app_token",
            "GitHub App user-to-server or installation token",
            "`ghu_` / `ghs_` + 36 base62",
            tok("gh[us]_[0-9A-Za-z]{36}"),
        )
        .check(github, checksum_token_ok),
        Entry::new(
            "github_refresh_token",
            "GitHub App refresh token",
            "`ghr_` + 36 base62",
            tok("ghr_[0-9A-Za-z]{36}"),
        )
        .check(github, checksum_token_ok),
        Entry::new(
            "github_fine_grained_pat",
            "GitHub fine-grained personal access token",
            "`github_pat_` + 22 + `_` + 59 base62",
            tok("github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}"),
        )
        .entropy(4.0),
        // --- GitLab ---
        Entry::new(
            "gitlab_pat",
            "GitLab personal, project or group access token (legacy and routable)",
            "`glpat-` + 20, or + 27–300 + `.` + 9 (routable)",
            tok(r"glpat-[0-9A-Za-z_\-]{20,300}(?:\.[0-9a-z]{9})?"),
        )
        .entropy(3.0),
        Entry::new(
            "gitlab_deploy_token",
            "GitLab deploy token",
            "`gldt-` + 20–64",
            tok(r"gldt-[0-9A-Za-z_\-]{20,64}"),
        )
        .entropy(3.0),
        Entry::new(
            "gitlab_runner_token",
            "GitLab runner authentication token",
            "`glrt-` + 20, or `glrt-t1_` + … + `.` + 9 (routable)",
            tok(r"glrt-[0-9A-Za-z_\-]{20,300}(?:\.[0-9a-z]{9})?"),
        )
        .entropy(3.0),
        Entry::new(
            "gitlab_runner_registration_token",
            "GitLab runner registration token (legacy)",
            "`GR1348941` + 20",
            tok(r"GR1348941[0-9A-Za-z_\-]{20}"),
        )
        .entropy(3.0),
        Entry::new(
            "gitlab_pipeline_trigger_token",
            "GitLab pipeline trigger token",
            "`glptt-` + 40 hex",
            tok("glptt-[0-9a-f]{40}"),
        ),
        Entry::new(
            "gitlab_oauth_app_secret",
            "GitLab OAuth application secret",
            "`gloas-` + 64",
            tok(r"gloas-[0-9A-Za-z_\-]{64}"),
        ),
        Entry::new(
            "gitlab_ci_job_token",
            "GitLab CI/CD job token",
            "`glcbt-` + 1–5 + `_` + 20",
            tok(r"glcbt-[0-9A-Za-z]{1,5}_[0-9A-Za-z_\-]{20}"),
        ),
        Entry::new(
            "gitlab_feed_token",
            "GitLab feed token",
            "`glft-` + 20–64",
            tok(r"glft-[0-9A-Za-z_\-]{20,64}"),
        )
        .entropy(3.0),
        Entry::new(
            "gitlab_incoming_mail_token",
            "GitLab incoming mail token",
            "`glimt-` + 25",
            tok(r"glimt-[0-9A-Za-z_\-]{25}"),
        ),
        Entry::new(
            "gitlab_agent_token",
            "GitLab agent for Kubernetes token",
            "`glagent-` + 50",
            tok(r"glagent-[0-9A-Za-z_\-]{50}"),
        ),
        Entry::new(
            "gitlab_scim_token",
            "GitLab SCIM OAuth token",
            "`glsoat-` + 20–64",
            tok(r"glsoat-[0-9A-Za-z_\-]{20,64}"),
        ),
        Entry::new(
            "gitlab_feature_flag_token",
            "GitLab feature flags client token",
            "`glffct-` + 20–64",
            tok(r"glffct-[0-9A-Za-z_\-]{20,64}"),
        ),
        // --- Atlassian ---
        Entry::new(
            "atlassian_api_token",
            "Atlassian (Jira, Confluence) API token",
            "`ATATT3` + 150–250",
            format!(r"{B}(?P<s>ATATT3[0-9A-Za-z_\-=]{{150,250}})(?:[^0-9A-Za-z_=\-]|\z)"),
        )
        .entropy(4.0),
        Entry::new(
            "bitbucket_app_password",
            "Bitbucket app password",
            "`ATBB` + 32 base62",
            tok("ATBB[0-9A-Za-z]{32}"),
        )
        .entropy(3.5),
        // --- Chat and webhooks ---
        Entry::new(
            "slack_bot_token",
            "Slack bot token",
            "`xoxb-` + team id + `-` + bot id + `-` + 24–34",
            tok("xoxb-[0-9]{10,13}-[0-9]{10,13}-[0-9A-Za-z]{24,34}"),
        )
        .check("numeric ids are not one repeated digit", slack_ok),
        Entry::new(
            "slack_user_token",
            "Slack user (or enterprise) token",
            "`xoxp-` / `xoxe-` + three numeric ids + 28–34",
            tok(r"xox[pe]-[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[0-9A-Za-z\-]{28,34}"),
        )
        .check("numeric ids are not one repeated digit", slack_ok),
        Entry::new(
            "slack_app_token",
            "Slack app-level token",
            "`xapp-` + digit + `-` + id + `-` + 13 digits + `-` + 64 hex",
            tok("xapp-[0-9]-[0-9A-Z]{9,12}-[0-9]{12,14}-[0-9a-f]{64}"),
        ),
        Entry::new(
            "slack_config_token",
            "Slack app configuration access or refresh token",
            "`xoxe.xoxp-` / `xoxe-` + digit + 146–166",
            tok(r"xoxe\.xox[bp]-[0-9]-[0-9A-Z]{163,166}|xoxe-[0-9]-[0-9A-Z]{146}"),
        ),
        Entry::new(
            "slack_legacy_token",
            "Slack legacy workspace, refresh, OAuth or bot token",
            "`xoxa-` / `xoxr-` / `xoxo-` / `xoxs-` + …, `xoxb-` + id + 18–26",
            tok("xox[os]-[0-9]{1,13}-[0-9]{1,13}-[0-9]{1,13}-[0-9a-fA-F]{10,64}|xox[ar]-(?:[0-9]-)?[0-9A-Za-z]{8,48}|xoxb-[0-9]{8,14}-[0-9A-Za-z]{18,26}"),
        )
        .entropy(3.0),
        Entry::new(
            "slack_webhook_url",
            "Slack incoming webhook / workflow URL",
            "`https://hooks.slack.com/services/T…/B…/…`",
            r"(?P<s>https?://hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z+/]{43,120})(?:[^0-9A-Za-z+/]|\z)".to_string(),
        )
        .entropy(4.0),
        Entry::new(
            "discord_bot_token",
            "Discord bot token",
            "base64(user id) + `.` + 6 + `.` + 27–38",
            tok(r"[MNO][0-9A-Za-z_\-]{23,25}\.[0-9A-Za-z_\-]{6}\.[0-9A-Za-z_\-]{27,38}"),
        )
        .check("the first part is base64 of a 17–20 digit user id", discord_ok),
        Entry::new(
            "discord_webhook_url",
            "Discord webhook URL",
            "`https://discord.com/api/webhooks/<id>/<token>`",
            tok(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[0-9A-Za-z_\-]{60,68}"),
        )
        .entropy(4.0),
        Entry::new(
            "teams_webhook_url",
            "Microsoft Teams incoming webhook URL",
            "`https://…webhook.office.com/webhookb2/…/IncomingWebhook/…`",
            tok(r"https://[0-9a-z\-]{1,64}\.webhook\.office\.com/webhookb2/[0-9a-f\-]{36}@[0-9a-f\-]{36}/IncomingWebhook/[0-9a-f]{32}/[0-9a-f\-]{36}"),
        ),
        Entry::new(
            "telegram_bot_token",
            "Telegram Bot API token",
            "bot id + `:AA` + 33",
            tok(r"[0-9]{5,16}:AA[0-9A-Za-z_\-]{33}"),
        )
        .entropy(3.5),
        // --- Messaging, email ---
        Entry::new(
            "twilio_api_key",
            "Twilio API key SID (paired with its secret)",
            "`SK` + 32 hex",
            tok("SK[0-9a-fA-F]{32}"),
        )
        .entropy(3.0),
        Entry::new(
            "twilio_auth_token",
            "Twilio auth token in a Twilio assignment",
            "`TWILIO_AUTH_TOKEN=` + 32 hex",
            ctx("twilio", "[0-9a-f]{32}"),
        )
        .entropy(3.0),
        Entry::new(
            "sendgrid_api_key",
            "SendGrid API key",
            "`SG.` + 22 + `.` + 43",
            tok(r"SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}"),
        ),
        Entry::new(
            "mailgun_api_key",
            "Mailgun private API key",
            "`key-` + 32 hex",
            tok("key-[0-9a-f]{32}"),
        )
        .entropy(3.0),
        Entry::new(
            "mailchimp_api_key",
            "Mailchimp marketing API key",
            "32 hex + `-us` + datacenter",
            tok("[0-9a-f]{32}-us[0-9]{1,2}"),
        )
        .entropy(3.0),
        Entry::new(
            "brevo_api_key",
            "Brevo (Sendinblue) API key",
            "`xkeysib-` + 64 hex + `-` + 16",
            tok("xkeysib-[0-9a-f]{64}-[0-9A-Za-z]{16}"),
        ),
        // --- Payments, commerce ---
        Entry::new(
            "stripe_secret_key",
            "Stripe secret key, live or test mode (publishable `pk_` keys are public and not reported)",
            "`sk_live_` / `sk_test_` + 24–247 base62",
            tok("sk_(?:live|test|prod)_[0-9A-Za-z]{24,247}"),
        )
        .entropy(3.5),
        Entry::new(
            "stripe_restricted_key",
            "Stripe restricted key",
            "`rk_live_` / `rk_test_` + 24–247 base62",
            tok("rk_(?:live|test|prod)_[0-9A-Za-z]{24,247}"),
        )
        .entropy(3.5),
        Entry::new(
            "stripe_webhook_secret",
            "Stripe webhook signing secret",
            "`whsec_` + 32–64 base62",
            tok("whsec_[0-9A-Za-z]{32,64}"),
        )
        .entropy(3.5),
        Entry::new(
            "square_access_token",
            "Square access token",
            "`EAAA` / `sq0atp-` + 22–60",
            tok(r"(?:EAAA|sq0atp-)[0-9A-Za-z_\-]{22,60}"),
        )
        .entropy(3.5),
        Entry::new(
            "square_oauth_secret",
            "Square OAuth application secret",
            "`sq0csp-` + 43",
            tok(r"sq0csp-[0-9A-Za-z_\-]{43}"),
        ),
        Entry::new(
            "braintree_access_token",
            "PayPal Braintree access token",
            "`access_token$production$` + 16 + `$` + 32 hex",
            tok(r"access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}"),
        ),
        Entry::new(
            "flutterwave_secret_key",
            "Flutterwave secret key",
            "`FLWSECK-` + 32 hex + `-X`",
            tok("FLWSECK(?:_TEST)?-[0-9a-h]{32}-X"),
        ),
        Entry::new(
            "shippo_api_token",
            "Shippo API token",
            "`shippo_live_` + 40 hex",
            tok("shippo_(?:live|test)_[0-9a-f]{40}"),
        ),
        Entry::new(
            "easypost_api_key",
            "EasyPost API key",
            "`EZAK` / `EZTK` + 54",
            tok("EZ[AT]K[0-9A-Za-z]{54}"),
        ),
        Entry::new(
            "plaid_access_token",
            "Plaid access token",
            "`access-production-` + UUID",
            tok("access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ),
        Entry::new(
            "duffel_api_token",
            "Duffel API token",
            "`duffel_live_` + 43",
            tok(r"duffel_(?:test|live)_[0-9A-Za-z_\-=]{43}"),
        ),
        Entry::new(
            "shopify_access_token",
            "Shopify Admin API access token",
            "`shpat_` + 32 hex",
            tok("shpat_[0-9a-fA-F]{32}"),
        ),
        Entry::new(
            "shopify_custom_app_token",
            "Shopify custom app access token",
            "`shpca_` + 32 hex",
            tok("shpca_[0-9a-fA-F]{32}"),
        ),
        Entry::new(
            "shopify_private_app_token",
            "Shopify private app access token",
            "`shppa_` + 32 hex",
            tok("shppa_[0-9a-fA-F]{32}"),
        ),
        Entry::new(
            "shopify_shared_secret",
            "Shopify app shared secret",
            "`shpss_` + 32 hex",
            tok("shpss_[0-9a-fA-F]{32}"),
        ),
        // --- AI providers ---
        Entry::new(
            "openai_api_key",
            "OpenAI API key (user, project, service-account, admin)",
            "`sk-` / `sk-proj-` + … + `T3BlbkFJ` + …",
            tok(r"sk-(?:(?:proj|svcacct|admin)-)?[0-9A-Za-z_\-]{16,200}T3BlbkFJ[0-9A-Za-z_\-]{16,200}"),
        )
        .entropy(4.0),
        Entry::new(
            "anthropic_api_key",
            "Anthropic API key",
            "`sk-ant-api03-` + 93 + `AA`",
            tok(r"sk-ant-api03-[0-9A-Za-z_\-]{93}AA"),
        ),
        Entry::new(
            "anthropic_admin_key",
            "Anthropic admin API key",
            "`sk-ant-admin01-` + 93 + `AA`",
            tok(r"sk-ant-admin01-[0-9A-Za-z_\-]{93}AA"),
        ),
        Entry::new(
            "huggingface_token",
            "Hugging Face user access token",
            "`hf_` + 34 letters",
            tok("hf_[A-Za-z]{34}"),
        )
        .entropy(3.5),
        Entry::new(
            "huggingface_org_token",
            "Hugging Face organisation API token (legacy)",
            "`api_org_` + 34 letters",
            tok("api_org_[A-Za-z]{34}"),
        )
        .entropy(3.5),
        Entry::new("groq_api_key", "Groq API key", "`gsk_` + 52 base62", tok("gsk_[0-9A-Za-z]{52}")),
        Entry::new(
            "replicate_api_token",
            "Replicate API token",
            "`r8_` + 37 base62",
            tok("r8_[0-9A-Za-z]{37}"),
        )
        .entropy(3.5),
        Entry::new(
            "perplexity_api_key",
            "Perplexity API key",
            "`pplx-` + 48 base62",
            tok("pplx-[0-9A-Za-z]{48}"),
        ),
        Entry::new(
            "xai_api_key",
            "xAI (Grok) API key",
            "`xai-` + 80 base62",
            tok("xai-[0-9A-Za-z]{80}"),
        ),
        Entry::new(
            "openrouter_api_key",
            "OpenRouter API key",
            "`sk-or-v1-` + 64 hex",
            tok("sk-or-v1-[0-9a-f]{64}"),
        ),
        Entry::new(
            "langsmith_api_key",
            "LangSmith personal or service key",
            "`lsv2_pt_` / `lsv2_sk_` + 32 hex + `_` + 10 hex",
            tok("lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}"),
        ),
        Entry::new(
            "elevenlabs_api_key",
            "ElevenLabs API key",
            "`sk_` + 48 hex",
            tok("sk_[0-9a-f]{48}"),
        )
        .entropy(3.0),
        Entry::new(
            "cohere_api_key",
            "Cohere API key in a Cohere assignment",
            "`COHERE_API_KEY=` + 40 base62",
            ctx("cohere|co_api_key", "[0-9A-Za-z]{40}"),
        )
        .entropy(4.0),
        Entry::new(
            "wandb_api_key",
            "Weights & Biases API key in a W&B assignment",
            "`WANDB_API_KEY=` + 40 hex",
            ctx("wandb", "[0-9a-f]{40}"),
        )
        .entropy(3.0),
        // --- Package registries, artifacts ---
        Entry::new(
            "npm_token",
            "npm access token",
            "`npm_` + 36 base62",
            tok("npm_[0-9A-Za-z]{36}"),
        )
        .check("the CRC32 of the 30 random characters, base62, is the last 6", checksum_token_ok),
        Entry::new(
            "npmrc_auth_token",
            "`_authToken` in an `.npmrc` registry line",
            "`//registry…/:_authToken=` value",
            r":_authToken[ \t]{0,2}=[ \t]{0,2}(?P<s>[0-9A-Za-z_+/=.\-]{20,512})(?:[^0-9A-Za-z_+/=.\-]|\z)".to_string(),
        )
        .entropy(3.0),
        Entry::new(
            "pypi_token",
            "PyPI / TestPyPI API token",
            "`pypi-AgEIcHlwaS5vcmc` + 50–1000",
            tok(r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[0-9A-Za-z_\-]{50,1000}"),
        ),
        Entry::new(
            "rubygems_api_key",
            "RubyGems API key",
            "`rubygems_` + 48 hex",
            tok("rubygems_[0-9a-f]{48}"),
        ),
        Entry::new(
            "nuget_api_key",
            "NuGet.org API key",
            "`oy2` + 43 `[0-9a-z]`",
            tok("oy2[0-9a-z]{43}"),
        )
        .entropy(3.5),
        Entry::new(
            "dockerhub_token",
            "Docker Hub personal or organisation access token",
            "`dckr_pat_` / `dckr_oat_` + 27–40",
            tok(r"dckr_(?:pat|oat)_[0-9A-Za-z_\-]{27,40}"),
        )
        .entropy(3.5),
        Entry::new(
            "cratesio_api_token",
            "crates.io API token",
            "`cio` + 32 base62",
            tok("cio[0-9A-Za-z]{32}"),
        )
        .entropy(3.8),
        Entry::new(
            "clojars_api_token",
            "Clojars deploy token",
            "`CLOJARS_` + 60 `[0-9a-z]`",
            tok("CLOJARS_[0-9a-z]{60}"),
        ),
        Entry::new(
            "artifactory_api_key",
            "JFrog Artifactory API key",
            "`AKCp` + 69 base62",
            tok("AKCp[0-9A-Za-z]{69}"),
        ),
        Entry::new(
            "artifactory_reference_token",
            "JFrog Artifactory reference token",
            "`cmVmdGtu` + 56 base62",
            tok("cmVmdGtu[0-9A-Za-z]{56}"),
        ),
        // --- Cloud and hosting ---
        Entry::new(
            "digitalocean_pat",
            "DigitalOcean personal access token",
            "`dop_v1_` + 64 hex",
            tok("dop_v1_[0-9a-f]{64}"),
        ),
        Entry::new(
            "digitalocean_oauth_token",
            "DigitalOcean OAuth access token",
            "`doo_v1_` + 64 hex",
            tok("doo_v1_[0-9a-f]{64}"),
        ),
        Entry::new(
            "digitalocean_refresh_token",
            "DigitalOcean OAuth refresh token",
            "`dor_v1_` + 64 hex",
            tok("dor_v1_[0-9a-f]{64}"),
        ),
        Entry::new(
            "heroku_api_key",
            "Heroku API key (`HRKU-` format)",
            "`HRKU-AA` + 58",
            tok(r"HRKU-AA[0-9A-Za-z_\-]{58}"),
        )
        .entropy(3.5),
        Entry::new(
            "heroku_api_key",
            "a UUID in a Heroku assignment",
            "`HEROKU_API_KEY=` + UUID",
            ctx("heroku", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ),
        Entry::new(
            "netlify_access_token",
            "Netlify personal access token",
            "`nfp_` + 36 base62",
            tok("nfp_[0-9A-Za-z]{36}"),
        )
        .entropy(3.5),
        Entry::new(
            "netlify_access_token",
            "a Netlify token in a Netlify assignment",
            "`NETLIFY_AUTH_TOKEN=` + 40–46",
            ctx("netlify", r"[0-9A-Za-z_\-]{40,46}"),
        )
        .entropy(3.5),
        Entry::new(
            "vercel_token",
            "Vercel access token in a Vercel assignment",
            "`VERCEL_TOKEN=` + 24 base62",
            ctx("vercel", "[0-9A-Za-z]{24}"),
        )
        .entropy(3.5),
        Entry::new(
            "cloudflare_api_token",
            "Cloudflare API token in a Cloudflare assignment",
            "`CLOUDFLARE_API_TOKEN=` + 40",
            ctx("cloudflare|cf_api|cf_token", r"[0-9A-Za-z_\-]{40}"),
        )
        .entropy(3.5),
        Entry::new(
            "cloudflare_global_api_key",
            "Cloudflare global API key in a Cloudflare assignment",
            "`CLOUDFLARE_API_KEY=` + 37 hex",
            ctx("cloudflare|cf_api", "[0-9a-f]{37}"),
        )
        .entropy(3.0),
        Entry::new(
            "cloudflare_origin_ca_key",
            "Cloudflare Origin CA key",
            "`v1.0-` + 24 hex + `-` + 146 hex",
            tok(r"v1\.0-[0-9a-f]{24}-[0-9a-f]{146}"),
        ),
        Entry::new(
            "fastly_api_token",
            "Fastly API token in a Fastly assignment",
            "`FASTLY_API_TOKEN=` + 32",
            ctx("fastly", r"[0-9A-Za-z_\-]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "alibaba_access_key_id",
            "Alibaba Cloud AccessKey id",
            "`LTAI` + 20 base62",
            tok("LTAI[0-9A-Za-z]{20}"),
        )
        .entropy(3.5),
        Entry::new(
            "tencent_cloud_secret_id",
            "Tencent Cloud SecretId",
            "`AKID` + 32 base62",
            tok("AKID[0-9A-Za-z]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "yandex_api_key",
            "Yandex Cloud API key",
            "`AQVN` + 35–38",
            tok(r"AQVN[0-9A-Za-z_\-]{35,38}"),
        )
        .entropy(3.5),
        Entry::new(
            "flyio_access_token",
            "Fly.io access or macaroon token",
            "`fo1_` + 43, or `fm2_` + base64",
            format!(r"{B}(?P<s>fo1_[0-9A-Za-z_\-]{{43}}|fm[12][ar]?_[0-9A-Za-z+/]{{100,1000}}={{0,3}}){E64}"),
        )
        .entropy(4.0),
        Entry::new(
            "planetscale_password",
            "PlanetScale database password",
            "`pscale_pw_` + 32–64",
            tok(r"pscale_pw_[0-9A-Za-z_.\-]{32,64}"),
        ),
        Entry::new(
            "planetscale_api_token",
            "PlanetScale service or OAuth token",
            "`pscale_tkn_` / `pscale_oauth_` + 32–64",
            tok(r"pscale_(?:tkn|oauth)_[0-9A-Za-z_.\-]{32,64}"),
        ),
        Entry::new(
            "tailscale_key",
            "Tailscale API, auth, OAuth-client, SCIM or webhook key",
            "`tskey-api-` + id + `-` + secret",
            tok("tskey-(?:api|auth|client|scim|webhook)-[0-9A-Za-z]{10,20}-[0-9A-Za-z]{20,40}"),
        ),
        // --- Observability ---
        Entry::new(
            "datadog_api_key",
            "Datadog API key in a Datadog assignment",
            "`DD_API_KEY=` + 32 hex",
            ctx("datadog|dd", "[0-9a-f]{32}"),
        )
        .entropy(3.0),
        Entry::new(
            "datadog_app_key",
            "Datadog application key in a Datadog assignment",
            "`DD_APP_KEY=` + 40 hex",
            ctx("datadog|dd", "[0-9a-f]{40}"),
        )
        .entropy(3.0),
        Entry::new(
            "new_relic_user_api_key",
            "New Relic user API key",
            "`NRAK-` + 27",
            tok("NRAK-[0-9A-Z]{27}"),
        ),
        Entry::new(
            "new_relic_insert_key",
            "New Relic insert key",
            "`NRII-` + 32",
            tok(r"NRII-[0-9A-Za-z_\-]{32}"),
        ),
        Entry::new(
            "new_relic_license_key",
            "New Relic ingest licence key",
            "36 hex + `NRAL`",
            tok("[0-9a-f]{36}NRAL"),
        )
        .entropy(3.0),
        Entry::new(
            "sentry_org_token",
            "Sentry organisation auth token",
            "`sntrys_` + base64 JSON + `_` + secret",
            tok64(r"sntrys_eyJ[0-9A-Za-z+/=_\-]{60,800}"),
        )
        .check("the payload decodes to JSON with `iat`", sentry_ok),
        Entry::new(
            "sentry_user_token",
            "Sentry user auth token",
            "`sntryu_` + 64 hex",
            tok("sntryu_[0-9a-f]{64}"),
        ),
        Entry::new(
            "sentry_user_token",
            "Sentry auth token (legacy 64 hex) in a Sentry assignment",
            "`SENTRY_AUTH_TOKEN=` + 64 hex",
            ctx("sentry", "[0-9a-f]{64}"),
        )
        .entropy(3.5),
        Entry::new(
            "grafana_cloud_api_token",
            "Grafana Cloud access policy token",
            "`glc_` + base64 JSON",
            tok64("glc_[0-9A-Za-z+/]{32,400}={0,2}"),
        )
        .check("decodes to a JSON object", base64_json_ok),
        Entry::new(
            "grafana_service_account_token",
            "Grafana service account token",
            "`glsa_` + 32 + `_` + 8 hex",
            tok("glsa_[0-9A-Za-z]{32}_[0-9A-Fa-f]{8}"),
        ),
        Entry::new(
            "grafana_api_key",
            "Grafana API key (legacy)",
            "`eyJrIjoi` + base64",
            tok64("eyJrIjoi[0-9A-Za-z]{70,400}={0,2}"),
        )
        .check("decodes to a JSON object", base64_json_ok),
        Entry::new(
            "dynatrace_api_token",
            "Dynatrace API token",
            "`dt0c01.` + 24 + `.` + 64",
            tok(r"dt0c01\.[0-9A-Z]{24}\.[0-9A-Z]{64}"),
        ),
        // --- Developer tools and SaaS ---
        Entry::new(
            "linear_api_key",
            "Linear API key or OAuth token",
            "`lin_api_` + 40 base62",
            tok("lin_(?:api_[0-9A-Za-z]{40}|oauth_[0-9a-f]{64})"),
        ),
        Entry::new(
            "notion_token",
            "Notion integration token",
            "`secret_` + 43 base62, or `ntn_` + 46",
            tok("secret_[0-9A-Za-z]{43}|ntn_[0-9]{11}[0-9A-Za-z]{35}"),
        )
        .entropy(3.5),
        Entry::new(
            "airtable_token",
            "Airtable personal access token",
            "`pat` + 14 + `.` + 64 hex",
            tok(r"pat[0-9A-Za-z]{14}\.[0-9a-f]{64}"),
        ),
        Entry::new(
            "asana_pat",
            "Asana personal access token",
            "`1/` + ids + `:` + 32",
            tok("[0-9]/[0-9]{10,20}(?:/[0-9]{10,20})?:[0-9A-Za-z]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "postman_api_key",
            "Postman API key",
            "`PMAK-` + 24 hex + `-` + 34 hex",
            tok("PMAK-[0-9a-f]{24}-[0-9a-f]{34}"),
        ),
        Entry::new(
            "databricks_token",
            "Databricks personal access token",
            "`dapi` + 32 hex",
            tok("dapi[0-9a-f]{32}(?:-[0-9])?"),
        )
        .entropy(3.0),
        Entry::new(
            "sonar_token",
            "SonarQube / SonarCloud token",
            "`squ_` / `sqp_` / `sqa_` + 40 hex",
            tok("sq[upa]_[0-9a-f]{40}"),
        ),
        Entry::new(
            "sonar_token",
            "SonarQube token (legacy 40 hex) in a Sonar assignment",
            "`SONAR_TOKEN=` + 40 hex",
            ctx("sonar", "[0-9a-f]{40}"),
        )
        .entropy(3.0),
        Entry::new(
            "circleci_pat",
            "CircleCI personal API token",
            "`CCIPAT_` + 22 + `_` + 40 hex",
            tok("CCIPAT_[0-9A-Za-z]{22}_[0-9a-f]{40}"),
        ),
        Entry::new(
            "buildkite_token",
            "Buildkite API access token",
            "`bkua_` + 40 hex",
            tok("bkua_[0-9a-f]{40}"),
        ),
        Entry::new(
            "sourcegraph_token",
            "Sourcegraph access token",
            "`sgp_` (+ 16 hex + `_`) + 40 hex",
            tok("sgp_(?:(?:[0-9a-fA-F]{16}|local)_)?[0-9a-fA-F]{40}"),
        ),
        Entry::new(
            "hubspot_private_app_token",
            "HubSpot private app token",
            "`pat-na1-` + UUID",
            tok("pat-(?:na|eu)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ),
        Entry::new(
            "typeform_token",
            "Typeform personal access token",
            "`tfp_` + 59",
            tok(r"tfp_[0-9A-Za-z_.\-]{59}"),
        ),
        Entry::new(
            "readme_api_key",
            "ReadMe API key",
            "`rdme_` + 70 `[0-9a-z]`",
            tok("rdme_[0-9a-z]{70}"),
        ),
        Entry::new(
            "prefect_api_key",
            "Prefect Cloud API key",
            "`pnu_` + 36 base62",
            tok("pnu_[0-9A-Za-z]{36}"),
        )
        .entropy(3.5),
        Entry::new(
            "octopus_deploy_api_key",
            "Octopus Deploy API key",
            "`API-` + 26 `[0-9A-Z]`",
            tok("API-[0-9A-Z]{26}"),
        )
        .entropy(3.5),
        Entry::new(
            "infracost_api_token",
            "Infracost API token",
            "`ico-` + 32 base62",
            tok("ico-[0-9A-Za-z]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "adobe_client_secret",
            "Adobe developer console client secret",
            "`p8e-` + 32 base62",
            tok("p8e-[0-9A-Za-z]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "dropbox_access_token",
            "Dropbox short-lived access token",
            "`sl.` / `sl.u.` + 130–1400",
            tok(r"sl\.(?:u\.)?[0-9A-Za-z_\-]{130,1400}"),
        )
        .entropy(4.0),
        Entry::new(
            "dropbox_access_token",
            "Dropbox long-lived access token",
            "11 + `AAAAAAAAAA` + 43",
            tok(r"[0-9A-Za-z]{11}AAAAAAAAAA[0-9A-Za-z_=\-]{43}"),
        )
        .entropy(3.5),
        Entry::new(
            "twitter_bearer_token",
            "X / Twitter app bearer token",
            "21 `A` + 30–160",
            format!(r"{B}(?P<s>A{{21}}[0-9A-Za-z%]{{30,160}})(?:[^0-9A-Za-z%]|\z)"),
        )
        .check("the part after the `A`s has entropy", twitter_ok),
        Entry::new(
            "facebook_access_token",
            "Facebook / Meta Graph API access token",
            "`EAA` + 100–255 base62",
            tok("EAA[0-9A-Za-z]{100,255}"),
        )
        .entropy(4.0),
        Entry::new(
            "mapbox_secret_token",
            "Mapbox secret access token (public `pk.` tokens are not reported)",
            "`sk.eyJ` + … + `.` + …",
            tok(r"sk\.eyJ[0-9A-Za-z_\-]{20,300}\.[0-9A-Za-z_\-]{20,64}"),
        )
        .check("the payload decodes to a JSON object", mapbox_ok),
        Entry::new(
            "algolia_admin_key",
            "Algolia admin / write API key in an Algolia assignment",
            "`ALGOLIA_ADMIN_KEY=` + 32 hex",
            ctx("algolia", "[0-9a-f]{32}"),
        )
        .entropy(3.0),
        Entry::new(
            "maxmind_license_key",
            "MaxMind licence key",
            "6 + `_` + 29 + `_mmk`",
            tok("[0-9A-Za-z]{6}_[0-9A-Za-z]{29}_mmk"),
        ),
        Entry::new(
            "supabase_access_token",
            "Supabase management API access token",
            "`sbp_` + 40 hex",
            tok("sbp_[0-9a-f]{40}"),
        ),
        Entry::new(
            "supabase_secret_key",
            "Supabase secret API key",
            "`sb_secret_` + 31–64",
            tok(r"sb_secret_[0-9A-Za-z_\-]{31,64}"),
        )
        .entropy(3.5),
        // --- Identity, secrets management, infrastructure ---
        Entry::new(
            "okta_api_token",
            "Okta API token in an Okta assignment",
            "`OKTA_API_TOKEN=00` + 40",
            ctx("okta", r"00[0-9A-Za-z_\-]{40}"),
        )
        .entropy(3.5),
        Entry::new(
            "auth0_client_secret",
            "Auth0 client secret in an Auth0 assignment",
            "`AUTH0_CLIENT_SECRET=` + 64",
            ctx("auth0", r"[0-9A-Za-z_\-]{64}"),
        )
        .entropy(4.0),
        Entry::new(
            "vault_service_token",
            "HashiCorp Vault service token",
            "`hvs.` + 90–120",
            tok(r"hvs\.[0-9A-Za-z_\-]{90,120}"),
        )
        .entropy(4.0),
        Entry::new(
            "vault_service_token",
            "HashiCorp Vault service token (legacy `s.` format) in a Vault assignment",
            "`VAULT_TOKEN=s.` + 24",
            ctx("vault", r"s\.[0-9A-Za-z]{24}"),
        )
        .entropy(3.5)
        .check("has letters and digits", has_letters_and_digits),
        Entry::new(
            "vault_batch_token",
            "HashiCorp Vault batch token",
            "`hvb.` + 138–300",
            tok(r"hvb\.[0-9A-Za-z_\-]{138,300}"),
        )
        .entropy(4.0),
        Entry::new(
            "terraform_cloud_token",
            "Terraform Cloud / Enterprise API token",
            "14 + `.atlasv1.` + 60–70",
            tok(r"[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=\-]{60,70}"),
        ),
        Entry::new(
            "pulumi_access_token",
            "Pulumi access token",
            "`pul-` + 40 hex",
            tok("pul-[0-9a-f]{40}"),
        ),
        Entry::new(
            "doppler_token",
            "Doppler personal, service, CLI, SCIM or audit token",
            "`dp.pt.` / `dp.st.` … + 40–44",
            tok(r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[0-9a-z_\-]{2,35}\.)?[0-9A-Za-z]{40,44}"),
        ),
        Entry::new(
            "onepassword_secret_key",
            "1Password account Secret Key",
            "`A3-` + 6 + … (five dash groups)",
            tok("A3-[0-9A-Z]{6}-(?:[0-9A-Z]{11}|[0-9A-Z]{6}-[0-9A-Z]{5})-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}"),
        ),
        Entry::new(
            "onepassword_service_account_token",
            "1Password service account token",
            "`ops_eyJ` + base64",
            tok64("ops_eyJ[0-9A-Za-z+/]{250,1500}={0,3}"),
        )
        .entropy(4.0),
        Entry::new(
            "openshift_user_token",
            "OpenShift OAuth user token",
            "`sha256~` + 43",
            tok(r"sha256~[0-9A-Za-z_\-]{43}"),
        )
        .entropy(3.5),
        // --- More services ---
        Entry::new(
            "harness_access_token",
            "Harness personal or service account token",
            "`pat.` / `sat.` + 22 + `.` + 24 + `.` + 20",
            tok(r"(?:pat|sat)\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z]{24}\.[0-9A-Za-z]{20}"),
        ),
        Entry::new(
            "scalingo_api_token",
            "Scalingo API token",
            "`tk-us-` + 48",
            tok(r"tk-us-[0-9A-Za-z_\-]{48}"),
        )
        .entropy(3.5),
        Entry::new(
            "settlemint_token",
            "SettleMint personal, application or service access token",
            "`sm_pat_` / `sm_aat_` / `sm_sat_` + 16",
            tok("sm_(?:pat|aat|sat)_[0-9A-Za-z]{16}"),
        )
        .entropy(3.0),
        Entry::new(
            "intra42_client_secret",
            "42 school Intra API client secret",
            "`s-s4t2ud-` + 64 hex",
            tok("s-s4t2(?:ud|af)-[0-9a-f]{64}"),
        ),
        Entry::new(
            "clickhouse_cloud_api_secret",
            "ClickHouse Cloud API secret key",
            "`4b1d` + 38 base62",
            tok("4b1d[0-9A-Za-z]{38}"),
        )
        .entropy(3.5),
        Entry::new(
            "frameio_api_token",
            "Frame.io API token",
            "`fio-u-` + 64",
            tok(r"fio-u-[0-9A-Za-z_=\-]{64}"),
        ),
        Entry::new(
            "defined_networking_api_token",
            "Defined Networking (Nebula) API token",
            "`dnkey-` + 26 + `-` + 52",
            tok(r"dnkey-[0-9a-z=_\-]{26}-[0-9a-z=_\-]{52}"),
        ),
        Entry::new(
            "gitlab_session_cookie",
            "GitLab session cookie",
            "`_gitlab_session=` + 32",
            format!(r"_gitlab_session=(?P<s>[0-9a-z]{{32}}){B}"),
        )
        .entropy(3.0),
        Entry::new(
            "sidekiq_secret",
            "Sidekiq Pro / Enterprise gem server credentials",
            "`BUNDLE_GEMS__CONTRIBSYS__COM=` + 8 hex + `:` + 8 hex",
            ctx("bundle_enterprise__contribsys__com|bundle_gems__contribsys__com", "[0-9a-f]{8}:[0-9a-f]{8}"),
        ),
        Entry::new(
            "facebook_app_access_token",
            "Facebook app access token (`app id|app secret`)",
            "15–16 digits + `|` + 27–40",
            tok(r"[0-9]{15,16}(?:\||%7C)[0-9A-Za-z_\-]{27,40}"),
        )
        .entropy(3.0),
        Entry::new(
            "yandex_iam_token",
            "Yandex Cloud IAM token",
            "`t1.` + … + `.` + 86",
            format!(r"{B}(?P<s>t1\.[0-9A-Za-z_\-]{{1,128}}={{0,2}}\.[0-9A-Za-z_\-]{{86}}={{0,2}}){E64}"),
        )
        .entropy(3.5),
        Entry::new(
            "mailgun_signing_key",
            "Mailgun webhook signing key in a Mailgun assignment",
            "`MAILGUN_SIGNING_KEY=` + 32 + `-` + 8 + `-` + 8",
            ctx("mailgun", "[0-9a-h]{32}-[0-9a-h]{8}-[0-9a-h]{8}"),
        )
        .entropy(3.0),
        Entry::new(
            "lob_api_key",
            "Lob secret API key in a Lob assignment",
            "`LOB_API_KEY=live_` + 35 hex",
            ctx("lob", "(?:live|test)_[0-9a-f]{35}"),
        )
        .entropy(3.0),
        Entry::new(
            "snyk_api_token",
            "Snyk API token in a Snyk assignment",
            "`SNYK_TOKEN=` + UUID",
            ctx("snyk", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        ),
        Entry::new(
            "discord_client_secret",
            "Discord OAuth client secret in a Discord assignment",
            "`DISCORD_CLIENT_SECRET=` + 32",
            ctx("discord", r"[0-9A-Za-z_\-]{32}"),
        )
        .entropy(3.5),
        Entry::new(
            "bitbucket_client_secret",
            "Bitbucket OAuth consumer secret in a Bitbucket assignment",
            "`BITBUCKET_CLIENT_SECRET=` + 64",
            ctx("bitbucket", r"[0-9A-Za-z_\-]{64}"),
        )
        .entropy(4.0),
        Entry::new(
            "twitter_api_secret",
            "X / Twitter API key secret in a Twitter assignment",
            "`TWITTER_API_SECRET=` + 50 base62",
            ctx("twitter", "[0-9A-Za-z]{50}"),
        )
        .entropy(4.0),
        Entry::new(
            "twitter_access_token",
            "X / Twitter user access token in a Twitter assignment",
            "`TWITTER_ACCESS_TOKEN=` + user id + `-` + 20–40",
            ctx("twitter", "[0-9]{15,25}-[0-9A-Za-z]{20,40}"),
        )
        .entropy(3.5),
        Entry::new(
            "zendesk_api_token",
            "Zendesk API token in a Zendesk assignment",
            "`ZENDESK_API_TOKEN=` + 40 base62",
            ctx("zendesk", "[0-9A-Za-z]{40}"),
        )
        .entropy(3.5),
        Entry::new(
            "contentful_delivery_token",
            "Contentful delivery / management token in a Contentful assignment",
            "`CONTENTFUL_ACCESS_TOKEN=` + 43",
            ctx("contentful", r"[0-9A-Za-z_\-]{43}"),
        )
        .entropy(3.5),
        Entry::new(
            "nuget_config_password",
            "password in a `nuget.config` package source credential",
            "`<add key=\"ClearTextPassword\" value=\"…\" />`",
            r#"(?i-u:<add[ \t]{1,4}key=")(?i-u:(?:cleartext)?password)"[ \t]{1,4}(?i-u:value=")(?P<s>[\x20\x21\x23-\x7E]{4,128})""#.to_string(),
        )
        .check("not a placeholder or default password", password_literal_ok)
        .score(0.9),
        Entry::new(
            "api_key_header",
            "credential in an API-key HTTP header (`X-API-Key`, `api-key`, `X-Auth-Token`, …)",
            "`X-API-Key: ` + token",
            r#"(?i-u:x-api-key|x-api-token|x-auth-token|x-access-token|api-key|apikey)["']?[ \t]{0,2}:[ \t]{0,4}["']?(?P<s>[0-9A-Za-z._~+/=\-]{16,512})"#.to_string(),
        )
        .entropy(3.5)
        .check("has letters and digits; not a placeholder or a code reference", api_key_value_ok)
        .score(0.9),
        // --- Keys ---
        Entry::new(
            "private_key",
            "PEM / OpenSSH / PGP private key block (RSA, EC, DSA, PKCS#8, encrypted, any `… PRIVATE KEY` label), also JSON-escaped",
            "`-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----`",
            r"-----BEGIN[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----[0-9A-Za-z+/=\r\n\t :,.\-\\]{40,8000}?-----END[ A-Z0-9_\-]{0,40}PRIVATE KEY(?: BLOCK)?-----".to_string(),
        )
        .keep_placeholders()
        .check("the body is at least 64 base64 characters, no `...` elision", pem_ok),
        Entry::new(
            "putty_private_key",
            "PuTTY private key file",
            "`PuTTY-User-Key-File-3:` … `Private-MAC:` + hex",
            r"PuTTY-User-Key-File-[23]: [\t\n\r\x20-\x7E]{64,6000}?Private-MAC: [0-9a-f]{40,64}".to_string(),
        )
        .keep_placeholders()
        .check("has `Private-Lines:` and no `...` elision", putty_ok),
        Entry::new(
            "age_secret_key",
            "age encryption secret key",
            "`AGE-SECRET-KEY-1` + 58 bech32",
            tok("AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}"),
        )
        .check("bech32 checksum", age_ok),
        Entry::new(
            "openvpn_static_key",
            "OpenVPN static key (tls-auth / tls-crypt)",
            "`-----BEGIN OpenVPN Static key V1-----` + 512 hex",
            r"-----BEGIN OpenVPN Static key V1-----[0-9a-f\r\n]{512,600}-----END OpenVPN Static key V1-----".to_string(),
        )
        .keep_placeholders()
        .check("512 hex digits", openvpn_ok),
        Entry::new(
            "wireguard_private_key",
            "WireGuard interface private key",
            "`PrivateKey = ` + 44 base64",
            format!(r"{B}PrivateKey[ \t]{{0,4}}=[ \t]{{0,4}}(?P<s>[0-9A-Za-z+/]{{42}}[AEIMQUYcgkosw048]=){E64}"),
        )
        .entropy(4.0),
        Entry::new(
            "kubeconfig_client_key",
            "base64 private key in a kubeconfig `client-key-data`",
            "`client-key-data: LS0tLS1CRUdJTi…`",
            format!(r#"client-key-data:[ \t]{{0,4}}["']?(?P<s>LS0tLS1CRUdJTi[0-9A-Za-z+/]{{60,7000}}={{0,2}}){E64}"#),
        )
        .check("decodes to a PEM private key", kubeconfig_ok),
        // --- Generic credentials ---
        Entry::new(
            "jwt",
            "JSON Web Token (signed)",
            "`eyJ…` `.` `…` `.` signature",
            tok(r"eyJ[0-9A-Za-z_\-]{10,600}\.[0-9A-Za-z_\-]{2,3000}\.[0-9A-Za-z_\-]{16,1000}"),
        )
        .check("header decodes to JSON with `alg`, payload to a JSON object", jwt_ok),
        Entry::new(
            "uri_credentials",
            "password in a URL's userinfo (`postgres://`, `mysql://`, `mongodb+srv://`, `redis://`, `amqp://`, `ftp://`, `https://` …)",
            "`scheme://user:` **password** `@host`",
            format!(r"{B}(?i-u:[a-z][a-z0-9+.\-]{{1,24}})://[0-9A-Za-z._~%!$&*+,;=\-]{{0,64}}:(?P<s>[0-9A-Za-z._~%!$&*+,;=\-\^|{{}}\[\]()]{{3,128}})@"),
        )
        .check(
            "not a placeholder or default password (`password`, `postgres`, `guest` …)",
            uri_password_ok,
        )
        .score(0.9),
        Entry::new(
            "uri_credentials",
            "password in a URL's query",
            "`?password=` value",
            r"[?&](?i-u:password|passwd|pwd)=(?P<s>[0-9A-Za-z._~%!$*+,;\-\^|{}\[\]()]{3,128})".to_string(),
        )
        .check(
            "not a placeholder or default password (`password`, `postgres`, `guest` …)",
            uri_password_ok,
        )
        .score(0.9),
        Entry::new(
            "bearer_token",
            "bearer (or GitHub-style `token`) credential in an `Authorization` header",
            "`Authorization: Bearer` + token",
            r#"(?i-u:authorization)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?(?i-u:bearer|token)[ \t]{1,4}(?P<s>[0-9A-Za-z._~+/\-]{16,2048}={0,2})"#.to_string(),
        )
        .entropy(3.0)
        .check("has letters and digits", has_letters_and_digits)
        .score(0.9),
        Entry::new(
            "basic_auth",
            "HTTP Basic credentials in an `Authorization` header",
            "`Authorization: Basic` + base64(user:password)",
            format!(r#"(?i-u:authorization)["']?[ \t]{{0,4}}[:=][ \t]{{0,4}}["']?(?i-u:basic)[ \t]{{1,4}}(?P<s>[0-9A-Za-z+/]{{8,1024}}={{0,2}}){E64}"#),
        )
        .check("decodes to `user:password` with a real password", basic_ok),
        Entry::new(
            "docker_registry_auth",
            "registry credentials in a Docker `config.json` `auth` field",
            "`\"auth\": \"` + base64(user:password)",
            r#""auth"[ \t]{0,4}:[ \t]{0,4}"(?P<s>[0-9A-Za-z+/]{8,1024}={0,2})""#.to_string(),
        )
        .check("decodes to `user:password` with a real password", basic_ok),
        Entry::new(
            "curl_user_password",
            "password in a `curl -u user:password` command",
            "`curl … -u user:` **password**",
            r#"(?-u:\b)curl[ \t][\x20-\x7E]{0,200}?[ \t](?:-u|--user)[ \t]{1,4}["']?[0-9A-Za-z._@+\-]{1,64}:(?P<s>[0-9A-Za-z!#%&*+,.;=?^_{|}~\-]{3,128})"#.to_string(),
        )
        .check("not a placeholder or default password", password_literal_ok)
        .score(0.9),
        Entry::new(
            "generic_password",
            "a quoted value assigned to a password field",
            "`password = \"…\"`, `\"db_password\": \"…\"`",
            format!(r#"{PASSWORD_NAMES}{ASSIGN}["'\x60](?P<s>{QUOTED_VALUE}{{6,128}})["'\x60]"#),
        )
        .entropy(2.5)
        .check(
            "looks like a password: not a placeholder, a code reference, a validation rule or one plain word",
            password_value_ok,
        )
        .score(0.7),
        Entry::new(
            "generic_password",
            "an unquoted value assigned to a password field at the end of its line (`.env`, YAML, INI)",
            "`DB_PASSWORD=…`, `password: …`",
            format!(r"{PASSWORD_NAMES}[ \t]{{0,4}}[:=][ \t]{{0,4}}(?P<s>{BARE_VALUE}{{6,128}})[ \t\r]{{0,16}}(?m:$)"),
        )
        .entropy(2.5)
        .check(
            "looks like a password: not a placeholder, a code reference, a validation rule or one plain word",
            password_value_ok,
        )
        .score(0.7),
        Entry::new(
            "generic_password",
            "a password given as a command-line flag",
            "`mysql -u app --password=…`",
            format!(r#"[0-9A-Za-z_.\-"'][ \t]{{1,4}}--(?i-u:password|passwd)[ =](?P<s>{BARE_VALUE}{{6,128}})(?:[ \t\r\n]|\z)"#),
        )
        .entropy(2.5)
        .check(
            "looks like a password: not a placeholder, a code reference, a validation rule or one plain word",
            password_value_ok,
        )
        .score(0.7),
        Entry::new(
            "generic_password",
            "a password in a variable set for one command",
            "`PGPASSWORD=… psql`, `MYSQL_PWD=… mysqldump`",
            format!(r"(?:PASSWORD|PASSWD|PWD)=(?P<s>{BARE_VALUE}{{6,128}})[ \t]{{1,4}}[a-z]"),
        )
        .entropy(2.5)
        .check(
            "looks like a password: not a placeholder, a code reference, a validation rule or one plain word",
            password_value_ok,
        )
        .score(0.7),
        Entry::new(
            "generic_api_key",
            "a quoted high-entropy value assigned to an API key, token or secret field",
            "`api_key = \"…\"`, `\"client_secret\": \"…\"`",
            format!(r#"{KEY_NAMES}{ASSIGN}["'\x60](?P<s>[0-9A-Za-z_+/=.~\-]{{16,256}})["'\x60]"#),
        )
        .entropy(3.5)
        .check("has letters and digits; not a placeholder or a code reference", api_key_value_ok)
        .score(0.7),
        Entry::new(
            "generic_api_key",
            "an unquoted high-entropy value assigned to an API key, token or secret field at the end of its line",
            "`API_KEY=…`, `token: …`",
            format!(r"{KEY_NAMES}[ \t]{{0,4}}[:=][ \t]{{0,4}}(?P<s>[0-9A-Za-z_+/=.~\-]{{16,256}})[ \t\r]{{0,16}}(?m:$)"),
        )
        .entropy(3.5)
        .check("has letters and digits; not a placeholder or a code reference", api_key_value_ok)
        .score(0.7),
    ]
}

// === validators ===

/// Base62 digits in GitHub's order.
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32 (IEEE 802.3, as zlib), bitwise; inputs are a few dozen bytes.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `n` in base62, left-padded with `0` to `width` digits.
pub(crate) fn base62(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens: after the 4-byte
/// prefix, 30 random base62 characters and the base62 CRC32 of those 30 as the last 6.
fn checksum_token_ok(s: &str) -> bool {
    let Some(body) = s.get(4..) else { return false };
    if body.len() != 36 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(30);
    let crc = crc32(random.as_bytes());
    base62(u64::from(crc), 6) == check
}

/// Slack ids are real numbers, not `0000000000`.
fn slack_ok(s: &str) -> bool {
    s.split('-')
        .skip(1)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .all(|p| p.bytes().any(|b| Some(&b) != p.as_bytes().first()))
}

/// Decodes standard or URL-safe base64, with or without padding.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover character (6 bits) cannot end a base64 string.
    (bits < 6).then_some(out)
}

/// Whether `bytes` look like a JSON object: `{ … }`, UTF-8.
fn json_object(bytes: &[u8]) -> Option<&str> {
    let t = std::str::from_utf8(bytes).ok()?.trim();
    (t.starts_with('{') && t.ends_with('}')).then_some(t)
}

/// JWT: the header decodes to a JSON object with `"alg"`, the payload to a JSON object.
fn jwt_ok(s: &str) -> bool {
    let mut parts = s.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let header_ok = base64_decode(h)
        .as_deref()
        .and_then(json_object)
        .is_some_and(|j| j.contains("\"alg\""));
    header_ok && base64_decode(p).as_deref().and_then(json_object).is_some()
}

/// Discord bot token: the first part is base64 of the bot's user id (a snowflake, 17–20 digits).
fn discord_ok(s: &str) -> bool {
    let first = s.split('.').next().unwrap_or_default();
    base64_decode(first).is_some_and(|id| {
        (17..=20).contains(&id.len())
            && id.iter().all(u8::is_ascii_digit)
            && !is_placeholder(&String::from_utf8_lossy(&id))
    })
}

/// Sentry org token: `sntrys_<base64 JSON with iat>_<secret>`.
fn sentry_ok(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("sntrys_") else {
        return false;
    };
    let payload = rest.rsplit_once('_').map_or(rest, |(p, _)| p);
    base64_decode(payload)
        .as_deref()
        .and_then(json_object)
        .is_some_and(|j| j.contains("\"iat\""))
}

/// Grafana tokens are base64 of a JSON object (after an optional `glc_` prefix).
fn base64_json_ok(s: &str) -> bool {
    let body = s.strip_prefix("glc_").unwrap_or(s);
    base64_decode(body)
        .as_deref()
        .and_then(json_object)
        .is_some()
}

/// Mapbox secret token: `sk.<base64url JSON>.<signature>`.
fn mapbox_ok(s: &str) -> bool {
    s.split('.')
        .nth(1)
        .and_then(base64_decode)
        .as_deref()
        .and_then(json_object)
        .is_some()
}

/// X / Twitter bearer token: what follows the 21 `A`s is random.
fn twitter_ok(s: &str) -> bool {
    let rest = s.trim_start_matches('A');
    rest.len() >= 30 && shannon_entropy(rest) >= 4.0
}

/// age secret key: bech32 (BIP 173) with human-readable part `age-secret-key-`.
fn age_ok(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = s.to_ascii_lowercase();
    let Some((hrp, data)) = lower.rsplit_once('1') else {
        return false;
    };
    let mut values: Vec<u8> = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.bytes().map(|b| b >> 5));
    values.push(0);
    values.extend(hrp.bytes().map(|b| b & 31));
    for b in data.bytes() {
        match CHARSET.iter().position(|&c| c == b) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    bech32_polymod(&values) == 1
}

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    for &v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// PEM private key: the body (header lines such as `Proc-Type:` and JSON `\n` escapes removed)
/// is at least 64 base64 characters of random-looking data, and nothing was elided with `...`.
fn pem_ok(s: &str) -> bool {
    // `-----BEGIN … PRIVATE KEY-----` is followed by the body, up to the last `-----END`.
    let Some(start) = s
        .get(11..)
        .and_then(|r| r.find("-----"))
        .map(|i| 11 + i + 5)
    else {
        return false;
    };
    let Some(end) = s.rfind("-----END") else {
        return false;
    };
    if end < start || s[start..end].contains("..") {
        return false;
    }
    let body = s[start..end].replace("\\n", "\n").replace("\\r", "\n");
    let b64: String = body
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    b64.len() >= 64
        && b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        && shannon_entropy(&b64) >= 4.5
}

/// PuTTY key file: complete (has `Private-Lines:`), nothing elided.
fn putty_ok(s: &str) -> bool {
    s.contains("Private-Lines:") && !s.contains("...")
}

/// OpenVPN static key: exactly 512 hex digits.
fn openvpn_ok(s: &str) -> bool {
    let body = s
        .trim_start_matches("-----BEGIN OpenVPN Static key V1-----")
        .trim_end_matches("-----END OpenVPN Static key V1-----");
    body.bytes().filter(u8::is_ascii_hexdigit).count() == 512
}

/// kubeconfig `client-key-data`: base64 of a PEM private key.
fn kubeconfig_ok(s: &str) -> bool {
    base64_decode(s).is_some_and(|pem| {
        let text = String::from_utf8_lossy(&pem);
        text.starts_with("-----BEGIN") && text.contains("PRIVATE KEY-----")
    })
}

/// Passwords that mean "fill this in" or are well-known defaults, not leaked credentials.
const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "s3cr3t",
    "admin",
    "administrator",
    "root",
    "toor",
    "postgres",
    "mysql",
    "guest",
    "test",
    "tester",
    "testing",
    "user",
    "username",
    "pw",
    "mypassword",
    "mypass",
    "yourpassword",
    "hunter2",
    "foobar",
    "foo",
    "bar",
    "baz",
    "qwerty",
    "letmein",
    "welcome",
    "default",
    "anonymous",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "string",
    "required",
    "optional",
    "redis",
    "rabbitmq",
    "mongo",
    "mongodb",
    "sa",
    "demo",
    "example",
    "secretpassword",
    "supersecret",
    "supersecretpassword",
    "123456",
    "12345678",
    "123456789",
    "abc123",
    "password1",
    "password123",
    "admin123",
    "root123",
    "pass123",
    "db_password",
    "dbpassword",
];

/// A password-ish literal that is not a placeholder, an environment reference or a default.
fn password_literal_ok(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    !is_placeholder(s)
        && !PLACEHOLDER_PASSWORDS.contains(&lower.as_str())
        && !s.starts_with('$')
        && !s.starts_with('%')
}

/// The password part of a URL: a literal, not a port number.
fn uri_password_ok(s: &str) -> bool {
    password_literal_ok(s) && !(s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()))
}

/// `a.b.c` made of identifiers: `settings.DB_PASSWORD`, `process.env.API_KEY`.
fn dotted_identifier(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|seg| {
            seg.len() <= 32
                && seg
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// Character classes present: lower, upper, digit, other.
fn char_classes(s: &str) -> usize {
    let has = |f: fn(&u8) -> bool| usize::from(s.as_bytes().iter().any(f));
    has(u8::is_ascii_lowercase)
        + has(u8::is_ascii_uppercase)
        + has(u8::is_ascii_digit)
        + has(|b| !b.is_ascii_alphanumeric())
}

/// A generic password value: a literal (not a placeholder, default, code reference, path or
/// validation rule) that is not one plain word.
fn password_value_ok(s: &str) -> bool {
    const RULE_WORDS: &[&str] = &[
        "required",
        "nullable",
        "min:",
        "max:",
        "confirmed",
        "regex:",
    ];
    let lower = s.to_ascii_lowercase();
    password_literal_ok(s)
        && !dotted_identifier(s)
        && !s.starts_with('/')
        && !s.starts_with("./")
        && !s.starts_with('!')
        && !RULE_WORDS.iter().any(|w| lower.contains(w))
        && (char_classes(s) >= 2 || s.len() >= 12)
}

/// Prefixes of keys that are public by design (Stripe publishable keys, Mapbox public tokens).
const PUBLIC_KEY_PREFIXES: &[&str] = &["pk_live_", "pk_test_", "pk.eyJ"];

/// A generic API key value: letters and digits, not a code reference, a URL/path or a public
/// key.
fn api_key_value_ok(s: &str) -> bool {
    has_letters_and_digits(s)
        && !dotted_identifier(s)
        && !s.starts_with('/')
        && !s.contains("//")
        && !PUBLIC_KEY_PREFIXES.iter().any(|p| s.starts_with(p))
}

fn has_letters_and_digits(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_alphabetic()) && s.bytes().any(|b| b.is_ascii_digit())
}

/// HTTP Basic / Docker `auth`: base64 of `user:password` with a real password.
fn basic_ok(s: &str) -> bool {
    let Some(bytes) = base64_decode(s) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return false;
    };
    let Some((user, password)) = text.split_once(':') else {
        return false;
    };
    !user.is_empty()
        && !password.is_empty()
        && text.chars().all(|c| !c.is_control())
        && password_literal_ok(password)
        && !is_placeholder(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32/ISO-HDLC check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_pads_and_orders_digits() {
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 2), "0z");
        assert_eq!(base62(62, 2), "10");
        assert_eq!(base62(u64::from(u32::MAX), 6), "4gfFC3");
    }

    #[test]
    fn checksum_tokens_reject_one_changed_character() {
        let random = "R7x9Kq2LmW4vB8nT1cZ5yH3jP6sD0f";
        let token = format!(
            "ghp_{random}{}",
            base62(u64::from(crc32(random.as_bytes())), 6)
        );
        assert!(checksum_token_ok(&token), "{token}");
        let bad = token.replacen('R', "S", 1);
        assert!(!checksum_token_ok(&bad), "{bad}");
        assert!(!checksum_token_ok("ghp_short"));
    }

    #[test]
    fn base64_decodes_both_alphabets() {
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            base64_decode("-_-_").as_deref(),
            Some(&[0xfb, 0xff, 0xbf][..])
        );
        assert_eq!(base64_decode("a"), None);
        assert_eq!(base64_decode("a*bc"), None);
    }

    #[test]
    fn disable_unknown_kind_suggests_the_closest() {
        let cfg = SecretsConfig {
            disable: vec!["github_tokn".into()],
            ..SecretsConfig::default()
        };
        let err = rules(&cfg).unwrap_err();
        assert!(
            err.contains("`github_tokn`") && err.contains("did you mean `github_token`?"),
            "{err}"
        );
        let cfg = SecretsConfig {
            disable: vec!["stripe".into()],
            ..SecretsConfig::default()
        };
        let err = rules(&cfg).unwrap_err();
        assert!(err.contains("did you mean `stripe_"), "{err}");
    }

    #[test]
    fn disable_removes_every_rule_of_a_kind() {
        let all = rules(&SecretsConfig::default()).unwrap();
        let cfg = SecretsConfig {
            disable: vec!["generic_password".into()],
            ..SecretsConfig::default()
        };
        let some = rules(&cfg).unwrap();
        let n = all.iter().filter(|r| r.kind == "generic_password").count();
        assert!(n >= 2);
        assert_eq!(some.len(), all.len() - n);
        assert!(some.iter().all(|r| r.kind != "generic_password"));
        let off = SecretsConfig {
            enabled: false,
            ..SecretsConfig::default()
        };
        assert!(rules(&off).unwrap().is_empty());
    }

    fn custom(id: &str, regex: &str) -> SecretsConfig {
        SecretsConfig {
            custom: vec![CustomPattern {
                id: id.into(),
                regex: regex.into(),
                min_entropy: Some(3.0),
            }],
            ..SecretsConfig::default()
        }
    }

    #[test]
    fn custom_patterns_become_rules() {
        let rules = rules(&custom("acme_token", r"(?-u:\b)acme_[0-9a-z]{32}(?-u:\b)")).unwrap();
        let r = rules.last().unwrap();
        assert_eq!(
            (r.kind.as_str(), r.min_entropy, r.reject_placeholders),
            ("acme_token", Some(3.0), true)
        );
        let re = r.compile().unwrap();
        let text =
            "token acme_k3j9x8q2m7v5b1n4c6z0l8w2e5r7t9y1 and acme_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        assert_eq!(r.find_all(&re, text), vec![(6, 43)]);
        // A group named `s` narrows the reported span.
        let narrowed = super::rules(&custom("acme_pw", r"acme_pw=(?P<s>[0-9a-z]{8,16})")).unwrap();
        let r = narrowed.last().unwrap();
        let re = r.compile().unwrap();
        assert_eq!(r.find_all(&re, "acme_pw=k3j9x8q2m7 end"), vec![(8, 18)]);
    }

    #[test]
    fn custom_pattern_errors_name_the_pattern_and_the_problem() {
        let table = [
            ("acme", r"acme_[a-z]+", "unbounded"),
            ("acme", r"acme_[a-z]{1,", "invalid regex"),
            ("acme", r"\bacme_[a-z]{8}", "Unicode word boundary"),
            ("acme", r"acme_[a-z]{9000}", "longest match is 9005 bytes"),
            ("github_token", r"ghp_[a-z]{8}", "is a built-in secret kind"),
        ];
        for (id, regex, want) in table {
            let err = rules(&custom(id, regex)).unwrap_err();
            assert!(
                err.contains(&format!("`{id}`")) && err.contains(want),
                "{regex}: {err}"
            );
        }
        let mut twice = custom("acme", "acme_[a-z]{8}");
        twice.custom.push(twice.custom[0].clone());
        assert!(rules(&twice)
            .unwrap_err()
            .contains("secrets.custom[1]: id `acme` is used by an earlier"));
    }

    #[test]
    fn checks_never_panic_on_odd_spans() {
        // Validators normally see regex matches; they must also survive anything else.
        let odd = [
            "",
            "-",
            "--",
            "xoxb--",
            "xoxp-1--2",
            ".",
            "..",
            "_",
            "ghp_é",
            "npm_ééééééééééééééééééé",
            "sntrys_",
            "sntrys__",
            "sk.",
            "sk..",
            "AGE-SECRET-KEY-1",
            "1",
            "-----BEGIN",
            "-----BEGIN -----",
            "-----END",
            "eyJ",
            "eyJ.eyJ.",
            "A",
            "AAAAAAAAAAAAAAAAAAAAA",
            "client-key-data",
            "=",
            "==",
            "é",
            "😀😀😀😀😀😀😀😀😀😀😀😀",
            "a:b",
            ":",
            "Basic",
            "%",
            "$",
            "{",
            "{}",
            "glc_",
            "t1..",
        ];
        for rule in rules(&SecretsConfig::default()).unwrap() {
            for s in odd {
                let _ = rule.accepts(s);
            }
        }
    }

    #[test]
    fn validators_reject_what_they_should() {
        assert!(!jwt_ok(
            "eyJub3RhbGciOiJ4In0.eyJhIjoxfQ.c2lnbmF0dXJlc2lnbmF0dXJl"
        )); // no "alg"
        assert!(jwt_ok(
            "eyJhbGciOiJIUzI1NiJ9.eyJhIjoxfQ.c2lnbmF0dXJlc2lnbmF0dXJl"
        ));
        assert!(!basic_ok("dXNlcjpwYXNzd29yZA==")); // user:password
        assert!(basic_ok("ZGVwbG95OlI3eDlLcTJMbVc0dkI4blQ=")); // deploy:R7x9Kq2LmW4vB8nT
        assert!(!password_value_ok("settings.DB_PASSWORD"));
        assert!(!password_value_ok("required|min:8"));
        assert!(!password_value_ok("forgotten"));
        assert!(password_value_ok("Tr0ub4dor&3"));
        assert!(!uri_password_ok("5432"));
        assert!(!discord_ok("aGVsbG8gd29ybGQgaGVsbG8.abcdef.xyz"));
        assert!(!slack_ok("xoxb-0000000000-1234567891-abc"));
        assert!(slack_ok("xoxp-1234567891-1234567891-1234567891-ab--cd"));
    }
}
