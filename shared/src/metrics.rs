//! A small Prometheus registry for HTTP traffic: requests and their durations by method,
//! route template and status. Rendered as Prometheus text format 0.0.4 at `GET /metrics`.
//!
//! Every label value comes from a closed set (wire.md), so no client can create series:
//! the method is one of the nine standard ones or `other`; the route is the template the
//! router matched (`/api/agent/v1/payments/{id}`, never the raw path) or `unmatched`; the
//! status is a three-digit code the server itself chose.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// The route label of a request no route matched (the 404 fallback).
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The method label of a method outside the standard ones.
pub const OTHER_METHOD: &str = "other";

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS_SECONDS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS_SECONDS.len()],
}

/// Counters of one participant process.
pub struct HttpMetrics {
    role: String,
    started_unix_seconds: u64,
    series: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
}

/// The label of a method: the standard methods (RFC 9110 plus PATCH) as themselves,
/// anything a client invents as [`OTHER_METHOD`].
pub fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ]
    .iter()
    .find(|standard| *standard == method)
    .map(|standard| standard.as_str())
    .unwrap_or(OTHER_METHOD)
}

impl HttpMetrics {
    pub fn new(role: &str) -> Arc<Self> {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Arc::new(HttpMetrics {
            role: role.to_owned(),
            started_unix_seconds: started,
            series: Mutex::default(),
        })
    }

    fn record(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let Ok(mut series) = self.series.lock() else {
            return;
        };
        let entry = series
            .entry((method, route.to_owned(), status))
            .or_default();
        entry.count += 1;
        entry.sum_seconds += seconds;
        for (bucket, bound) in entry.buckets.iter_mut().zip(BUCKETS_SECONDS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let role = &self.role;
        let _ = writeln!(
            out,
            "# HELP paymesh_up Whether the participant is serving.\n# TYPE paymesh_up gauge"
        );
        let _ = writeln!(out, "paymesh_up{{role=\"{role}\"}} 1");
        let _ = writeln!(
            out,
            "# HELP paymesh_start_time_seconds Start of the process, Unix time."
        );
        let _ = writeln!(out, "# TYPE paymesh_start_time_seconds gauge");
        let _ = writeln!(
            out,
            "paymesh_start_time_seconds{{role=\"{role}\"}} {}",
            self.started_unix_seconds
        );
        let _ = writeln!(
            out,
            "# HELP paymesh_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(out, "# TYPE paymesh_http_requests_total counter");
        let Ok(series) = self.series.lock() else {
            return out;
        };
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "paymesh_http_requests_total{{role=\"{role}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP paymesh_http_request_duration_seconds Time to answer HTTP requests."
        );
        let _ = writeln!(
            out,
            "# TYPE paymesh_http_request_duration_seconds histogram"
        );
        for ((method, route, status), s) in series.iter() {
            let labels = format!(
                "role=\"{role}\",method=\"{method}\",route=\"{route}\",status=\"{status}\""
            );
            for (bound, count) in BUCKETS_SECONDS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "paymesh_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "paymesh_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "paymesh_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "paymesh_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out
    }
}

/// The middleware that counts every answered request.
pub async fn track(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    metrics.record(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = HttpMetrics::new("provider");
        m.record("GET", "/healthz", 200, 0.002);
        m.record("GET", "/healthz", 200, 0.2);
        let text = m.render();
        assert!(text.contains("paymesh_up{role=\"provider\"} 1"));
        assert!(text.contains(
            "paymesh_http_requests_total{role=\"provider\",method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("route=\"/healthz\",status=\"200\",le=\"0.005\"} 1"));
        assert!(text.contains("route=\"/healthz\",status=\"200\",le=\"+Inf\"} 2"));
    }

    #[tokio::test]
    async fn invented_methods_and_paths_add_no_series() {
        use axum::body::Body;
        use axum::routing::get;
        use tower::ServiceExt;

        let metrics = HttpMetrics::new("agent");
        let app = axum::Router::new()
            .route("/api/items/{id}", get(|| async { "item" }))
            .fallback(|| async { (http::StatusCode::NOT_FOUND, "no") })
            .layer(axum::middleware::from_fn_with_state(metrics.clone(), track));
        for n in 0..100 {
            let invented = http::Method::from_bytes(format!("BREW{n}").as_bytes()).unwrap();
            for (method, path) in [
                (invented.clone(), format!("/api/items/{n}")),
                (invented, format!("/nowhere/{n}")),
                (http::Method::GET, format!("/api/items/{n}")),
                (http::Method::GET, format!("/nowhere/{n}?q={n}")),
            ] {
                let request = http::Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap();
                app.clone().oneshot(request).await.unwrap();
            }
        }
        let text = metrics.render();
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("paymesh_http_requests_total{"))
            .collect();
        assert_eq!(
            series,
            [
                "paymesh_http_requests_total{role=\"agent\",method=\"GET\",route=\"/api/items/{id}\",status=\"200\"} 100",
                "paymesh_http_requests_total{role=\"agent\",method=\"GET\",route=\"unmatched\",status=\"404\"} 100",
                "paymesh_http_requests_total{role=\"agent\",method=\"other\",route=\"/api/items/{id}\",status=\"405\"} 100",
                "paymesh_http_requests_total{role=\"agent\",method=\"other\",route=\"unmatched\",status=\"404\"} 100",
            ],
            "{text}"
        );
    }
}
