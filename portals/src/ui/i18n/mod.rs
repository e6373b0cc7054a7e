//! Interface language: Russian by default, English on request.
//!
//! Every visible string lives in one [`Catalogue`] per language ([`ru::RU`], [`en::EN`]);
//! a missing translation is a compile error, not a blank on screen. The choice travels in
//! the `paymesh_lang` cookie, set by `GET /lang?to=en`; the server renders `<html lang>`
//! from it and the hydrating client reads it back from there, so both render the same.

mod en;
mod ru;

pub use en::EN;
pub use ru::RU;

/// The cookie that keeps the chosen language.
pub const LANG_COOKIE: &str = "paymesh_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    pub const fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Unknown codes fall back to Russian.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Ru
        }
    }

    /// The language the switch offers.
    pub const fn other(self) -> Lang {
        match self {
            Lang::Ru => Lang::En,
            Lang::En => Lang::Ru,
        }
    }

    pub const fn t(self) -> &'static Catalogue {
        match self {
            Lang::Ru => &RU,
            Lang::En => &EN,
        }
    }
}

/// The language of the current page (provided by the shell on the server and by the
/// hydration entry in the browser).
pub fn use_lang() -> Lang {
    leptos::prelude::use_context::<Lang>().unwrap_or_default()
}

/// The strings of the current page's language.
pub fn t() -> &'static Catalogue {
    use_lang().t()
}

/// Every string of the interface, one field per text.
pub struct Catalogue {
    /// Name of this language in itself, shown on the switch that selects it.
    pub language_name: &'static str,
    pub product: &'static str,
    pub skip_to_content: &'static str,
    pub signed_in_as: &'static str,

    pub consumer_title: &'static str,
    pub provider_title: &'static str,
    pub processing_title: &'static str,
    pub agent_title: &'static str,
    pub consumer_intro: &'static str,
    pub provider_intro: &'static str,
    pub processing_intro: &'static str,
    pub agent_intro: &'static str,

    pub nav_label: &'static str,
    pub nav_home: &'static str,
    pub nav_contracts: &'static str,
    pub nav_history: &'static str,
    pub nav_subscribers: &'static str,
    pub nav_tariffs: &'static str,
    pub nav_processing_contracts: &'static str,
    pub nav_transactions: &'static str,
    pub nav_osmp_log: &'static str,
    pub nav_reports: &'static str,
    pub nav_providers: &'static str,
    pub nav_agents: &'static str,
    pub nav_payments: &'static str,
    pub nav_ledger: &'static str,
    pub nav_registry: &'static str,
    pub nav_contract: &'static str,
    pub nav_fee: &'static str,
    pub nav_unresolved_cash: &'static str,
    pub nav_cash_box: &'static str,

    pub planned_title: &'static str,
    pub planned_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,

    pub fee_calc_processing_title: &'static str,
    pub fee_calc_agent_title: &'static str,
    pub fee_calc_hint: &'static str,
    pub fee_amount: &'static str,
    pub fee_percent: &'static str,
    pub fee_fixed: &'static str,
    pub fee_min: &'static str,
    pub fee_max: &'static str,
    pub fee_max_hint: &'static str,
    pub fee_quick_amounts: &'static str,
    pub fee_result: &'static str,
    pub fee_total: &'static str,
    pub fee_bad_amount: &'static str,
    pub fee_bad_rule: &'static str,

    pub sum_check_title: &'static str,
    pub sum_check_hint: &'static str,
    pub sum_check_label: &'static str,
    pub sum_check_examples: &'static str,
    pub sum_check_ok: &'static str,
    pub sum_check_kopecks: &'static str,
    pub sum_check_bad: &'static str,
    pub sum_check_negative: &'static str,

    pub contract_check_title: &'static str,
    pub contract_check_hint: &'static str,
    pub contract_check_label: &'static str,
    pub contract_check_button: &'static str,
    pub contract_check_ok: &'static str,
    pub contract_check_bad_json: &'static str,
    pub contract_check_missing: &'static str,
    pub contract_check_account: &'static str,
    pub contract_check_usage_url: &'static str,
    pub contract_check_services: &'static str,

    /// Why a typed amount is refused (`ui::money::AmountError`).
    pub amount_empty: &'static str,
    pub amount_malformed: &'static str,
    pub amount_ambiguous: &'static str,
    pub amount_too_precise: &'static str,
    pub amount_too_large: &'static str,
}
