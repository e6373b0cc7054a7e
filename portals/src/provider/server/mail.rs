//! Sending mail: the SMTP server from `--smtp-url` (wire.md: `smtp://[user:pass@]host:port`,
//! `smtps://` for implicit TLS, `?tls=starttls` for STARTTLS), the sender from
//! `--mail-from`, and the report e-mail itself with its Russian body (an askama template,
//! `portals/templates/report_mail_ru.txt`) and the workbook attached.
//!
//! Nothing here retries: `mail_outbox` owns delivery, attempts and the record of failures.

use std::time::Duration;

use askama::Template;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use shared::money::Kopecks;
use tokio::sync::Notify;

use super::report::SubscriberReport;
use crate::server::workbook::XLSX_MIME;

/// How long one SMTP conversation may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The sender when `--mail-from` is not given.
pub const DEFAULT_FROM: &str = "paymesh provider <reports@localhost>";
/// The longest wait between two attempts of an undelivered e-mail, by default.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(600);

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP (a relay on a private network, or a test server).
    None,
    /// Plain connect, then STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte (`smtps://`, usually port 465).
    Implicit,
}

/// The mail server as `--smtp-url` names it.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Login and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpConfig {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("login", &self.credentials.as_ref().map(|(l, _)| l))
            .finish()
    }
}

/// Why `--smtp-url` or `--mail-from` cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailConfigError {
    #[error("--smtp-url is not a URL: {0}")]
    NotUrl(String),
    #[error("--smtp-url must start with smtp:// or smtps://")]
    Scheme,
    #[error("--smtp-url names no host")]
    NoHost,
    #[error("--smtp-url: tls is starttls or none (smtps:// means implicit TLS)")]
    TlsMode,
    #[error("--mail-from is not an e-mail address: {0}")]
    From(String),
    #[error("--smtp-ca {0}")]
    Ca(String),
    #[error("--smtp-ca needs a TLS mail server (smtps:// or ?tls=starttls)")]
    CaWithoutTls,
}

impl SmtpConfig {
    pub fn parse(text: &str) -> Result<SmtpConfig, MailConfigError> {
        let url =
            url::Url::parse(text.trim()).map_err(|e| MailConfigError::NotUrl(e.to_string()))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            _ => return Err(MailConfigError::Scheme),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(MailConfigError::NoHost)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let asked = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_ascii_lowercase());
        let tls = match (implicit, asked.as_deref()) {
            (true, None) => TlsMode::Implicit,
            (false, None | Some("none")) => TlsMode::None,
            (false, Some("starttls" | "required")) => TlsMode::StartTls,
            _ => return Err(MailConfigError::TlsMode),
        };
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::StartTls => 587,
            TlsMode::None => 25,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = (!url.username().is_empty()).then(|| {
            (
                decode(url.username()),
                decode(url.password().unwrap_or_default()),
            )
        });
        Ok(SmtpConfig {
            host,
            port,
            tls,
            credentials,
        })
    }
}

/// Why one e-mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the provider has no mail server (start it with --smtp-url)")]
    NotConfigured,
    #[error("the recipient's address is not usable: {0}")]
    Recipient(String),
    #[error("the message cannot be built: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl SendError {
    /// Whether another attempt can help: a refused recipient or a broken message stays
    /// refused, while a server that is down or busy may take it later.
    pub fn is_permanent(&self) -> bool {
        match self {
            SendError::NotConfigured => false,
            SendError::Smtp(e) => e.is_permanent(),
            SendError::Recipient(_) | SendError::Build(_) => true,
        }
    }
}

/// One e-mail with one attachment, as the outbox stores it.
#[derive(Debug, Clone)]
pub struct Letter {
    pub recipient_name: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attachment_name: String,
    pub attachment: Vec<u8>,
}

/// The mail server connection settings and the sender; shared by the outbox worker and
/// the handlers that queue mail (which wake the worker).
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// Wakes the outbox worker when mail is queued or a retry is asked for.
    pub wake: Notify,
    pub retry_delay_max: Duration,
}

