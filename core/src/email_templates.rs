//! The emails Latchkey sends, what each says in each language, and the tenant's own subject
//! and text of an email in a language (an override), which replaces the catalog's.
//!
//! An email is plain text plus HTML. The HTML part is made from the text, escaped, under the
//! tenant's name in its primary colour; links (`http`/`https`) become clickable. Overrides are
//! text with placeholders (`{ $code }`): only the placeholders the template has, no HTML and
//! nothing a mail client could run.

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::languages::{Language, Var};
use crate::scope::TenantScope;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use std::fmt::Write;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_templates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub template: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub locale: String,
        pub subject: String,
        pub text: String,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// The longest subject of an override, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest text of an override, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Placeholders every email has: the tenant's name, its hosted page and its account page.
const COMMON: [&str; 3] = ["tenant", "page", "account_page"];

/// An email Latchkey sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmailTemplate {
    /// The code (and link) of an email verification.
    VerificationCode,
    /// A sign-up for an address that has an account.
    AlreadyHaveAccount,
    /// A code asked for an address without an active account.
    NoAccount,
    /// An email change to an address another account has.
    AddressTaken,
    /// Verification of an address that is verified already.
    AlreadyVerified,
    PasskeyAdded,
    PasskeyRemoved,
    AccountRecovered,
    RecoveryRequested,
    /// The link an approved recovery registers a new passkey with.
    RecoveryApproved,
    /// The link an administrator sends to set up a first passkey (an imported account).
    PasskeyEnrollment,
    PasswordSet,
    PasswordChanged,
    PasswordReset,
    TotpEnabled,
    TotpRemoved,
    RecoveryCodeUsed,
    /// To the old address after an email change, with the undo link.
    EmailChanged,
    /// To the restored address after an undone email change.
    EmailChangeUndone,
    /// The owner asked to delete the account: when it is erased, and that signing in keeps it.
    AccountDeletionScheduled,
    /// An invitation into an organization.
    Invitation,
}

impl EmailTemplate {
    pub const ALL: [EmailTemplate; 21] = [
        EmailTemplate::VerificationCode,
        EmailTemplate::AlreadyHaveAccount,
        EmailTemplate::NoAccount,
        EmailTemplate::AddressTaken,
        EmailTemplate::AlreadyVerified,
        EmailTemplate::PasskeyAdded,
        EmailTemplate::PasskeyRemoved,
        EmailTemplate::AccountRecovered,
        EmailTemplate::RecoveryRequested,
        EmailTemplate::RecoveryApproved,
        EmailTemplate::PasskeyEnrollment,
        EmailTemplate::PasswordSet,
        EmailTemplate::PasswordChanged,
        EmailTemplate::PasswordReset,
        EmailTemplate::TotpEnabled,
        EmailTemplate::TotpRemoved,
        EmailTemplate::RecoveryCodeUsed,
        EmailTemplate::EmailChanged,
        EmailTemplate::EmailChangeUndone,
        EmailTemplate::AccountDeletionScheduled,
        EmailTemplate::Invitation,
    ];

