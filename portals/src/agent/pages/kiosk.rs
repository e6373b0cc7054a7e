//! `/kiosk` (kiosk realm): the screens the public uses with cash in hand. Choose the
//! provider (`kiosk_start`) → one screen per payment field of the catalog, in order
//! (`kiosk_field`: the keypad the field's regex calls for, its mask — +7 for a mobile
//! number —, label, hint, and a live check with the shared matcher) → check with
//! processing → insert cash (`kiosk_cash`: the totals, and the most the terminal can
//! still take and why, follow each stacked bill) → pay → receipt with every field.
//!
//! Back and Cancel lead out of every step until cash is in; from then on only Pay. After
//! `--kiosk-idle-s` without a touch the kiosk goes to its attract screen; with cash
//! inserted it pays instead: money is never left behind.
//!
//! The page never adds cash: kiosk-shell reports each stacked bill to the agent with its
//! own credential; the page only enables the validator (up to what the agent says the
//! session can take) and shows the session's totals as the agent has them.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::fields::FieldSet;
use shared::wire::agent::{CatalogProvider, CheckAnswer, Extra};

use super::bridge::Bridge;
use super::kiosk_cash::{CashScreen, cash_in, taking_a_bill};
use super::kiosk_field::{FieldScreen, Notes, field_label, phone_mask, shown};
use super::kiosk_start::{AttractScreen, StartScreen};
use super::texts::texts;
use crate::agent::model::{KioskState, KioskTiming, Receipt, SessionView};
use crate::ui::rub;

/// How often the start screen asks whether the terminal is blocked or serving again.
const START_REFRESH_SECONDS: u32 = 10;

#[cfg(feature = "ssr")]
fn agent_state() -> Result<crate::agent::server::AgentState, ServerFnError> {
    crate::ui::server_fn::role_state()
}

/// How a refusal of the typed values starts, so that the page can tell the customer to
/// check them rather than blame the provider.
const VALUES_REFUSED: &str = "values refused";

#[cfg(feature = "ssr")]
fn refused(error: shared::error::ApiError) -> ServerFnError {
    use shared::error::ApiError;
    match &error {
        ApiError::Validation { fields } => ServerFnError::new(format!(
            "{VALUES_REFUSED}: {}",
            fields.values().cloned().collect::<Vec<_>>().join("; ")
        )),
        ApiError::TerminalBlocked { .. }
        | ApiError::ProviderUnavailable { .. }
        | ApiError::NotFound { .. } => ServerFnError::new(error.to_string()),
        _ => {
            tracing::error!(error = %error, "kiosk request failed");
            ServerFnError::new("internal error")
        }
    }
}

#[server(prefix = "/ui/kiosk", endpoint = "state")]
pub async fn load_kiosk_state() -> Result<KioskState, ServerFnError> {
    crate::agent::server::kiosk::kiosk_state(&agent_state()?)
        .await
        .map_err(refused)
}

/// The longest `extra` a server function takes, as JSON text: every field at its longest.
#[cfg(feature = "ssr")]
const EXTRA_JSON_MAX_BYTES: usize = 8 * 1024;

/// The fields after `account`, as the page sends them (a JSON object: the form encoding
/// of server functions has no maps). Bounded before it is parsed; the agent then checks
/// every value against the provider's fields.
#[cfg(feature = "ssr")]
fn parse_extra(text: &str) -> Result<Extra, ServerFnError> {
    if text.len() > EXTRA_JSON_MAX_BYTES {
        return Err(ServerFnError::new("too many payment fields"));
    }
    serde_json::from_str(text).map_err(|_| ServerFnError::new("malformed payment fields"))
}

#[server(prefix = "/ui/kiosk", endpoint = "check")]
pub async fn kiosk_check(
    provider_id: i64,
    account: String,
    extra: String,
) -> Result<CheckAnswer, ServerFnError> {
    let request = shared::wire::agent::CheckRequest {
        provider_id,
        account,
        extra: parse_extra(&extra)?,
    };
    crate::agent::server::kiosk::check(&agent_state()?, &request)
        .await
        .map_err(refused)
}

#[server(prefix = "/ui/kiosk", endpoint = "open")]
pub async fn kiosk_open(
    provider_id: i64,
    account: String,
    extra: String,
) -> Result<SessionView, ServerFnError> {
    crate::agent::server::kiosk::open(
        &agent_state()?,
        provider_id,
        &account,
        &parse_extra(&extra)?,
    )
    .await
    .map_err(refused)
}

