//! Logging: human-readable lines on stdout and in a daily-rolling file in the data
//! directory, and one span per HTTP request that carries its request id, so every line a
//! request causes can be found with `grep <id>`.
//!
//! The filter comes from `PAYMESH_LOG` (or `RUST_LOG`), e.g. `PAYMESH_LOG=debug,sqlx=warn`.
//!
//! Log lines carry values from outside (logins, paths, request ids, provider messages).
//! Every field value — and every message — goes through [`EscapedFields`], which escapes
//! control characters (a newline in a login cannot forge a second line) and truncates to
//! a bound, so call sites need no care of their own. Files rotate daily and only the
//! newest `max_log_files` are kept.

use std::fmt;
use std::path::Path;

use axum::Router;
use http::Request;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing::field::{Field, Visit};
use tracing_appender::rolling::{InitError, RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter when neither `PAYMESH_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";
/// Daily log files kept when `--max-log-files` is not given (two weeks).
pub const DEFAULT_MAX_LOG_FILES: usize = 14;
/// Characters of one field value written to a log line; the rest is cut with a marker.
pub const MAX_LOGGED_VALUE_CHARS: usize = 256;
/// Characters of a message (which may interpolate outside values too).
pub const MAX_LOGGED_MESSAGE_CHARS: usize = 1024;

/// Keeps the log file writer alive; drop it last, at exit, to flush.
pub struct TelemetryGuard {
    _flush_on_drop: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the process-wide subscriber. `log_dir` gets `<file_prefix>.YYYY-MM-DD` files,
/// a new one each day (UTC), of which the newest `max_log_files` are kept (0, as in
/// `CommonArgs::default()`, means [`DEFAULT_MAX_LOG_FILES`]). Calling it again (tests that
/// start several roles) keeps the first subscriber.
pub fn init(file_prefix: &str, log_dir: Option<&Path>, max_log_files: usize) -> TelemetryGuard {
    let max_log_files = match max_log_files {
        0 => DEFAULT_MAX_LOG_FILES,
        n => n,
    };
    let filter = std::env::var("PAYMESH_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let appender = log_dir.and_then(|dir| match rolling_file(dir, file_prefix, max_log_files) {
        Ok(appender) => Some(appender),
        Err(e) => {
            // The subscriber is not installed yet: stderr is the only place to say it.
            eprintln!(
                "cannot log to {}: {e}; logging to stdout only",
                dir.display()
            );
            None
        }
    });
    let (file_layer, guard) = match appender {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(line_layer(writer, false)), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(line_layer(std::io::stdout, true))
        .with(file_layer)
        .try_init();
    TelemetryGuard {
        _flush_on_drop: guard,
    }
}

/// The daily file appender; opening it deletes all but the newest `max_log_files - 1`
/// older files of this prefix (the current one is the last of the `max_log_files`), and
/// so does every daily rollover.
pub fn rolling_file(
    dir: &Path,
    file_prefix: &str,
    max_log_files: usize,
) -> Result<RollingFileAppender, InitError> {
    // The directory first: tracing-appender prunes old files before it creates the
    // directory, and says "Error reading the log directory" on every first start otherwise.
    // If it can't be made, the builder's own error names the problem.
    let _ = std::fs::create_dir_all(dir);
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(file_prefix)
        .max_log_files(max_log_files.max(1))
        .build(dir)
}

/// One human-readable line per event, with every value escaped and bounded.
pub fn line_layer<S, W>(writer: W, ansi: bool) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .fmt_fields(EscapedFields)
        .with_writer(writer)
}

/// Formats event and span fields as `message key=value …` like tracing's default, but
/// with control characters escaped and each value truncated (see [`escape_bounded`]).
/// Use it in any subscriber that writes lines: `.fmt_fields(EscapedFields)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let is_message = field.name() == "message";
        self.result = if is_message {
            write!(self.writer, "{separator}")
                .and_then(|()| escape_bounded(&mut self.writer, value, MAX_LOGGED_MESSAGE_CHARS))
        } else {
            write!(self.writer, "{separator}{}=", field.name())
                .and_then(|()| escape_bounded(&mut self.writer, value, MAX_LOGGED_VALUE_CHARS))
        };
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

/// Writes `value` with control characters escaped (`\n`, `\r`, `\t`, `\u{1b}` …, also
/// the Unicode line separators and bidirectional overrides that could make a line read
/// differently from what it is), and at most `max_chars` characters of it; what is cut is
/// replaced by `…[+N bytes]`. The value is streamed, never copied whole, so a huge value
/// costs no memory.
pub fn escape_bounded(
    out: &mut dyn fmt::Write,
    value: fmt::Arguments<'_>,
    max_chars: usize,
) -> fmt::Result {
    let mut bounded = Bounded {
        out,
        chars_left: max_chars,
        cut_bytes: 0,
    };
    fmt::write(&mut bounded, value)?;
    let cut = bounded.cut_bytes;
    if cut > 0 {
        write!(out, "…[+{cut} bytes]")?;
    }
    Ok(())
}

struct Bounded<'a> {
    out: &'a mut dyn fmt::Write,
    chars_left: usize,
    cut_bytes: usize,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if self.chars_left == 0 {
                self.cut_bytes += c.len_utf8();
                continue;
            }
            self.chars_left -= 1;
            match c {
                '\n' => self.out.write_str("\\n")?,
                '\r' => self.out.write_str("\\r")?,
                '\t' => self.out.write_str("\\t")?,
                c if needs_escape(c) => write!(self.out, "\\u{{{:x}}}", u32::from(c))?,
                c => self.out.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Characters that must not reach a log line as themselves.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Wraps a router so each request gets an `x-request-id` (kept if the client sent one,
/// echoed in the response) and a `request` span with the id, method and path.
pub fn with_request_tracing<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(ProcessRequestIds))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request<_>| {
                        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id()),
    )
}

