//! The strings of the audit and staff pages, one catalogue per language (a missing
//! translation does not compile).

use super::model::{AuditKind, StaffRole};
use crate::ui::i18n::{Lang, use_lang};

pub struct Texts {
    pub lang: Lang,
    pub loading: &'static str,
    pub failed: &'static str,
    pub audit_title: &'static str,
    pub nav_audit: &'static str,
    pub nav_staff: &'static str,
    pub audit_hint: &'static str,
    pub filter_kind: &'static str,
    pub any_kind: &'static str,
    pub filter_login: &'static str,
    pub filter_object: &'static str,
    pub apply_filter: &'static str,
    pub export_csv: &'static str,
    pub no_entries: &'static str,
    pub col_time: &'static str,
    pub col_login: &'static str,
    pub col_kind: &'static str,
    pub col_object: &'static str,
    pub col_before: &'static str,
    pub col_after: &'static str,
    pub staff_title: &'static str,
    pub staff_hint: &'static str,
    pub new_staff: &'static str,
    pub login: &'static str,
    pub login_hint: &'static str,
    pub role: &'static str,
    pub create: &'static str,
    pub created_note: &'static str,
    pub password: &'static str,
    pub col_role: &'static str,
    pub col_created: &'static str,
    pub col_state: &'static str,
    pub enabled: &'static str,
    pub disabled: &'static str,
    pub disable: &'static str,
    pub disable_confirm: &'static str,
    pub taken: &'static str,
    pub file_admin: &'static str,
    pub no_staff: &'static str,
    pub refused: &'static str,
}

impl Texts {
    /// An audit entry's object as the server wrote it (`agent 3`, `processing contract`,
    /// `subscriber 9990001122`: a kind in English, then an id), with the kind in this
    /// language; the id, or an object of a kind not listed here, as written.
    pub fn object(&self, object: &str) -> String {
        if self.lang == Lang::En {
            return object.to_owned();
        }
        // Longer kinds first: "payment of session 4" is not a payment's.
        const KINDS: &[(&str, &str)] = &[
            ("processing contract", "договор с процессингом"),
            ("low deposit threshold", "порог низкого аванса агентов"),
            ("low balance threshold", "порог низкого баланса абонентов"),
            ("payments switch", "приём платежей"),
            ("customer fee", "комиссия для клиентов"),
            ("tariffs", "тарифы"),
            ("unresolved cash", "невыясненные наличные"),
            ("payment of session", "платёж сеанса"),
            ("agent", "агент"),
            ("provider", "провайдер"),
            ("subscriber", "абонент"),
            ("contract", "договор"),
            ("payment", "платёж"),
            ("session", "сеанс"),
            ("encashment", "инкассация"),
            ("staff", "сотрудник"),
            ("tariff", "тариф"),
        ];
        for (kind, named) in KINDS {
            if object == *kind {
                return (*named).to_owned();
            }
            if let Some(id) = object.strip_prefix(kind).and_then(|r| r.strip_prefix(' ')) {
                return format!("{named} {id}");
            }
        }
        object.to_owned()
    }

    pub fn kind(&self, kind: AuditKind) -> &'static str {
        let ru = self.lang == Lang::Ru;
        match (kind, ru) {
            (AuditKind::ContractCreated, true) => "Договор заключён",
            (AuditKind::ContractCreated, false) => "Contract created",
            (AuditKind::ContractSuspended, true) => "Договор приостановлен",
            (AuditKind::ContractSuspended, false) => "Contract suspended",
            (AuditKind::ContractTerminated, true) => "Договор расторгнут",
            (AuditKind::ContractTerminated, false) => "Contract terminated",
            (AuditKind::ContractReopened, true) => "Договор возобновлён",
            (AuditKind::ContractReopened, false) => "Contract re-opened",
            (AuditKind::ContractResumed, true) => "Договор снова действует",
            (AuditKind::ContractResumed, false) => "Contract resumed",
            (AuditKind::ContractChanged, true) => "Договор изменён",
            (AuditKind::ContractChanged, false) => "Contract changed",
            (AuditKind::CredentialsRotated, true) => "Пароль заменён",
            (AuditKind::CredentialsRotated, false) => "Credentials rotated",
            (AuditKind::CredentialsChanged, true) => "Логин или пароль изменён",
            (AuditKind::CredentialsChanged, false) => "Credentials changed",
            (AuditKind::TariffChanged, true) => "Тарифы изменены",
            (AuditKind::TariffChanged, false) => "Tariff changed",
            (AuditKind::FeeChanged, true) => "Комиссия изменена",
            (AuditKind::FeeChanged, false) => "Fee changed",
            (AuditKind::BalanceTopUp, true) => "Пополнение баланса",
            (AuditKind::BalanceTopUp, false) => "Balance top-up",
            (AuditKind::CashPaidAgain, true) => "Наличные: платёж повторён",
            (AuditKind::CashPaidAgain, false) => "Cash paid again",
            (AuditKind::CashRefunded, true) => "Наличные возвращены",
            (AuditKind::CashRefunded, false) => "Cash refunded",
            (AuditKind::CashWrittenOff, true) => "Наличные списаны",
            (AuditKind::CashWrittenOff, false) => "Unresolved cash written off",
            (AuditKind::CashCollected, true) => "Инкассация",
            (AuditKind::CashCollected, false) => "Cash collected",
            (AuditKind::SettingChanged, true) => "Настройка изменена",
            (AuditKind::SettingChanged, false) => "Setting changed",
            (AuditKind::StaffCreated, true) => "Сотрудник добавлен",
            (AuditKind::StaffCreated, false) => "Staff account created",
            (AuditKind::StaffDisabled, true) => "Сотрудник отключён",
            (AuditKind::StaffDisabled, false) => "Staff account disabled",
            (AuditKind::PaymentRetryRequested, true) => "Платёж отправлен повторно",
            (AuditKind::PaymentRetryRequested, false) => "Payment retry requested",
        }
    }

    pub fn role(&self, role: StaffRole) -> &'static str {
        let ru = self.lang == Lang::Ru;
        match (role, ru) {
            (StaffRole::Administrator, true) => "Администратор",
            (StaffRole::Administrator, false) => "Administrator",
            (StaffRole::Operator, true) => "Оператор (кассир)",
            (StaffRole::Operator, false) => "Operator (cashier)",
            (StaffRole::Viewer, true) => "Наблюдатель",
            (StaffRole::Viewer, false) => "Viewer",
        }
    }
}