/// The session as the agent has it now: the cash kiosk-shell has reported into it.
#[server(prefix = "/ui/kiosk", endpoint = "session")]
pub async fn kiosk_session(session_id: i64) -> Result<SessionView, ServerFnError> {
    crate::agent::server::kiosk::session_view(&agent_state()?, session_id)
        .await
        .map_err(refused)
}

#[server(prefix = "/ui/kiosk", endpoint = "pay")]
pub async fn kiosk_pay(session_id: i64) -> Result<Receipt, ServerFnError> {
    crate::agent::server::kiosk::pay_and_wait(&agent_state()?, session_id)
        .await
        .map_err(refused)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Screen {
    /// Nobody has touched the kiosk for a while: a touch anywhere starts.
    Attract,
    /// What to pay for.
    Start,
    /// One payment field of the provider; which one is `step`.
    Field,
    Cash,
    Receipt,
}

/// Where the customer goes from the cash screen while no cash is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leave {
    /// The last field, its value kept.
    Back,
    /// The start, everything dropped.
    Cancel,
    /// The attract screen: the customer walked away.
    Idle,
}

/// The values typed on the field screens, split as the API takes them: the first field
/// is `account` (the shared model requires it), the others go into `extra` by name.
fn split_values(provider: &CatalogProvider, values: &[String]) -> (String, Extra) {
    let mut account = String::new();
    let mut extra = Extra::new();
    for (field, value) in provider.fields.iter().zip(values) {
        if field.name == shared::fields::ACCOUNT {
            account = value.clone();
        } else {
            extra.insert(field.name.clone(), value.clone());
        }
    }
    (account, extra)
}

