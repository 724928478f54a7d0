"""HTTP layer: the session with per-endpoint retry policies, and URL redaction."""
