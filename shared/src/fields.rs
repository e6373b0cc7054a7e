//! Payment fields: what a provider needs from the payer besides the money (wire.md
//! "Provider", `fields`), checked the same way by every participant.
//!
//! A provider defines its fields in its contract with a processing center; processing
//! keeps them, puts them in the agent's catalog and checks every check and pay against
//! them; the kiosk renders one screen per field and checks them live. One definition,
//! one matcher: [`FieldSet`] is built once from the definitions (compiling each regex)
//! and answers every question about values, so the three participants cannot drift.
//!
//! The first field is always `account`; the others arrive as `extra` (a name → value
//! map). A regex matches the **whole** value, as if written `\A(?:re)\z`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The name of the first field, the one every provider has.
pub const ACCOUNT: &str = "account";
/// At most this many fields per provider (the kiosk shows one screen per field).
pub const MAX_FIELDS: usize = 8;
/// The longest regex accepted, in bytes.
pub const MAX_REGEX_LEN: usize = 500;
/// The longest value a field may carry, in characters.
pub const MAX_VALUE_CHARS: usize = 64;
/// The longest label, mask or hint, in characters.
pub const MAX_TEXT_CHARS: usize = 100;
/// At most this many options in a fixed list (e.g. the cities a provider serves).
pub const MAX_OPTIONS: usize = 50;
/// How many compiled sets [`FieldSet::compile_cached`] keeps (one per provider's
/// definitions; far more than a processing center has providers).
pub const CACHED_SETS: usize = 1024;
/// The compiled program of one regex may use this much memory at most: a hostile regex
/// (`(a{1000}){1000}`) is refused when saved instead of eating the server.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// One payment field as a provider defines it and the catalog carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// `[a-z][a-z0-9_]{0,31}`; the first field is `account`.
    pub name: String,
    /// What the kiosk shows, in Russian.
    pub label: String,
    /// The regex the whole value must match.
    pub regex: String,
    /// The label in English (the kiosk's English screens); the Russian one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// How the value is shown while typed: every letter or digit of the mask is one
    /// character of the value, the rest is decoration — `(9xx) xxx-xx-xx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
    /// A line under the input: where the payer finds the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// A fixed list to choose from instead of typing (each must match the regex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Field {
    /// A field with a name, a label and a regex, nothing else.
    pub fn new(name: &str, label: &str, regex: &str) -> Field {
        Field {
            name: name.to_owned(),
            label: label.to_owned(),
            regex: regex.to_owned(),
            label_en: None,
            mask: None,
            hint: None,
            options: Vec::new(),
        }
    }

    /// The label for a language (`"en"` or anything else for Russian).
    pub fn label_for(&self, lang: &str) -> &str {
        match (&self.label_en, lang) {
            (Some(en), "en") if !en.is_empty() => en,
            _ => &self.label,
        }
    }

    /// The value as the mask shows it: `9161234567` in `(9xx) xxx-xx-xx` is
    /// `(916) 123-45-67`. Slots not yet typed show the mask's own character; a value
    /// longer than the mask is shown whole after it. Without a mask, the value itself.
    pub fn masked(&self, value: &str) -> String {
        let Some(mask) = self.mask.as_deref().filter(|m| !m.is_empty()) else {
            return value.to_owned();
        };
        let mut typed = value.chars();
        let mut shown = String::with_capacity(mask.len() + value.len());
        for m in mask.chars() {
            if m.is_alphanumeric() {
                shown.push(typed.next().unwrap_or(m));
            } else {
                shown.push(m);
            }
        }
        shown.extend(typed);
        shown
    }
}

/// What the kiosk offers to type a field with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keypad {
    /// The regex allows only the digits 0–9.
    Digits,
    /// A fixed list of options: buttons, no typing.
    Options,
    /// Anything else: letters and digits.
    Text,
}

/// The fields of one provider, each regex compiled once.
#[derive(Debug, Clone)]
pub struct FieldSet {
    fields: Vec<(Field, regex::Regex)>,
}

/// Why values or definitions were refused: field name (or `fields.<name>` for a
/// definition) → the reason in English, as wire.md's `validation_failed` carries it.
pub type Refusals = BTreeMap<String, String>;

