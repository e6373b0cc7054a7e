//! The outbox of e-mails: a letter is written to `outgoing_mail` first, then a background
//! worker sends what is due. A failed attempt is recorded on the row (attempts,
//! last_error) and tried again after a wait that doubles from 1 s up to
//! `--mail-retry-delay-ms-max`; a refusal that cannot change (a bad address, a 5xx) or
//! running out of attempts marks the letter `failed`, which the operator sees and can send
//! again. The worker survives restarts because the rows do.
//!
//! Delivery is at least once: a crash between the server's acceptance and our update
//! sends the letter again on restart. Only one process serves a data directory, so there
//! is one worker per outbox.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::mail::{Letter, Mailer, SendError};
use crate::provider::model::OutgoingMailView;
use crate::server::clock::{self, OptStamp};
use crate::server::db::{self, Backend, Db};

/// Attempts before a letter is marked failed (with the default 10-min cap, about 4 hours).
pub const MAX_ATTEMPTS: i64 = 30;
/// Letters sent per pass of the worker.
const BATCH: i64 = 20;
/// The worker looks at the table at least this often, whatever it expects.
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// The first wait after a failed attempt.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);

/// `SELECT <the operator's view of a letter> <rest>`, as one static string.
macro_rules! select_view {
    ($rest:literal) => {
        concat!(
            "SELECT m.id AS mail_id, s.account, m.recipient, m.subject, m.attachment_name, m.status,
                    m.attempts, m.last_error, m.next_attempt_at, m.created_at, m.sent_at
             FROM outgoing_mail m JOIN subscribers s ON s.id = m.subscriber_id ",
            $rest
        )
    };
}