    /// The stored name, and the catalog's message prefix (`<key>-subject`, `<key>-text`).
    pub fn key(self) -> &'static str {
        match self {
            EmailTemplate::VerificationCode => "verification-code",
            EmailTemplate::AlreadyHaveAccount => "already-have-account",
            EmailTemplate::NoAccount => "no-account",
            EmailTemplate::AddressTaken => "address-taken",
            EmailTemplate::AlreadyVerified => "already-verified",
            EmailTemplate::PasskeyAdded => "passkey-added",
            EmailTemplate::PasskeyRemoved => "passkey-removed",
            EmailTemplate::AccountRecovered => "account-recovered",
            EmailTemplate::RecoveryRequested => "recovery-requested",
            EmailTemplate::RecoveryApproved => "recovery-approved",
            EmailTemplate::PasskeyEnrollment => "passkey-enrollment",
            EmailTemplate::PasswordSet => "password-set",
            EmailTemplate::PasswordChanged => "password-changed",
            EmailTemplate::PasswordReset => "password-reset",
            EmailTemplate::TotpEnabled => "totp-enabled",
            EmailTemplate::TotpRemoved => "totp-removed",
            EmailTemplate::RecoveryCodeUsed => "recovery-code-used",
            EmailTemplate::EmailChanged => "email-changed",
            EmailTemplate::EmailChangeUndone => "email-change-undone",
            EmailTemplate::AccountDeletionScheduled => "account-deletion-scheduled",
            EmailTemplate::Invitation => "invitation",
        }
    }

    /// The GraphQL name (`VERIFICATION_CODE`), for messages.
    pub fn api_name(self) -> String {
        self.key().replace('-', "_").to_ascii_uppercase()
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }

    /// The placeholders of this email besides `tenant`, `page` and `account_page`.
    fn own_placeholders(self) -> &'static [&'static str] {
        match self {
            EmailTemplate::VerificationCode => &["code", "link", "minutes", "action"],
            EmailTemplate::NoAccount => &["action"],
            EmailTemplate::PasskeyAdded | EmailTemplate::PasskeyRemoved => &["name"],
            EmailTemplate::AccountRecovered
            | EmailTemplate::PasswordChanged
            | EmailTemplate::PasswordReset => &["sessions"],
            EmailTemplate::RecoveryApproved | EmailTemplate::PasskeyEnrollment => {
                &["link", "hours"]
            }
            EmailTemplate::RecoveryCodeUsed => &["left"],
            EmailTemplate::EmailChanged => &["email", "link", "days"],
            EmailTemplate::AccountDeletionScheduled => &["date", "days"],
            EmailTemplate::Invitation => &["organization", "email", "link", "days"],
            EmailTemplate::AlreadyHaveAccount
            | EmailTemplate::AddressTaken
            | EmailTemplate::AlreadyVerified
            | EmailTemplate::RecoveryRequested
            | EmailTemplate::PasswordSet
            | EmailTemplate::TotpEnabled
            | EmailTemplate::TotpRemoved
            | EmailTemplate::EmailChangeUndone => &[],
        }
    }

    /// Every placeholder an override of this email may use.
    pub fn placeholders(self) -> Vec<&'static str> {
        COMMON
            .iter()
            .chain(self.own_placeholders())
            .copied()
            .collect()
    }

    /// The placeholders an override must keep: without them the email loses its point.
    pub fn required_placeholders(self) -> &'static [&'static str] {
        match self {
            EmailTemplate::VerificationCode => &["code"],
            EmailTemplate::RecoveryApproved
            | EmailTemplate::PasskeyEnrollment
            | EmailTemplate::Invitation
            | EmailTemplate::EmailChanged => &["link"],
            _ => &[],
        }
    }
}

/// One email to send: its template and the values of its placeholders (the tenant's name and
/// pages are added when it is written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub template: EmailTemplate,
    vars: Vec<(&'static str, Var)>,
    /// Placeholders whose value is a catalog message, written in the email's language.
    messages: Vec<(&'static str, Option<&'static str>)>,
}

impl Email {
    pub fn new(template: EmailTemplate) -> Self {
        Self {
            template,
            vars: Vec::new(),
            messages: Vec::new(),
        }
    }

    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.vars.push((name, Var::Text(value.into())));
        self
    }

    pub fn number(mut self, name: &'static str, value: i64) -> Self {
        self.vars.push((name, Var::Number(value)));
        self
    }

    /// Placeholder `name` is catalog message `id` in the email's language (empty for `None`).
    pub fn message(mut self, name: &'static str, id: Option<&'static str>) -> Self {
        self.messages.push((name, id));
        self
    }
}

/// What the tenant puts on its emails.
#[derive(Clone, Copy, Debug)]
pub struct Brand<'a> {
    pub tenant_name: &'a str,
    /// The hosted page (`{public}/t/{slug}/`).
    pub page_url: &'a str,
    /// `#rrggbb`; anything else is replaced by the default colour.
    pub primary_color: &'a str,
}