impl FieldSet {
    /// Checks definitions as a provider saves them: `account` first, names well-formed
    /// and unique, every regex compiles within bounds, every option matches. The keys of
    /// the refusals are `fields.<name>` (or `fields` for the list as a whole).
    pub fn compile(fields: &[Field]) -> Result<FieldSet, Refusals> {
        let mut refused = Refusals::new();
        if fields.first().map(|f| f.name.as_str()) != Some(ACCOUNT) {
            refused.insert(
                "fields".into(),
                format!("the first field must be named {ACCOUNT}"),
            );
        }
        if fields.len() > MAX_FIELDS {
            refused.insert("fields".into(), format!("at most {MAX_FIELDS} fields"));
        }
        let mut compiled = Vec::with_capacity(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let key = if valid_name(&field.name) {
                format!("fields.{}", field.name)
            } else {
                format!("fields.{i}")
            };
            match compile_one(field, &fields[..i]) {
                Ok(regex) => compiled.push((field.clone(), regex)),
                Err(why) => {
                    refused.insert(key, why);
                }
            }
        }
        if refused.is_empty() {
            Ok(FieldSet { fields: compiled })
        } else {
            Err(refused)
        }
    }

    /// [`FieldSet::compile`] for the request path (every check and pay): a set is compiled
    /// once per process and reused. The cache is keyed by the definitions themselves, so a
    /// provider whose fields change (a PATCH here, or another process on the same
    /// database) is simply a new key — an entry can never be stale. Refusals are not kept:
    /// stored definitions were checked when saved. Bounded: past [`CACHED_SETS`] sets it
    /// starts again empty.
    pub fn compile_cached(fields: &[Field]) -> Result<Arc<FieldSet>, Refusals> {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        // Shared, not cloned: a clone copied every definition and every compiled regex
        // (each clone of which starts its own match cache) on every payment.
        static CACHE: OnceLock<Mutex<HashMap<Vec<Field>, Arc<FieldSet>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(set) = cache.lock().ok().and_then(|c| c.get(fields).cloned()) {
            return Ok(set);
        }
        let set = Arc::new(FieldSet::compile(fields)?);
        if let Ok(mut c) = cache.lock() {
            if c.len() >= CACHED_SETS {
                c.clear();
            }
            c.insert(fields.to_vec(), Arc::clone(&set));
        }
        Ok(set)
    }

    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().map(|(f, _)| f)
    }

    /// The definitions, as the catalog carries them.
    pub fn definitions(&self) -> Vec<Field> {
        self.fields().cloned().collect()
    }

    /// Whether one field's value matches its regex as a whole (and is within bounds).
    pub fn matches(&self, name: &str, value: &str) -> bool {
        self.fields
            .iter()
            .find(|(f, _)| f.name == name)
            .is_some_and(|(_, re)| value_in_bounds(value) && re.is_match(value))
    }

    /// Checks a payer's values: `account` and every other field in `extra`, each
    /// matched whole; an unknown name in `extra` or a missing field is refused too. The
    /// keys of the refusals are the fields' names (`account`, `city`).
    pub fn validate(
        &self,
        account: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<(), Refusals> {
        let mut refused = Refusals::new();
        for (field, regex) in &self.fields {
            let value = if field.name == ACCOUNT {
                Some(account)
            } else {
                extra.get(&field.name).map(String::as_str)
            };
            match value {
                None => {
                    refused.insert(field.name.clone(), "required".into());
                }
                Some(v) if !value_in_bounds(v) => {
                    refused.insert(
                        field.name.clone(),
                        format!("at most {MAX_VALUE_CHARS} printable characters"),
                    );
                }
                Some(v) if !regex.is_match(v) => {
                    refused.insert(field.name.clone(), format!("must match {}", field.regex));
                }
                Some(_) => {}
            }
        }
        for name in extra.keys() {
            if name == ACCOUNT || !self.fields.iter().any(|(f, _)| &f.name == name) {
                refused.insert(shorten(name), "no such field for this provider".into());
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused)
        }
    }
}