impl Mailer {
    /// From the provider's settings; `smtp_url` absent means mail cannot be sent (and
    /// asking for it is refused at once).
    pub fn new(
        smtp_url: Option<&str>,
        smtp_ca: Option<&std::path::Path>,
        mail_from: Option<&str>,
        retry_delay_max: Option<Duration>,
    ) -> Result<Mailer, MailConfigError> {
        let from_text = mail_from.unwrap_or(DEFAULT_FROM);
        let from: Mailbox = from_text
            .parse()
            .map_err(|_| MailConfigError::From(from_text.to_owned()))?;
        let ca = smtp_ca.map(read_ca).transpose()?;
        let transport = match smtp_url {
            None => None,
            Some(url) => Some(transport(&SmtpConfig::parse(url)?, ca)?),
        };
        Ok(Mailer {
            transport,
            from,
            wake: Notify::new(),
            retry_delay_max: retry_delay_max.unwrap_or(RETRY_DELAY_MAX),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// One SMTP conversation for one letter.
    pub async fn send(&self, letter: &Letter) -> Result<(), SendError> {
        let transport = self.transport.as_ref().ok_or(SendError::NotConfigured)?;
        let message = self.message(letter)?;
        transport.send(message).await?;
        Ok(())
    }

    fn message(&self, letter: &Letter) -> Result<Message, SendError> {
        let address = letter
            .recipient
            .parse()
            .map_err(|e: lettre::address::AddressError| SendError::Recipient(e.to_string()))?;
        let to = Mailbox::new(Some(letter.recipient_name.clone()), address);
        let xlsx = ContentType::parse(XLSX_MIME).map_err(|e| SendError::Build(e.to_string()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.clone())
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(letter.body.clone()))
                    .singlepart(
                        Attachment::new(letter.attachment_name.clone())
                            .body(letter.attachment.clone(), xlsx),
                    ),
            )
            .map_err(|e| SendError::Build(e.to_string()))
    }
}

/// The private CA's certificate, checked now so that a wrong file stops the start.
fn read_ca(path: &std::path::Path) -> Result<Certificate, MailConfigError> {
    let pem =
        std::fs::read(path).map_err(|e| MailConfigError::Ca(format!("{}: {e}", path.display())))?;
    // lettre takes a file with no certificate in it as an empty list: say so instead.
    let has_certificate = pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----");
    if !has_certificate {
        return Err(MailConfigError::Ca(format!(
            "{}: no PEM certificate in it",
            path.display()
        )));
    }
    Certificate::from_pem(&pem)
        .map_err(|e| MailConfigError::Ca(format!("{}: not a PEM certificate: {e}", path.display())))
}

fn transport(
    config: &SmtpConfig,
    ca: Option<Certificate>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailConfigError> {
    let tls_error = |e: lettre::transport::smtp::Error| MailConfigError::NotUrl(e.to_string());
    let builder = match (config.tls, ca) {
        (TlsMode::None, Some(_)) => return Err(MailConfigError::CaWithoutTls),
        (TlsMode::None, None) => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        }
        (TlsMode::StartTls, None) => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(tls_error)?
        }
        (TlsMode::Implicit, None) => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls_error)?
        }
        // The built-in roots and the private CA; STARTTLS stays required, never optional.
        (mode, Some(ca)) => {
            let parameters = TlsParameters::builder(config.host.clone())
                .add_root_certificate(ca)
                .build()
                .map_err(|e| MailConfigError::Ca(e.to_string()))?;
            let tls = match mode {
                TlsMode::Implicit => Tls::Wrapper(parameters),
                _ => Tls::Required(parameters),
            };
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host).tls(tls)
        }
    };
    let mut builder = builder.port(config.port).timeout(Some(SMTP_TIMEOUT));
    if let Some((login, password)) = &config.credentials {
        builder = builder.credentials(Credentials::new(login.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The body of the report e-mail.
#[derive(Template)]
#[template(path = "report_mail_ru.txt")]
struct ReportMail<'a> {
    name: &'a str,
    provider: &'a str,
    account: &'a str,
    period: String,
    zone_note: String,
    opening: String,
    charged: String,
    paid: String,
    closing: String,
    file_name: &'a str,
}

/// `1 234,56 ₽`, as a Russian reader writes money.
pub fn rubles(amount: Kopecks) -> String {
    let text = amount.to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let (sign, digits) = match whole.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", whole),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{fraction}\u{a0}₽")
}

/// The report letter: subject, Russian body and the workbook.
pub fn report_letter(report: &SubscriberReport, workbook: Vec<u8>) -> Result<Letter, SendError> {
    let file_name = report.file_name();
    let body = ReportMail {
        name: &report.subscriber.full_name,
        provider: &report.provider_name,
        account: &report.subscriber.account,
        period: report.period.russian(),
        zone_note: crate::server::period::zone_note(&report.zone),
        opening: rubles(report.opening),
        charged: rubles(report.charged),
        paid: rubles(report.paid),
        closing: rubles(report.closing),
        file_name: &file_name,
    }
    .render()
    .map_err(|e| SendError::Build(e.to_string()))?;
    Ok(Letter {
        recipient_name: report.subscriber.full_name.clone(),
        recipient: report.subscriber.email.clone(),
        subject: format!(
            "Отчёт по лицевому счёту {} за {}",
            report.subscriber.account,
            report.period.russian()
        ),
        body,
        attachment_name: file_name,
        attachment: workbook,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_of_wire_md() {
        let plain = SmtpConfig::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (plain.port, plain.tls, plain.credentials),
            (2525, TlsMode::None, None)
        );
        let secure = SmtpConfig::parse("smtps://user%40mail:p%3Ass@mail.example.ru").unwrap();
        assert_eq!(secure.port, 465);
        assert_eq!(secure.tls, TlsMode::Implicit);
        assert_eq!(
            secure.credentials,
            Some(("user@mail".to_owned(), "p:ss".to_owned()))
        );
        let starttls = SmtpConfig::parse("smtp://mail.example.ru?tls=starttls").unwrap();
        assert_eq!((starttls.port, starttls.tls), (587, TlsMode::StartTls));
        assert!(!format!("{secure:?}").contains("p:ss"));
        assert_eq!(SmtpConfig::parse("http://x"), Err(MailConfigError::Scheme));
        assert_eq!(
            SmtpConfig::parse("smtps://x?tls=none"),
            Err(MailConfigError::TlsMode)
        );
    }

    #[test]
    fn russian_money() {
        assert_eq!(rubles(Kopecks::new(123_456)), "1\u{a0}234,56\u{a0}₽");
        assert_eq!(rubles(Kopecks::new(-5)), "-0,05\u{a0}₽");
    }
}
