"""Messages to people and partner systems (SMS, e-mail, webhooks), all through one outbox."""
