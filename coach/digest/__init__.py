"""The managers' digest (METHOD §6) and CSV exports."""
