"""Every callback, action and shortcut id the app uses; block ids of inputs are `rules.Field` values."""

from enum import StrEnum


class CallbackId(StrEnum):
    REVIEW_STEP = "review_step"
    RESUME_CHOICE = "review_resume"
    ERROR = "coach_error"
    MEETING = "next_meeting"
    RECONTACT = "recontact_record"


class ShortcutId(StrEnum):
    REVIEW_LOST_DEAL = "review_lost_deal"


class ActionId(StrEnum):
    BACK = "review_back"
    RESUME_DRAFT = "draft_resume"
    START_FRESH = "draft_start_fresh"
    START_REVIEW = "home_start_review"
    CHECKLIST_SHARE = "checklist_share"
    MEETING_MOVED = "meeting_moved"
    MEETING_DONE = "meeting_done"
    SELF_CHECK_REPEATED = "self_check_repeated"
    SELF_CHECK_KEPT = "self_check_kept"
    SELF_CHECK_REACTION = "self_check_reaction"
    SELF_CHECK_MEETINGS = "self_check_meetings"
    RECONTACT_RECORD = "recontact_record"


class BlockId(StrEnum):
    NAVIGATION = "navigation"
    RESUME = "resume"
    HOME_ACTIONS = "home_actions"
    NUDGE_ACTIONS = "nudge_actions"
    CUSTOMER_SAID = "customer_said"


COMMAND = "/lost"
