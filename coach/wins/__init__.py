"""Wins and recovery time (復活)."""
