//! The cash screen: the totals as the agent has them, the most the terminal takes now
//! and why, the validator's state, and the way on — Back and Cancel while no cash is
//! in, only Pay once any is.
//!
//! The page never decides that cash is in: the session's `cash` (what kiosk-shell
//! reported to the agent) does. Back and Cancel are also held while the validator is
//! taking a banknote, and the page asks the agent once more before it leaves
//! (`KioskPage`), so a note stacked at the last moment keeps the customer here.

use leptos::prelude::*;
use shared::money::Kopecks;

use super::bridge::Bridge;
use super::texts::{Texts, texts};
use crate::agent::model::{LimitReason, SessionView};
use crate::ui::rub;

/// Banknotes the simulator's panel offers, in roubles.
const SIMULATED_BILLS_RUB: [i64; 5] = [50, 100, 500, 1000, 5000];

/// Whether the validator is between a banknote's insertion and its end (stacked or
/// returned): leaving now could leave that note behind the screen.
pub fn taking_a_bill(bridge: &Bridge) -> bool {
    bridge.validator.with(|v| {
        v.as_ref()
            .is_some_and(|v| matches!(v.state.as_str(), "accepting" | "escrow" | "stacking"))
    })
}

/// Whether the session holds cash: then the only way on is Pay.
pub fn cash_in(session: &Option<SessionView>) -> bool {
    session.as_ref().is_some_and(|s| s.cash.is_positive())
}

/// The limit box's second line: why the most is what it is, in words for the customer.
fn limit_reason_words(session: &SessionView, t: &'static Texts) -> String {
    match session.limit_reason() {
        LimitReason::Provider => t
            .limit_provider
            .replace("{provider}", &session.provider_name)
            .replace("{max}", &rub(session.max_amount)),
        LimitReason::Terminal => t.limit_terminal.to_owned(),
    }
}

