//! `/`: the terminal as its operator watches it — open or blocked and why, the bill
//! validator, the cash box, the outbox of payments on their way, the deposit at
//! processing, today's payments and unresolved cash; the sync panel under it.

use leptos::prelude::*;
use shared::money::Kopecks;

use super::texts::texts;
use crate::agent::figures::{Dashboard, Queued, Validator};
use crate::dashboard::{Tile, Tone, dash_texts, duration_text};
use crate::ui::i18n::use_lang;
use crate::ui::rub;
use crate::ui::when::date_time;

#[server(prefix = "/ui", endpoint = "agent/dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, ServerFnError> {
    use crate::ui::server_fn::{failed, role_state};
    let state: crate::agent::server::AgentState = role_state()?;
    crate::agent::server::dashboard::dashboard(&state)
        .await
        .map_err(failed)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    crate::dashboard::page(dash_texts().agent_title, load_dashboard, |d| {
        view! { <Figures d=d/> }.into_any()
    })
}

#[component]
fn Figures(d: Dashboard) -> impl IntoView {
    let t = dash_texts();
    let a = texts();
    let reasons = d
        .status
        .blocked_reasons
        .iter()
        .map(|r| a.blocked(r))
        .collect::<Vec<_>>()
        .join("; ");
    let (validator, validator_note, validator_tone) = match &d.validator {
        Validator::Working => (t.validator_ok, String::new(), Tone::Good),
        Validator::Fault(why) => (t.validator_fault, why.clone(), Tone::Bad),
        Validator::Unknown => (t.validator_unknown, String::new(), Tone::Warn),
    };
    let since = match &d.cash_box.since {
        Some(at) => format!("{} {}", t.since_collection, date_time(use_lang(), at)),
        None => t.never_collected.to_owned(),
    };
    let outbox_note = match d.outbox_oldest_age_secs {
        Some(age) => format!("{} {}", t.outbox_oldest, duration_text(age, t)),
        None => t.outbox_empty.to_owned(),
    };
    let outbox_tone = match d.outbox_oldest_age_secs {
        Some(age) if age > 600 => Tone::Bad,
        Some(_) => Tone::Warn,
        None => Tone::Good,
    };
    let available = d.status.available.amount;
    let (unresolved_figure, unresolved_note, unresolved_tone) = if d.unresolved_count > 0 {
        (
            rub(Kopecks::new(d.unresolved_cash)),
            d.unresolved_count.to_string(),
            Tone::Warn,
        )
    } else {
        (t.unresolved_none.to_owned(), String::new(), Tone::Plain)
    };
    let terminal_tone = if d.status.blocked {
        Tone::Bad
    } else {
        Tone::Good
    };
    let deposit_tone = if available.is_positive() {
        Tone::Plain
    } else {
        Tone::Bad
    };
    view! {
        <div class="tiles">
            <Tile id="tile-terminal" label=a.op_status
                figure=(if d.status.blocked { a.op_blocked } else { a.op_open }).to_owned()
                note=reasons tone=terminal_tone/>
            <Tile id="tile-validator" label=t.validator figure=validator.to_owned() note=validator_note tone=validator_tone/>
            <Tile id="tile-cash-box" label=t.cash_box figure=rub(d.cash_box.expected)
                note=format!("{}: {} · {since}", t.bills_n, d.cash_box.bill_count)
                count=d.cash_box.bill_count kopecks=d.cash_box.expected.get()/>
            <Tile id="tile-outbox" label=t.outbox figure=d.outbox_count.to_string() note=outbox_note
                tone=outbox_tone count=d.outbox_count/>
            <Tile id="tile-deposit" label=a.op_available figure=rub(available)
                note=format!("{} {}", a.op_balance.to_lowercase(), rub(d.status.balance.amount))
                tone=deposit_tone kopecks=available.get()/>
            <Tile id="tile-today" label=t.payments_today figure=rub(Kopecks::new(d.cash_today))
                note=format!("{}: {}", t.payments_n, d.payments_today) count=d.payments_today kopecks=d.cash_today/>
            <Tile id="tile-unresolved" label=t.unresolved_cash
                figure=unresolved_figure note=unresolved_note tone=unresolved_tone
                count=d.unresolved_count kopecks=d.unresolved_cash/>
        </div>
        <section class="card" id="outbox" aria-labelledby="outbox-h">
            <h2 id="outbox-h">{t.outbox_title}</h2>
            <OutboxTable rows=d.outbox/>
            <p><a href="/payments">{t.more_details}</a></p>
        </section>
    }
}

#[component]
fn OutboxTable(rows: Vec<Queued>) -> impl IntoView {
    let t = dash_texts();
    if rows.is_empty() {
        return view! { <p class="ok">{format!("{} {}", t.outbox, t.outbox_empty)}</p> }.into_any();
    }
    let rows = rows
        .into_iter()
        .map(|q| {
            let when = date_time(use_lang(), &q.created_at);
            view! {
                <tr data-payment-id=q.id title=q.last_error.unwrap_or_default()>
                    <td>{q.provider_name}</td>
                    <td>{q.account}</td>
                    <td class="num">{rub(Kopecks::new(q.amount))}</td>
                    <td>{when}</td>
                    <td class="num">{q.attempts}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="grid">
            <thead><tr>
                <th scope="col">{t.col_provider}</th>
                <th scope="col">{t.col_account}</th>
                <th scope="col" class="num">{t.col_amount}</th>
                <th scope="col">{t.col_when}</th>
                <th scope="col" class="num">{t.col_attempts}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
