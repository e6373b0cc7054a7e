//! The +7 mask of a mobile number on the kiosk's keypad.
//!
//! A customer thinks of a Russian mobile number as `+7 (916) 123-45-67` and types the ten
//! digits after +7; a provider's regex may want those ten digits (`9\d{9}`), or them with
//! the country code (`7\d{10}`) or the old trunk prefix (`8\d{10}`). The kiosk shows the
//! number the customer's way and keeps the value the provider's way, so the matcher, the
//! check, the payment and the receipt all see what the provider expects. Which way the
//! provider wants it is read off its regex, with a sample number, not guessed from names.

use shared::fields::{Field, FieldSet, Keypad, keypad};

/// The digits of a Russian mobile number after +7.
pub const NATIONAL_DIGITS: usize = 10;
/// A mobile number (a Moscow MTS one) to ask the provider's regex which form it takes.
const SAMPLE: &str = "9161234567";
/// What the slots not typed yet show.
const EMPTY_SLOT: char = '_';

/// The form the provider's regex takes a mobile number in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneForm {
    /// The ten digits: `9161234567`.
    National,
    /// With the country code: `79161234567`.
    CountryCode,
    /// With the trunk prefix: `89161234567`.
    TrunkPrefix,
}

impl PhoneForm {
    const ALL: [PhoneForm; 3] = [
        PhoneForm::National,
        PhoneForm::CountryCode,
        PhoneForm::TrunkPrefix,
    ];

    fn prefix(self) -> &'static str {
        match self {
            PhoneForm::National => "",
            PhoneForm::CountryCode => "7",
            PhoneForm::TrunkPrefix => "8",
        }
    }
}

/// What a key does to the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    /// The new value, in the provider's form.
    Typed(String),
    /// A 7 or 8 typed first: the country code or trunk prefix again, which the +7 on
    /// screen already is (no mobile number the provider takes starts with it).
    PrefixAgain,
    /// All ten digits are in.
    Full,
}

/// The mask of one mobile-number field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneMask {
    form: PhoneForm,
    /// Whether a national number may start with 7 / with 8 for this provider.
    starts_with_7: bool,
    starts_with_8: bool,
}

impl PhoneMask {
    /// The mask for `field` of a provider of `service_kind`, when it is a mobile number:
    /// a mobile provider, a field typed on digits, and a regex that takes a mobile
    /// number in one of the three forms. `None` otherwise (the field's own mask stays).
    pub fn for_field(service_kind: &str, field: &Field, set: &FieldSet) -> Option<PhoneMask> {
        if service_kind != "mobile" || keypad(field) != Keypad::Digits {
            return None;
        }
        let takes = |form: PhoneForm, national: &str| {
            set.matches(&field.name, &format!("{}{national}", form.prefix()))
        };
        let form = PhoneForm::ALL
            .into_iter()
            .find(|form| takes(*form, SAMPLE))?;
        let starting_with = |digit: char| {
            let national: String = std::iter::once(digit)
                .chain(SAMPLE.chars().skip(1))
                .collect();
            takes(form, &national)
        };
        Some(PhoneMask {
            form,
            starts_with_7: starting_with('7'),
            starts_with_8: starting_with('8'),
        })
    }

