"""Email to customers: the `customer_notifications` outbox and the worker task that sends it."""
