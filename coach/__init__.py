"""Lost-Deal Coach: a Slack app that coaches sales reps after a lost deal."""
