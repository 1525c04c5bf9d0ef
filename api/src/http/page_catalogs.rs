//! The hosted pages' catalogs, one per language (`web/tenant/locales/<tag>.json`: message keys
//! to text with `{name}` placeholders; a count's plural forms are `key.one`, `key.other`, …),
//! embedded in the binary by `build.rs`, which lists every file there. A page fetches only the
//! catalog of the language it shows (`web/tenant/i18n.js`).

include!(concat!(env!("OUT_DIR"), "/page_catalogs.rs"));

/// The catalog of language `tag` (`de`), if the pages have one.
pub fn catalog(tag: &str) -> Option<&'static str> {
    PAGE_CATALOGS
        .iter()
        .find(|(language, _)| *language == tag)
        .map(|(_, catalog)| *catalog)
}

#[cfg(test)]
mod tests {
    use super::PAGE_CATALOGS;
    use latchkey_core::languages::Language;
    use std::collections::{BTreeMap, BTreeSet};

    /// The plural forms a language may have (`Intl.PluralRules`); `other` is every language's.
    const PLURAL_FORMS: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

    fn messages(tag: &str, source: &str) -> BTreeMap<String, String> {
        let parsed: BTreeMap<String, serde_json::Value> = serde_json::from_str(source)
            .unwrap_or_else(|error| panic!("{tag}.json is not a JSON object: {error}"));
        parsed
            .into_iter()
            .map(|(key, value)| match value {
                serde_json::Value::String(text) => (key, text),
                other => panic!("{tag}.json: {key} is not a string: {other}"),
            })
            .collect()
    }

    /// The `{name}` placeholders of a message.
    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}'))
            .map(|(name, _)| name)
            .filter(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .collect()
    }

    /// The English message that `key` translates: the same key, or for a plural form English
    /// does not have (`key.many`) the message's `other` form.
    fn english_for<'a>(english: &'a BTreeMap<String, String>, key: &str) -> Option<&'a String> {
        english.get(key).or_else(|| {
            let (message, form) = key.rsplit_once('.')?;
            PLURAL_FORMS
                .contains(&form)
                .then(|| english.get(&format!("{message}.other")))
                .flatten()
        })
    }

    #[test]
    fn every_page_catalog_parses_and_has_every_english_message_with_no_new_placeholders() {
        let english = messages("en", super::catalog("en").expect("English has a catalog"));
        for (tag, source) in PAGE_CATALOGS {
            let catalog = messages(tag, source);
            let missing: Vec<_> = english
                .keys()
                .filter(|key| !catalog.contains_key(*key))
                .collect();
            assert!(missing.is_empty(), "{tag}.json lacks {missing:?}");
            for (key, text) in &catalog {
                let source = english_for(&english, key)
                    .unwrap_or_else(|| panic!("{tag}.json: {key} is not a message of en.json"));
                let unknown: Vec<_> = placeholders(text)
                    .difference(&placeholders(source))
                    .copied()
                    .collect();
                assert!(
                    unknown.is_empty(),
                    "{tag}.json: {key} uses {unknown:?}, which en.json does not"
                );
            }
        }
    }

    #[test]
    fn the_pages_and_the_emails_have_the_same_languages() {
        let pages: Vec<&str> = PAGE_CATALOGS.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(pages, Language::tags());
    }

    #[test]
    fn placeholders_are_names_in_braces() {
        assert_eq!(
            placeholders("Hi {name}, {count} left; {not a placeholder} {}"),
            BTreeSet::from(["name", "count"])
        );
    }
}
