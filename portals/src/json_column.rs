//! A database column that holds JSON text (`processing_contracts.fields`,
//! `payments.extra`), read straight into its typed value and shown on the wire as that
//! value, not as a string. Both builds: the pages' server functions send rows that carry it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A typed value stored as JSON text. With `#[sqlx(try_from = "String")]` a row reads it;
/// unreadable text fails the read (a damaged row is an error, never an empty default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonColumn<T>(pub T);

impl<T: DeserializeOwned> TryFrom<String> for JsonColumn<T> {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonColumn)
    }
}

/// The text of a value to store in such a column.
pub fn to_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
