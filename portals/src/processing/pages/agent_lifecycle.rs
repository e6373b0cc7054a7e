//! On the agents page: each agent's status with suspend/resume, and a new password for its
//! login — each asking first (`ui::confirm::ConfirmButton`: what will happen, then «Да, …»),
//! the password shown once. The server refuses a request without `confirm=yes`, whoever
//! sends it.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::processing::model::{AgentStatus, AgentView, RotatedCredential};
use crate::ui::confirm::{Asked, ConfirmButton};
use crate::ui::credentials::{IssuedPassword, IssuedTexts};
use crate::ui::i18n::{Lang, use_lang};
use crate::ui::staff::refusal::failure_text;

struct Texts {
    status: &'static str,
    active: &'static str,
    suspended: &'static str,
    suspend: &'static str,
    resume: &'static str,
    rotate: &'static str,
    unconfirmed: &'static str,
    rotated_title: &'static str,
    rotated_note: &'static str,
    login: &'static str,
    password: &'static str,
    failed: &'static str,
}

static RU: Texts = Texts {
    status: "Статус",
    active: "Действует",
    suspended: "Приостановлен",
    suspend: "Приостановить",
    resume: "Возобновить",
    rotate: "Новый пароль",
    unconfirmed: "Действие не подтверждено: нажмите кнопку и подтвердите.",
    rotated_title: "Новый пароль агента",
    rotated_note: "Пароль показан один раз: передайте его агенту. Прежний пароль уже не действует.",
    login: "Логин",
    password: "Пароль",
    failed: "Не получилось",
};

static EN: Texts = Texts {
    status: "Status",
    active: "Active",
    suspended: "Suspended",
    suspend: "Suspend",
    resume: "Resume",
    rotate: "New password",
    unconfirmed: "Not confirmed: press the button and confirm.",
    rotated_title: "The agent's new password",
    rotated_note: "Shown once: hand it to the agent. The old password no longer works.",
    login: "Login",
    password: "Password",
    failed: "Failed",
};

fn texts() -> &'static Texts {
    match use_lang() {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

/// What a status change or a rotation came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LifecycleOutcome {
    StatusSet(AgentStatus),
    Rotated(RotatedCredential),
    Unconfirmed,
    Refused(String),
}

#[server(prefix = "/ui", endpoint = "processing/agent-status")]
pub async fn set_agent_status(
    agent_id: i64,
    status: AgentStatus,
    confirm: Option<String>,
) -> Result<LifecycleOutcome, ServerFnError> {
    use super::providers::{processing_state, refusal};
    use crate::processing::server::admin::{self, AgentChanges};
    if crate::ui::confirm::require_confirmed(confirm.as_deref()).is_err() {
        return Ok(LifecycleOutcome::Unconfirmed);
    }
    let state = processing_state()?;
    let changes = AgentChanges {
        status: Some(status),
        fee: None,
    };
    let by = crate::ui::server_fn::signed_in_login();
    match admin::change_agent(&state, agent_id, &changes, &by).await {
        Ok(view) => Ok(LifecycleOutcome::StatusSet(view.status)),
        Err(e) => refusal(e).map(LifecycleOutcome::Refused),
    }
}

#[server(prefix = "/ui", endpoint = "processing/agent-credentials")]
pub async fn rotate_agent_password(
    agent_id: i64,
    confirm: Option<String>,
) -> Result<LifecycleOutcome, ServerFnError> {
    use super::providers::{processing_state, refusal};
    if crate::ui::confirm::require_confirmed(confirm.as_deref()).is_err() {
        return Ok(LifecycleOutcome::Unconfirmed);
    }
    let state = processing_state()?;
    let by = crate::ui::server_fn::signed_in_login();
    match crate::processing::server::admin::rotate_agent_password(&state, agent_id, &by).await {
        Ok(rotated) => Ok(LifecycleOutcome::Rotated(rotated)),
        Err(e) => refusal(e).map(LifecycleOutcome::Refused),
    }
}

/// The status badge of one agent.
#[component]
pub fn AgentStatusBadge(status: AgentStatus) -> impl IntoView {
    let t = texts();
    let label = match status {
        AgentStatus::Active => t.active,
        AgentStatus::Suspended => t.suspended,
    };
    view! { <span class=format!("badge badge-{}", status.as_str())>{label}</span> }
}

/// The column header for [`AgentStatusBadge`].
pub fn status_header() -> &'static str {
    texts().status
}

/// Suspend or resume, and a new password, for one agent.
#[component]
pub fn AgentActions(
    agent: AgentView,
    status: ServerAction<SetAgentStatus>,
    rotate: ServerAction<RotateAgentPassword>,
) -> impl IntoView {
    let t = texts();
    let (to, label, asked) = match agent.status {
        AgentStatus::Active => (AgentStatus::Suspended, t.suspend, Asked::SuspendAgent),
        AgentStatus::Suspended => (AgentStatus::Active, t.resume, Asked::ResumeAgent),
    };
    let id = agent.agent_id;
    view! {
        <ActionForm action=status>
            <input type="hidden" name="agent_id" value=id.to_string()/>
            <input type="hidden" name="status" value=to.as_str()/>
            <ConfirmButton id=format!("status-{id}") label asked danger=to == AgentStatus::Suspended/>
        </ActionForm>
        <ActionForm action=rotate>
            <input type="hidden" name="agent_id" value=id.to_string()/>
            <ConfirmButton id=format!("rotate-{id}") label=t.rotate asked=Asked::RotateAgentPassword/>
        </ActionForm>
    }
}

/// What the last action said: the new password (once), or why nothing happened.
#[component]
pub fn LifecycleResult(action: ServerAction<RotateAgentPassword>) -> impl IntoView {
    let t = texts();
    move || {
        action.value().get().map(|outcome| match outcome {
            Ok(LifecycleOutcome::Rotated(c)) => view! {
                <IssuedPassword id="rotated-agent" texts=IssuedTexts {
                    title: t.rotated_title,
                    note: t.rotated_note,
                    login: t.login,
                    password: t.password,
                } login=c.login password=c.password/>
            }
            .into_any(),
            other => outcome_line(other).into_any(),
        })
    }
}

/// A status change's outcome, or why it was refused.
#[component]
pub fn StatusResult(action: ServerAction<SetAgentStatus>) -> impl IntoView {
    move || action.value().get().map(outcome_line)
}

fn outcome_line(outcome: Result<LifecycleOutcome, ServerFnError>) -> impl IntoView {
    let t = texts();
    match outcome {
        Ok(LifecycleOutcome::StatusSet(_) | LifecycleOutcome::Rotated(_)) => ().into_any(),
        Ok(LifecycleOutcome::Unconfirmed) => {
            view! { <p class="error" role="alert">{t.unconfirmed}</p> }.into_any()
        }
        Ok(LifecycleOutcome::Refused(why)) => {
            view! { <p class="error" role="alert">{format!("{}: {why}", t.failed)}</p> }.into_any()
        }
        Err(e) => {
            view! { <p class="error" role="alert">{failure_text(t.failed, &e)}</p> }.into_any()
        }
    }
}
