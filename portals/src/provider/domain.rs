//! The provider's rules for what a subscriber contract may contain, and how accounts look.
//! Pure functions, used by the API and by the pages alike.

use std::fmt;

/// A service a subscriber can use and be charged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Call,
    Internet,
    Sms,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Call, Service::Internet, Service::Sms];

    pub const fn as_str(self) -> &'static str {
        match self {
            Service::Call => "call",
            Service::Internet => "internet",
            Service::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// What one unit of the service is.
    pub const fn unit(self) -> &'static str {
        match self {
            Service::Call => "minute",
            Service::Internet => "MB",
            Service::Sms => "message",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of operator this provider is; decides the look of its accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderKind {
    /// Accounts are 10-digit phone numbers starting with 9 (`9161234567`).
    #[default]
    Mobile,
    /// Accounts are 8-digit contract numbers (`10000001`).
    Internet,
}

impl ProviderKind {
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text {
            "mobile" => Some(ProviderKind::Mobile),
            "internet" => Some(ProviderKind::Internet),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Mobile => "mobile",
            ProviderKind::Internet => "internet",
        }
    }

    /// The payment field regex issued to processing centers (matched against the whole value).
    pub const fn account_regex(self) -> &'static str {
        match self {
            ProviderKind::Mobile => "9[0-9]{9}",
            ProviderKind::Internet => "[0-9]{8}",
        }
    }

    /// The payment field's label, as the kiosk shows it.
    pub const fn account_label(self) -> &'static str {
        match self {
            ProviderKind::Mobile => "Номер телефона (10 цифр)",
            ProviderKind::Internet => "Номер договора (8 цифр)",
        }
    }

    /// The same label for the kiosk's English screens.
    pub const fn account_label_en(self) -> &'static str {
        match self {
            ProviderKind::Mobile => "Phone number (10 digits)",
            ProviderKind::Internet => "Contract number (8 digits)",
        }
    }

    /// The payment fields a processing contract carries when none are given: the one
    /// `account` field of this kind, labelled in both of the kiosk's languages.
    pub fn default_fields(self) -> Vec<shared::fields::Field> {
        vec![shared::fields::Field {
            label_en: Some(self.account_label_en().to_owned()),
            ..shared::fields::Field::new(
                shared::fields::ACCOUNT,
                self.account_label(),
                self.account_regex(),
            )
        }]
    }

    /// Whether `account` has this kind's shape (the same rule as [`Self::account_regex`]).
    pub fn is_account(self, account: &str) -> bool {
        let digits = account.bytes().all(|b| b.is_ascii_digit());
        match self {
            ProviderKind::Mobile => digits && account.len() == 10 && account.starts_with('9'),
            ProviderKind::Internet => digits && account.len() == 8,
        }
    }
}

/// Why a field of a subscriber contract is refused. The API words it in English
/// ([`Invalid::en`]); the pages take the words from the interface's catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Invalid {
    FullNameTooLong,
    FullNameWords,
    FullNameCharacters,
    Passport,
    Email,
    NoServices,
    UnknownService,
    DuplicateService,
}

impl Invalid {
    pub const fn en(self) -> &'static str {
        match self {
            Invalid::FullNameTooLong => "the full name is too long (200 characters at most)",
            Invalid::FullNameWords => {
                "give the surname and the given name (and the patronymic, if any)"
            }
            Invalid::FullNameCharacters => {
                "the full name may contain letters, hyphens, apostrophes and dots only"
            }
            Invalid::Passport => {
                "the passport is 4 digits of series and 6 digits of number, like 4510 123456"
            }
            Invalid::Email => "the e-mail address must look like name@example.ru",
            Invalid::NoServices => "choose at least one service: call, internet, sms",
            Invalid::UnknownService => "unknown service; the services are call, internet, sms",
            Invalid::DuplicateService => "each service may be listed once",
        }
    }
}

/// Longest accepted full name, e-mail and account, in characters.
pub const MAX_FULL_NAME_CHARS: usize = 200;
pub const MAX_EMAIL_CHARS: usize = 254;

/// A full name: two to five words of letters (Cyrillic or Latin), hyphens, apostrophes
/// and dots; spaces collapsed.
pub fn full_name(text: &str) -> Result<String, Invalid> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() > MAX_FULL_NAME_CHARS {
        return Err(Invalid::FullNameTooLong);
    }
    if words.len() < 2 || words.len() > 5 {
        return Err(Invalid::FullNameWords);
    }
    let valid_word = |w: &&str| {
        w.chars().any(char::is_alphabetic)
            && w.chars().all(|c| c.is_alphabetic() || "-'.’".contains(c))
    };
    if !words.iter().all(valid_word) {
        return Err(Invalid::FullNameCharacters);
    }
    Ok(joined)
}

/// A Russian internal passport: series of 4 digits and number of 6 digits, written
/// `4510 123456` (spaces anywhere are accepted on input).
pub fn passport(text: &str) -> Result<String, Invalid> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::Passport);
    }
    Ok(format!("{} {}", &digits[..4], &digits[4..]))
}

