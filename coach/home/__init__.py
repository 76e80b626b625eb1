"""The rep's Home tab and recovery (復活): wins and days since the last loss."""