/// Stores a letter to be sent as soon as the worker gets to it.
pub async fn enqueue(pool: &Db, subscriber_id: i64, letter: &Letter) -> Result<i64, sqlx::Error> {
    let now = clock::now();
    let (id,): (i64,) = db::query_as(
        "INSERT INTO outgoing_mail (subscriber_id, recipient_name, recipient, subject, body, attachment_name, attachment,
                                    next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(subscriber_id)
    .bind(&letter.recipient_name)
    .bind(&letter.recipient)
    .bind(&letter.subject)
    .bind(&letter.body)
    .bind(&letter.attachment_name)
    .bind(&letter.attachment)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// The newest letters first, optionally of one account.
pub async fn list(
    pool: &Db,
    account: Option<&str>,
    limit: i64,
) -> Result<Vec<OutgoingMailView>, sqlx::Error> {
    db::query_as(select_view!(
        "WHERE ($1 IS NULL OR s.account = $1) ORDER BY m.id DESC LIMIT $2"
    ))
    .bind(account)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &Db, id: i64) -> Result<Option<OutgoingMailView>, sqlx::Error> {
    db::query_as(select_view!("WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The letter's stored attachment (what was, or will be, sent).
pub async fn attachment(pool: &Db, id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let row: Option<(Vec<u8>,)> =
        db::query_as("SELECT attachment FROM outgoing_mail WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(bytes,)| bytes))
}

/// Puts a queued or failed letter up for an attempt now; `false` if it was already sent
/// (or does not exist). The count of attempts starts again so that a failed letter gets
/// its full series of retries.
pub async fn retry_now(pool: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let changed = db::query(
        "UPDATE outgoing_mail SET status = 'queued', attempts = 0, next_attempt_at = $1
         WHERE id = $2 AND status <> 'sent'",
    )
    .bind(clock::now())
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

#[derive(sqlx::FromRow, crate::server::db::LiteRow)]
struct DueLetter {
    id: i64,
    attempts: i64,
    recipient_name: String,
    recipient: String,
    subject: String,
    body: String,
    attachment_name: String,
    attachment: Vec<u8>,
}

/// The wait after `attempts` failed attempts: 1 s, 2 s, 4 s, … up to `max`.
pub fn retry_delay(attempts: i64, max: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    FIRST_RETRY_DELAY
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(max)
}

/// What became of one attempt, as written to the row.
async fn record(
    pool: &Db,
    letter: &DueLetter,
    outcome: Result<(), SendError>,
    retry_delay_max: Duration,
) -> Result<(), sqlx::Error> {
    let attempts = letter.attempts + 1;
    let now = OffsetDateTime::now_utc();
    match outcome {
        Ok(()) => {
            tracing::info!(mail = letter.id, attempts, "e-mail sent");
            db::query(
                "UPDATE outgoing_mail SET status = 'sent', attempts = $1, sent_at = $2, next_attempt_at = NULL
                 WHERE id = $3",
            )
            .bind(attempts)
            .bind(clock::stamp(now))
            .bind(letter.id)
            .execute(pool)
            .await?;
        }
        Err(error) => {
            let give_up = error.is_permanent() || attempts >= MAX_ATTEMPTS;
            let next =
                (!give_up).then(|| clock::stamp(now + retry_delay(attempts, retry_delay_max)));
            if give_up {
                tracing::error!(mail = letter.id, attempts, %error, "e-mail failed; the operator can send it again");
            } else {
                tracing::warn!(mail = letter.id, attempts, %error, next_attempt_at = ?next, "e-mail not sent; will retry");
            }
            db::query(
                "UPDATE outgoing_mail SET status = $1, attempts = $2, last_error = $3, next_attempt_at = $4 WHERE id = $5",
            )
            .bind(if give_up { "failed" } else { "queued" })
            .bind(attempts)
            .bind(error.to_string())
            .bind(next)
            .bind(letter.id)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// How long a process holds the letters it took to send: longer than any send takes (a
/// few SMTP exchanges of [`SMTP_TIMEOUT`](super::mail::SMTP_TIMEOUT) each). A process that
/// dies mid-send leaves its letters due again when the lease runs out; the recipient may
/// then get one twice — mail is at least once, never lost.
const SEND_LEASE: Duration = Duration::from_secs(300);

/// Takes the letters that are due, for this process alone: one statement moves their
/// next attempt to the lease's end, so another provider process on the same database
/// does not send them too.
async fn claim_due(pool: &Db) -> Result<Vec<DueLetter>, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    // As processing's retrier claims payments (`payment::claim_due`): one pick of the due
    // rows, skipping what another process is claiming on PostgreSQL.
    let sql = match pool.backend() {
        Backend::Sqlite => {
            "UPDATE outgoing_mail SET next_attempt_at = $3
              WHERE id IN (SELECT id FROM outgoing_mail WHERE status = 'queued' AND next_attempt_at <= $1
                            ORDER BY next_attempt_at, id LIMIT $2)
                AND status = 'queued' AND next_attempt_at <= $1
             RETURNING id, attempts, recipient_name, recipient, subject, body, attachment_name, attachment"
        }
        Backend::Postgres => {
            "WITH due AS MATERIALIZED (
                 SELECT id FROM outgoing_mail WHERE status = 'queued' AND next_attempt_at <= $1
                  ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
             UPDATE outgoing_mail SET next_attempt_at = $3
              WHERE id IN (SELECT id FROM due) AND status = 'queued' AND next_attempt_at <= $1
             RETURNING id, attempts, recipient_name, recipient, subject, body, attachment_name, attachment"
        }
    };
    let mut due: Vec<DueLetter> = db::query_as(sql)
        .bind(clock::stamp(now))
        .bind(BATCH)
        .bind(clock::stamp(now + SEND_LEASE))
        .fetch_all(pool)
        .await?;
    due.sort_by_key(|letter| letter.id);
    Ok(due)
}

/// Sends every letter that is due; returns how long to wait for the next one.
pub async fn deliver_due(pool: &Db, mailer: &Mailer) -> Result<Duration, sqlx::Error> {
    let due = claim_due(pool).await?;
    let full_batch = due.len() as i64 == BATCH;
    for row in &due {
        let letter = Letter {
            recipient_name: row.recipient_name.clone(),
            recipient: row.recipient.clone(),
            subject: row.subject.clone(),
            body: row.body.clone(),
            attachment_name: row.attachment_name.clone(),
            attachment: row.attachment.clone(),
        };
        let outcome = mailer.send(&letter).await;
        record(pool, row, outcome, mailer.retry_delay_max).await?;
    }
    if full_batch {
        return Ok(Duration::ZERO);
    }
    let next: Option<(OptStamp,)> =
        db::query_as("SELECT MIN(next_attempt_at) FROM outgoing_mail WHERE status = 'queued'")
            .fetch_optional(pool)
            .await?;
    let wait = next
        .and_then(|(at,)| at.0)
        .map(|at| {
            let left = at.time() - OffsetDateTime::now_utc();
            Duration::try_from(left).unwrap_or(Duration::ZERO)
        })
        .unwrap_or(IDLE_WAIT);
    Ok(wait.min(IDLE_WAIT))
}

/// The background worker: sends what is due, sleeps until the next letter is due or
/// until woken (new mail, a retry asked for).
pub async fn run(pool: Db, mailer: Arc<Mailer>) {
    loop {
        let wait = match deliver_due(&pool, &mailer).await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::error!(error = %e, "mail outbox pass failed");
                Duration::from_secs(5)
            }
        };
        if pool.is_closed() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = mailer.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let max = Duration::from_secs(600);
        assert_eq!(retry_delay(1, max), Duration::from_secs(1));
        assert_eq!(retry_delay(2, max), Duration::from_secs(2));
        assert_eq!(retry_delay(5, max), Duration::from_secs(16));
        assert_eq!(retry_delay(29, max), max);
        assert_eq!(
            retry_delay(3, Duration::from_millis(500)),
            Duration::from_millis(500)
        );
    }
}
