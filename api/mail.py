"""Mail to people (invitations, sign-in and reset links).

With SMTP_HOST set, a message is sent once the transaction that made it has committed (a link
to a token that was rolled back would not work). With none, it is written to the `mail_outbox`
table in that transaction, and `vouch mail list` / `vouch mail show ID` print it: `make run`
signs people in on a machine with no mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from api.models import OutboxMail
from api.settings import SmtpSettings, get_settings

log = logging.getLogger("vouch.api.mail")
SMTP_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


def deliver(session: Session, mail: Mail, after_commit: list[Callable[[], None]]) -> None:
    """Sends `mail` after the commit (SMTP), or writes it to the outbox in this transaction."""
    smtp = get_settings().smtp
    if smtp.enabled:
        after_commit.append(lambda: send_smtp(smtp, mail))
        return
    session.add(OutboxMail(recipient=mail.to, subject=mail.subject, body=mail.body))
    session.flush()


_AFTER_COMMIT = "mail_after_commit"


def deliver_on_commit(session: Session, mail: Mail) -> None:
    """`deliver` for code that has a session but no request's after-commit list (the domain
    modules): SMTP sends when the session's transaction commits, nothing if it rolls back."""
    session.connection()  # in a transaction, so that a rollback ends it (and drops the mail)
    deliver(session, mail, session.info.setdefault(_AFTER_COMMIT, []))


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    for send in session.info.pop(_AFTER_COMMIT, ()):
        send()


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def send_smtp(smtp: SmtpSettings, mail: Mail) -> None:
    """One message through the SMTP server. A failure is logged, not raised: the change it
    reports is committed, and the person can ask for another link."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    try:
        if smtp.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException):
        log.warning("could not send mail %r to %s", mail.subject, mail.to, exc_info=True)
