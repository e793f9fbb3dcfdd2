//! Sending one e-mail now, for the services that answer only once it went out
//! (`sendInvitationEmail`). The server installs a sender when `[smtp]` is configured
//! (`Huddle::set_mail_sender`); without one those services answer Rocket.Chat's "SMTP is not
//! configured". Notification e-mails go another way: they are owed rows, sent in batches.

use std::future::Future;
use std::pin::Pin;

/// What sending one e-mail comes to: the error says why not, for the caller's answer.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait MailSender: Send + Sync {
    /// Sends a plain-text e-mail to one address.
    fn send<'a>(&'a self, to: &'a str, subject: &'a str, text: &'a str) -> Sending<'a>;
}
