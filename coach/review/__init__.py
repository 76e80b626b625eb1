"""The lost-deal review: rules (pure), storage service, Block Kit views."""
