"""Every callback, action and shortcut id the app uses; block ids of inputs are `rules.Field` values."""

from enum import StrEnum


class CallbackId(StrEnum):
    REVIEW_STEP = "review_step"
    RESUME_CHOICE = "review_resume"
    ERROR = "coach_error"
    OPENING = "review_opening"
    MEETING = "next_meeting"
    RECONTACT = "recontact_record"
    WIN = "log_win"
    REVIEW_DETAIL = "review_detail"
    REVIEW_LIST = "review_list"
    SELF_CHECK = "self_check_modal"
    NOT_AVAILABLE = "not_available"
    FOLLOWUP = "followup_call"
    CHANGE = "one_change_revise"
    NORMAL_WEEK = "normal_week"


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
    FOLLOWUP_RECORD = "followup_record"
    FOLLOWUP_UNREACHABLE = "followup_unreachable"
    MANAGER_TALKED = "checklist_manager_talked"
    KEEP_CHANGE = "checklist_keep_change"
    REVISE_CHANGE = "checklist_revise_change"
    PREP_READY = "prep_ready"
    BOOK_MEETING = "book_meeting"
    NORMAL_WEEK_EDIT = "normal_week_edit"
    SELF_CHECK_APPOINTMENTS = "self_check_appointments"
    SELF_CHECK_PROSPECTS = "self_check_prospects"
    # Home tab (and the modals it opens)
    VIEW_REVIEW = "home_view_review"
    OLDER_REVIEWS = "home_older_reviews"
    TEAM_REVIEWS = "home_team_reviews"
    REVIEWS_PAGE = "reviews_page"
    EDIT_MEETING = "home_edit_meeting"
    LOG_WIN = "home_log_win"
    ANSWER_SELF_CHECK = "home_answer_self_check"
    # A loss the CRM reported: the DM's button
    CRM_REVIEW_LOSS = "crm_review_loss"


class BlockId(StrEnum):
    NAVIGATION = "navigation"
    COACHING = "coaching"  # the review step's one coaching section
    RESUME = "resume"
    OPEN_FORM = "open_form"
    HOME_ACTIONS = "home_actions"
    NUDGE_ACTIONS = "nudge_actions"
    CUSTOMER_SAID = "customer_said"
    WIN_DEAL = "win_deal"
    REVIEWS_NAV = "reviews_nav"
    TEAM_ACTIONS = "team_actions"
    CRM_PROMPT = "crm_prompt"
    NORMAL_WEEK_ASK = "normal_week_ask"
    CHECKLIST_SHARE = "checklist_share"
    CHECKLIST_TALK = "checklist_talk"
    CHECKLIST_CHANGE = "checklist_change"
    # The follow-up call's modal: one input each (coach.nudges.service.FOLLOWUP_FIELDS)
    BIGGEST_REASON = "biggest_reason"
    WOULD_HAVE_CHOSEN = "would_have_chosen"
    PRIORITY_NOW = "priority_now"
    THEIR_WORDS = "their_words"
    # The normal-week modal: one input per coach.nudges.rules.Activity
    NORMAL_MEETINGS = "normal_meetings"
    NORMAL_APPOINTMENTS = "normal_appointments"
    NORMAL_PROSPECTS = "normal_prospects"


COMMAND = "/lost"
