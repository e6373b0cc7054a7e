//! The payer's field values at the terminal (issue #14): checked against the provider's
//! fields as the catalog carries them before processing is asked, and stored as one
//! canonical JSON text (`'{}'` when none) so that a session's values can be held against
//! the values its check vouched for, byte for byte, in SQL.

use shared::error::ApiError;
use shared::fields::FieldSet;
use shared::wire::agent::{CatalogProvider, Extra};

/// The provider's fields, compiled. Processing compiles them when they are saved, so a
/// catalog whose definitions do not compile is a fault of the catalog: nothing is paid
/// for that provider until it is fixed, rather than paid unchecked.
pub fn field_set(provider: &CatalogProvider) -> Result<std::sync::Arc<FieldSet>, ApiError> {
    FieldSet::compile_cached(&provider.fields).map_err(|refused| {
        tracing::error!(
            provider = provider.provider_id,
            ?refused,
            "the catalog's payment fields of this provider do not compile"
        );
        ApiError::field(
            "provider_id",
            "this provider's payment fields cannot be used; the operator must sync the catalog",
        )
    })
}

/// `422 validation_failed` keyed by the field's name (`account`, `city`) unless the
/// account and every other field match the provider's fields, with none missing or unknown.
pub fn validate(provider: &CatalogProvider, account: &str, extra: &Extra) -> Result<(), ApiError> {
    field_set(provider)?
        .validate(account, extra)
        .map_err(|fields| ApiError::Validation { fields })
}

/// The stored form: a JSON object with its keys in order (`Extra` is sorted), so equal
/// values are equal texts.
pub fn to_text(extra: &Extra) -> String {
    serde_json::to_string(extra).unwrap_or_else(|_| "{}".to_owned())
}

/// Values read back from a column this module wrote.
pub fn from_text(text: &str) -> Result<Extra, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_are_equal_texts_whatever_their_order() {
        let a: Extra = [("city", "Пермь"), ("flat", "12")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let b: Extra = serde_json::from_str(r#"{"flat":"12","city":"Пермь"}"#).unwrap();
        assert_eq!(to_text(&a), to_text(&b));
        assert_eq!(to_text(&Extra::new()), "{}");
        assert_eq!(from_text(&to_text(&a)).unwrap(), a);
    }
}