#[component]
pub fn KioskPage() -> impl IntoView {
    let t = texts();
    let state = Resource::new(|| (), |_| load_kiosk_state());
    let screen = RwSignal::new(Screen::Start);
    let provider = RwSignal::new(None::<CatalogProvider>);
    // The provider's fields compiled once, when it is chosen (None: the catalog's
    // definitions do not compile, and no value can be valid).
    let field_set = RwSignal::new(None::<FieldSet>);
    // One value per field of the provider, in its order; `step` is the field on screen.
    let values = RwSignal::new(Vec::<String>::new());
    let step = RwSignal::new(0usize);
    let notes = Notes::new();
    let message = notes.message;
    let session = RwSignal::new(None::<SessionView>);
    let receipt = RwSignal::new(None::<Receipt>);
    let busy = RwSignal::new(false);
    let idle = RwSignal::new(0u32);
    // Bumped whenever the customer leaves a step: the answer to a request made on an
    // earlier step (a check still running when Back was pressed) is dropped.
    let flow = RwSignal::new(0u32);
    // The session left by Back or Cancel before any cash: a banknote stacked at the
    // last moment brings the customer back to it, where only Pay leads on.
    let left = RwSignal::new(None::<i64>);
    let bridge = Bridge::new();

    let loaded = move || state.get_untracked().and_then(Result::ok);
    let idle_s = move || loaded().map_or(KioskTiming::DEFAULT_IDLE_S, |k| k.idle_s);
    let restart = move |to: Screen| {
        // Money is never left on a screen: with cash in and no receipt yet, only Pay
        // (or the idle timeout, which pays) leaves the cash screen.
        if cash_in(&session.get_untracked()) && receipt.get_untracked().is_none() {
            return;
        }
        flow.update(|f| *f = f.wrapping_add(1));
        provider.set(None);
        field_set.set(None);
        values.set(Vec::new());
        step.set(0);
        notes.clear();
        session.set(None);
        receipt.set(None);
        busy.set(false);
        // A blocked terminal keeps its notice on the first screen instead.
        let blocked = loaded().is_some_and(|k| k.status.blocked);
        screen.set(if to == Screen::Attract && blocked {
            Screen::Start
        } else {
            to
        });
        state.refetch();
    };
    let pay = move || {
        let Some(id) = session.get_untracked().map(|s| s.session_id) else {
            return;
        };
        busy.set(true);
        // No more cash once the customer pays.
        if bridge.present.get_untracked() {
            bridge.disable();
        }
        message.set(Some(t.paying.to_owned()));
        spawn_local(async move {
            match kiosk_pay(id).await {
                Ok(r) => {
                    receipt.set(Some(r));
                    message.set(None);
                    screen.set(Screen::Receipt);
                }
                Err(e) => message.set(Some(format!("{}: {e}", t.failed))),
            }
            busy.set(false);
        });
    };
    // Back, Cancel or the idle timeout on the cash screen: only while no cash is in and
    // no banknote is on its way, and only after the agent confirms that the session is
    // still empty (a note may have been stacked a moment ago).
    let leave_cash = move |to: Leave| {
        let Some(open) = session.get_untracked() else {
            return;
        };
        if open.cash.is_positive() || taking_a_bill(&bridge) || busy.get_untracked() {
            return;
        }
        busy.set(true);
        if bridge.present.get_untracked() {
            bridge.disable();
        }
        let at = flow.get_untracked();
        spawn_local(async move {
            let now = kiosk_session(open.session_id).await;
            busy.set(false);
            if flow.get_untracked() != at {
                return;
            }
            if let Ok(now) = &now
                && now.cash.is_positive()
            {
                session.set(Some(now.clone()));
                return;
            }
            left.set(Some(open.session_id));
            session.set(None);
            match to {
                Leave::Back => {
                    flow.update(|f| *f = f.wrapping_add(1));
                    screen.set(Screen::Field);
                }
                Leave::Cancel => restart(Screen::Start),
                Leave::Idle => restart(Screen::Attract),
            }
        });
    };
    // The idle clock runs in the browser only (effects do not run on the server).
    Effect::new(move |_| {
        set_interval(
            move || {
                idle.update(|s| *s += 1);
                let now = screen.get_untracked();
                // At rest, the first screens follow the terminal's state: a block (no
                // contract yet, no funds, a validator fault) lifts on screen within seconds.
                if matches!(now, Screen::Start | Screen::Attract)
                    && idle.get_untracked().is_multiple_of(START_REFRESH_SECONDS)
                {
                    state.refetch();
                }
                // On the cash screen the totals follow what kiosk-shell has reported.
                if now == Screen::Cash && bridge.present.get_untracked() {
                    refresh(session);
                }
                if idle.get_untracked() < idle_s() || busy.get_untracked() {
                    return;
                }
                idle.set(0);
                match now {
                    Screen::Attract => {}
                    Screen::Cash if cash_in(&session.get_untracked()) => pay(),
                    Screen::Cash => leave_cash(Leave::Idle),
                    Screen::Start | Screen::Field | Screen::Receipt => restart(Screen::Attract),
                }
            },
            Duration::from_secs(1),
        );
    });

    // kiosk-shell's bridge, when the page runs in the terminal's window.
    Effect::new(move |_| bridge.start());
    // The validator takes cash only on the cash screen, up to the room left; said again
    // after every reconnect.
    Effect::new(move |_| {
        let on_cash = screen.get() == Screen::Cash;
        let _ = bridge.generation.get();
        if !bridge.present.get_untracked() {
            return;
        }
        match session.get_untracked() {
            // kiosk-shell asks the agent too and enables the smaller of the two.
            Some(s) if on_cash => bridge.enable(s.acceptable),
            _ => bridge.disable(),
        }
    });
    // Each stacked bill: kiosk-shell reports it to the agent itself; the page shows the
    // session's new totals and tells the shell it has seen the bill.
    Effect::new(move |_| {
        let queue = bridge.bills.get();
        if queue.is_empty() {
            return;
        }
        for bill in &queue {
            bridge.ack(&bill.event_id);
        }
        bridge.bills.set(Vec::new());
        idle.set(0);
        if screen.get_untracked() == Screen::Cash {
            refresh(session);
        } else if let Some(id) = left.get_untracked() {
            // A note stacked just as the customer left: back to its session.
            spawn_local(async move {
                if let Ok(view) = kiosk_session(id).await
                    && view.cash.is_positive()
                    && view.status == "open"
                {
                    flow.update(|f| *f = f.wrapping_add(1));
                    left.set(None);
                    busy.set(false);
                    session.set(Some(view));
                    screen.set(Screen::Cash);
                }
            });
        }
    });

    let choose = move |p: CatalogProvider| {
        field_set.set(FieldSet::compile(&p.fields).ok());
        values.set(vec![String::new(); p.fields.len()]);
        step.set(0);
        provider.set(Some(p));
        notes.clear();
        screen.set(Screen::Field);
    };
    // Back: the previous field, or the providers from the first one; a check still
    // running is dropped.
    let back = move || {
        flow.update(|f| *f = f.wrapping_add(1));
        busy.set(false);
        notes.clear();
        match step.get_untracked() {
            0 => restart(Screen::Start),
            n => step.set(n - 1),
        }
    };
    // Next: the following field; after the last one, the check, then the cash screen.
    let next = move || {
        let Some(p) = provider.get_untracked() else {
            return;
        };
        notes.clear();
        if step.get_untracked() + 1 < p.fields.len() {
            step.update(|s| *s += 1);
            return;
        }
        let (account, extra) = split_values(&p, &values.get_untracked());
        let extra = serde_json::to_string(&extra).unwrap_or_else(|_| "{}".to_owned());
        busy.set(true);
        message.set(Some(t.checking.to_owned()));
        let at = flow.get_untracked();
        let current = move || flow.get_untracked() == at;
        spawn_local(async move {
            let refused = match kiosk_check(p.provider_id, account.clone(), extra.clone()).await {
                Ok(_) if !current() => None,
                Ok(answer) => match t.check(answer.result) {
                    None => match kiosk_open(p.provider_id, account, extra).await {
                        Ok(s) if current() => {
                            session.set(Some(s));
                            message.set(None);
                            screen.set(Screen::Cash);
                            None
                        }
                        Ok(_) => None,
                        Err(e) => Some(format!("{}: {e}", t.failed)),
                    },
                    Some(words) => Some(words.to_owned()),
                },
                Err(e) if e.to_string().contains(VALUES_REFUSED) => {
                    Some(t.values_refused.to_owned())
                }
                Err(_) => Some(t.check_unavailable.to_owned()),
            };
            if current() {
                busy.set(false);
                if let Some(why) = refused {
                    message.set(None);
                    notes.refusal.set(Some(why));
                }
            }
        });
    };
    let start = move || {
        idle.set(0);
        screen.set(Screen::Start);
    };
    // The language switch reloads the page: never while cash is in or a payment runs.
    let may_switch =
        move || screen.get() != Screen::Cash || !(cash_in(&session.get()) || busy.get());

    view! {
        <div class="kiosk" on:click=move |_| idle.set(0)>
            <header class="kiosk-top">
                <h1>{t.kiosk_title}</h1>
                {move || may_switch().then(|| {
                    let other = crate::ui::i18n::use_lang().other();
                    view! {
                        <a class="kiosk-lang" id="kiosk-lang" rel="external" href=format!("/lang?to={}&back=/kiosk", other.code())>
                            {other.t().language_name}
                        </a>
                    }
                })}
            </header>
            <Transition fallback=|| ()>
                {move || state.get().map(|result| match result {
                    Err(e) => view! { <p class="kiosk-message error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                    Ok(kiosk) => match screen.get() {
                        Screen::Attract => view! { <AttractScreen kiosk start/> }.into_any(),
                        Screen::Start => view! { <StartScreen kiosk choose cancel=move || restart(Screen::Attract)/> }.into_any(),
                        Screen::Field => view! {
                            <FieldScreen provider field_set values step notes busy back cancel=move || restart(Screen::Start) next/>
                        }.into_any(),
                        Screen::Cash => view! {
                            <CashScreen session message busy dev_mode=kiosk.dev_mode bridge pay
                                        back=move || leave_cash(Leave::Back) cancel=move || leave_cash(Leave::Cancel)/>
                        }.into_any(),
                        Screen::Receipt => view! { <ReceiptScreen receipt provider done=move || restart(Screen::Start)/> }.into_any(),
                    },
                })}
            </Transition>
        </div>
    }
}