    /// The digits after +7 in a value of the provider's form.
    pub fn national<'a>(&self, value: &'a str) -> &'a str {
        value.strip_prefix(self.form.prefix()).unwrap_or(value)
    }

    /// The provider's form of the digits after +7 (nothing typed is an empty value).
    pub fn value(&self, national: &str) -> String {
        if national.is_empty() {
            String::new()
        } else {
            format!("{}{national}", self.form.prefix())
        }
    }

    /// A digit key pressed on `value`.
    pub fn press(&self, value: &str, digit: char) -> Press {
        let national = self.national(value);
        if national.chars().count() >= NATIONAL_DIGITS {
            return Press::Full;
        }
        let again = match digit {
            '7' => !self.starts_with_7,
            '8' => !self.starts_with_8,
            _ => false,
        };
        if national.is_empty() && again {
            return Press::PrefixAgain;
        }
        Press::Typed(self.value(&format!("{national}{digit}")))
    }

    /// The value with its last digit erased.
    pub fn erase(&self, value: &str) -> String {
        let mut national = self.national(value).to_owned();
        national.pop();
        self.value(&national)
    }

    /// Whether all ten digits are in.
    pub fn complete(&self, value: &str) -> bool {
        self.national(value).chars().count() >= NATIONAL_DIGITS
    }

    /// The number as the screen and the receipt show it: `+7 (916) 123-45-67`, the slots
    /// still to type as `_`.
    pub fn shown(&self, value: &str) -> String {
        let mut digits = self.national(value).chars();
        let mut group = |slots: usize| -> String {
            (0..slots)
                .map(|_| digits.next().unwrap_or(EMPTY_SLOT))
                .collect()
        };
        let (code, first, second, third) = (group(3), group(3), group(2), group(2));
        format!("+7 ({code}) {first}-{second}-{third}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(regex: &str) -> Option<PhoneMask> {
        let field = Field::new("account", "Номер телефона", regex);
        let set = FieldSet::compile(std::slice::from_ref(&field)).unwrap();
        PhoneMask::for_field("mobile", &field, &set)
    }

    /// Types `keys` on an empty field, as the keypad does.
    fn typed(mask: &PhoneMask, keys: &str) -> String {
        keys.chars()
            .fold(String::new(), |value, key| match mask.press(&value, key) {
                Press::Typed(next) => next,
                Press::PrefixAgain | Press::Full => value,
            })
    }

    #[test]
    fn the_number_shows_after_plus_seven_slot_by_slot() {
        let m = mask(r"9\d{9}").unwrap();
        assert_eq!(m.shown(""), "+7 (___) ___-__-__");
        assert_eq!(m.shown("9"), "+7 (9__) ___-__-__");
        assert_eq!(m.shown("9161"), "+7 (916) 1__-__-__");
        assert_eq!(m.shown("9161234567"), "+7 (916) 123-45-67");
    }

    #[test]
    fn the_value_is_in_the_form_the_providers_regex_takes() {
        let national = mask(r"9\d{9}").unwrap();
        assert_eq!(typed(&national, "9161234567"), "9161234567");
        let with_seven = mask(r"7\d{10}").unwrap();
        assert_eq!(typed(&with_seven, "9161234567"), "79161234567");
        assert_eq!(with_seven.shown("79161234567"), "+7 (916) 123-45-67");
        let with_eight = mask(r"89\d{9}").unwrap();
        assert_eq!(typed(&with_eight, "9161234567"), "89161234567");
        // Erasing takes the digits away, never the prefix alone.
        assert_eq!(with_seven.erase("79"), "");
        assert_eq!(with_seven.erase("791"), "79");
    }

    #[test]
    fn a_prefix_typed_first_and_an_eleventh_digit_are_refused() {
        let m = mask(r"9\d{9}").unwrap();
        assert_eq!(m.press("", '8'), Press::PrefixAgain);
        assert_eq!(m.press("", '7'), Press::PrefixAgain);
        assert_eq!(typed(&m, "89161234567"), "9161234567");
        assert_eq!(m.press("9161234567", '1'), Press::Full);
        assert!(m.complete("9161234567"));
        assert!(!m.complete("916123456"));
        // A provider that takes numbers starting with 7 gets its 7.
        let any = mask(r"\d{10}").unwrap();
        assert_eq!(any.press("", '7'), Press::Typed("7".into()));
    }

    #[test]
    fn only_a_mobile_number_field_gets_the_mask() {
        assert_eq!(mask(r"\d{6}"), None);
        assert_eq!(mask(r"[0-9]{12}"), None);
        let field = Field::new("account", "Номер телефона", r"9\d{9}");
        let set = FieldSet::compile(std::slice::from_ref(&field)).unwrap();
        assert_eq!(PhoneMask::for_field("internet", &field, &set), None);
        let text = Field::new("account", "Договор", r"[A-Z]{2}\d+");
        let set = FieldSet::compile(std::slice::from_ref(&text)).unwrap();
        assert_eq!(PhoneMask::for_field("mobile", &text, &set), None);
    }
}