/// The staff strings in the language of a frame catalogue (for navigation labels, which
/// are given the frame's catalogue).
pub fn texts_for(frame: &crate::ui::i18n::Catalogue) -> &'static Texts {
    if frame.language_name == crate::ui::i18n::EN.language_name {
        &EN
    } else {
        &RU
    }
}

pub fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

pub static RU: Texts = Texts {
    lang: Lang::Ru,
    loading: "Загрузка…",
    failed: "Ошибка",
    audit_title: "Журнал изменений",
    nav_audit: "Журнал",
    nav_staff: "Сотрудники",
    audit_hint: "Кто, когда и что изменил: договоры, пароли, тарифы, комиссии, балансы, наличные и сотрудники. Записи не изменяются и не удаляются.",
    filter_kind: "Вид изменения",
    any_kind: "Любой",
    filter_login: "Сотрудник (логин)",
    filter_object: "Объект содержит",
    apply_filter: "Показать",
    export_csv: "Выгрузить в CSV",
    no_entries: "Записей нет.",
    col_time: "Время (UTC)",
    col_login: "Сотрудник",
    col_kind: "Изменение",
    col_object: "Объект",
    col_before: "Было",
    col_after: "Стало",
    staff_title: "Сотрудники",
    staff_hint: "Администратор управляет всем, включая сотрудников; оператор (кассир) проводит денежные операции; наблюдатель только смотрит. Пользователь admin из файла пароля — всегда администратор.",
    new_staff: "Новый сотрудник",
    login: "Логин",
    login_hint: "2–32 строчные латинские буквы, цифры, точка, дефис или подчёркивание; начинается с буквы",
    role: "Роль",
    create: "Добавить",
    created_note: "Передайте пароль сотруднику: он показан один раз.",
    password: "Пароль",
    col_role: "Роль",
    col_created: "Добавлен",
    col_state: "Состояние",
    enabled: "Работает",
    disabled: "Отключён",
    disable: "Отключить",
    disable_confirm: "Не подтверждено: нажмите «Отключить» и подтвердите.",
    taken: "Такой логин уже есть (или был).",
    file_admin: "admin (файл пароля)",
    no_staff: "Других сотрудников нет.",
    refused: "Отказано: вашей роли это действие не разрешено. Обратитесь к администратору.",
};

pub static EN: Texts = Texts {
    lang: Lang::En,
    loading: "Loading…",
    failed: "Failed",
    audit_title: "Audit log",
    nav_audit: "Audit log",
    nav_staff: "Staff",
    audit_hint: "Who changed what and when: contracts, passwords, tariffs, fees, balances, cash and staff. Entries are never changed or deleted.",
    filter_kind: "Kind of change",
    any_kind: "Any",
    filter_login: "Staff login",
    filter_object: "Object contains",
    apply_filter: "Show",
    export_csv: "Export to CSV",
    no_entries: "No entries.",
    col_time: "Time (UTC)",
    col_login: "Staff",
    col_kind: "Change",
    col_object: "Object",
    col_before: "Before",
    col_after: "After",
    staff_title: "Staff",
    staff_hint: "An administrator manages everything, staff included; an operator (cashier) does money operations; a viewer only reads. The admin of the password file is always an administrator.",
    new_staff: "New staff account",
    login: "Login",
    login_hint: "2–32 lower-case Latin letters, digits, dot, dash or underscore, starting with a letter",
    role: "Role",
    create: "Add",
    created_note: "Hand the password to the person: it is shown once.",
    password: "Password",
    col_role: "Role",
    col_created: "Added",
    col_state: "State",
    enabled: "Enabled",
    disabled: "Disabled",
    disable: "Disable",
    disable_confirm: "Not confirmed: press “Disable” and confirm.",
    taken: "This login exists (or existed).",
    file_admin: "admin (password file)",
    no_staff: "No other staff.",
    refused: "Refused: your role may not do this. Ask an administrator.",
};
