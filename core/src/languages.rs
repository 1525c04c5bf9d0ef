//! The languages Latchkey speaks to end users, their message catalogs, and which one a
//! message is written in.
//!
//! Each language has two Fluent catalogs, `core/locales/<tag>/emails.ftl` (the emails) and
//! `core/locales/<tag>/pages.ftl` (the few pages the server renders itself: the OpenID Connect
//! error page, the sign-out confirmation, the organization picker), embedded in the binary by
//! the build script: adding a language is adding its catalogs (and the hosted pages'
//! `web/tenant/locales/<tag>.json`). A catalog is parsed on its first use only, so a server
//! whose users read English holds the English catalogs alone.
//!
//! The language of a message is, in order: the languages asked for by name (the recipient's
//! stored locale, `Identity.locale`, or an authorization request's `ui_locales`), the
//! browser's languages of the request (`Accept-Language`), the tenant's default language
//! (`defaultLocale`). Each is used when Latchkey has a catalog for its language; a region
//! (`de-AT`) falls back to its language (`de`).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;
use unic_langid::LanguageIdentifier;

include!(concat!(env!("OUT_DIR"), "/catalogs.rs"));
include!(concat!(env!("OUT_DIR"), "/page_catalogs.rs"));

/// How many languages there are. The build script gives every language both catalogs, so
/// `CATALOGS` and `PAGE_CATALOGS` list the same tags in the same order.
const COUNT: usize = CATALOGS.len();

type Bundle = FluentBundle<FluentResource>;

/// A language's catalogs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Catalog {
    /// `emails.ftl`: the subject and text of every email.
    Emails,
    /// `pages.ftl`: the pages the server renders itself.
    Pages,
}

impl Catalog {
    const ALL: [Catalog; 2] = [Catalog::Emails, Catalog::Pages];

    /// Each language's tag and source of this catalog.
    fn list(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Catalog::Emails => CATALOGS,
            Catalog::Pages => PAGE_CATALOGS,
        }
    }
}

/// Each catalog once parsed; empty until a message of its kind in its language is first used.
static BUNDLES: [[OnceLock<Bundle>; COUNT]; Catalog::ALL.len()] =
    [const { [const { OnceLock::new() }; COUNT] }; Catalog::ALL.len()];

/// How many entries of an `Accept-Language` header, or of a list of requested languages, are
/// looked at: a browser sends a few; a longer list is someone else's.
const MAX_ACCEPT_LANGUAGE_ENTRIES: usize = 20;

/// A language Latchkey has a catalog for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Language(usize);

/// A value for a placeholder of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Var {
    Text(String),
    Number(i64),
}

impl From<&str> for Var {
    fn from(text: &str) -> Self {
        Var::Text(text.to_owned())
    }
}

impl From<String> for Var {
    fn from(text: String) -> Self {
        Var::Text(text)
    }
}

impl std::fmt::Display for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Var::Text(text) => f.write_str(text),
            Var::Number(number) => write!(f, "{number}"),
        }
    }
}

impl Language {
    /// English: the language every message exists in, and the default of a tenant.
    pub fn english() -> Self {
        Self::from_tag("en").expect("the English catalog exists")
    }

    /// Every language with a catalog, by tag.
    pub fn all() -> impl Iterator<Item = Language> {
        (0..COUNT).map(Language)
    }