/// An email written in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Writes `email` in `language`: the tenant's override if it has one, else the catalog's.
pub fn render(
    email: &Email,
    language: Language,
    brand: &Brand<'_>,
    custom: Option<&TemplateOverride>,
) -> Rendered {
    let account_page = format!("{}account", brand.page_url);
    let mut vars: Vec<(&str, Var)> = vec![
        ("tenant", brand.tenant_name.into()),
        ("page", brand.page_url.into()),
        ("account_page", account_page.into()),
    ];
    vars.extend(email.vars.iter().cloned());
    for (name, id) in &email.messages {
        let value = id.map(|id| language.format(id, &[])).unwrap_or_default();
        vars.push((name, Var::Text(value)));
    }
    let (subject, text) = match custom {
        Some(custom) => (fill(&custom.subject, &vars), fill(&custom.text, &vars)),
        None => {
            let key = email.template.key();
            (
                language.format(&format!("{key}-subject"), &vars),
                language.format(&format!("{key}-text"), &vars),
            )
        }
    };
    // A subject is one line, whatever a placeholder held.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = tidy(&text);
    let html = html(language, &subject, &text, brand);
    Rendered {
        language,
        subject,
        text,
        html,
    }
}

/// Trailing spaces off each line (an empty `{ $sessions }` leaves one), one final newline.
fn tidy(text: &str) -> String {
    let mut out: String = text
        .trim()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

/// One piece of an override's text.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits an override into text and placeholders (`{ $name }`); any other brace is refused.
fn pieces(source: &str) -> std::result::Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("has a \"}\" that closes no placeholder".into());
        }
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or("has a \"{\" that opens no placeholder (write placeholders as { $name })")?;
        let inner = after[..close].trim();
        let name = inner
            .strip_prefix('$')
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .ok_or_else(|| {
                format!(
                    "has {{{}}}, which is not a placeholder (write placeholders as {{ $name }})",
                    &after[..close]
                )
            })?;
        out.push(Piece::Placeholder(name));
        rest = &after[close + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

fn fill(source: &str, vars: &[(&str, Var)]) -> String {
    // Saved overrides were validated; one that no longer parses is sent as it is.
    let Ok(pieces) = pieces(source) else {
        return source.to_owned();
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Placeholder(name) => {
                if let Some((_, value)) = vars.iter().find(|(n, _)| *n == name) {
                    let _ = write!(out, "{value}");
                }
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const DEFAULT_COLOR: &str = "#4f46e5";

fn color(value: &str) -> &str {
    let ok = value.len() == 7
        && value.starts_with('#')
        && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { value } else { DEFAULT_COLOR }
}

/// One line of text as HTML: escaped, with `http(s)://` links made clickable.
fn line_html(line: &str, color: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        let next = ["https://", "http://"]
            .iter()
            .filter_map(|scheme| rest.find(scheme))
            .min();
        let Some(start) = next else {
            out.push_str(&escape(rest));
            return out;
        };
        out.push_str(&escape(&rest[..start]));
        let link_len = rest[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .unwrap_or(rest.len() - start);
        let mut link = &rest[start..start + link_len];
        // A sentence may end right after a link.
        while let Some(stripped) = link.strip_suffix(['.', ',', ';', ':', ')']) {
            link = stripped;
        }
        let href = escape(link);
        let _ = write!(out, "<a href=\"{href}\" style=\"color:{color}\">{href}</a>");
        rest = &rest[start + link.len()..];
    }
}

/// The HTML part: the text, escaped, in paragraphs, under the tenant's name in its colour.
fn html(language: Language, subject: &str, text: &str, brand: &Brand<'_>) -> String {
    let color = color(brand.primary_color);
    let mut body = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let lines: Vec<String> = paragraph.lines().map(|l| line_html(l, color)).collect();
        let _ = writeln!(
            body,
            "<p style=\"margin:0 0 16px\">{}</p>",
            lines.join("<br>\n")
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n\
         <body style=\"margin:0;padding:24px;background:#f4f4f5;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#18181b;line-height:1.5\">\n\
         <div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-top:4px solid {color};border-radius:8px;padding:24px\">\n\
         <h1 style=\"margin:0 0 16px;font-size:20px;color:{color}\">{tenant}</h1>\n\
         {body}</div>\n</body>\n</html>\n",
        lang = language.tag(),
        title = escape(subject),
        tenant = escape(brand.tenant_name),
    )
}

/// A tenant's own subject and text of one email in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateOverride {
    pub template: EmailTemplate,
    pub language: Language,
    pub subject: String,
    pub text: String,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<row::Model> for TemplateOverride {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            template: EmailTemplate::from_key(&row.template).ok_or_else(|| {
                Error::internal(format!("unknown email template {}", row.template))
            })?,
            language: Language::from_tag(&row.locale)
                .ok_or_else(|| Error::internal(format!("no catalog for {}", row.locale)))?,
            subject: row.subject,
            text: row.text,
            updated_at: row.updated_at,
        })
    }
}

/// Refuses what could run in a mail client or a browser: scripts, `javascript:` links, event
/// handler attributes, and HTML at all (the HTML part is made from the text).
fn check_no_markup(field: &'static str, value: &str) -> Result<()> {
    let lower = value.to_ascii_lowercase();
    let refuse = |what: &str| Err(Error::validation(field, format!("must not contain {what}")));
    if lower.contains("<script") {
        return refuse("a script");
    }
    for scheme in ["javascript:", "vbscript:", "data:"] {
        if lower.contains(scheme) {
            return refuse(&format!("a {scheme} link"));
        }
    }
    let bytes = lower.as_bytes();
    for (i, window) in bytes.windows(2).enumerate() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if window == b"on" && starts_word {
            let name_end = bytes[i + 2..]
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .map_or(bytes.len(), |p| i + 2 + p);
            let after = lower[name_end..].trim_start();
            if name_end > i + 2 && after.starts_with('=') {
                return refuse("an event handler attribute (such as onclick=)");
            }
        }
        if window[0] == b'<'
            && (window[1].is_ascii_alphabetic() || window[1] == b'/' || window[1] == b'!')
        {
            return refuse("HTML (the HTML part is made from the text)");
        }
    }
    Ok(())
}