/// Every payment field of a receipt, labelled and masked as on its screen (a mobile
/// number through +7), in the catalog's order; a field the catalog no longer has is
/// shown by its name.
fn receipt_fields(
    receipt: &Receipt,
    provider: Option<&CatalogProvider>,
    lang: &'static str,
    account_label: &'static str,
) -> AnyView {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let known = provider.map(|p| p.fields.as_slice()).unwrap_or_default();
    let set = provider.and_then(|p| FieldSet::compile(&p.fields).ok());
    let value_of = |name: &str| {
        if name == shared::fields::ACCOUNT {
            Some(receipt.account.clone())
        } else {
            receipt.extra.get(name).cloned()
        }
    };
    for field in known {
        if let (Some(value), Some(p)) = (value_of(&field.name), provider) {
            rows.push((
                field.name.clone(),
                field_label(
                    field,
                    lang,
                    phone_mask(p, set.as_ref(), field).is_some(),
                    texts(),
                ),
                shown(p, set.as_ref(), field, &value),
            ));
        }
    }
    if !known.iter().any(|f| f.name == shared::fields::ACCOUNT) {
        rows.insert(
            0,
            (
                shared::fields::ACCOUNT.to_owned(),
                account_label.to_owned(),
                receipt.account.clone(),
            ),
        );
    }
    for (name, value) in &receipt.extra {
        if !known.iter().any(|f| &f.name == name) {
            rows.push((name.clone(), name.clone(), value.clone()));
        }
    }
    rows.into_iter()
        .map(|(name, label, value)| view! { <dt>{label}</dt><dd id=format!("receipt-field-{name}")>{value}</dd> })
        .collect_view()
        .into_any()
}