    /// The tags of every language with a catalog (`de`, `en`, …).
    pub fn tags() -> Vec<&'static str> {
        Self::all().map(Language::tag).collect()
    }

    /// The BCP 47 tag of the language (its primary language subtag: `de`).
    pub fn tag(self) -> &'static str {
        CATALOGS[self.0].0
    }

    /// The language of a catalog tag, exactly (`de`; not `de-AT`).
    pub fn from_tag(tag: &str) -> Option<Self> {
        CATALOGS.iter().position(|(t, _)| *t == tag).map(Language)
    }

    /// The language of a BCP 47 tag (`de`, `de-AT`, `fr-CA`), if Latchkey has a catalog for it;
    /// `None` for an unsupported language or a malformed tag.
    pub fn parse(locale: &str) -> Option<Self> {
        let id: LanguageIdentifier = locale.trim().parse().ok()?;
        Self::from_tag(&id.language.as_str().to_ascii_lowercase())
    }

    fn source(self, catalog: Catalog) -> &'static str {
        catalog.list()[self.0].1
    }

    fn bundle(self, catalog: Catalog) -> &'static Bundle {
        BUNDLES[catalog as usize][self.0].get_or_init(|| {
            let tag = self.tag();
            let resource = FluentResource::try_new(self.source(catalog).to_owned()).unwrap_or_else(
                |(resource, errors)| {
                    tracing::error!(
                        language = tag,
                        ?catalog,
                        ?errors,
                        "the catalog has syntax errors; the rest of it is used"
                    );
                    resource
                },
            );
            let id: LanguageIdentifier = tag.parse().expect("catalog folders are language tags");
            let mut bundle = Bundle::new_concurrent(vec![id]);
            // Emails are plain text and the pages escape each message whole: no Unicode
            // isolation marks around placeholders.
            bundle.set_use_isolating(false);
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(
                    language = tag,
                    ?catalog,
                    ?errors,
                    "the catalog has duplicate messages"
                );
            }
            bundle
        })
    }

    /// Whether this language's email catalog has message `id`.
    pub fn has(self, id: &str) -> bool {
        self.bundle(Catalog::Emails).has_message(id)
    }

    /// Email message `id` with `vars`, in this language, or in English where the catalog
    /// lacks it.
    pub fn format(self, id: &str, vars: &[(&str, Var)]) -> String {
        self.format_in(Catalog::Emails, id, vars)
    }

    /// Text `id` of the pages the server renders itself (`pages.ftl`), in this language, or
    /// in English where the catalog lacks it. Plain text: the page escapes it.
    pub fn page_text(self, id: &str) -> String {
        self.format_in(Catalog::Pages, id, &[])
    }

    fn format_in(self, catalog: Catalog, id: &str, vars: &[(&str, Var)]) -> String {
        match self.format_own(catalog, id, vars) {
            Some(text) => text,
            None if self != Self::english() => Self::english().format_in(catalog, id, vars),
            None => {
                tracing::error!(
                    ?catalog,
                    message = id,
                    "no such message in the English catalog"
                );
                String::new()
            }
        }
    }

    fn format_own(self, catalog: Catalog, id: &str, vars: &[(&str, Var)]) -> Option<String> {
        let bundle = self.bundle(catalog);
        let pattern = bundle.get_message(id)?.value()?;
        let mut args = FluentArgs::new();
        for (name, value) in vars {
            match value {
                Var::Text(text) => args.set(*name, FluentValue::from(text.as_str())),
                Var::Number(number) => args.set(*name, FluentValue::from(*number)),
            }
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(
                language = self.tag(),
                message = id,
                ?errors,
                "a message did not format cleanly"
            );
        }
        Some(text.into_owned())
    }
}

