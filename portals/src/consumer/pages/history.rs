//! `/history`: each contract's charges and payments as its provider keeps them, newest
//! first; a provider that does not answer is named in its block, the others still show.
//! And the header's subscriber, learned from the same answers.

use leptos::prelude::*;

use crate::consumer::server_types::{ContractHistory, HistoryOutcome};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::rub;

struct Texts {
    title: &'static str,
    intro: &'static str,
    loading: &'static str,
    no_contracts: &'static str,
    empty: &'static str,
    account: &'static str,
    col_when: &'static str,
    col_what: &'static str,
    col_amount: &'static str,
    col_balance: &'static str,
    payment: &'static str,
    unreachable: &'static str,
    refused: &'static str,
    wrong_password: &'static str,
    failed: &'static str,
    subscriber: &'static str,
    call: &'static str,
    sms: &'static str,
    internet: &'static str,
}

static RU: Texts = Texts {
    title: "История",
    intro: "Списания за услуги и платежи по каждому договору — так, как их учитывает поставщик.",
    loading: "Загрузка…",
    no_contracts: "Договоров пока нет: добавьте договор на странице «Договоры».",
    empty: "Операций пока не было.",
    account: "Счёт",
    col_when: "Когда (UTC)",
    col_what: "Операция",
    col_amount: "Сумма",
    col_balance: "Остаток после",
    payment: "Пополнение счёта",
    unreachable: "Поставщик не ответил",
    refused: "Поставщик отказал, код ответа",
    wrong_password: "Поставщик не принял логин и пароль договора.",
    failed: "Не получилось",
    subscriber: "Абонент",
    call: "Звонки",
    sms: "SMS",
    internet: "Интернет",
};

static EN: Texts = Texts {
    title: "History",
    intro: "Charges for services and payments on each contract, as the provider records them.",
    loading: "Loading…",
    no_contracts: "No contracts yet: add one on the Contracts page.",
    empty: "No operations yet.",
    account: "Account",
    col_when: "When (UTC)",
    col_what: "Operation",
    col_amount: "Amount",
    col_balance: "Balance after",
    payment: "Payment to the account",
    unreachable: "The provider did not answer",
    refused: "The provider refused, status",
    wrong_password: "The provider did not accept the contract's login and password.",
    failed: "Failed",
    subscriber: "Subscriber",
    call: "Calls",
    sms: "SMS",
    internet: "Internet",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

impl Texts {
    /// A usage line: the service's name and the quantity; an unknown service as sent.
    fn usage(&self, service: Option<&str>, quantity: Option<i64>) -> String {
        let name = match service {
            Some("call") => self.call,
            Some("sms") => self.sms,
            Some("internet") => self.internet,
            Some(other) => return format!("{other} × {}", quantity.unwrap_or(1)),
            None => "—",
        };
        format!("{name} × {}", quantity.unwrap_or(1))
    }
}

#[server(prefix = "/ui", endpoint = "consumer/history")]
pub async fn load_history() -> Result<Vec<ContractHistory>, ServerFnError> {
    let state = crate::ui::server_fn::role_state::<crate::consumer::server::ConsumerState>()?;
    Ok(crate::consumer::server::history::all(&state).await)
}

#[server(prefix = "/ui", endpoint = "consumer/subscriber")]
pub async fn load_subscriber() -> Result<Option<String>, ServerFnError> {
    let state = crate::ui::server_fn::role_state::<crate::consumer::server::ConsumerState>()?;
    Ok(crate::consumer::server::history::subscriber_label(&state).await)
}

/// `2026-11-26T10:15:00Z` → `2026-11-26 10:15`.
fn minute(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let t = texts();
    let data = Resource::new(|| (), |_| load_history());
    view! {
        <h1>{t.title}</h1>
        <p class="intro">{t.intro}</p>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || data.get().map(|result| match result {
                Ok(blocks) if blocks.is_empty() => view! { <section class="card"><p class="empty-state">{t.no_contracts}</p></section> }.into_any(),
                Ok(blocks) => blocks.into_iter().map(|b| view! { <ContractBlock block=b/> }).collect_view().into_any(),
                Err(e) => view! { <p class="error" role="alert">{format!("{}: {e}", t.failed)}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ContractBlock(block: ContractHistory) -> impl IntoView {
    let t = texts();
    let body = match block.outcome {
        HistoryOutcome::Entries(entries) if entries.is_empty() => {
            view! { <p class="empty-state">{t.empty}</p> }.into_any()
        }
        HistoryOutcome::Entries(entries) => {
            let rows = entries
                .into_iter()
                .map(|e| {
                    let what = if e.kind == "payment" {
                        t.payment.to_owned()
                    } else {
                        t.usage(e.service.as_deref(), e.quantity)
                    };
                    let sign = if e.amount.amount.get() < 0 {
                        "charge"
                    } else {
                        "credit"
                    };
                    view! {
                        <tr class=format!("history-{}", e.kind)>
                            <td>{minute(&e.created_at)}</td>
                            <td>{what}</td>
                            <td class=format!("num {sign}")>{rub(e.amount.amount)}</td>
                            <td class="num">{rub(e.balance_after.amount)}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="grid">
                    <thead><tr>
                        <th scope="col">{t.col_when}</th>
                        <th scope="col">{t.col_what}</th>
                        <th scope="col" class="num">{t.col_amount}</th>
                        <th scope="col" class="num">{t.col_balance}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        }
        HistoryOutcome::Refused(401) => {
            view! { <p class="error" role="alert">{t.wrong_password}</p> }.into_any()
        }
        HistoryOutcome::Refused(status) => {
            view! { <p class="error" role="alert">{format!("{} {status}.", t.refused)}</p> }
                .into_any()
        }
        HistoryOutcome::Unreachable(why) => {
            view! { <p class="error" role="alert">{format!("{}: {why}", t.unreachable)}</p> }
                .into_any()
        }
    };
    view! {
        <section class="card history" id=format!("history-{}", block.contract_id)>
            <h2>{format!("{} · {} {}", block.provider_name, t.account, block.account)}</h2>
            {body}
        </section>
    }
}

/// The consumer's header: who the subscriber is (their name once a provider gave it with
/// the history, else the accounts).
#[component]
pub fn SubscriberName() -> impl IntoView {
    let t = texts();
    let who = Resource::new(|| (), |_| load_subscriber());
    view! {
        <span class="who" id="subscriber-name">
            <Transition fallback=|| ()>
                {move || who.get().and_then(Result::ok).flatten().map(|name| format!("{}: {name}", t.subscriber))}
            </Transition>
        </span>
    }
}