/// Reloads the open session's totals from the agent.
fn refresh(session: RwSignal<Option<SessionView>>) {
    let Some(open) = session.get_untracked().filter(|s| s.status == "open") else {
        return;
    };
    spawn_local(async move {
        if let Ok(view) = kiosk_session(open.session_id).await
            && session
                .get_untracked()
                .is_some_and(|s| s.session_id == view.session_id && s != view)
        {
            session.set(Some(view));
        }
    });
}

/// The receipt's head: who took the cash and how to reach them; unset settings are left off.
fn issuer_rows(
    issuer: &crate::agent::model::ReceiptIssuer,
    t: &'static super::texts::Texts,
) -> AnyView {
    [
        ("legal-name", t.legal_name, &issuer.legal_name),
        ("inn", t.inn, &issuer.inn),
        ("address", t.address, &issuer.address),
        ("terminal-id", t.terminal_id, &issuer.terminal_id),
        ("support-phone", t.support_phone, &issuer.support_phone),
    ]
    .into_iter()
    .filter_map(|(id, label, value)| {
        let value = value.clone().filter(|v| !v.trim().is_empty())?;
        Some(view! { <dt>{label}</dt><dd id=format!("receipt-{id}")>{value}</dd> })
    })
    .collect_view()
    .into_any()
}

#[component]
fn ReceiptScreen(
    receipt: RwSignal<Option<Receipt>>,
    provider: RwSignal<Option<CatalogProvider>>,
    done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let t = texts();
    let lang = crate::ui::i18n::use_lang().code();
    let print = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    };
    view! {
        {move || receipt.get().map(|r| view! {
            <section class="receipt" id="receipt" data-status=r.status.clone()>
                <h2>{t.receipt_title}</h2>
                <dl>
                    {issuer_rows(&r.issuer, t)}
                    <dt>{t.agent}</dt><dd>{r.agent.clone()}</dd>
                    <dt>{t.terminal}</dt><dd>{r.terminal.clone()}</dd>
                    <dt>{t.provider}</dt><dd>{r.provider.clone()}</dd>
                    {receipt_fields(&r, provider.get_untracked().as_ref(), lang, t.account)}
                    <dt>{t.accepted}</dt><dd>{rub(r.cash)}</dd>
                    <dt>{t.fee}</dt><dd>{rub(r.agent_fee)}</dd>
                    // Only a completed payment says «Зачислено»: one on its way says it
                    // will be, a refused one that it was not.
                    <dt id="receipt-amount-label">{t.amount_label(&r.status)}</dt><dd id="receipt-amount">{rub(r.amount)}</dd>
                    <dt>{t.operation_number}</dt><dd id="receipt-operation">{r.operation_number.clone()}</dd>
                    <dt>{t.date_time}</dt><dd id="receipt-time">{crate::ui::when::local_date_time(&r.local_time)}</dd>
                    <dt>{t.status}</dt><dd id="receipt-status">{t.status(&r.status)}</dd>
                    <dt>{t.payment_id}</dt><dd>{r.payment_id.map(|p| p.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t.agent_txn_id}</dt><dd class="receipt-small">{r.agent_txn_id.clone()}</dd>
                </dl>
                <super::cashbox::ClaimNotice code=r.claim_code.clone()/>
            </section>
        })}
        <div class="kiosk-actions no-print">
            <button type="button" class="kiosk-secondary" on:click=print>{t.print}</button>
            <button type="button" class="kiosk-primary" on:click=move |_| done()>{t.done}</button>
        </div>
    }
}