/// The first language of an `Accept-Language` header (by quality, then order) that Latchkey
/// has a catalog for.
pub fn from_accept_language(header: &str) -> Option<Language> {
    let mut ranked: Vec<(f32, usize, Language)> = header
        .split(',')
        .take(MAX_ACCEPT_LANGUAGE_ENTRIES)
        .enumerate()
        .filter_map(|(position, entry)| {
            let mut parts = entry.split(';');
            let tag = parts.next()?.trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            if !(quality > 0.0 && quality <= 1.0) || tag == "*" {
                return None;
            }
            Some((quality, position, Language::parse(tag)?))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.first().map(|(_, _, language)| *language)
}

/// The first language of `requested`, BCP 47 tags separated by spaces in order of preference
/// (an OpenID Connect `ui_locales`; a stored locale is a list of one), that Latchkey has a
/// catalog for.
pub fn from_requested(requested: &str) -> Option<Language> {
    requested
        .split_whitespace()
        .take(MAX_ACCEPT_LANGUAGE_ENTRIES)
        .find_map(Language::parse)
}

/// The language to write to someone in: the languages asked for by name (their stored locale,
/// or an authorization request's `ui_locales`; see [`from_requested`]), else the request's
/// browser languages, else the tenant's default. Each is skipped when Latchkey has no catalog
/// for it.
pub fn choose(
    requested: Option<&str>,
    accept_language: Option<&str>,
    tenant_default: Language,
) -> Language {
    requested
        .and_then(from_requested)
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or(tenant_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(tag: &str) -> Language {
        Language::from_tag(tag).unwrap()
    }

    #[test]
    fn english_german_french_and_spanish_have_catalogs() {
        for tag in ["en", "de", "fr", "es"] {
            assert_eq!(Language::from_tag(tag).map(Language::tag), Some(tag));
        }
    }

    #[test]
    fn a_region_falls_back_to_its_language_and_unknown_languages_are_none() {
        assert_eq!(Language::parse("de-AT"), Some(lang("de")));
        assert_eq!(Language::parse("fr-CA"), Some(lang("fr")));
        assert_eq!(Language::parse("ES"), Some(lang("es")));
        assert_eq!(Language::parse("it"), None);
        assert_eq!(Language::parse("not a tag"), None);
        assert_eq!(Language::parse(""), None);
    }

    #[test]
    fn accept_language_goes_by_quality_then_order() {
        assert_eq!(
            from_accept_language("it-IT, fr;q=0.5, de;q=0.8"),
            Some(lang("de"))
        );
        assert_eq!(
            from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(lang("es"))
        );
        assert_eq!(from_accept_language("fr-CA, de"), Some(lang("fr")));
        assert_eq!(from_accept_language("de;q=0, it"), None);
        assert_eq!(from_accept_language("*"), None);
        assert_eq!(from_accept_language("de;q=abc"), None);
        assert_eq!(from_accept_language(""), None);
    }

    #[test]
    fn the_languages_asked_for_beat_the_browser_which_beats_the_tenant_default() {
        let default = lang("es");
        assert_eq!(choose(Some("de"), Some("fr"), default), lang("de"));
        assert_eq!(choose(None, Some("fr-FR,en;q=0.5"), default), lang("fr"));
        assert_eq!(choose(None, None, default), lang("es"));
        // A stored locale Latchkey has no catalog for is passed over, as is such a browser.
        assert_eq!(choose(Some("it"), Some("de"), default), lang("de"));
        assert_eq!(choose(Some("it"), Some("pt-BR"), default), lang("es"));
        assert_eq!(choose(Some("fr-CA"), None, default), lang("fr"));
        // ui_locales: the first of the list with a catalog.
        assert_eq!(choose(Some("it fr-CA de"), Some("es"), default), lang("fr"));
        assert_eq!(choose(Some("it pt"), Some("de"), default), lang("de"));
        assert_eq!(from_requested("  "), None);
    }

    #[test]
    fn every_catalog_parses_and_has_every_english_message_with_no_new_placeholders() {
        let english = Language::english();
        for (catalog, at_least) in [(Catalog::Emails, 20), (Catalog::Pages, 7)] {
            let ids = message_ids(english, catalog);
            assert!(ids.len() >= at_least, "{catalog:?}: {ids:?}");
            for language in Language::all() {
                let tag = language.tag();
                if let Err((_, errors)) =
                    FluentResource::try_new(language.source(catalog).to_owned())
                {
                    panic!("{tag} {catalog:?}: {errors:?}");
                }
                assert_eq!(
                    message_ids(language, catalog),
                    ids,
                    "{tag} {catalog:?} has the messages of en"
                );
                for id in &ids {
                    let english_vars = placeholders(english, catalog, id);
                    let vars = placeholders(language, catalog, id);
                    assert!(
                        vars.is_subset(&english_vars),
                        "{tag} {catalog:?} {id} uses {vars:?}, en {english_vars:?}"
                    );
                    assert!(
                        language
                            .format_own(catalog, id, &[])
                            .is_some_and(|text| !text.is_empty()),
                        "{tag} {catalog:?} {id}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_emails_and_the_pages_have_the_same_languages() {
        for catalog in Catalog::ALL {
            let tags: Vec<&str> = catalog.list().iter().map(|(tag, _)| *tag).collect();
            assert_eq!(tags, Language::tags(), "{catalog:?}");
        }
    }

    #[test]
    fn page_texts_are_in_the_language_asked_for() {
        assert_eq!(lang("de").page_text("sign-out-title"), "Abmelden?");
        assert_eq!(lang("en").page_text("sign-out-title"), "Sign out?");
        assert_eq!(
            lang("es").page_text("choose-organization-title"),
            "Elija una organización"
        );
        // Page texts and email texts are separate catalogs.
        assert!(!lang("en").has("sign-out-title"));
    }

    fn message_ids(language: Language, catalog: Catalog) -> std::collections::BTreeSet<String> {
        language
            .source(catalog)
            .lines()
            .filter_map(|line| line.split_once(" ="))
            .map(|(id, _)| id)
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .map(str::to_owned)
            .collect()
    }

    /// The variables message `id` uses (`{ $name }`), read from its source text.
    fn placeholders(
        language: Language,
        catalog: Catalog,
        id: &str,
    ) -> std::collections::BTreeSet<String> {
        let source = language.source(catalog);
        let mut lines = source
            .lines()
            .skip_while(|line| !line.starts_with(&format!("{id} =")));
        let Some(first) = lines.next() else {
            return Default::default();
        };
        let body: Vec<&str> = std::iter::once(first)
            .chain(lines.take_while(|line| line.is_empty() || line.starts_with(' ')))
            .collect();
        body.join("\n")
            .split("{ $")
            .skip(1)
            .filter_map(|rest| rest.split([' ', '}']).next())
            .map(str::to_owned)
            .collect()
    }
}
