"""Messaging: events in an outbox, relayed after commit, consumed once.

One interface (`Transport`), two transports: AMQP (RabbitMQ via aio-pika) and the embedded queue
kept in the same SQLite database as the services (the all-in-one). See docs/architecture.md, "Messaging".
"""

from shared.messaging.envelope import Event, PoisonMessage, new_event
from shared.messaging.tables import MessagingTables, messaging_tables

__all__ = ["Event", "PoisonMessage", "new_event", "MessagingTables", "messaging_tables"]
