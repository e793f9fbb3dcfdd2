//! E-mail over SMTP (lettre): the sender of the e-mails a request sends at once
//! (`sendInvitationEmail`, through core's `MailSender`), and for notifications the task that
//! sends, per recipient and
//! conversation, one e-mail for the messages they were notified of once the batching window has
//! passed. Who is owed an e-mail is decided by the core and written with each post
//! (`notification_emails`); this only formats, sends and records the outcome, so a restart or
//! a crash loses nothing that was committed.

use std::sync::Arc;
use std::time::Duration;

use huddle_core::services::EmailBatch;
use huddle_core::Huddle;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP, upgraded with STARTTLS (required; port 587 by default).
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465 by default).
    Tls,
    /// No encryption at all: only for a relay on the same host or network (port 25 by default).
    None,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            "none" => Some(SmtpTls::None),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

/// The `[smtp]` section: where e-mail notifications go out. Without it no e-mail is sent (the
/// `notification.triggered` webhooks still are).
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The `From:` of every notification, e.g. `Huddle <chat@example.com>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: SmtpTls,
    /// How long after a first notification the e-mail of a conversation goes out, gathering
    /// the messages that came meanwhile.
    pub batch_window: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    // Hand-written so the password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("tls", &self.tls)
            .field("batch_window", &self.batch_window)
            .finish()
    }
}

/// The running mailer.
pub struct Mailer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Mailer {
    /// Stops after the e-mail being sent, if any; what is owed stays owed for the next start.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .is_err()
        {
            tracing::warn!("the mailer did not stop in 10 s");
        }
    }
}

/// Checks the configuration and starts the mailer: posts owe e-mails from now on.
pub fn spawn(huddle: Arc<Huddle>, config: &SmtpConfig) -> Result<Mailer, String> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| format!("smtp.from {:?} is not an address: {e}", config.from))?;
    if config.batch_window.is_zero() {
        return Err("smtp.batch_window_secs must be above zero".into());
    }
    let builder = match config.tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &config.host,
        )),
    }
    .map_err(|e| format!("smtp.host {:?}: {e}", config.host))?;
    let mut builder = builder
        .port(config.port)
        .timeout(Some(Duration::from_secs(30)));
    if let (Some(user), Some(pass)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    let transport = builder.build();
    huddle.set_mail_sender(Arc::new(SmtpSender {
        transport: transport.clone(),
        from: from.clone(),
    }));
    huddle.enable_email_notifications(config.batch_window);
    // Often enough that an e-mail leaves soon after its window, rarely enough to cost nothing.
    let poll = (config.batch_window / 4).clamp(Duration::from_millis(20), Duration::from_secs(5));
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            match huddle.due_email_batches().await {
                Ok(batches) => {
                    for batch in batches {
                        if *stopping.borrow() {
                            return;
                        }
                        let sent = send(&transport, &from, &batch).await;
                        if let Err(e) = &sent {
                            tracing::warn!(error = %e, to = %batch.recipient.id, "notification e-mail failed");
                        }
                        if let Err(e) = huddle.finish_email_batch(&batch, sent).await {
                            tracing::error!(error = %e, "could not record a notification e-mail");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not read the owed e-mails"),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stopping.changed() => return,
            }
        }
    });
    Ok(Mailer { stop, task })
}

/// The same server and sender for the e-mails a request sends at once (`sendInvitationEmail`).
struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl huddle_core::mail::MailSender for SmtpSender {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        text: &'a str,
    ) -> huddle_core::mail::Sending<'a> {
        Box::pin(async move {
            let to: Mailbox = to
                .parse()
                .map_err(|e| format!("recipient address {to:?}: {e}"))?;
            let email = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(text.to_string())
                .map_err(|e| format!("building the e-mail: {e}"))?;
            self.transport
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP: {e}"))
        })
    }
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    batch: &EmailBatch,
) -> Result<(), String> {
    let email = compose(from, batch)?;
    transport
        .send(email)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

/// The name a message's sender is shown by.
fn sender_name(m: &huddle_core::Message) -> String {
    m.u.name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| Some(m.u.username.clone()).filter(|u| !u.is_empty()))
        .unwrap_or_else(|| m.u.id.clone())
}

/// A plain-text e-mail: who wrote what, oldest first, in which conversation.
pub fn compose(from: &Mailbox, batch: &EmailBatch) -> Result<Message, String> {
    let room = &batch.room;
    let title = room
        .subject
        .clone()
        .or_else(|| room.fname.clone())
        .or_else(|| room.name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| room.id.clone());
    let subject = match batch.messages.as_slice() {
        [one] => format!("New message from {} in {title}", sender_name(one)),
        many => format!("{} new messages in {title}", many.len()),
    };
    let mut body = format!(
        "Hi {},\n\nyou have unread messages in {title}:\n\n",
        batch.recipient.name
    );
    for m in &batch.messages {
        body.push_str(&format!(
            "{} ({}):\n{}\n\n",
            sender_name(m),
            m.ts.to_iso(),
            m.msg
        ));
    }
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for a in &batch.addresses {
        let to: Mailbox = a
            .parse()
            .map_err(|e| format!("recipient address {a:?}: {e}"))?;
        builder = builder.to(to);
    }
    builder
        .body(body)
        .map_err(|e| format!("building the e-mail: {e}"))
}
