//! `/processing-contracts/{id}`: a processing contract's payment fields — what the payer
//! types or picks at the terminal besides the money (wire.md `fields`).
//!
//! One row per field: its name, the Russian and English label, the regex the whole value
//! must match, a mask, a hint and an optional fixed list. Each row has a "try a value"
//! box that runs `shared::fields` in the browser (hydrated) — the same `FieldSet` the
//! server saves with and the gateway matches with, so what it says is what will happen.
//! The form sends the rows as one JSON list (a hidden input kept current by the editor);
//! the server checks it again and names each refused field.

use std::collections::BTreeMap;

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use shared::fields::{Field, FieldSet, MAX_FIELDS, Refusals};

use crate::provider::model::ContractRow;
use crate::ui::i18n::{Lang, use_lang};

struct Texts {
    title: &'static str,
    intro: &'static str,
    back: &'static str,
    not_found: &'static str,
    loading: &'static str,
    failed: &'static str,
    field: &'static str,
    name: &'static str,
    label: &'static str,
    label_en: &'static str,
    regex: &'static str,
    regex_hint: &'static str,
    mask: &'static str,
    mask_hint: &'static str,
    hint: &'static str,
    options: &'static str,
    options_hint: &'static str,
    try_value: &'static str,
    matches: &'static str,
    no_match: &'static str,
    shown_as: &'static str,
    other_rows: &'static str,
    add: &'static str,
    remove: &'static str,
    save: &'static str,
    saved: &'static str,
    hand_over: &'static str,
    refused: &'static str,
}

static RU: Texts = Texts {
    title: "Поля платежа",
    intro: "Что плательщик вводит или выбирает в терминале, кроме суммы. Первое поле — всегда лицевой счёт или номер телефона; значение должно целиком совпасть с регулярным выражением.",
    back: "← Договоры с процессингом",
    not_found: "Такого договора нет.",
    loading: "Загрузка…",
    failed: "Не получилось",
    field: "Поле",
    name: "Имя (латинские буквы, цифры, _)",
    label: "Подпись по-русски",
    label_en: "Подпись по-английски",
    regex: "Регулярное выражение",
    regex_hint: "совпадает со значением целиком, например 9\\d{9}",
    mask: "Маска ввода",
    mask_hint: "буква или цифра — место для символа: (9xx) xxx-xx-xx",
    hint: "Подсказка плательщику",
    options: "Список значений (по одному в строке)",
    options_hint: "если задан, плательщик выбирает кнопкой",
    try_value: "Попробовать значение",
    matches: "подходит",
    no_match: "не подходит",
    shown_as: "на экране",
    other_rows: "Исправьте ошибки в других полях.",
    add: "Добавить поле",
    remove: "Удалить поле",
    save: "Сохранить поля",
    saved: "Сохранено. Передайте процессингу этот список полей (JSON) — он вводит его в договор с нами:",
    hand_over: "Поля договора (JSON для процессинга)",
    refused: "Не сохранено",
};

static EN: Texts = Texts {
    title: "Payment fields",
    intro: "What the payer types or picks at the terminal besides the sum. The first field is always account (the account or phone number); a value must match its regular expression as a whole.",
    back: "← Processing contracts",
    not_found: "There is no such contract.",
    loading: "Loading…",
    failed: "Failed",
    field: "Field",
    name: "Name (latin: a-z, 0-9, _)",
    label: "Label in Russian",
    label_en: "Label in English",
    regex: "Regular expression",
    regex_hint: "matches the whole value, e.g. 9\\d{9}",
    mask: "Input mask",
    mask_hint: "a letter or digit is one character's place: (9xx) xxx-xx-xx",
    hint: "Hint for the payer",
    options: "Fixed list (one value per line)",
    options_hint: "when given, the payer picks a button",
    try_value: "Try a value",
    matches: "matches",
    no_match: "does not match",
    shown_as: "shown as",
    other_rows: "Fix the errors in the other fields.",
    add: "Add a field",
    remove: "Remove the field",
    save: "Save the fields",
    saved: "Saved. Hand this list of fields (JSON) to the processing center — it enters it in its contract with us:",
    hand_over: "The contract's fields (JSON for processing)",
    refused: "Not saved",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// Longest fields list the form may send (8 fields with every part at its longest fit).
#[cfg(feature = "ssr")]
const MAX_FIELDS_JSON_BYTES: usize = 64 * 1024;

/// How saving ended: the fields as stored, or every refusal keyed as the API keys them
/// (`fields.<name>`, `fields` for the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldsSaved {
    Saved(Vec<Field>),
    Refused(BTreeMap<String, String>),
}

#[server(prefix = "/ui", endpoint = "provider/contract")]
pub async fn load_contract(id: i64) -> Result<Option<ContractRow>, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    let state = provider_state()?;
    crate::provider::server::store::contract(&state.pool, state.kind, id)
        .await
        .map_err(failed)
}

