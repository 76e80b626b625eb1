"""The composition root.

`wiring` builds the app, `bolt` the Bolt app, `jobs` the scheduled jobs, `main` runs the process.
"""
