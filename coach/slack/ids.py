"""Every callback, action and shortcut id the app uses; block ids of inputs are `rules.Field` values."""

from enum import StrEnum


class CallbackId(StrEnum):
    REVIEW_STEP = "review_step"
    RESUME_CHOICE = "review_resume"
    ERROR = "coach_error"
    MEETING = "next_meeting"
    RECONTACT = "recontact_record"
    WIN = "log_win"
    REVIEW_DETAIL = "review_detail"
    REVIEW_LIST = "review_list"
    SELF_CHECK = "self_check_modal"
    NOT_AVAILABLE = "not_available"


class ShortcutId(StrEnum):
    REVIEW_LOST_DEAL = "review_lost_deal"


class ActionId(StrEnum):
    BACK = "review_back"
    REPHRASE = "review_rephrase"  # from the last step back to the step holding a verdict on oneself
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
    # Home tab (and the modals it opens)
    VIEW_REVIEW = "home_view_review"
    OLDER_REVIEWS = "home_older_reviews"
    TEAM_REVIEWS = "home_team_reviews"
    REVIEWS_PAGE = "reviews_page"
    EDIT_MEETING = "home_edit_meeting"
    LOG_WIN = "home_log_win"
    ANSWER_SELF_CHECK = "home_answer_self_check"


class BlockId(StrEnum):
    NAVIGATION = "navigation"
    COACHING = "coaching"  # the review step's one coaching section
    RESUME = "resume"
    HOME_ACTIONS = "home_actions"
    NUDGE_ACTIONS = "nudge_actions"
    CUSTOMER_SAID = "customer_said"
    WIN_DEAL = "win_deal"
    REVIEWS_NAV = "reviews_nav"
    TEAM_ACTIONS = "team_actions"


COMMAND = "/lost"