/// Request ids: this process's random 64 bits, then a count of its requests, as 32 hex
/// digits (the length of a UUID's). Unique within the process by the count and across
/// processes and restarts by the prefix; they only name a request in the logs, so they
/// need not be unguessable. A random UUID per request was a `getrandom` system call per
/// request, two a payment (docs/performance.md, the seventeenth step).
#[derive(Clone, Copy, Default)]
pub struct ProcessRequestIds;

impl ProcessRequestIds {
    fn next() -> String {
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            use rand_core::{OsRng, RngCore};
            OsRng.next_u64()
        });
        let count = COUNT.fetch_add(1, Ordering::Relaxed);
        format!("{prefix:016x}{count:016x}")
    }
}

impl MakeRequestId for ProcessRequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        http::HeaderValue::from_str(&Self::next())
            .ok()
            .map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Log lines written into memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What `log` writes through the same layer `init` installs.
    fn logged(log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(line_layer(captured.clone(), false));
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_value_from_outside_cannot_forge_a_line() {
        let login = "mallory\n2026-12-02T01:00:00Z  INFO paymesh: payment settled amount=100000";
        let path = "/api\r\x1b[2J/\u{202e}gnp.exe";
        let text = logged(|| {
            let span = tracing::info_span!("request", path = %path);
            let _entered = span.enter();
            tracing::info!(login = %login, agent = ?"ua\n", "credentials refused for {login}");
        });
        assert_eq!(text.lines().count(), 1, "one event, one line: {text}");
        assert!(
            text.contains(r"login=mallory\n2026-12-02T01:00:00Z  INFO"),
            "{text}"
        );
        assert!(
            text.contains(r"path=/api\r\u{1b}[2J/\u{202e}gnp.exe"),
            "{text}"
        );
        assert!(
            text.contains(r"credentials refused for mallory\n2026"),
            "{text}"
        );
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202e}'));
    }

    #[test]
    fn a_huge_value_is_cut_with_a_marker() {
        let user_agent = "x".repeat(100_000);
        let text = logged(|| tracing::info!(user_agent = %user_agent, "request"));
        let cut = 100_000 - MAX_LOGGED_VALUE_CHARS;
        let kept = format!(
            "user_agent={}…[+{cut} bytes]",
            "x".repeat(MAX_LOGGED_VALUE_CHARS)
        );
        assert!(text.contains(&kept), "{text}");
        assert!(text.len() < 1_000, "{} bytes logged", text.len());
    }

    #[test]
    fn opening_the_log_deletes_all_but_max_log_files() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        let prefix = "paymesh-agent.log";
        // Twenty days of old logs (created within one clock tick, so which of them go is
        // the appender's choice), and a file of another program.
        for day in 1..=20 {
            let name = format!("{prefix}.2026-01-{day:02}");
            std::fs::write(dir.join(name), "old\n").unwrap();
        }
        std::fs::write(dir.join("other.log"), "not ours\n").unwrap();
        let mut appender = rolling_file(dir, prefix, 5).unwrap();
        appender.write_all(b"today\n").unwrap();
        appender.flush().unwrap();
        let ours: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with(prefix))
            .collect();
        assert_eq!(ours.len(), 5, "{ours:?}");
        let today = ours
            .iter()
            .filter(|name| std::fs::read_to_string(dir.join(name)).unwrap() == "today\n")
            .count();
        assert_eq!(today, 1, "today's file is one of the five: {ours:?}");
        assert!(dir.join("other.log").exists(), "other files are left alone");
    }

    /// Every request gets an id of its own, and one the client sent is kept: both
    /// answered in `x-request-id`.
    #[tokio::test]
    async fn requests_get_distinct_ids_and_keep_their_own() {
        use tower::ServiceExt;
        let router =
            with_request_tracing(Router::new().route("/", axum::routing::get(|| async { "ok" })));
        let id_of = |sent: Option<&'static str>| {
            let router = router.clone();
            async move {
                let mut request = Request::builder().uri("/");
                if let Some(sent) = sent {
                    request = request.header("x-request-id", sent);
                }
                let answer = router
                    .oneshot(request.body(axum::body::Body::empty()).unwrap())
                    .await
                    .unwrap();
                answer.headers()["x-request-id"]
                    .to_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            let id = id_of(None).await;
            assert_eq!(id.len(), 32, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{id}"
            );
            assert!(seen.insert(id.clone()), "{id} given twice");
        }
        let prefixes: std::collections::HashSet<_> = seen.iter().map(|id| &id[..16]).collect();
        assert_eq!(prefixes.len(), 1, "one process, one prefix: {prefixes:?}");
        assert_eq!(id_of(Some("terminal-42")).await, "terminal-42");
    }
}
