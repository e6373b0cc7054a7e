//! The append-only audit log (issue #19): who changed what, when, with the state before
//! and after. Every change to contracts, credentials, tariffs, fees, balances, unresolved
//! cash and staff accounts writes its entry with [`record`] *inside the transaction of
//! the change*, so an entry exists exactly when the change committed. There is no code
//! path that updates or deletes an entry, and the database refuses both (a trigger in the
//! `audit_log` migrations).

pub mod api;

use serde::Serialize;

use crate::server::clock::{self, Stamp};
use crate::server::csv;
use crate::server::db::{self, Db, Exec};
use crate::ui::i18n::Lang;
pub use crate::ui::staff::model::{AuditEntry, AuditKind};
use crate::ui::staff::texts as staff_texts;

/// The participant's database, as the audit page finds it in its context.
#[derive(Clone)]
pub struct AuditLog(pub Db);

/// Entries a listing answers at most (the JSON API, the page, the CSV export).
pub const MAX_ENTRIES: i64 = 5_000;

/// What an entry says of a password or another secret: that it was issued, changed or
/// left as it was — never the value, nor its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Secret {
    /// A new one was issued (a contract signed, a login re-opened).
    Issued,
    Changed,
    Unchanged,
}

impl Secret {
    pub fn changed(changed: bool) -> Secret {
        if changed {
            Secret::Changed
        } else {
            Secret::Unchanged
        }
    }
}

/// A fee rule as entries show it, in the words of the portals: percent and roubles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fee {
    pub percent: String,
    pub fixed: String,
    pub min: String,
    pub max: Option<String>,
}

impl From<&shared::fee::FeeRule> for Fee {
    fn from(rule: &shared::fee::FeeRule) -> Fee {
        Fee {
            percent: format!("{}.{:02}", rule.percent_bp / 100, rule.percent_bp % 100),
            fixed: rule.fixed.to_string(),
            min: rule.min.to_string(),
            max: rule.max.map(|m| m.to_string()),
        }
    }
}

/// A change to record: who, what kind, which object, and its state before and after.
pub struct Change<'a> {
    pub login: &'a str,
    pub kind: AuditKind,
    pub object: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Change<'a> {
    pub fn new(login: &'a str, kind: AuditKind, object: impl Into<String>) -> Self {
        Change {
            login,
            kind,
            object: object.into(),
            before: None,
            after: None,
        }
    }

    /// The state before, as JSON.
    pub fn before(mut self, state: &impl Serialize) -> Self {
        self.before = Some(json(state));
        self
    }

    /// The state after, as JSON.
    pub fn after(mut self, state: &impl Serialize) -> Self {
        self.after = Some(json(state));
        self
    }
}

fn json(state: &impl Serialize) -> String {
    // Serialising plain rows cannot fail; should it, the entry says so rather than losing
    // the change's record.
    serde_json::to_string(state).unwrap_or_else(|e| format!("{{\"unserialisable\":\"{e}\"}}"))
}

/// Writes `change`'s entry: pass the transaction that makes the change.
pub async fn record<'a>(on: impl Into<Exec<'a>>, change: Change<'_>) -> Result<(), sqlx::Error> {
    db::query(
        "INSERT INTO audit_log (created_at, login, kind, object, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(clock::now())
    .bind(change.login)
    .bind(change.kind.as_str())
    .bind(change.object)
    .bind(change.before)
    .bind(change.after)
    .execute(on)
    .await
    .map(|_| ())
}

/// Which entries to list; empty fields do not filter.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct Filter {
    pub kind: Option<AuditKind>,
    /// The acting login, exactly.
    pub login: Option<String>,
    /// A part of the object's name.
    pub object: Option<String>,
    /// Only entries older than this id (the next page, newest first).
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}

type Row = (
    i64,
    Stamp,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// Entries matching `filter`, newest first. An entry of a kind this build does not know
/// (written by a newer version sharing the database) is skipped and logged.
pub async fn list(pool: &Db, filter: &Filter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let limit = filter.limit.unwrap_or(MAX_ENTRIES).clamp(1, MAX_ENTRIES);
    let login = filter
        .login
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let object = filter
        .object
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            format!(
                "%{}%",
                o.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
    let rows: Vec<Row> = db::query_as(
        "SELECT id, created_at, login, kind, object, before_json, after_json FROM audit_log
         WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR login = $2)
           AND ($3 IS NULL OR object LIKE $3 ESCAPE '\\') AND ($4 IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
    )
    .bind(filter.kind.map(AuditKind::as_str))
    .bind(login)
    .bind(object)
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, at, login, kind, object, before, after)| {
            let Some(kind) = AuditKind::parse(&kind) else {
                tracing::warn!(id, kind, "audit entry of an unknown kind skipped");
                return None;
            };
            Some(AuditEntry {
                id,
                at: at.to_string(),
                login,
                kind,
                object,
                before,
                after,
            })
        })
        .collect())
}

/// The entries as CSV, as the `/audit` page shows them in `lang`: its columns under its
/// headings (the time as shown, in UTC; the kind and the object in words), `;`-separated,
/// every cell neutralised against formulas (a login, an object and before/after hold what
/// people typed).
pub fn to_csv(entries: &[AuditEntry], lang: Lang) -> String {
    let t = match lang {
        Lang::Ru => &staff_texts::RU,
        Lang::En => &staff_texts::EN,
    };
    let mut out = csv::line(&[
        t.col_time,
        t.col_login,
        t.col_kind,
        t.col_object,
        t.col_before,
        t.col_after,
    ]);
    for e in entries {
        out.push_str(&csv::line(&[
            e.shown_at().as_str(),
            &e.login,
            t.kind(e.kind),
            &t.object(&e.object),
            e.before.as_deref().unwrap_or(""),
            e.after.as_deref().unwrap_or(""),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_neutralises_what_people_typed() {
        let entries = [AuditEntry {
            id: 7,
            at: "2026-12-02T10:00:00.000000Z".into(),
            login: "=cmd".into(),
            kind: AuditKind::TariffChanged,
            object: "@tariffs".into(),
            before: Some("{\"call\":\"1.00\"}".into()),
            after: Some("-1+1".into()),
        }];
        let text = to_csv(&entries, Lang::Ru);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("Время (UTC);Сотрудник;Изменение;Объект;Было;Стало")
        );
        assert_eq!(
            lines.next(),
            Some(
                "2026-12-02 10:00:00;'=cmd;Тарифы изменены;'@tariffs;\"{\"\"call\"\":\"\"1.00\"\"}\";'-1+1"
            )
        );
    }

    #[test]
    fn csv_is_in_the_language_asked_with_the_objects_in_words() {
        let entries = [AuditEntry {
            id: 8,
            at: "2026-12-02T10:00:00.000000Z".into(),
            login: "vera".into(),
            kind: AuditKind::BalanceTopUp,
            object: "agent 2".into(),
            before: None,
            after: None,
        }];
        let ru = to_csv(&entries, Lang::Ru);
        assert_eq!(
            ru.lines().nth(1),
            Some("2026-12-02 10:00:00;vera;Пополнение баланса;агент 2;;")
        );
        let en = to_csv(&entries, Lang::En);
        assert_eq!(
            en.lines().next(),
            Some("Time (UTC);Staff;Change;Object;Before;After")
        );
        assert_eq!(
            en.lines().nth(1),
            Some("2026-12-02 10:00:00;vera;Balance top-up;agent 2;;")
        );
    }
}
