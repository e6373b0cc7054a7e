//! What the four home pages (the dashboards) share: a figure tile, a wait written for
//! people ("12 мин"), the server-rendered bar chart and the strings. Each role's page and
//! its store reads live in the role's own tree.

pub mod chart;
pub mod texts;
pub mod threshold;

use leptos::prelude::*;

pub use texts::{DashTexts, dash_texts};

/// How a tile's figure reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Good,
    Warn,
    Bad,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Plain => "tile",
            Tone::Good => "tile tile-good",
            Tone::Warn => "tile tile-warn",
            Tone::Bad => "tile tile-bad",
        }
    }
}

/// One headline figure: a label, the figure, a line under it. `count` and `kopecks` are
/// the figure as numbers, in `data-` attributes for scripts and tests.
#[component]
pub fn Tile(
    id: &'static str,
    label: &'static str,
    figure: String,
    #[prop(optional)] note: String,
    #[prop(default = Tone::Plain)] tone: Tone,
    #[prop(optional)] count: Option<i64>,
    #[prop(optional)] kopecks: Option<i64>,
) -> impl IntoView {
    view! {
        <section class=tone.class() id=id aria-label=label data-count=count data-kopecks=kopecks>
            <span class="tile-label">{label}</span>
            <strong class="tile-figure">{figure}</strong>
            <span class="tile-note">{note}</span>
        </section>
    }
}

/// A dashboard page: its title, a refresh button, the figures as they were when the page
/// was opened (or refreshed) drawn by `figures`, or what went wrong. The four roles'
/// pages differ only in what they load and how they draw it.
pub fn page<D, Fut>(
    title: &'static str,
    load: fn() -> Fut,
    figures: fn(D) -> AnyView,
) -> impl IntoView
where
    D: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<D, ServerFnError>> + Send + 'static,
{
    page_reloaded_by(title, load, figures, Signal::stored(0))
}

/// [`page`], loaded again also whenever `reload` changes (a setting saved on the page).
pub fn page_reloaded_by<D, Fut>(
    title: &'static str,
    load: fn() -> Fut,
    figures: fn(D) -> AnyView,
    reload: Signal<usize>,
) -> impl IntoView
where
    D: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    Fut: std::future::Future<Output = Result<D, ServerFnError>> + Send + 'static,
{
    let t = dash_texts();
    let again = RwSignal::new(0u32);
    let data = Resource::new(move || (again.get(), reload.get()), move |_| load());
    view! {
        <div class="dash-head">
            <h1>{title}</h1>
            <button type="button" class="small secondary" on:click=move |_| again.update(|n| *n += 1)>{t.refresh}</button>
        </div>
        <p class="hint">{t.as_of_load}</p>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || data.get().map(|result| match result {
                Ok(d) => figures(d),
                Err(e) => view! { <p class="error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// A wait in the largest two units that matter: `45 с`, `12 мин`, `3 ч 05 мин`, `2 дн 4 ч`.
pub fn duration_text(secs: i64, t: &DashTexts) -> String {
    let secs = secs.max(0);
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if days > 0 {
        format!("{days} {} {hours} {}", t.days_short, t.hours_short)
    } else if hours > 0 {
        format!("{hours} {} {minutes:02} {}", t.hours_short, t.minutes_short)
    } else if minutes > 0 {
        format!("{minutes} {}", t.minutes_short)
    } else {
        format!("{secs} {}", t.seconds_short)
    }
}

/// `12 мин назад`, or nothing.
pub fn ago_text(secs: Option<i64>, t: &DashTexts) -> String {
    secs.map(|s| format!("{} {}", duration_text(s, t), t.ago))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_two_units_at_most() {
        let t = &texts::RU;
        assert_eq!(duration_text(45, t), "45 с");
        assert_eq!(duration_text(12 * 60 + 5, t), "12 мин");
        assert_eq!(duration_text(3 * 3600 + 5 * 60, t), "3 ч 05 мин");
        assert_eq!(duration_text(2 * 86_400 + 4 * 3600 + 1, t), "2 дн 4 ч");
        assert_eq!(duration_text(-3, t), "0 с");
    }
}