/// The keypad a field is typed with: options when it has a list; digits when its regex
/// can only match the ASCII digits 0–9; letters and digits otherwise.
pub fn keypad(field: &Field) -> Keypad {
    if !field.options.is_empty() {
        return Keypad::Options;
    }
    match regex_syntax::ParserBuilder::new()
        .unicode(false)
        .build()
        .parse(&field.regex)
    {
        Ok(hir) if digits_only(&hir) => Keypad::Digits,
        _ => Keypad::Text,
    }
}

/// Whether every character `hir` can match is an ASCII digit. Parsed without Unicode,
/// `\d` is `[0-9]`; a pattern that needs Unicode fails to parse and is `Text`.
fn digits_only(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => literal.0.iter().all(u8::is_ascii_digit),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .all(|r| r.start() >= '0' && r.end() <= '9'),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .all(|r| r.start() >= b'0' && r.end() <= b'9'),
        HirKind::Repetition(repetition) => digits_only(&repetition.sub),
        HirKind::Capture(capture) => digits_only(&capture.sub),
        HirKind::Concat(all) | HirKind::Alternation(all) => all.iter().all(digits_only),
    }
}

/// `[a-z][a-z0-9_]{0,31}` (wire.md).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn compile_one(field: &Field, before: &[Field]) -> Result<regex::Regex, String> {
    if !valid_name(&field.name) {
        return Err("a name is a lowercase latin letter, then up to 31 of a-z, 0-9 and _".into());
    }
    if before.iter().any(|f| f.name == field.name) {
        return Err("two fields have this name".into());
    }
    for (what, text) in [
        ("label", Some(&field.label)),
        ("label_en", field.label_en.as_ref()),
        ("mask", field.mask.as_ref()),
        ("hint", field.hint.as_ref()),
    ] {
        let Some(text) = text else { continue };
        if text.chars().count() > MAX_TEXT_CHARS || text.chars().any(char::is_control) {
            return Err(format!(
                "the {what} is at most {MAX_TEXT_CHARS} printable characters"
            ));
        }
    }
    if field.label.trim().is_empty() {
        return Err("give the label the payer sees".into());
    }
    if field.regex.is_empty() || field.regex.len() > MAX_REGEX_LEN {
        return Err(format!("the regex must be 1 to {MAX_REGEX_LEN} bytes long"));
    }
    let regex = regex::RegexBuilder::new(&format!(r"\A(?:{})\z", field.regex))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the regex is too big to run".to_owned(),
            // The syntax error's own text spans several lines with a caret: keep the
            // last line, which says what is wrong.
            other => format!(
                "the regex does not compile: {}",
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("syntax error")
                    .trim()
            ),
        })?;
    if field.options.len() > MAX_OPTIONS {
        return Err(format!("at most {MAX_OPTIONS} options"));
    }
    if let Some(bad) = field
        .options
        .iter()
        .find(|o| !value_in_bounds(o) || !regex.is_match(o))
    {
        return Err(format!(
            "the option {} does not match the regex",
            shorten(bad)
        ));
    }
    Ok(regex)
}

fn value_in_bounds(value: &str) -> bool {
    value.chars().count() <= MAX_VALUE_CHARS && !value.chars().any(char::is_control)
}

