//! One payment field on the kiosk: its label and hint, the value as its mask shows it
//! (a mobile number as `+7 (916) 123-45-67`), one state line, the keypad its regex calls
//! for, and Back, Cancel and Next.
//!
//! The state line is the field's one verdict, in one colour: neutral while the value is
//! being typed, green when it matches, red when it is complete and cannot be right or
//! when the check refused it — never a green «correct» beside a red refusal.

use leptos::prelude::*;
use shared::fields::{Field, FieldSet, Keypad, MAX_VALUE_CHARS, keypad};
use shared::wire::agent::CatalogProvider;

use super::phone_mask::{PhoneMask, Press};
use super::texts::{Texts, texts};

/// What the page says about the values on screen, besides the values themselves.
#[derive(Debug, Clone, Copy)]
pub struct Notes {
    /// A passing word: «Проверяем счёт…», or why a key did nothing.
    pub message: RwSignal<Option<String>>,
    /// Why the check refused the values; shown as the field's state until they change.
    pub refusal: RwSignal<Option<String>>,
}

impl Notes {
    pub fn new() -> Self {
        Notes {
            message: RwSignal::new(None),
            refusal: RwSignal::new(None),
        }
    }

    pub fn clear(&self) {
        self.message.set(None);
        self.refusal.set(None);
    }
}

impl Default for Notes {
    fn default() -> Self {
        Self::new()
    }
}

/// The field's one verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FieldState {
    /// The value matches the field's regex.
    Valid,
    /// Not typed out yet.
    Incomplete { phone: bool },
    /// A fixed list with nothing chosen.
    Choose,
    /// Complete, and it cannot be right (a full mobile number the regex refuses).
    Wrong,
    /// The check refused the values, in the words of [`Texts::check`].
    Refused(String),
}

impl FieldState {
    fn of(field: &Field, set: Option<&FieldSet>, mask: Option<PhoneMask>, value: &str) -> Self {
        if set.is_some_and(|set| set.matches(&field.name, value)) {
            FieldState::Valid
        } else if keypad(field) == Keypad::Options {
            FieldState::Choose
        } else if mask.is_some_and(|m| m.complete(value)) {
            FieldState::Wrong
        } else {
            FieldState::Incomplete {
                phone: mask.is_some(),
            }
        }
    }

    /// The class of the state line and of the value's box.
    fn tone(&self) -> &'static str {
        match self {
            FieldState::Valid => "state-ok",
            FieldState::Incomplete { .. } | FieldState::Choose => "state-pending",
            FieldState::Wrong | FieldState::Refused(_) => "state-wrong",
        }
    }

    fn words(&self, t: &'static Texts) -> String {
        match self {
            FieldState::Valid => t.field_ok.to_owned(),
            FieldState::Incomplete { phone: true } => t.phone_incomplete.to_owned(),
            FieldState::Incomplete { phone: false } => t.field_bad.to_owned(),
            FieldState::Choose => t.field_choose.to_owned(),
            FieldState::Wrong => t.field_wrong.to_owned(),
            FieldState::Refused(why) => why.clone(),
        }
    }
}

/// The +7 mask of `field`, when it is a mobile provider's phone number.
pub fn phone_mask(
    provider: &CatalogProvider,
    set: Option<&FieldSet>,
    field: &Field,
) -> Option<PhoneMask> {
    PhoneMask::for_field(&provider.service_kind, field, set?)
}

/// A field's label in the page's language. A mobile number whose provider gave no
/// English label is called a phone number in English; any other field without one keeps
/// the provider's own words (a name, like the provider's).
pub fn field_label(field: &Field, lang: &str, phone: bool, t: &'static Texts) -> String {
    let no_english = field.label_en.as_deref().is_none_or(str::is_empty);
    if lang == "en" && no_english && phone {
        t.phone_label.to_owned()
    } else {
        field.label_for(lang).to_owned()
    }
}

/// A value as the screen and the receipt show it: through the +7 mask for a mobile
/// number, else through the field's own mask.
pub fn shown(
    provider: &CatalogProvider,
    set: Option<&FieldSet>,
    field: &Field,
    value: &str,
) -> String {
    match phone_mask(provider, set, field) {
        Some(mask) => mask.shown(value),
        None => field.masked(value),
    }
}

