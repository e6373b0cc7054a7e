//! Logging: human-readable lines on stdout and in a daily-rolling file in the data
//! directory, and one span per HTTP request that carries its request id, so every line a
//! request causes can be found with `grep <id>`.
//!
//! The filter comes from `PAYMESH_LOG` (or `RUST_LOG`), e.g. `PAYMESH_LOG=debug,sqlx=warn`.

use std::path::Path;

use axum::Router;
use http::Request;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter when neither `PAYMESH_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Keeps the log file writer alive; drop it last, at exit, to flush.
pub struct TelemetryGuard {
    _flush_on_drop: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the process-wide subscriber. `log_dir` gets `<file_prefix>.YYYY-MM-DD` files.
/// Calling it again (tests that start several roles) keeps the first subscriber.
pub fn init(file_prefix: &str, log_dir: Option<&Path>) -> TelemetryGuard {
    let filter = std::env::var("PAYMESH_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let (file_layer, guard) = match log_dir {
        Some(dir) => {
            let appender = tracing_appender::rolling::daily(dir, file_prefix);
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(writer),
                ),
                Some(guard),
            )
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer())
        .with(file_layer)
        .try_init();
    TelemetryGuard {
        _flush_on_drop: guard,
    }
}

/// Wraps a router so each request gets an `x-request-id` (kept if the client sent one,
/// echoed in the response) and a `request` span with the id, method and path.
pub fn with_request_tracing<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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
