//! A fee calculator that runs in the browser with the very rule the servers apply
//! (`shared::fee`), so an operator can try a fee rule before signing it into a contract.

use leptos::prelude::*;
use shared::fee::FeeRule;
use shared::money::Kopecks;

use super::i18n::{Lang, t, use_lang};
use super::money::{format_amount, format_number, parse_amount};

/// Amounts offered as one-click buttons, in roubles.
const QUICK_AMOUNTS_RUB: [i64; 4] = [100, 500, 1000, 5000];

/// Why no fee can be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Amount,
    Rule,
}

/// Percent with up to two decimals ("1.5") is a number of basis points (150).
fn parse_percent_bp(lang: Lang, text: &str) -> Option<u32> {
    let hundredths = parse_amount(lang, text).ok()?;
    u32::try_from(hundredths.get()).ok()
}

fn compute(
    lang: Lang,
    amount: &str,
    percent: &str,
    fixed: &str,
    min: &str,
    max: &str,
) -> Result<(Kopecks, Kopecks), Problem> {
    let amount = parse_amount(lang, amount).map_err(|_| Problem::Amount)?;
    if amount.is_negative() {
        return Err(Problem::Amount);
    }
    let money = |text: &str| parse_amount(lang, text).map_err(|_| Problem::Rule);
    let rule = FeeRule {
        percent_bp: parse_percent_bp(lang, percent).ok_or(Problem::Rule)?,
        fixed: money(fixed)?,
        min: money(min)?,
        max: if max.trim().is_empty() {
            None
        } else {
            Some(money(max)?)
        },
    };
    rule.validate().map_err(|_| Problem::Rule)?;
    let fee = rule.fee(amount).map_err(|_| Problem::Rule)?;
    let total = amount.checked_add(fee).ok_or(Problem::Amount)?;
    Ok((fee, total))
}

/// One labelled money input bound to a signal.
fn money_field(
    id: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                inputmode="decimal"
                autocomplete="off"
                placeholder=hint.unwrap_or_default()
                // The attribute shows the value before hydration; the property keeps it in sync after.
                value=value.get_untracked()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </div>
    }
}

/// The calculator; `title` says whose fee it is (the agent's at processing, the
/// public's at the agent).
#[component]
pub fn FeeCalculator(title: &'static str) -> impl IntoView {
    let t = t();
    let lang = use_lang();
    let number = move |kopecks: i64| format_number(lang, Kopecks::new(kopecks));
    let amount = RwSignal::new(number(10_000));
    let percent = RwSignal::new(number(150));
    let fixed = RwSignal::new(number(0));
    let min = RwSignal::new(number(1_000));
    let max = RwSignal::new(String::new());
    let outcome = move || {
        compute(
            lang,
            &amount.get(),
            &percent.get(),
            &fixed.get(),
            &min.get(),
            &max.get(),
        )
    };
    let quick = QUICK_AMOUNTS_RUB
        .into_iter()
        .map(|rub| {
            view! {
                <button type="button" class="quick-amount" on:click=move |_| amount.set(number(rub * 100))>
                    {format!("{rub} ₽")}
                </button>
            }
        })
        .collect_view();
    view! {
        <section class="card" id="fee-calculator" aria-labelledby="fee-calculator-title">
            <h2 id="fee-calculator-title">{title}</h2>
            <p class="hint">{t.fee_calc_hint}</p>
            <div class="quick" role="group" aria-label=t.fee_quick_amounts>{quick}</div>
            <div class="fields">
                {money_field("fee-amount", t.fee_amount, None, amount)}
                {money_field("fee-percent", t.fee_percent, None, percent)}
                {money_field("fee-fixed", t.fee_fixed, None, fixed)}
                {money_field("fee-min", t.fee_min, None, min)}
                {money_field("fee-max", t.fee_max, Some(t.fee_max_hint), max)}
            </div>
            <output class="result" for="fee-amount fee-percent fee-fixed fee-min fee-max" aria-live="polite">
                {move || match outcome() {
                    Ok((fee, total)) => view! {
                        <dl>
                            <dt>{t.fee_result}</dt>
                            <dd id="fee-result">{format_amount(lang, fee)}</dd>
                            <dt>{t.fee_total}</dt>
                            <dd id="fee-total">{format_amount(lang, total)}</dd>
                        </dl>
                    }.into_any(),
                    Err(Problem::Amount) => view! { <p class="error" role="alert">{t.fee_bad_amount}</p> }.into_any(),
                    Err(Problem::Rule) => view! { <p class="error" role="alert">{t.fee_bad_rule}</p> }.into_any(),
                }}
            </output>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_like_the_servers() {
        assert_eq!(
            compute(Lang::En, "100.00", "1.50", "0", "10.00", ""),
            Ok((Kopecks::new(1000), Kopecks::new(11000)))
        );
        assert_eq!(
            compute(Lang::Ru, "1000", "1,5", "0", "10", ""),
            Ok((Kopecks::new(1500), Kopecks::new(101_500)))
        );
        assert_eq!(
            compute(Lang::Ru, "1 000", "1.5", "0", "10", "12"),
            Ok((Kopecks::new(1200), Kopecks::new(101_200)))
        );
        assert_eq!(
            compute(Lang::En, "10,5", "1.5", "0", "10", ""),
            Err(Problem::Amount)
        );
        assert_eq!(
            compute(Lang::Ru, "10", "101", "0", "0", ""),
            Err(Problem::Rule)
        );
        assert_eq!(
            compute(Lang::Ru, "10", "1", "0", "5", "4"),
            Err(Problem::Rule)
        );
    }
}