/// One payment field with its keypad; Back goes to the previous field (or the
/// providers), Cancel to the start, Next on when the value matches.
#[component]
pub fn FieldScreen(
    provider: RwSignal<Option<CatalogProvider>>,
    field_set: RwSignal<Option<FieldSet>>,
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    notes: Notes,
    busy: RwSignal<bool>,
    back: impl Fn() + Copy + Send + Sync + 'static,
    cancel: impl Fn() + Copy + Send + Sync + 'static,
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
    let mask = move || {
        let p = provider.get()?;
        let f = p.fields.get(step.get())?.clone();
        field_set.with(|set| phone_mask(&p, set.as_ref(), &f))
    };
    let state = move || match notes.refusal.get() {
        Some(why) => FieldState::Refused(why),
        None => field()
            .map(|f| field_set.with(|set| FieldState::of(&f, set.as_ref(), mask(), &value())))
            .unwrap_or(FieldState::Incomplete { phone: false }),
    };
    let valid = move || {
        field().is_some_and(|f| {
            field_set.with(|set| {
                set.as_ref()
                    .is_some_and(|set| set.matches(&f.name, &value()))
            })
        })
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
            let label = field_label(&f, lang, mask().is_some(), t);
            let hint = f.hint.clone();
            let pad = keypad(&f);
            let shown = {
                let f = f.clone();
                move || match (provider.get(), mask()) {
                    (Some(_), Some(m)) => m.shown(&value()),
                    _ => f.masked(&value()),
                }
            };
            view! {
                <label class="kiosk-field-label" for="kiosk-value" id="kiosk-label">{label}</label>
                <output class=move || format!("kiosk-account {}", state().tone()) id="kiosk-value"
                        data-keypad=format!("{pad:?}").to_lowercase() data-value=value aria-live="polite">
                    {shown}
                </output>
                {hint.map(|h| view! { <p class="hint kiosk-hint" id="kiosk-hint">{h}</p> })}
                <p class=move || format!("kiosk-state {}", state().tone()) id="kiosk-value-state" role="status">
                    {move || state().words(t)}
                </p>
                <div class="kiosk-field-body">
                    {match pad {
                        Keypad::Options => view! { <OptionButtons field=f values step notes/> }.into_any(),
                        Keypad::Digits => view! { <DigitKeypad values step notes mask=mask()/> }.into_any(),
                        Keypad::Text => view! { <TextKeyboard values step notes/> }.into_any(),
                    }}
                    <div class="kiosk-field-side">
                        <p class="kiosk-message" role="status" id="kiosk-message">{move || notes.message.get()}</p>
                        <div class="kiosk-actions kiosk-actions-column">
                            <button type="button" class="kiosk-primary" id="kiosk-next" disabled=move || !valid() || busy.get() on:click=move |_| next()>
                                {t.next}
                            </button>
                            <button type="button" class="kiosk-secondary" id="kiosk-back" on:click=move |_| back()>{t.back}</button>
                            <button type="button" class="kiosk-secondary kiosk-cancel" id="kiosk-cancel" on:click=move |_| cancel()>{t.cancel}</button>
                        </div>
                    </div>
                </div>
            }
        })}
    }
}

/// Changes the value of the field on screen (at most [`MAX_VALUE_CHARS`] characters);
/// a changed value is no longer the one the check refused.
fn edit(
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    notes: Notes,
    change: impl FnOnce(&mut String),
) {
    notes.clear();
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

/// Digits only: the field's regex allows nothing else. A mobile number is typed after
/// the +7 on screen and kept in the provider's form.
#[component]
fn DigitKeypad(
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    notes: Notes,
    mask: Option<PhoneMask>,
) -> impl IntoView {
    let t = texts();
    let press = move |key: &'static str| {
        let Some(mask) = mask else {
            edit(values, step, notes, |v| v.push_str(key));
            return;
        };
        let now = values
            .get_untracked()
            .get(step.get_untracked())
            .cloned()
            .unwrap_or_default();
        match key.chars().next().map(|digit| mask.press(&now, digit)) {
            Some(Press::Typed(next)) => edit(values, step, notes, |v| *v = next),
            Some(Press::PrefixAgain) => notes.message.set(Some(t.phone_prefix_again.to_owned())),
            Some(Press::Full) | None => {}
        }
    };
    let erase = move || {
        edit(values, step, notes, |v| match mask {
            Some(mask) => *v = mask.erase(v),
            None => {
                v.pop();
            }
        })
    };
    let keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
        .into_iter()
        .map(|k| view! { <button type="button" class="key" data-key=k on:click=move |_| press(k)>{k}</button> })
        .collect_view();
    view! {
        <div class="keypad" role="group">
            {keys}
            <button type="button" class="key" data-key="erase" on:click=move |_| erase()>{t.erase}</button>
            <button type="button" class="key" data-key="0" on:click=move |_| press("0")>"0"</button>
            <button type="button" class="key" data-key="clear" on:click=move |_| edit(values, step, notes, String::clear)>{t.clear}</button>
        </div>
    }
}

/// Letters of the page's language (Russian, or Latin in English) and digits.
#[component]
fn TextKeyboard(
    values: RwSignal<Vec<String>>,
    step: RwSignal<usize>,
    notes: Notes,
) -> impl IntoView {
    let t = texts();
    let press = move |key: char| edit(values, step, notes, |v| v.push(key));
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
                <button type="button" class="key" on:click=move |_| edit(values, step, notes, |v| { v.pop(); })>{t.erase}</button>
                <button type="button" class="key wide" on:click=move |_| edit(values, step, notes, String::clear)>{t.clear}</button>
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
    notes: Notes,
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
                    let option = option.clone();
                    edit(values, step, notes, move |v| *v = option);
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
