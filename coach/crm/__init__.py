"""Losses recorded in a CRM start a review; finished reviews go back to the CRM (issue 10)."""
