"""Orchestration per surface.

Each flow takes the services (`Coach`) and a Slack client, and does one thing a rep or manager asked for.
"""
