"""The composition root: wiring (`wiring`), the Bolt app (`bolt`), scheduled jobs (`jobs`), the process (`main`)."""
