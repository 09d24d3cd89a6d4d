"""Services: the only write path. Each mutation is one transaction that writes the domain
rows, the event, the audit entry and the outbox entry together, or nothing."""
