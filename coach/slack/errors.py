"""What a failed Slack call means, whatever sent it (nudges, posts, the digest).

Pure Python: the error names are Slack's own.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    RETRY_AFTER = "retry_after"  # 429: Slack did nothing; every send waits Retry-After, no attempt used up
    APP_WIDE = "app_wide"  # the token or the app's setup: nothing can go out until an operator fixes it
    UNKNOWN = "unknown"  # Slack may have posted it anyway (5xx, internal/fatal error, no answer)
    BACKOFF = "backoff"  # not posted; retry later, attempts counted
    PERMANENT = "permanent"  # this message to this rep can never be delivered as it is


RATE_LIMIT_ERRORS = frozenset({"ratelimited", "rate_limited", "message_limit_exceeded"})

# The token or the app's configuration is wrong: a failure for every nudge, not for this one. Sending
# stops (and is retried with backoff, logged at ERROR) until it is fixed; no nudge is failed for it.
APP_WIDE_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "access_denied",
        "ekm_access_denied",
        "org_login_required",
        "team_access_not_granted",
        "two_factor_setup_required",
        "accesslimited",
        "enterprise_is_restricted",
        "app_missing_action_url",
        "unknown_method",
        "method_deprecated",
        "deprecated_endpoint",
        "invalid_arg_name",
        "team_added_to_org",
        "service_unavailable",
    }
)

# Slack's own words for these: "it's possible some aspect of the operation succeeded".
UNKNOWN_OUTCOME_ERRORS = frozenset({"internal_error", "fatal_error"})

# This rep cannot be reached: fail the nudge, no retry loop.
RECIPIENT_ERRORS = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "channel_not_found",
        "cannot_dm_bot",
        "user_disabled",
        "is_archived",
        "channel_is_archived",
        "not_in_channel",
        "messages_tab_disabled",
        "user_is_restricted",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
    }
)
# This message can never be posted as it is.
MESSAGE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_attachments",
        "as_user_not_supported",
        "invalid_json",
        "json_not_object",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
    }
)
PERMANENT_ERRORS = RECIPIENT_ERRORS | MESSAGE_ERRORS


def classify_failure(status: int | None, error: str | None) -> Outcome:
    """What a failed Slack call means. `status` None: no HTTP answer at all (a timeout, a dropped connection).

    An error not listed here is retried with backoff and counted, then failed with its name: neither
    dropped at once nor retried forever.
    """
    if status == 429 or error in RATE_LIMIT_ERRORS:
        return Outcome.RETRY_AFTER
    if status is None or status >= 500 or error in UNKNOWN_OUTCOME_ERRORS:
        return Outcome.UNKNOWN
    if error in APP_WIDE_ERRORS:
        return Outcome.APP_WIDE
    if error in PERMANENT_ERRORS:
        return Outcome.PERMANENT
    return Outcome.BACKOFF
