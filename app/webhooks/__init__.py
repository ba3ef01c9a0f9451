"""Outgoing webhooks, the parts that need no database: signing deliveries (signing),
checking and pinning where they go (addresses), and when to retry them (backoff)."""