fn check_placeholders(
    field: &'static str,
    template: EmailTemplate,
    value: &str,
) -> Result<Vec<String>> {
    let pieces = pieces(value).map_err(|reason| Error::validation(field, reason))?;
    let allowed = template.placeholders();
    let mut used = Vec::new();
    for piece in pieces {
        if let Piece::Placeholder(name) = piece {
            if !allowed.contains(&name) {
                let list: Vec<String> = allowed.iter().map(|p| format!("{{ ${p} }}")).collect();
                return Err(Error::validation(
                    field,
                    format!(
                        "uses {{ ${name} }}, which {} does not have; it has {}",
                        template.api_name(),
                        list.join(", ")
                    ),
                ));
            }
            used.push(name.to_owned());
        }
    }
    Ok(used)
}

/// Checks an override; errors name the input field (`locale`, `subject`, `text`).
pub fn validate_override(
    template: EmailTemplate,
    locale: &str,
    subject: &str,
    text: &str,
) -> Result<Language> {
    let language = Language::from_tag(locale).ok_or_else(|| {
        Error::validation(
            "locale",
            format!("must be one of {}", Language::tags().join(", ")),
        )
    })?;
    let subject_chars = subject.chars().count();
    if subject.trim().is_empty() || subject_chars > MAX_SUBJECT_CHARS {
        return Err(Error::validation(
            "subject",
            format!("must be 1 to {MAX_SUBJECT_CHARS} characters"),
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(Error::validation("subject", "must be one line"));
    }
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::validation(
            "text",
            format!("must be 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::validation(
            "text",
            "must not contain control characters",
        ));
    }
    check_no_markup("subject", subject)?;
    check_no_markup("text", text)?;
    check_placeholders("subject", template, subject)?;
    let used = check_placeholders("text", template, text)?;
    for required in template.required_placeholders() {
        if !used.iter().any(|u| u == required) {
            return Err(Error::validation(
                "text",
                format!(
                    "must contain {{ ${required} }}: {} is no use without it",
                    template.api_name()
                ),
            ));
        }
    }
    Ok(language)
}

/// The override of `template` in `language` in the tenant of `tx`, if any. For sending: no
/// permission is needed to use what an admin saved.
pub(crate) async fn override_in(
    tx: &TenantTx,
    template: EmailTemplate,
    language: Language,
) -> Result<Option<TemplateOverride>> {
    tx.find::<row::Entity>()
        .filter(row::Column::Template.eq(template.key()))
        .filter(row::Column::Locale.eq(language.tag()))
        .one()
        .await?
        .map(TemplateOverride::try_from)
        .transpose()
}

/// The tenant's overrides, by template and language. Requires the viewer role.
pub async fn list_email_templates(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<TemplateOverride>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let rows = tx
        .find::<row::Entity>()
        .order_by_asc(row::Column::Template)
        .order_by_asc(row::Column::Locale)
        .all()
        .await?;
    tx.commit().await?;
    rows.into_iter().map(TemplateOverride::try_from).collect()
}

/// Saves the tenant's subject and text of `template` in `locale` (replacing an earlier
/// override), after [`validate_override`]. Requires the admin role.
pub async fn set_email_template(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    template: EmailTemplate,
    locale: &str,
    subject: &str,
    text: &str,
) -> Result<TemplateOverride> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let language = validate_override(template, locale, subject, text)?;
    let text = text.replace("\r\n", "\n");
    let tx = db.begin_tenant(scope).await?;
    let now = Utc::now();
    let existing = tx
        .find::<row::Entity>()
        .filter(row::Column::Template.eq(template.key()))
        .filter(row::Column::Locale.eq(language.tag()))
        .one()
        .await?;
    let model = match existing {
        Some(existing) => {
            let mut active: row::ActiveModel = existing.into();
            active.subject = Set(subject.to_owned());
            active.text = Set(text.clone());
            active.updated_at = Set(now);
            tx.update(active).await?
        }
        None => {
            tx.insert(row::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                template: Set(template.key().to_owned()),
                locale: Set(language.tag().to_owned()),
                subject: Set(subject.to_owned()),
                text: Set(text.clone()),
                updated_at: Set(now),
            })
            .await?
        }
    };
    let id = format!("{}/{}", template.key(), language.tag());
    audit::record(
        &tx,
        actor,
        "email_template.set",
        Some(Target {
            kind: "email_template",
            id: &id,
        }),
        json!({ "subject": subject, "text": text }),
    )
    .await?;
    tx.commit().await?;
    TemplateOverride::try_from(model)
}