#[component]
pub fn CashScreen(
    session: RwSignal<Option<SessionView>>,
    message: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    dev_mode: bool,
    bridge: Bridge,
    pay: impl Fn() + Copy + Send + Sync + 'static,
    back: impl Fn() + Copy + Send + Sync + 'static,
    cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let t = texts();
    let validator_line = move || {
        bridge.present.get().then(|| {
            let words = match bridge.validator.get() {
                Some(v) => t.validator_words(&v.state, &v.detail),
                None => t.validator_offline,
            };
            let state = bridge
                .validator
                .get()
                .map(|v| v.state)
                .unwrap_or_else(|| "offline".into());
            view! {
                <p class=format!("kiosk-validator {state}") id="kiosk-validator" role="status">
                    {format!("{}: {words}", t.validator)}
                </p>
            }
        })
    };
    let simulator = move || {
        bridge.validator.get().filter(|v| v.simulator).map(|_| {
            let buttons = SIMULATED_BILLS_RUB
                .into_iter()
                .map(|r| view! {
                    <button type="button" class="sim-bill" on:click=move |_| bridge.simulate(&format!("insert-rub {r}"))>
                        {format!("{r} ₽")}
                    </button>
                })
                .collect_view();
            view! {
                <section class="kiosk-sim" aria-label=t.simulator_title id="kiosk-simulator">
                    <h3>{t.simulator_title}</h3>
                    <p class="hint">{t.simulator_hint}</p>
                    <div class="kiosk-tiles">{buttons}</div>
                </section>
            }
        })
    };
    let figure = move |pick: fn(&SessionView) -> Kopecks| {
        move || session.get().map(|s| rub(pick(&s))).unwrap_or_default()
    };
    let enough = move || {
        session
            .get()
            .is_some_and(|s| s.amount.is_positive() && s.amount >= s.min_amount)
    };
    // Without kiosk-shell there is no cash at all: say how to get the simulator.
    let panel = (dev_mode && !bridge.present.get_untracked()).then(|| {
        view! {
            <section class="kiosk-sim" aria-label=t.simulate id="kiosk-no-validator">
                <h3>{t.simulate}</h3>
                <p class="hint">{t.simulate_hint}</p>
            </section>
        }
    });
    // The most the validator takes now (the agent's figure, renewed after every bill),
    // and why: the provider's maximum, or the terminal's deposit less the payments on
    // their way, after fees.
    let limit_box = move || {
        session.get().map(|s| {
            let (head, reason) = if s.acceptable.is_positive() || s.cash.is_positive() {
                (
                    format!("{}: {}", t.acceptable, rub(s.acceptable)),
                    Some(limit_reason_words(&s, t)),
                )
            } else {
                (t.acceptable_none.to_owned(), None)
            };
            let reason_kind = match s.limit_reason() {
                LimitReason::Provider => "provider",
                LimitReason::Terminal => "terminal",
            };
            view! {
                <section class="kiosk-limit" data-limit=reason_kind>
                    <p class="kiosk-acceptable" id="kiosk-acceptable" role="status">{head}</p>
                    {reason.map(|r| view! { <p class="kiosk-limit-reason" id="kiosk-limit-reason">{r}</p> })}
                    <p class="kiosk-limit-change">{t.limit_no_change}</p>
                </section>
            }
        })
    };
    let leaving_held = move || busy.get() || taking_a_bill(&bridge);
    // A memo, so that the buttons are drawn again only when cash first comes in, not at
    // every refresh of the totals.
    let has_cash = Memo::new(move |_| cash_in(&session.get()));
    let ways_on = move || {
        if has_cash.get() {
            return view! {
                <p class="kiosk-pay-only" id="kiosk-pay-only">{t.cash_in_pay_only}</p>
                <div class="kiosk-actions">
                    <button type="button" class="kiosk-primary kiosk-pay" id="kiosk-pay" disabled=move || !enough() || busy.get() on:click=move |_| pay()>
                        {move || if enough() { t.pay } else { t.minimum_not_reached }}
                    </button>
                </div>
            }
            .into_any();
        }
        view! {
            <p class="kiosk-message" role="status">{move || taking_a_bill(&bridge).then_some(t.wait_for_bill)}</p>
            <div class="kiosk-actions">
                <button type="button" class="kiosk-primary kiosk-pay" id="kiosk-pay" disabled=true>{t.minimum_not_reached}</button>
                <button type="button" class="kiosk-secondary kiosk-cancel" id="kiosk-cancel" disabled=leaving_held on:click=move |_| cancel()>{t.cancel}</button>
                <button type="button" class="kiosk-secondary" id="kiosk-back" disabled=leaving_held on:click=move |_| back()>{t.back}</button>
            </div>
        }
        .into_any()
    };
    view! {
        <h2 class="kiosk-prompt">{t.insert_cash}</h2>
        <p class="kiosk-limits" id="kiosk-limits">
            {move || session.get().map(|s| format!(
                "{} · {}: {} {} {} {}",
                s.provider_name, t.limits, t.limits_from, rub(s.min_amount), t.limits_to, rub(s.max_amount)
            ))}
        </p>
        {limit_box}
        <dl class="kiosk-totals">
            <dt>{t.accepted}</dt><dd id="kiosk-cash">{figure(|s| s.cash)}</dd>
            <dt>{t.fee}</dt><dd id="kiosk-fee">{figure(|s| s.agent_fee)}</dd>
            <dt>{t.to_credit}</dt><dd id="kiosk-amount">{figure(|s| s.amount)}</dd>
        </dl>
        {validator_line}
        {panel}
        {simulator}
        <p class="kiosk-message" role="status" id="kiosk-message">{move || message.get()}</p>
        {ways_on}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::model::tests::session;
    use crate::agent::pages::texts::{EN, RU};

    fn russian(text: &str) -> bool {
        text.chars().any(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'))
    }

    #[test]
    fn the_limit_is_explained_in_both_languages() {
        let payee = session(1_500_000, 0, 1_500_000);
        let ru = limit_reason_words(&payee, &RU);
        assert!(
            ru.starts_with("Это предел получателя: Megafon принимает не больше 15"),
            "{ru}"
        );
        let en = limit_reason_words(&payee, &EN);
        assert!(
            en.starts_with("This is the payee's limit: Megafon accepts at most 15"),
            "{en}"
        );
        assert!(!russian(&en), "{en}");
        let deposit = session(1_500_000, 0, 99_000);
        assert_eq!(limit_reason_words(&deposit, &RU), RU.limit_terminal);
        assert_eq!(limit_reason_words(&deposit, &EN), EN.limit_terminal);
    }

    #[test]
    fn the_english_kiosk_says_nothing_in_russian() {
        for text in [
            EN.cancel,
            EN.attract_title,
            EN.attract_touch,
            EN.attract_no_change,
            EN.field_wrong,
            EN.phone_incomplete,
            EN.phone_label,
            EN.phone_prefix_again,
            EN.limits_from,
            EN.limits_to,
            EN.limit_provider,
            EN.limit_terminal,
            EN.limit_no_change,
            EN.cash_in_pay_only,
            EN.wait_for_bill,
        ] {
            assert!(!text.is_empty() && !russian(text), "{text}");
        }
    }
}