/// An e-mail address: one `@`, a local part, a domain with a dot, no spaces. (Deliverability
/// is proven by sending, not by a regex.)
pub fn email(text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    let bad = Invalid::Email;
    if text.chars().count() > MAX_EMAIL_CHARS
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad);
    }
    let Some((local, domain)) = text.split_once('@') else {
        return Err(bad);
    };
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty() || local.len() > 64 || !domain_ok {
        return Err(bad);
    }
    Ok(text.to_owned())
}

/// The services of a contract: at least one, each known, each once; sorted.
pub fn services(names: &[String]) -> Result<Vec<Service>, Invalid> {
    if names.is_empty() {
        return Err(Invalid::NoServices);
    }
    let mut services = Vec::new();
    for name in names {
        let service = Service::parse(name.trim()).ok_or(Invalid::UnknownService)?;
        if services.contains(&service) {
            return Err(Invalid::DuplicateService);
        }
        services.push(service);
    }
    services.sort();
    Ok(services)
}

/// A subscriber's contract data, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractData {
    pub full_name: String,
    pub passport: String,
    pub email: String,
    pub services: Vec<Service>,
}

/// Changes of a subscriber's contract, validated; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractChanges {
    pub full_name: Option<String>,
    pub passport: Option<String>,
    pub email: Option<String>,
    pub services: Option<Vec<Service>>,
}

/// Every refused field with its reason.
pub type FieldErrors = std::collections::BTreeMap<String, Invalid>;

fn keep<T>(errors: &mut FieldErrors, field: &str, result: Result<T, Invalid>) -> Option<T> {
    result
        .map_err(|why| errors.insert(field.to_owned(), why))
        .ok()
}

/// Validates a new contract, naming every bad field at once.
pub fn contract_data(
    full_name_text: &str,
    passport_text: &str,
    email_text: &str,
    service_names: &[String],
) -> Result<ContractData, FieldErrors> {
    let mut errors = FieldErrors::new();
    let full_name = keep(&mut errors, "full_name", full_name(full_name_text));
    let passport = keep(&mut errors, "passport", passport(passport_text));
    let email = keep(&mut errors, "email", email(email_text));
    let services = keep(&mut errors, "services", services(service_names));
    match (full_name, passport, email, services) {
        (Some(full_name), Some(passport), Some(email), Some(services)) => Ok(ContractData {
            full_name,
            passport,
            email,
            services,
        }),
        _ => Err(errors),
    }
}

/// Validates changes of a contract (absent fields are not touched).
pub fn contract_changes(
    full_name_text: Option<&str>,
    passport_text: Option<&str>,
    email_text: Option<&str>,
    service_names: Option<&[String]>,
) -> Result<ContractChanges, FieldErrors> {
    let mut errors = FieldErrors::new();
    let changes = ContractChanges {
        full_name: full_name_text.and_then(|t| keep(&mut errors, "full_name", full_name(t))),
        passport: passport_text.and_then(|t| keep(&mut errors, "passport", passport(t))),
        email: email_text.and_then(|t| keep(&mut errors, "email", email(t))),
        services: service_names.and_then(|n| keep(&mut errors, "services", services(n))),
    };
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// The API's `validation_failed` fields: the English reasons.
pub fn english(errors: &FieldErrors) -> std::collections::BTreeMap<String, String> {
    errors
        .iter()
        .map(|(field, why)| (field.clone(), why.en().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names() {
        assert_eq!(
            full_name("  Иванов   Иван Иванович "),
            Ok("Иванов Иван Иванович".into())
        );
        assert_eq!(
            full_name("Anna-Maria O'Neil"),
            Ok("Anna-Maria O'Neil".into())
        );
        assert!(full_name("Иванов").is_err());
        assert!(full_name("Robert'); DROP TABLE subscribers;--").is_err());
        assert!(full_name("Ivan 123").is_err());
        assert!(full_name(&"a ".repeat(150)).is_err());
    }

    #[test]
    fn passports() {
        assert_eq!(passport("4510 123456"), Ok("4510 123456".into()));
        assert_eq!(passport("45 10 123456"), Ok("4510 123456".into()));
        assert_eq!(passport("4510123456"), Ok("4510 123456".into()));
        assert!(passport("4510 12345").is_err());
        assert!(passport("451O 123456").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(email(" ivan@example.ru "), Ok("ivan@example.ru".into()));
        assert_eq!(email("иван@почта.рф"), Ok("иван@почта.рф".into()));
        for bad in [
            "ivan",
            "ivan@",
            "@example.ru",
            "ivan@example",
            "iv an@example.ru",
            "a@b@c.ru",
            "a@.ru",
            "a@b..ru",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_lists() {
        assert_eq!(
            services(&["sms".into(), "call".into()]),
            Ok(vec![Service::Call, Service::Sms])
        );
        assert!(services(&[]).is_err());
        assert!(services(&["call".into(), "call".into()]).is_err());
        assert!(services(&["tv".into()]).is_err());
    }

    #[test]
    fn accounts() {
        assert!(ProviderKind::Mobile.is_account("9161234567"));
        assert!(!ProviderKind::Mobile.is_account("8161234567"));
        assert!(!ProviderKind::Mobile.is_account("916123456"));
        assert!(ProviderKind::Internet.is_account("10000001"));
        assert!(!ProviderKind::Internet.is_account("1000000a"));
    }
}