/// Removes the tenant's override of `template` in `locale` (the catalog's text applies again);
/// `NotFound` if there is none. Requires the admin role.
pub async fn remove_email_template(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    template: EmailTemplate,
    locale: &str,
) -> Result<()> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let removed = tx
        .delete_many::<row::Entity>()
        .filter(row::Column::Template.eq(template.key()))
        .filter(row::Column::Locale.eq(locale))
        .exec()
        .await?;
    if removed.rows_affected == 0 {
        return Err(Error::NotFound);
    }
    let id = format!("{}/{locale}", template.key());
    audit::record(
        &tx,
        actor,
        "email_template.remove",
        Some(Target {
            kind: "email_template",
            id: &id,
        }),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRAND: Brand<'static> = Brand {
        tenant_name: "Acme & Co",
        page_url: "https://id.example.com/t/acme/",
        primary_color: "#0a7f3c",
    };

    fn german() -> Language {
        Language::from_tag("de").unwrap()
    }

    fn code_email() -> Email {
        Email::new(EmailTemplate::VerificationCode)
            .text("code", "042917")
            .text(
                "link",
                "https://id.example.com/t/acme/?verify=1&code=042917",
            )
            .number("minutes", 15)
            .message("action", Some("action-sign-in"))
    }

    #[test]
    fn every_template_has_a_subject_and_text_in_every_language_with_its_placeholders() {
        for language in Language::all() {
            for template in EmailTemplate::ALL {
                let key = template.key();
                assert!(
                    language.has(&format!("{key}-subject")),
                    "{} {key}",
                    language.tag()
                );
                assert!(
                    language.has(&format!("{key}-text")),
                    "{} {key}",
                    language.tag()
                );
            }
        }
        // Every placeholder a template advertises is filled (none is left as "{$x}").
        let rendered = render(&code_email(), german(), &BRAND, None);
        assert!(!rendered.text.contains('{'), "{}", rendered.text);
    }

    #[test]
    fn a_german_code_email_is_german_with_the_code_first_and_the_brand_in_the_html() {
        let rendered = render(&code_email(), german(), &BRAND, None);
        assert_eq!(rendered.subject, "Ihr Bestätigungscode für Acme & Co");
        assert!(rendered.text.starts_with("042917 ist Ihr Bestätigungscode"));
        assert!(
            rendered.text.contains("um sich anzumelden"),
            "{}",
            rendered.text
        );
        assert!(rendered.html.contains("<html lang=\"de\">"));
        assert!(rendered.html.contains("color:#0a7f3c"));
        assert!(rendered.html.contains("Acme &amp; Co"));
        assert!(
            rendered
                .html
                .contains("<a href=\"https://id.example.com/t/acme/?verify=1&amp;code=042917\""),
            "{}",
            rendered.html
        );
        assert!(!rendered.text.contains('\u{2068}'), "no isolation marks");
    }

    #[test]
    fn an_override_replaces_the_catalog_and_its_html_is_escaped() {
        let custom = TemplateOverride {
            template: EmailTemplate::VerificationCode,
            language: german(),
            subject: "Code für { $tenant }".into(),
            text: "Hallo! { $code } <3 & tschüss: { $link }.".into(),
            updated_at: Utc::now(),
        };
        let rendered = render(&code_email(), german(), &BRAND, Some(&custom));
        assert_eq!(rendered.subject, "Code für Acme & Co");
        assert_eq!(
            rendered.text,
            "Hallo! 042917 <3 & tschüss: https://id.example.com/t/acme/?verify=1&code=042917.\n"
        );
        assert!(rendered.html.contains("Hallo! 042917 &lt;3 &amp; tschüss"));
    }

    #[test]
    fn a_bad_colour_falls_back_to_the_default() {
        let brand = Brand {
            primary_color: "red;background:url(x)",
            ..BRAND
        };
        let rendered = render(&code_email(), german(), &brand, None);
        assert!(!rendered.html.contains("url(x)"));
        assert!(rendered.html.contains(DEFAULT_COLOR));
    }

    fn refused(template: EmailTemplate, locale: &str, subject: &str, text: &str) -> String {
        match validate_override(template, locale, subject, text) {
            Err(Error::Validation { field, .. }) => field.to_string(),
            other => panic!("{subject:?} {text:?}: {other:?}"),
        }
    }

    #[test]
    fn overrides_are_validated_and_errors_name_the_field() {
        let code = EmailTemplate::VerificationCode;
        validate_override(code, "de", "Ihr Code", "{ $code } für { $tenant }: {$link}").unwrap();
        assert_eq!(refused(code, "it", "x", "{ $code }"), "locale");
        assert_eq!(refused(code, "de-AT", "x", "{ $code }"), "locale");
        assert_eq!(refused(code, "de", "", "{ $code }"), "subject");
        assert_eq!(refused(code, "de", "a\nBcc: x", "{ $code }"), "subject");
        assert_eq!(refused(code, "de", "x", "{ $name } { $code }"), "text");
        assert_eq!(refused(code, "de", "{ $nope }", "{ $code }"), "subject");
        assert_eq!(refused(code, "de", "x", "no code here"), "text");
        assert_eq!(refused(code, "de", "x", "{ $code } { -term }"), "text");
        assert_eq!(refused(code, "de", "x", "{ $code } }"), "text");
        assert_eq!(refused(code, "de", "x", "{ $code } {"), "text");
        assert_eq!(
            refused(code, "de", "x", "{ $code } <script>alert(1)</script>"),
            "text"
        );
        assert_eq!(
            refused(code, "de", "x", "{ $code } javascript:alert(1)"),
            "text"
        );
        assert_eq!(
            refused(code, "de", "x", "{ $code } <img src=x onerror=alert(1)>"),
            "text"
        );
        assert_eq!(
            refused(code, "de", "x", "{ $code } onclick = alert(1)"),
            "text"
        );
        assert_eq!(refused(code, "de", "x", "{ $code } <b>bold</b>"), "text");
        assert_eq!(refused(code, "de", "<SCRIPT", "{ $code }"), "subject");
        // Words that merely contain "on" are fine, as are "<" and "=" in prose.
        validate_override(code, "fr", "Bonjour", "{ $code } : 2 < 3, a = b, mon=ami").unwrap();
        // The invitation must keep its link; the password-set notice has no link to keep.
        assert_eq!(
            refused(
                EmailTemplate::Invitation,
                "es",
                "x",
                "Bienvenido a { $organization }"
            ),
            "text"
        );
        validate_override(EmailTemplate::PasswordSet, "en", "Password set", "Done.").unwrap();
        assert_eq!(
            refused(EmailTemplate::PasswordSet, "en", "x", "{ $code }"),
            "text"
        );
    }

    #[test]
    fn every_template_key_round_trips() {
        for template in EmailTemplate::ALL {
            assert_eq!(EmailTemplate::from_key(template.key()), Some(template));
        }
        assert_eq!(
            EmailTemplate::VerificationCode.api_name(),
            "VERIFICATION_CODE"
        );
    }
}
