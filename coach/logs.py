"""Logging set-up. Tokens never reach a log line."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
# A log line quotes values a request chose (a button value, a user id); a signed request may make them
# a megabyte long. Lines are cut to this.
MAX_LOG_CHARS = 2000


class RedactTokens(logging.Filter):
    """Tokens redacted, and the line cut to MAX_LOG_CHARS."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        changed = False
        if _TOKEN.search(message):
            message, changed = _TOKEN.sub("[redacted]", message), True
        if len(message) > MAX_LOG_CHARS:
            message, changed = f"{message[:MAX_LOG_CHARS]}… [{len(message)} characters in all]", True
        if changed:
            record.msg, record.args = message, None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # APScheduler logs every tick of the dispatcher (4 a minute) at INFO; the dispatcher logs what it did.
    logging.getLogger("apscheduler.executors").setLevel(max(logging.WARNING, root.level))
