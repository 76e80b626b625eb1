"""Slack adapter: client, ids, payload parsing, profiles. The edge of the app."""
