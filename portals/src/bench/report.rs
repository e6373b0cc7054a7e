//! What `paymesh bench` shows: the summary as text, and the latency over time as an SVG
//! (or an HTML page around it) drawn here, without a plotting library.

use std::fmt::Write as _;
use std::path::Path;

use super::Summary;

/// The summary and the latency distribution, as the terminal shows them.
pub fn text(s: &Summary, concurrency: usize, rate: Option<f64>) -> String {
    let mut out = String::new();
    let paced = rate.map_or(String::new(), |r| format!(", paced to {r}/s"));
    let _ = writeln!(
        out,
        "{} payments in {:.1} s, {concurrency} in flight{paced}: {:.1} payments/s",
        s.payments,
        s.seconds,
        s.per_second()
    );
    let _ = writeln!(
        out,
        "  completed {}   pending {}   failed {}   rejected {}   errors {}",
        s.completed, s.pending, s.failed, s.rejected, s.errors
    );
    let _ = writeln!(
        out,
        "  latency ms: p50 {:.1}   p90 {:.1}   p99 {:.1}   p99.9 {:.1}   max {:.1}",
        s.ms(0.5),
        s.ms(0.9),
        s.ms(0.99),
        s.ms(0.999),
        s.histogram.max() as f64 / 1_000.0
    );
    if s.histogram.is_empty() {
        return out;
    }
    // Buckets doubling from 1 ms: how many payments took that long.
    let _ = writeln!(out, "  latency histogram:");
    let total = s.histogram.len().max(1);
    let mut low = 0u64;
    let mut high = 1_000u64;
    while low <= s.histogram.max() {
        let count = s.histogram.count_between(low, high.saturating_sub(1));
        if count > 0 {
            let bar = "#".repeat(((count * 50) / total).max(1) as usize);
            let _ = writeln!(
                out,
                "    {:>8} – {:>8} ms {:>8}  {bar}",
                format_ms(low),
                format_ms(high),
                count
            );
        }
        low = high;
        high = high.saturating_mul(2);
    }
    out
}

fn format_ms(us: u64) -> String {
    let ms = us as f64 / 1_000.0;
    if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Writes the report: SVG when `path` ends in `.svg`, otherwise an HTML page.
pub fn write(
    path: &Path,
    s: &Summary,
    concurrency: usize,
    rate: Option<f64>,
) -> std::io::Result<()> {
    let svg = svg(s);
    let is_svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let document = if is_svg {
        svg
    } else {
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>paymesh bench</title>\
             <style>body{{font-family:sans-serif;margin:2em}}pre{{background:#f4f4f4;padding:1em}}</style></head>\
             <body><h1>paymesh bench</h1><pre>{}</pre>{svg}</body></html>\n",
            escape(&text(s, concurrency, rate))
        )
    };
    std::fs::write(path, document)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Latency over time: per second of the run, the median and the 99th percentile of the
/// payments that finished in it, on a logarithmic latency axis.
fn svg(s: &Summary) -> String {
    const W: f64 = 900.0;
    const H: f64 = 360.0;
    const LEFT: f64 = 60.0;
    const BOTTOM: f64 = 40.0;
    let seconds = s
        .timeline
        .iter()
        .map(|(at, _)| at / 1_000)
        .max()
        .unwrap_or(0) as usize
        + 1;
    let mut per_second: Vec<Vec<u32>> = vec![Vec::new(); seconds];
    for (at, latency) in &s.timeline {
        per_second[(*at / 1_000) as usize].push(*latency);
    }
    let quantile = |v: &mut Vec<u32>, q: f64| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let i = ((v.len() as f64 * q) as usize).min(v.len() - 1);
        Some(f64::from(v[i]) / 1_000.0)
    };
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for (second, latencies) in per_second.iter_mut().enumerate() {
        if let Some(m) = quantile(latencies, 0.5) {
            p50.push((second, m));
        }
        if let Some(m) = quantile(latencies, 0.99) {
            p99.push((second, m));
        }
    }
    let max_ms = p99.iter().map(|(_, m)| *m).fold(1.0, f64::max);
    let top = 10f64.powf(max_ms.log10().ceil()).max(10.0);
    let x = |second: usize| LEFT + (W - LEFT - 20.0) * (second as f64 + 0.5) / seconds as f64;
    let y = |ms: f64| {
        let fraction = (ms.max(0.1).log10() + 1.0) / (top.log10() + 1.0);
        (H - BOTTOM) - (H - BOTTOM - 20.0) * fraction.clamp(0.0, 1.0)
    };
    let line = |points: &[(usize, f64)]| {
        points
            .iter()
            .map(|(sec, ms)| format!("{:.1},{:.1}", x(*sec), y(*ms)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"14\">paymesh bench: latency over time ({:.1} payments/s; p50 blue, p99 red)</text>\n",
        s.per_second()
    );
    // The latency axis: a line per power of ten.
    let mut tick = 0.1;
    while tick <= top {
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1}\">{} ms</text>",
            W - 20.0,
            y(tick),
            y(tick),
            y(tick) + 4.0,
            tick
        );
        tick *= 10.0;
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\">seconds into the run (0 – {seconds})</text>",
        W / 2.0 - 80.0,
        H - 10.0
    );
    let _ = writeln!(
        out,
        "<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"{}\"/>",
        line(&p50)
    );
    let _ = writeln!(
        out,
        "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"{}\"/>",
        line(&p99)
    );
    out.push_str("</svg>\n");
    out
}
