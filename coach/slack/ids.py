"""Every callback, action and shortcut id the app uses; block ids of inputs are `rules.Field` values."""

from enum import StrEnum


class CallbackId(StrEnum):
    REVIEW_STEP = "review_step"
    RESUME_CHOICE = "review_resume"
    ERROR = "coach_error"


class ShortcutId(StrEnum):
    REVIEW_LOST_DEAL = "review_lost_deal"


class ActionId(StrEnum):
    BACK = "review_back"
    RESUME_DRAFT = "draft_resume"
    START_FRESH = "draft_start_fresh"
    START_REVIEW = "home_start_review"


class BlockId(StrEnum):
    NAVIGATION = "navigation"
    RESUME = "resume"
    HOME_ACTIONS = "home_actions"


COMMAND = "/lost"