/// A name from outside, cut so that an error cannot echo a megabyte back.
fn shorten(name: &str) -> String {
    name.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mobile() -> Field {
        Field {
            mask: Some("(9xx) xxx-xx-xx".into()),
            ..Field::new("account", "Номер телефона", r"9\d{9}")
        }
    }

    fn city() -> Field {
        Field {
            options: vec!["Пермь".into(), "Казань".into()],
            ..Field::new("city", "Город", "Пермь|Казань|Самара")
        }
    }

    fn extra(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_match_whole_and_every_field_is_named() {
        let set = FieldSet::compile(&[mobile(), city()]).unwrap();
        assert!(
            set.validate("9161234567", &extra(&[("city", "Казань")]))
                .is_ok()
        );
        // A match inside a longer value is not a match.
        let refused = set
            .validate("99161234567", &extra(&[("city", "Казань!")]))
            .unwrap_err();
        assert_eq!(refused.keys().collect::<Vec<_>>(), ["account", "city"]);
        let refused = set
            .validate("9161234567", &extra(&[("town", "Пермь")]))
            .unwrap_err();
        assert_eq!(refused["city"], "required");
        assert_eq!(refused["town"], "no such field for this provider");
        // `account` travels outside `extra`, never inside it.
        assert!(
            set.validate("9161234567", &extra(&[("city", "Пермь"), ("account", "1")]))
                .is_err()
        );
        // An alternation is anchored as a whole, not its first and last branches.
        assert!(!set.matches("city", "ПермьКазань"));
        assert!(!set.matches("account", "916123456\n"));
    }

    #[test]
    fn bad_definitions_are_refused_naming_the_field() {
        let broken = Field::new("city", "Город", "(Пермь");
        let refused = FieldSet::compile(&[mobile(), broken]).unwrap_err();
        assert!(
            refused["fields.city"].starts_with("the regex does not compile"),
            "{refused:?}"
        );
        let refused = FieldSet::compile(&[city()]).unwrap_err();
        assert!(refused.contains_key("fields"));
        let refused = FieldSet::compile(&[mobile(), mobile()]).unwrap_err();
        assert_eq!(refused["fields.account"], "two fields have this name");
        let refused =
            FieldSet::compile(&[mobile(), Field::new("City", "Город", ".+")]).unwrap_err();
        assert!(refused.contains_key("fields.1"));
        let off_list = Field {
            options: vec!["Москва".into()],
            ..city()
        };
        assert!(
            FieldSet::compile(&[mobile(), off_list]).unwrap_err()["fields.city"].contains("Москва")
        );
        let huge = Field::new("code", "Код", "(a{1000}){1000}");
        assert_eq!(
            FieldSet::compile(&[mobile(), huge]).unwrap_err()["fields.code"],
            "the regex is too big to run"
        );
    }

    #[test]
    fn a_cached_set_is_the_set_of_exactly_these_definitions() {
        let first = FieldSet::compile_cached(&[mobile(), city()]).unwrap();
        assert!(
            first
                .validate("9161234567", &extra(&[("city", "Пермь")]))
                .is_ok()
        );
        // Changed definitions (another regex for the same name) are another set.
        let changed = Field::new("city", "Город", "Самара");
        let second = FieldSet::compile_cached(&[mobile(), changed]).unwrap();
        assert!(
            second
                .validate("9161234567", &extra(&[("city", "Пермь")]))
                .is_err()
        );
        assert!(
            second
                .validate("9161234567", &extra(&[("city", "Самара")]))
                .is_ok()
        );
        // Bad definitions are refused every time, never cached as good.
        let broken = [mobile(), Field::new("city", "Город", "(")];
        assert!(FieldSet::compile_cached(&broken).is_err());
        assert!(FieldSet::compile_cached(&broken).is_err());
    }

    #[test]
    fn the_keypad_follows_the_regex() {
        assert_eq!(keypad(&mobile()), Keypad::Digits);
        assert_eq!(
            keypad(&Field::new("a", "a", r"[0-9]{6,12}|\d{4}")),
            Keypad::Digits
        );
        assert_eq!(keypad(&Field::new("a", "a", r"\d+-\d+")), Keypad::Text);
        assert_eq!(keypad(&Field::new("a", "a", r"[А-Я]\d+")), Keypad::Text);
        assert_eq!(keypad(&Field::new("a", "a", r"\w+")), Keypad::Text);
        assert_eq!(keypad(&city()), Keypad::Options);
    }

    #[test]
    fn the_mask_shows_what_is_typed_and_what_is_left() {
        let field = mobile();
        assert_eq!(field.masked("9161234567"), "(916) 123-45-67");
        assert_eq!(field.masked("916"), "(916) xxx-xx-xx");
        assert_eq!(field.masked(""), "(9xx) xxx-xx-xx");
        assert_eq!(field.masked("916123456789"), "(916) 123-45-6789");
        assert_eq!(city().masked("Пермь"), "Пермь");
    }

    #[test]
    fn the_wire_form_omits_what_is_not_set() {
        let json = serde_json::to_value(Field::new("account", "Лицевой счёт", r"\d{6}")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "account", "label": "Лицевой счёт", "regex": "\\d{6}"})
        );
        let back: Field = serde_json::from_value(json).unwrap();
        assert_eq!(back.label_for("en"), "Лицевой счёт");
    }
}
