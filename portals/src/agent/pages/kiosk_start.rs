//! The kiosk's first screens: the attract screen an idle terminal shows, and the choice
//! of what to pay for — large provider tiles, each with the provider's initials on a
//! colour of its own.
//!
//! The catalog carries no logos, so a tile's mark is made from the name: its initials on
//! a colour derived from the name by a fixed hash, the same on the server and in the
//! browser and on every terminal, so customers learn to find «their» tile by colour.

use leptos::prelude::*;
use shared::wire::agent::CatalogProvider;

use super::texts::texts;
use crate::agent::model::KioskState;

/// Dark enough for white initials to read (contrast of at least 4.5:1 on each).
const TILE_COLOURS: [&str; 12] = [
    "#1f5fbf", "#b03a2e", "#1e7b4f", "#7a3fb0", "#a2580a", "#0f6f7a", "#b0246a", "#3d5a80",
    "#5c6b00", "#8a3b12", "#2e4fa8", "#6b2f8a",
];

/// FNV-1a over the name's UTF-8 bytes: a hash that is the same in every build and
/// every process (std's hasher is seeded at random).
fn name_hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The tile colour of a provider's name.
pub fn tile_colour(name: &str) -> &'static str {
    let at = name_hash(name.trim()) as usize % TILE_COLOURS.len();
    TILE_COLOURS[at]
}

/// Up to two letters for a name: the first letters of its first two words (`Er-Telecom`
/// → `ET`), or of a single word its first letter and the digits it ends with (`Tele2` →
/// `T2`).
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let first = |word: &str| word.chars().next().into_iter().flat_map(char::to_uppercase);
    match words.as_slice() {
        [] => "?".to_owned(),
        [one] => {
            let digits: String = one
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .take(1)
                .collect();
            first(one).chain(digits.chars()).collect()
        }
        [one, two, ..] => first(one).chain(first(two)).collect(),
    }
}

/// Where a provider's logo is served, when the terminal has one (`KioskState::logos`).
fn logo_url(kiosk: &KioskState, provider_id: i64) -> Option<String> {
    kiosk
        .logos
        .contains(&provider_id)
        .then(|| format!("/kiosk/logos/{provider_id}"))
}

/// A provider's mark: its logo, or its initials on its colour.
#[component]
pub fn ProviderMark(name: String, logo: Option<String>) -> impl IntoView {
    match logo {
        Some(src) => view! {
            <span class="kiosk-mark kiosk-mark-logo" aria-hidden="true"><img class="kiosk-logo" src=src alt=""/></span>
        }
        .into_any(),
        None => {
            let style = format!("background-color: {}", tile_colour(&name));
            view! { <span class="kiosk-mark" style=style aria-hidden="true">{initials(&name)}</span> }
                .into_any()
        }
    }
}

/// Shown when nobody has touched the kiosk for a while: what it pays for, and a touch
/// anywhere to start.
#[component]
pub fn AttractScreen(
    kiosk: KioskState,
    start: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let t = texts();
    let marks = kiosk
        .providers
        .iter()
        .take(12)
        .map(|p| view! { <ProviderMark name=p.name.clone() logo=logo_url(&kiosk, p.provider_id)/> })
        .collect_view();
    view! {
        <section class="kiosk-attract" id="kiosk-attract" role="button" tabindex="0"
                 aria-label=t.attract_touch on:click=move |_| start()>
            <h2 class="kiosk-attract-title">{t.attract_title}</h2>
            <div class="kiosk-attract-marks">{marks}</div>
            <p class="kiosk-attract-touch">{t.attract_touch}</p>
            <p class="kiosk-attract-note">{t.attract_no_change}</p>
        </section>
    }
}

/// What to pay for: the providers as large tiles, grouped by kind; or, while the
/// terminal is blocked, why it takes no payments.
#[component]
pub fn StartScreen(
    kiosk: KioskState,
    choose: impl Fn(CatalogProvider) + Copy + Send + Sync + 'static,
    cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let t = texts();
    if kiosk.status.blocked {
        let reasons = kiosk
            .status
            .blocked_reasons
            .iter()
            .map(|r| view! { <li>{t.blocked(r)}</li> })
            .collect_view();
        return view! {
            <section class="kiosk-blocked" role="alert" id="kiosk-blocked">
                <h2>{t.blocked_title}</h2>
                <ul>{reasons}</ul>
            </section>
        }
        .into_any();
    }
    let mut kinds: Vec<String> = kiosk
        .providers
        .iter()
        .map(|p| p.service_kind.clone())
        .collect();
    kinds.sort();
    kinds.dedup();
    let groups = kinds
        .into_iter()
        .map(|kind| {
            let tiles = kiosk
                .providers
                .iter()
                .filter(|p| p.service_kind == kind)
                .cloned()
                .map(|p| {
                    let name = p.name.clone();
                    let logo = logo_url(&kiosk, p.provider_id);
                    view! {
                        <button type="button" class="kiosk-tile kiosk-provider" data-provider=p.provider_id
                                on:click=move |_| choose(p.clone())>
                            <ProviderMark name=name.clone() logo/>
                            <span class="kiosk-tile-name">{name}</span>
                        </button>
                    }
                })
                .collect_view();
            view! {
                <section class="kiosk-group">
                    <h3>{t.kind(&kind)}</h3>
                    <div class="kiosk-tiles kiosk-provider-tiles">{tiles}</div>
                </section>
            }
        })
        .collect_view();
    view! {
        <h2 class="kiosk-prompt">{t.choose_provider}</h2>
        {groups}
        <div class="kiosk-actions kiosk-actions-start">
            <button type="button" class="kiosk-secondary kiosk-cancel" id="kiosk-cancel" on:click=move |_| cancel()>{t.cancel}</button>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_the_first_letters_of_the_name() {
        assert_eq!(initials("Er-Telecom"), "ET");
        assert_eq!(initials("Megafon"), "M");
        assert_eq!(initials("Tele2"), "T2");
        assert_eq!(initials("ростелеком интернет"), "РИ");
        assert_eq!(initials("«Дом.ру»"), "ДР");
        assert_eq!(initials("  "), "?");
    }

    #[test]
    fn a_names_colour_is_fixed_and_names_spread_over_the_palette() {
        assert_eq!(tile_colour("Megafon"), tile_colour("Megafon"));
        // FNV-1a's published value for "a": the hash is the standard one, not a seeded one.
        assert_eq!(name_hash("a"), 0xe40c_292c);
        let names = [
            "Megafon",
            "Tele2",
            "Er-Telecom",
            "Beeline",
            "MTS",
            "Rostelecom",
        ];
        let colours: std::collections::BTreeSet<_> = names.iter().map(|n| tile_colour(n)).collect();
        assert!(colours.len() >= 4, "{colours:?}");
    }
}
