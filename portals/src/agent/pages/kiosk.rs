//! `/kiosk` (kiosk realm): the screens the public uses with cash in hand. Choose the
//! provider → one screen per payment field of the catalog, in order (the keypad the
//! field's regex calls for, its mask, label, hint, and a live check with the shared
//! matcher) → check with processing → insert cash (the totals, and the most the terminal
//! can still take, follow each stacked bill) → pay → receipt with every field → back to
//! start after an idle timeout. Money is never left behind: an idle timeout with cash
//! inserted pays it.
//!
//! The page never adds cash: kiosk-shell reports each stacked bill to the agent with its
//! own credential; the page only enables the validator (up to what the agent says the
//! session can take) and shows the session's totals as the agent has them.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::fields::{Field, FieldSet, Keypad, MAX_VALUE_CHARS, keypad};
use shared::money::Kopecks;
use shared::wire::agent::{CatalogProvider, CheckAnswer, Extra};

use super::bridge::Bridge;
use super::texts::texts;
use crate::agent::model::{KioskState, Receipt, SessionView};
use crate::ui::rub;

/// Seconds without a touch before the kiosk goes back to the start (paying first if cash is in).
pub const IDLE_SECONDS: u32 = 90;
/// How often the start screen asks whether the terminal is blocked or serving again.
const START_REFRESH_SECONDS: u32 = 10;
/// Banknotes the simulator's panel offers, in roubles.
const SIMULATED_BILLS_RUB: [i64; 5] = [50, 100, 500, 1000, 5000];

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
    Start,
    /// One payment field of the provider; which one is `step`.
    Field,
    Cash,
    Receipt,
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
    let message = RwSignal::new(None::<String>);
    let session = RwSignal::new(None::<SessionView>);
    let receipt = RwSignal::new(None::<Receipt>);
    let busy = RwSignal::new(false);
    let idle = RwSignal::new(0u32);
    let bridge = Bridge::new();

    let reset = move || {
        screen.set(Screen::Start);
        provider.set(None);
        field_set.set(None);
        values.set(Vec::new());
        step.set(0);
        message.set(None);
        session.set(None);
        receipt.set(None);
        busy.set(false);
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
    // The idle clock runs in the browser only (effects do not run on the server).
    Effect::new(move |_| {
        set_interval(
            move || {
                idle.update(|s| *s += 1);
                // At rest, the start screen follows the terminal's state: a block (no
                // contract yet, no funds, a validator fault) lifts on screen within seconds.
                if screen.get_untracked() == Screen::Start
                    && idle.get_untracked().is_multiple_of(START_REFRESH_SECONDS)
                {
                    state.refetch();
                }
                // On the cash screen the totals follow what kiosk-shell has reported.
                if screen.get_untracked() == Screen::Cash && bridge.present.get_untracked() {
                    refresh(session);
                }
                if idle.get_untracked() < IDLE_SECONDS || busy.get_untracked() {
                    return;
                }
                idle.set(0);
                match screen.get_untracked() {
                    Screen::Start => state.refetch(),
                    Screen::Cash
                        if session
                            .get_untracked()
                            .is_some_and(|s| s.cash.is_positive()) =>
                    {
                        pay()
                    }
                    _ => reset(),
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
        refresh(session);
    });

    let choose = move |p: CatalogProvider| {
        field_set.set(FieldSet::compile(&p.fields).ok());
        values.set(vec![String::new(); p.fields.len()]);
        step.set(0);
        provider.set(Some(p));
        message.set(None);
        screen.set(Screen::Field);
    };
    // Back: the previous field, or the start from the first one.
    let back = move || {
        message.set(None);
        match step.get_untracked() {
            0 => reset(),
            n => step.set(n - 1),
        }
    };
    // Next: the following field; after the last one, the check, then the cash screen.
    let next = move || {
        let Some(p) = provider.get_untracked() else {
            return;
        };
        message.set(None);
        if step.get_untracked() + 1 < p.fields.len() {
            step.update(|s| *s += 1);
            return;
        }
        let (account, extra) = split_values(&p, &values.get_untracked());
        let extra = serde_json::to_string(&extra).unwrap_or_else(|_| "{}".to_owned());
        busy.set(true);
        message.set(Some(t.checking.to_owned()));
        spawn_local(async move {
            match kiosk_check(p.provider_id, account.clone(), extra.clone()).await {
                Ok(answer) => match t.check(answer.result) {
                    None => match kiosk_open(p.provider_id, account, extra).await {
                        Ok(s) => {
                            session.set(Some(s));
                            message.set(None);
                            screen.set(Screen::Cash);
                        }
                        Err(e) => message.set(Some(format!("{}: {e}", t.failed))),
                    },
                    Some(words) => message.set(Some(words.to_owned())),
                },
                Err(e) if e.to_string().contains(VALUES_REFUSED) => {
                    message.set(Some(t.values_refused.to_owned()))
                }
                Err(_) => message.set(Some(t.check_unavailable.to_owned())),
            }
            busy.set(false);
        });
    };

    view! {
        <div class="kiosk" on:click=move |_| idle.set(0)>
            <header class="kiosk-top">
                <h1>{t.kiosk_title}</h1>
                {move || {
                    let other = crate::ui::i18n::use_lang().other();
                    view! {
                        <a class="kiosk-lang" rel="external" href=format!("/lang?to={}&back=/kiosk", other.code())>
                            {other.t().language_name}
                        </a>
                    }
                }}
            </header>
            <Transition fallback=|| ()>
                {move || state.get().map(|result| match result {
                    Err(e) => view! { <p class="kiosk-message error">{format!("{}: {e}", t.failed)}</p> }.into_any(),
                    Ok(kiosk) => match screen.get() {
                        Screen::Start => view! { <StartScreen kiosk choose/> }.into_any(),
                        Screen::Field => view! { <FieldScreen provider field_set values step message busy back next/> }.into_any(),
                        Screen::Cash => view! { <CashScreen session message busy dev_mode=kiosk.dev_mode bridge pay/> }.into_any(),
                        Screen::Receipt => view! { <ReceiptScreen receipt provider done=reset/> }.into_any(),
                    },
                })}
            </Transition>
        </div>
    }
}

/// Every payment field of a receipt, labelled and masked as the provider's catalog entry
/// says, in its order; a field the catalog no longer has is shown by its name.
fn receipt_fields(
    receipt: &Receipt,
    provider: Option<&CatalogProvider>,
    lang: &'static str,
    account_label: &'static str,
) -> AnyView {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let known = provider.map(|p| p.fields.as_slice()).unwrap_or_default();
    let value_of = |name: &str| {
        if name == shared::fields::ACCOUNT {
            Some(receipt.account.clone())
        } else {
            receipt.extra.get(name).cloned()
        }
    };
    for field in known {
        if let Some(value) = value_of(&field.name) {
            rows.push((
                field.name.clone(),
                field.label_for(lang).to_owned(),
                field.masked(&value),
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

#[component]
fn StartScreen(
    kiosk: KioskState,
    choose: impl Fn(CatalogProvider) + Copy + Send + Sync + 'static,
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
            let buttons = kiosk
                .providers
                .iter()
                .filter(|p| p.service_kind == kind)
                .cloned()
                .map(|p| {
                    let name = p.name.clone();
                    view! { <button type="button" class="kiosk-tile" on:click=move |_| choose(p.clone())>{name}</button> }
                })
                .collect_view();
            view! {
                <section class="kiosk-group">
                    <h3>{t.kind(&kind)}</h3>
                    <div class="kiosk-tiles">{buttons}</div>
                </section>
            }
        })
        .collect_view();
    view! {
        <h2 class="kiosk-prompt">{t.choose_provider}</h2>
        {groups}
    }
    .into_any()
}

/// One payment field: its label and hint, the value as its mask shows it, one state line
/// from the shared matcher, the keypad its regex calls for, Back and Next.
#[component]
fn FieldScreen(
    provider: RwSignal<Option<CatalogProvider>>,
    field_set: RwSignal<Option<FieldSet>>,
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    message: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    back: impl Fn() + Copy + Send + Sync + 'static,
    next: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let t = texts();
    let lang = crate::ui::i18n::use_lang().code();
    let field = move || {
        provider
            .get()
            .and_then(|p| p.fields.get(step.get()).cloned())
    };
    let value = move || values.get().get(step.get()).cloned().unwrap_or_default();
    let valid = move || {
        field().is_some_and(|f| {
            field_set.with(|set| {
                set.as_ref()
                    .is_some_and(|set| set.matches(&f.name, &value()))
            })
        })
    };
    let state_line = move || match field() {
        _ if valid() => t.field_ok,
        Some(f) if keypad(&f) == Keypad::Options => t.field_choose,
        _ => t.field_bad,
    };
    let heading = move || {
        provider.get().map(|p| {
            format!(
                "{} · {} {} {} {}",
                p.name,
                t.step,
                step.get() + 1,
                t.step_of,
                p.fields.len()
            )
        })
    };
    view! {
        <h2 class="kiosk-prompt" id="kiosk-step">{heading}</h2>
        {move || field().map(|f| {
            let label = f.label_for(lang).to_owned();
            let hint = f.hint.clone();
            let pad = keypad(&f);
            let shown = {
                let f = f.clone();
                move || f.masked(&value())
            };
            view! {
                <label class="kiosk-field-label" for="kiosk-value" id="kiosk-label">{label}</label>
                <output class="kiosk-account" id="kiosk-value" data-keypad=format!("{pad:?}").to_lowercase() aria-live="polite">
                    {shown}
                </output>
                {hint.map(|h| view! { <p class="hint kiosk-hint" id="kiosk-hint">{h}</p> })}
                <p class=move || if valid() { "ok kiosk-state" } else { "hint kiosk-state" } id="kiosk-value-state" role="status">{state_line}</p>
                // The keypad beside the actions: a 1280×800 kiosk shows both without scrolling.
                <div class="kiosk-field-body">
                    {match pad {
                        Keypad::Options => view! { <OptionButtons field=f values step message/> }.into_any(),
                        Keypad::Digits => view! { <DigitKeypad values step message/> }.into_any(),
                        Keypad::Text => view! { <TextKeyboard values step message/> }.into_any(),
                    }}
                    <div class="kiosk-field-side">
                        <p class="kiosk-message" role="status" id="kiosk-message">{move || message.get()}</p>
                        <div class="kiosk-actions">
                            <button type="button" class="kiosk-secondary" id="kiosk-back" on:click=move |_| back()>{t.back}</button>
                            <button type="button" class="kiosk-primary" id="kiosk-next" disabled=move || !valid() || busy.get() on:click=move |_| next()>
                                {t.next}
                            </button>
                        </div>
                    </div>
                </div>
            }
        })}
    }
}

/// Changes the value of the field on screen (at most [`MAX_VALUE_CHARS`] characters).
fn edit(values: RwSignal<Vec<String>>, step: RwSignal<usize>, change: impl FnOnce(&mut String)) {
    let at = step.get_untracked();
    values.update(|all| {
        if let Some(value) = all.get_mut(at) {
            change(value);
            if value.chars().count() > MAX_VALUE_CHARS {
                value.pop();
            }
        }
    });
}

/// Digits only: the field's regex allows nothing else.
#[component]
fn DigitKeypad(
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let t = texts();
    let press = move |key: &'static str| {
        message.set(None);
        edit(values, step, |v| v.push_str(key));
    };
    let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
        .into_iter()
        .map(
            |k| view! { <button type="button" class="key" on:click=move |_| press(k)>{k}</button> },
        )
        .collect_view();
    view! {
        <div class="keypad" role="group">
            {keys}
            <button type="button" class="key" on:click=move |_| edit(values, step, |v| { v.pop(); })>{t.erase}</button>
            <button type="button" class="key" on:click=move |_| press("0")>"0"</button>
            <button type="button" class="key" on:click=move |_| edit(values, step, String::clear)>{t.clear}</button>
        </div>
    }
}

/// Letters of the page's language (Russian, or Latin in English) and digits.
#[component]
fn TextKeyboard(
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let t = texts();
    let press = move |key: char| {
        message.set(None);
        edit(values, step, |v| v.push(key));
    };
    let row = move |keys: &'static str| {
        let buttons = keys
            .chars()
            .map(|k| view! { <button type="button" class="key" data-key=k.to_string() on:click=move |_| press(k)>{k.to_string()}</button> })
            .collect_view();
        view! { <div class="keyboard-row">{buttons}</div> }
    };
    let rows = std::iter::once("1234567890")
        .chain(t.letter_rows.iter().copied())
        .map(row)
        .collect_view();
    view! {
        <div class="keyboard" role="group">
            {rows}
            <div class="keyboard-row">
                <button type="button" class="key" data-key="-" on:click=move |_| press('-')>"-"</button>
                <button type="button" class="key wide" data-key=" " on:click=move |_| press(' ')>{t.space}</button>
                <button type="button" class="key" on:click=move |_| edit(values, step, |v| { v.pop(); })>{t.erase}</button>
                <button type="button" class="key wide" on:click=move |_| edit(values, step, String::clear)>{t.clear}</button>
            </div>
        </div>
    }
}

/// A fixed list: one button per option, no typing.
#[component]
fn OptionButtons(
    field: Field,
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let buttons = field
        .options
        .into_iter()
        .map(|option| {
            let chosen = {
                let option = option.clone();
                Signal::derive(move || values.get().get(step.get()) == Some(&option))
            };
            let pick = {
                let option = option.clone();
                move |_| {
                    message.set(None);
                    let option = option.clone();
                    edit(values, step, move |v| *v = option);
                }
            };
            view! {
                <button type="button" class=move || if chosen.get() { "kiosk-tile kiosk-option chosen" } else { "kiosk-tile kiosk-option" }
                        aria-pressed=move || chosen.get().to_string() on:click=pick>
                    {option}
                </button>
            }
        })
        .collect_view();
    view! { <div class="kiosk-tiles kiosk-options" role="group">{buttons}</div> }
}

#[component]
fn CashScreen(
    session: RwSignal<Option<SessionView>>,
    message: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    dev_mode: bool,
    bridge: Bridge,
    pay: impl Fn() + Copy + Send + Sync + 'static,
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
    view! {
        <h2 class="kiosk-prompt">{t.insert_cash}</h2>
        <p class="kiosk-limits">
            {move || session.get().map(|s| format!("{} · {}: {} — {}", s.provider_name, t.limits, rub(s.min_amount), rub(s.max_amount)))}
        </p>
        // The most the validator takes now: the provider's maximum and the agent's deposit
        // less the payments still on their way, after fees; the agent's figure, renewed
        // after every bill.
        <p class="kiosk-acceptable" id="kiosk-acceptable" role="status">
            {move || session.get().map(|s| {
                if s.acceptable.is_positive() || s.cash.is_positive() {
                    format!("{}: {}", t.acceptable, rub(s.acceptable))
                } else {
                    t.acceptable_none.to_owned()
                }
            })}
        </p>
        <dl class="kiosk-totals">
            <dt>{t.accepted}</dt><dd id="kiosk-cash">{figure(|s| s.cash)}</dd>
            <dt>{t.fee}</dt><dd id="kiosk-fee">{figure(|s| s.agent_fee)}</dd>
            <dt>{t.to_credit}</dt><dd id="kiosk-amount">{figure(|s| s.amount)}</dd>
        </dl>
        {validator_line}
        {panel}
        {simulator}
        <p class="kiosk-message" role="status">{move || message.get()}</p>
        <div class="kiosk-actions">
            <button type="button" class="kiosk-primary" id="kiosk-pay" disabled=move || !enough() || busy.get() on:click=move |_| pay()>
                {move || if enough() { t.pay } else { t.minimum_not_reached }}
            </button>
        </div>
    }
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