#[server(prefix = "/ui", endpoint = "provider/contract-fields")]
pub async fn save_contract_fields(id: i64, fields: String) -> Result<FieldsSaved, ServerFnError> {
    use super::subscribers::{failed, provider_state};
    use shared::error::ApiError;
    let state = provider_state()?;
    let refused = |why: String| Ok(FieldsSaved::Refused([("fields".to_owned(), why)].into()));
    if fields.len() > MAX_FIELDS_JSON_BYTES {
        return refused(format!("at most {MAX_FIELDS_JSON_BYTES} bytes"));
    }
    let fields: Vec<Field> = match serde_json::from_str(&fields) {
        Ok(fields) => fields,
        Err(e) => return refused(format!("not a list of fields: {e}")),
    };
    let by = crate::ui::server_fn::signed_in_login();
    match crate::provider::server::admin::change_contract_fields(&state, id, &fields, &by).await {
        Ok(row) => Ok(FieldsSaved::Saved(row.fields.0)),
        Err(ApiError::Validation { fields }) => Ok(FieldsSaved::Refused(fields)),
        Err(e) => Err(failed(e)),
    }
}

#[component]
pub fn ContractFieldsPage() -> impl IntoView {
    let t = texts();
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    // Keyed on the id only: a refused save must not reload the stored fields over the
    // operator's edits.
    let contract = Resource::new(id, load_contract);
    view! {
        <p><A href="/processing-contracts">{t.back}</A></p>
        <h1>{move || format!("{} · № {}", t.title, id())}</h1>
        <p class="intro">{t.intro}</p>
        <Transition fallback=move || view! { <p>{t.loading}</p> }>
            {move || contract.get().map(|result| match result {
                Ok(Some(contract)) => view! { <FieldsEditor contract/> }.into_any(),
                Ok(None) => view! { <p class="empty-state">{t.not_found}</p> }.into_any(),
                Err(e) => view! { <p class="error">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
            })}
        </Transition>
    }
}

/// One field's inputs, each a signal, with a key that stays while rows come and go.
#[derive(Clone, Copy)]
struct Row {
    key: usize,
    name: RwSignal<String>,
    label: RwSignal<String>,
    label_en: RwSignal<String>,
    regex: RwSignal<String>,
    mask: RwSignal<String>,
    hint: RwSignal<String>,
    options: RwSignal<String>,
    sample: RwSignal<String>,
}

impl Row {
    fn new(key: usize, field: &Field) -> Row {
        let text = |value: &Option<String>| RwSignal::new(value.clone().unwrap_or_default());
        Row {
            key,
            name: RwSignal::new(field.name.clone()),
            label: RwSignal::new(field.label.clone()),
            label_en: text(&field.label_en),
            regex: RwSignal::new(field.regex.clone()),
            mask: text(&field.mask),
            hint: text(&field.hint),
            options: RwSignal::new(field.options.join("\n")),
            sample: RwSignal::new(field.options.first().cloned().unwrap_or_default()),
        }
    }

    /// The definition as typed (tracked: whatever reads it follows every keystroke).
    fn field(&self) -> Field {
        let optional = |value: String| Some(value).filter(|v| !v.trim().is_empty());
        Field {
            name: self.name.get().trim().to_owned(),
            label: self.label.get(),
            regex: self.regex.get(),
            label_en: optional(self.label_en.get()),
            mask: optional(self.mask.get()),
            hint: optional(self.hint.get()),
            options: self
                .options
                .get()
                .lines()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// What the server or the live check refuses about row `index` named `name`.
fn refusal_of<'a>(refused: &'a Refusals, index: usize, name: &str) -> Option<&'a String> {
    refused
        .get(&format!("fields.{name}"))
        .or_else(|| refused.get(&format!("fields.{index}")))
}

#[component]
fn FieldsEditor(contract: ContractRow) -> impl IntoView {
    let t = texts();
    let save = ServerAction::<SaveContractFields>::new();
    let initial = contract.fields.0;
    let next_key = StoredValue::new(initial.len());
    let rows = RwSignal::new(
        initial
            .iter()
            .enumerate()
            .map(|(key, field)| Row::new(key, field))
            .collect::<Vec<_>>(),
    );
    let definitions = Signal::derive(move || rows.get().iter().map(Row::field).collect::<Vec<_>>());
    // The verdict the server will give, computed here on every change.
    let verdict = Signal::derive(move || FieldSet::compile(&definitions.get()));
    let json = move || serde_json::to_string(&definitions.get()).unwrap_or_default();
    let initial_json = serde_json::to_string(&initial).unwrap_or_default();
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        rows.update(|rows| rows.push(Row::new(key, &Field::new("", "", ""))));
    };
    view! {
        <ActionForm action=save>
            <input type="hidden" name="id" value=contract.id.to_string()/>
            <input type="hidden" name="fields" value=initial_json prop:value=json/>
            <For
                each=move || rows.get()
                key=|row| row.key
                children=move |row| view! { <FieldRow row rows verdict/> }
            />
            <div class="inline-form">
                <button type="button" class="small" on:click=add
                    disabled=move || rows.with(|r| r.len() >= MAX_FIELDS)>{t.add}</button>
                <button type="submit" disabled=move || save.pending().get()>{t.save}</button>
            </div>
        </ActionForm>
        {move || save.value().get().map(|outcome| match outcome {
            Ok(FieldsSaved::Saved(fields)) => view! {
                <div class="issued" role="status" id="fields-saved">
                    <p class="ok">{t.saved}</p>
                    <label for="fields-json">{t.hand_over}</label>
                    <textarea id="fields-json" readonly rows="6">{serde_json::to_string_pretty(&fields).unwrap_or_default()}</textarea>
                </div>
            }.into_any(),
            Ok(FieldsSaved::Refused(refused)) => view! {
                <div class="error" role="alert" id="fields-refused">
                    <p>{t.refused}</p>
                    <ul>{refused.into_iter().map(|(key, why)| view! { <li><code>{key}</code>": "{why}</li> }).collect_view()}</ul>
                </div>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{crate::ui::staff::refusal::failure_text(t.failed, &e)}</p> }.into_any(),
        })}
    }
}

#[component]
fn FieldRow(
    row: Row,
    rows: RwSignal<Vec<Row>>,
    verdict: Signal<Result<FieldSet, Refusals>>,
) -> impl IntoView {
    let t = texts();
    // Rows come and go: a row's place is read when needed, not fixed at creation.
    let index = move || {
        rows.with(|rows| rows.iter().position(|r| r.key == row.key))
            .unwrap_or(0)
    };
    let id = move |part: &str| format!("field-{}-{part}", row.key);
    let input = move |part: &'static str,
                      label: &'static str,
                      value: RwSignal<String>,
                      hint: Option<&'static str>| {
        let input_id = id(part);
        let label_for = input_id.clone();
        view! {
            <div class="field">
                <label for=label_for>{label}</label>
                <input id=input_id autocomplete="off" spellcheck="false"
                    value=value.get_untracked() prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                    placeholder=hint.unwrap_or_default()/>
            </div>
        }
    };
    let remove = move |_| rows.update(|rows| rows.retain(|r| r.key != row.key));
    let options_id = id("options");
    let options_for = options_id.clone();
    let sample_id = id("sample");
    let sample_for = sample_id.clone();
    let outcome = move || {
        let name = row.name.get().trim().to_owned();
        let sample = row.sample.get();
        match verdict.get() {
            Err(refused) => {
                match refusal_of(&refused, index(), &name).or_else(|| refused.get("fields")) {
                    Some(why) => view! { <p class="error">{why.clone()}</p> }.into_any(),
                    None => view! { <p class="hint">{t.other_rows}</p> }.into_any(),
                }
            }
            Ok(_) if sample.is_empty() => ().into_any(),
            Ok(set) if set.matches(&name, &sample) => {
                let shown = set
                    .fields()
                    .find(|f| f.name == name)
                    .map(|f| f.masked(&sample))
                    .unwrap_or_default();
                view! { <p class="ok">{format!("✓ {} · {}: {shown}", t.matches, t.shown_as)}</p> }
                    .into_any()
            }
            Ok(_) => view! { <p class="error">{format!("✗ {}", t.no_match)}</p> }.into_any(),
        }
    };
    view! {
        <fieldset class="card" id=id("row")>
            <legend>{move || format!("{} {}", t.field, index() + 1)}</legend>
            <div class="fields">
                {input("name", t.name, row.name, Some("city"))}
                {input("label", t.label, row.label, None)}
                {input("label_en", t.label_en, row.label_en, None)}
                {input("regex", t.regex, row.regex, Some(t.regex_hint))}
                {input("mask", t.mask, row.mask, Some(t.mask_hint))}
                {input("hint", t.hint, row.hint, None)}
                <div class="field">
                    <label for=options_for>{t.options}</label>
                    <textarea id=options_id rows="3" placeholder=t.options_hint
                        prop:value=move || row.options.get()
                        on:input=move |ev| row.options.set(event_target_value(&ev))>{row.options.get_untracked()}</textarea>
                </div>
            </div>
            <div class="field">
                <label for=sample_for>{t.try_value}</label>
                <input id=sample_id autocomplete="off" value=row.sample.get_untracked()
                    prop:value=move || row.sample.get() on:input=move |ev| row.sample.set(event_target_value(&ev))/>
            </div>
            <output class="result" for=id("sample") aria-live="polite">{outcome}</output>
            {move || (index() > 0).then(|| view! { <button type="button" class="small" on:click=remove>{t.remove}</button> })}
        </fieldset>
    }
}
