"""Nudges: the direct messages after a loss (METHOD §3–§5), planned into an outbox and dispatched."""
