//! A bar chart as SVG text, built on the server (and identically in the browser while
//! hydrating): plain `<rect>` bars, a money axis with three gridlines, labels under some
//! bars, a `<title>`/`<desc>` pair for screen readers and a `<title>` per bar for the
//! pointer. No chart library, no script: the page stays readable as printed HTML.

use std::fmt::Write;

/// One bar: its value in kopecks, what the pointer shows, and a label under it (only some
/// bars have one, so the axis does not crowd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartBar {
    pub value: i64,
    pub tooltip: String,
    pub axis_label: Option<String>,
}

/// What the chart says about itself.
pub struct ChartText<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
}

const WIDTH: i64 = 760;
const HEIGHT: i64 = 230;
const LEFT: i64 = 96;
const RIGHT: i64 = 10;
const TOP: i64 = 12;
const BOTTOM: i64 = 28;

/// The smallest 1, 2 or 5 × 10ⁿ roubles (in kopecks) at or above `kopecks`: the top of
/// the axis, so its gridlines read as round sums.
pub fn axis_top(kopecks: i64) -> i64 {
    let mut step: i64 = 100;
    loop {
        for factor in [1, 2, 5] {
            let top = step.saturating_mul(factor);
            if top >= kopecks || top == i64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart's SVG markup. `money` writes an axis sum (whole roubles are enough there).
pub fn bar_chart_svg(text: &ChartText, bars: &[ChartBar], money: impl Fn(i64) -> String) -> String {
    let top = axis_top(bars.iter().map(|b| b.value).max().unwrap_or(0).max(1));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w as f64 / bars.len().max(1) as f64;
    let bar_w = (slot * 0.72).max(1.0);
    let id = escape(text.id);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="bar-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMidYMid meet"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(text.title),
        escape(text.desc)
    );
    for step in 0..=2 {
        let value = top / 2 * step;
        let y = TOP + plot_h - plot_h * step / 2;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y}" x2="{}" y2="{y}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 8,
            y + 4,
            escape(&money(value))
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT as f64 + slot * i as f64 + (slot - bar_w) / 2.0;
        let h = (bar.value.max(0) as f64 / top as f64 * plot_h as f64).round();
        let y = (TOP + plot_h) as f64 - h;
        let class = if i + 1 == bars.len() {
            "bar bar-now"
        } else {
            "bar"
        };
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" rx="2"><title>{}</title></rect>"#,
            escape(&bar.tooltip)
        );
        if let Some(label) = &bar.axis_label {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                HEIGHT - 8,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_at_a_round_sum() {
        assert_eq!(axis_top(1), 100);
        assert_eq!(axis_top(150), 200);
        assert_eq!(axis_top(1_234_500), 2_000_000);
        assert_eq!(axis_top(5_000_000), 5_000_000);
    }

    #[test]
    fn bars_are_scaled_titled_and_escaped() {
        let bars = vec![
            ChartBar {
                value: 0,
                tooltip: "none".into(),
                axis_label: Some("-1 h".into()),
            },
            ChartBar {
                value: 200_000,
                tooltip: "2 payments <b>".into(),
                axis_label: Some("now".into()),
            },
        ];
        let svg = bar_chart_svg(
            &ChartText {
                id: "c",
                title: "Turnover",
                desc: "per hour",
            },
            &bars,
            |k| format!("{} ₽", k / 100),
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(r#"aria-labelledby="c-title c-desc""#));
        assert!(svg.contains("<title id=\"c-title\">Turnover</title>"));
        assert!(svg.contains("2 payments &lt;b&gt;"));
        assert!(
            svg.contains(">2000 ₽</text>"),
            "the axis tops at the largest bar: {svg}"
        );
        // The full bar is the plot's height; the empty one has none.
        assert!(svg.contains(r#"height="190.0""#), "{svg}");
        assert!(svg.contains(r#"height="0.0""#), "{svg}");
    }
}
