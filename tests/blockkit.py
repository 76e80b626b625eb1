"""Block Kit validation for views and messages, as strict as Slack (and then some).

Two layers:

1. slack_sdk's own models (``View`` / ``Block`` validators). Note that
   ``JsonObject.validate_json()`` is *shallow*: it runs only the validators of
   that one object. Nested elements, options and text objects are validated
   only when ``to_dict()`` serialises them, so each block is run through
   ``to_dict()`` as well.
2. Our own recursive walk over the JSON for everything slack_sdk does not
   check (block_id uniqueness, plain_text-only fields, option counts of
   checkboxes/radios, ``initial_options`` membership, plain_text_input
   lengths, empty text, submit-required-with-inputs...).

Each problem is a string ``"<json-pointer>: <message>"`` (pointer relative to
the view, or to the message for ``message_problems``; ``(root)`` for the whole
object), or ``"<json-pointer>: slack_sdk: <message>"`` for the first layer.

Project rules stricter than Slack:
- every ``plain_text_input`` must declare ``max_length``;
- no ``input`` blocks in messages (Slack itself now accepts them there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = ["message_problems", "view_problems"]

# Documented Slack limits.
MAX_BLOCKS_VIEW = 100
MAX_BLOCKS_MESSAGE = 50
MAX_MESSAGE_TEXT = 40_000
MAX_VIEW_TEXT = 24  # modal title / submit / close
MAX_PRIVATE_METADATA = 3000
MAX_ID = 255  # callback_id, external_id, block_id, action_id
MAX_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_LABEL = 2000  # input label and hint
MAX_PLACEHOLDER = 150
MAX_INPUT_LENGTH = 3000  # plain_text_input min_length / max_length
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_SELECT_OPTIONS = 100
MAX_CHOICE_OPTIONS = 10  # checkboxes / radio_buttons
MAX_OVERFLOW_OPTIONS = 5
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_ALT_TEXT = 2000

ROOT = "(root)"  # pointer shown for problems of the view / message itself

TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
# In mrkdwn, "<" opens a link or mention; any other "<" is user text the app forgot to escape
# (Slack would not refuse it, it would hide or garble it, so the check is ours, not Slack's).
MRKDWN_CONTROL = re.compile(r"<(?:[@#!]|https?://|mailto:)[^<>\n]*>")
STATIC_SELECTS = frozenset({"static_select", "multi_static_select"})
OTHER_SELECTS = frozenset(
    {
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
MULTI_SELECTS = frozenset({"multi_static_select"} | {k for k in OTHER_SELECTS if k.startswith("multi_")})
# Elements that can sit in an input block.
INPUT_ELEMENTS = (
    frozenset(
        {
            "plain_text_input",
            "checkboxes",
            "radio_buttons",
            "datepicker",
            "timepicker",
            "datetimepicker",
            "email_text_input",
            "url_text_input",
            "number_input",
            "file_input",
            "rich_text_input",
        }
    )
    | STATIC_SELECTS
    | OTHER_SELECTS
)
SECTION_ACCESSORIES = (
    frozenset(
        {
            "button",
            "checkboxes",
            "datepicker",
            "image",
            "overflow",
            "radio_buttons",
            "timepicker",
            "workflow_button",
        }
    )
    | STATIC_SELECTS
    | OTHER_SELECTS
)
ACTIONS_ELEMENTS = (
    frozenset(
        {
            "button",
            "checkboxes",
            "datepicker",
            "datetimepicker",
            "overflow",
            "plain_text_input",
            "radio_buttons",
            "rich_text_input",
            "timepicker",
            "workflow_button",
        }
    )
    | STATIC_SELECTS
    | OTHER_SELECTS
)
# Block types we check only through slack_sdk (rarely built by this app).
PASSTHROUGH_BLOCKS = frozenset({"rich_text", "markdown", "video", "file", "call", "table", "context_actions"})

_DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Exceptions slack_sdk's constructors / serialisers raise on malformed input:
# missing required kwargs (TypeError), text dicts without "type" (KeyError)...
_SDK_ERRORS = (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError)


def view_problems(view: dict[str, Any]) -> list[str]:
    """Problems Slack (or this project) would reject in a modal or Home view."""
    checker = _Checker()
    if not isinstance(view, dict):
        return [f"{ROOT}: view must be a JSON object"]
    checker.view(view)
    return _dedupe(_sdk_view_problems(view) + checker.problems)


def message_problems(blocks: list[dict[str, Any]] | None, text: str | None = None) -> list[str]:
    """Problems with a message's ``blocks`` (and its top-level ``text``)."""
    checker = _Checker()
    if text is not None and not isinstance(text, str):
        checker.add("/text", "must be a string")
    elif text is not None and len(text) > MAX_MESSAGE_TEXT:
        checker.add("/text", f"must be at most {MAX_MESSAGE_TEXT} characters (got {len(text)})")
    if blocks is None:
        if not text:
            checker.add("", "message needs text or blocks")
        return checker.problems
    if not isinstance(blocks, list):
        return checker.problems + ["/blocks: must be a JSON array of blocks"]
    if not blocks and not text:
        checker.add("", "message needs text or blocks")
    checker.blocks(blocks, "/blocks", surface="message")
    return _dedupe(_sdk_blocks_problems(blocks, "/blocks") + checker.problems)


# --------------------------------------------------------------------------
# Layer 1: slack_sdk models
# --------------------------------------------------------------------------


def _sdk_view_problems(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    try:
        # Build the View without blocks (a bad block would abort the whole
        # construction); blocks are checked one by one below. The raw list is
        # put back afterwards so that the block-count validator still runs.
        model = View(**{**view, "blocks": None})
        model.blocks = list(view.get("blocks") or [])
        model.validate_json()
    except _SDK_ERRORS as exc:
        problems.append(f"{ROOT}: slack_sdk: {_describe(exc)}")
    blocks = view.get("blocks")
    if isinstance(blocks, list):
        problems += _sdk_blocks_problems(blocks, "/blocks")
    return problems


def _sdk_blocks_problems(blocks: list[Any], path: str) -> list[str]:
    problems: list[str] = []
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            continue  # reported by our own walk
        try:
            # Block.parse() returns None (and logs a warning) for unknown block
            # types; our own walk reports those.
            block = Block.parse(dict(raw))
            if block is not None:
                block.validate_json()
                block.to_dict()  # validate_json() is shallow; to_dict() validates nested objects
        except _SDK_ERRORS as exc:
            problems.append(f"{path}/{i}: slack_sdk: {_describe(exc)}")
    return problems


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, SlackObjectFormationError) else f"{type(exc).__name__}: {exc}"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------
# Layer 2: our own walk
# --------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path or ROOT}: {message}")

    # -- primitives ---------------------------------------------------------

    def max_len(self, value: Any, path: str, limit: int, *, required: bool = False) -> None:
        if value is None:
            if required:
                self.add(path, "is required")
            return
        if not isinstance(value, str):
            self.add(path, "must be a string")
        elif len(value) > limit:
            self.add(path, f"must be at most {limit} characters (got {len(value)})")
        elif required and not value:
            self.add(path, "must not be empty")

    def text(
        self,
        obj: Any,
        path: str,
        *,
        limit: int = MAX_TEXT,
        plain: bool = False,
        required: bool = True,
    ) -> None:
        """A text object; ``plain`` means only ``plain_text`` is accepted."""
        if obj is None:
            if required:
                self.add(path, "is required")
            return
        if not isinstance(obj, dict):
            self.add(path, "must be a text object ({type, text})")
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.add(f"{path}/type", f"must be plain_text or mrkdwn (got {kind!r})")
        elif plain and kind != "plain_text":
            self.add(f"{path}/type", f"must be plain_text (got {kind!r})")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.add(f"{path}/text", "must be a non-empty string")
            return
        limit = min(limit, MAX_TEXT)
        if len(value) > limit:
            self.add(f"{path}/text", f"must be at most {limit} characters (got {len(value)})")
        if kind == "plain_text" and "verbatim" in obj:
            self.add(f"{path}/verbatim", "is only valid on mrkdwn")
        if kind == "mrkdwn" and "emoji" in obj:
            self.add(f"{path}/emoji", "is only valid on plain_text")
        if kind == "mrkdwn" and "<" in MRKDWN_CONTROL.sub("", value):
            self.add(f"{path}/text", "has a '<' that is neither a link nor a mention: escape it as &lt;")

    def array(self, value: Any, path: str, *, low: int, high: int, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.add(path, f"must be an array of {what}")
            return []
        if not low <= len(value) <= high:
            self.add(path, f"must have {low}..{high} {what} (got {len(value)})")
        return value

    # -- views ----------------------------------------------------------------

    def view(self, view: dict[str, Any]) -> None:
        kind = view.get("type")
        if kind not in ("modal", "home"):
            self.add("/type", f"must be 'modal' or 'home' (got {kind!r})")
        blocks = view.get("blocks")
        if kind == "modal":
            self.text(view.get("title"), "/title", limit=MAX_VIEW_TEXT, plain=True)
            self.text(view.get("submit"), "/submit", limit=MAX_VIEW_TEXT, plain=True, required=False)
            self.text(view.get("close"), "/close", limit=MAX_VIEW_TEXT, plain=True, required=False)
            has_input = isinstance(blocks, list) and any(
                isinstance(b, dict) and b.get("type") == "input" for b in blocks
            )
            if has_input and view.get("submit") is None:
                self.add("/submit", "is required when the modal has input blocks")
        elif kind == "home":
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    self.add(f"/{key}", "is not allowed in a home view")
        self.max_len(view.get("private_metadata"), "/private_metadata", MAX_PRIVATE_METADATA)
        self.max_len(view.get("callback_id"), "/callback_id", MAX_ID)
        self.max_len(view.get("external_id"), "/external_id", MAX_ID)
        if blocks is None:
            self.add("/blocks", "is required")
            return
        if not isinstance(blocks, list):
            self.add("/blocks", "must be a JSON array of blocks")
            return
        self.blocks(blocks, "/blocks", surface=kind if kind in ("modal", "home") else "modal")

    # -- blocks ---------------------------------------------------------------

    def blocks(self, blocks: list[Any], path: str, *, surface: str) -> None:
        limit = MAX_BLOCKS_MESSAGE if surface == "message" else MAX_BLOCKS_VIEW
        if len(blocks) > limit:
            self.add(path, f"must have at most {limit} blocks (got {len(blocks)})")
        seen: dict[str, int] = {}
        for i, block in enumerate(blocks):
            bpath = f"{path}/{i}"
            if not isinstance(block, dict):
                self.add(bpath, "must be a block object")
                continue
            block_id = block.get("block_id")
            if block_id is not None:
                self.max_len(block_id, f"{bpath}/block_id", MAX_ID)
                if block_id in seen:
                    self.add(
                        f"{bpath}/block_id",
                        f"duplicate block_id {block_id!r} (also at {path}/{seen[block_id]})",
                    )
                else:
                    seen[block_id] = i
            kind = block.get("type")
            handler = self._block_handlers().get(kind if isinstance(kind, str) else "")
            if handler is not None:
                handler(self, block, bpath, surface)
            elif kind not in PASSTHROUGH_BLOCKS:
                self.add(f"{bpath}/type", f"unknown block type {kind!r}")

    @classmethod
    def _block_handlers(cls) -> dict[str, Callable[[_Checker, dict[str, Any], str, str], None]]:
        return {
            "section": cls.section,
            "header": cls.header,
            "divider": cls.divider,
            "image": cls.image_block,
            "context": cls.context,
            "actions": cls.actions,
            "input": cls.input,
        }

    def section(self, block: dict[str, Any], path: str, surface: str) -> None:
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            self.add(path, "section needs text or fields")
        self.text(text, f"{path}/text", required=False)
        if fields is not None:
            for j, field in enumerate(
                self.array(fields, f"{path}/fields", low=1, high=MAX_SECTION_FIELDS, what="fields")
            ):
                self.text(field, f"{path}/fields/{j}", limit=MAX_SECTION_FIELD_TEXT)
        accessory = block.get("accessory")
        if accessory is not None:
            self.element(accessory, f"{path}/accessory", allowed=SECTION_ACCESSORIES, surface=surface)

    def header(self, block: dict[str, Any], path: str, surface: str) -> None:
        self.text(block.get("text"), f"{path}/text", limit=MAX_HEADER_TEXT, plain=True)

    def divider(self, block: dict[str, Any], path: str, surface: str) -> None:
        pass

    def image_block(self, block: dict[str, Any], path: str, surface: str) -> None:
        self.image_fields(block, path)
        self.text(block.get("title"), f"{path}/title", limit=2000, plain=True, required=False)

    def image_fields(self, obj: dict[str, Any], path: str) -> None:
        self.max_len(obj.get("alt_text"), f"{path}/alt_text", MAX_ALT_TEXT, required=True)
        if obj.get("image_url") is None and obj.get("slack_file") is None:
            self.add(path, "image needs image_url or slack_file")
        self.max_len(obj.get("image_url"), f"{path}/image_url", MAX_URL)

    def context(self, block: dict[str, Any], path: str, surface: str) -> None:
        elements = self.array(
            block.get("elements"), f"{path}/elements", low=1, high=MAX_CONTEXT_ELEMENTS, what="elements"
        )
        for j, element in enumerate(elements):
            epath = f"{path}/elements/{j}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.image_fields(element, epath)
            else:
                self.text(element, epath)

    def actions(self, block: dict[str, Any], path: str, surface: str) -> None:
        elements = self.array(
            block.get("elements"), f"{path}/elements", low=1, high=MAX_ACTIONS_ELEMENTS, what="elements"
        )
        seen: set[str] = set()
        for j, element in enumerate(elements):
            epath = f"{path}/elements/{j}"
            self.element(element, epath, allowed=ACTIONS_ELEMENTS, surface=surface)
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if action_id is not None:
                if action_id in seen:
                    self.add(f"{epath}/action_id", f"duplicate action_id {action_id!r} within the block")
                seen.add(action_id)

    def input(self, block: dict[str, Any], path: str, surface: str) -> None:
        if surface == "message":
            self.add(path, "input blocks are not allowed in messages (project rule)")
        self.text(block.get("label"), f"{path}/label", limit=MAX_LABEL, plain=True)
        self.text(block.get("hint"), f"{path}/hint", limit=MAX_LABEL, plain=True, required=False)
        element = block.get("element")
        if element is None:
            self.add(f"{path}/element", "is required")
        else:
            self.element(element, f"{path}/element", allowed=INPUT_ELEMENTS, surface=surface)

    # -- elements -------------------------------------------------------------

    def element(self, element: Any, path: str, *, allowed: frozenset[str], surface: str) -> None:
        if not isinstance(element, dict):
            self.add(path, "must be an element object")
            return
        kind = element.get("type")
        if kind not in allowed:
            self.add(f"{path}/type", f"element type {kind!r} is not allowed here")
        self.max_len(element.get("action_id"), f"{path}/action_id", MAX_ID)
        self.text(
            element.get("placeholder"),
            f"{path}/placeholder",
            limit=MAX_PLACEHOLDER,
            plain=True,
            required=False,
        )
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{path}/confirm")

        if kind == "button":
            self.text(element.get("text"), f"{path}/text", limit=MAX_BUTTON_TEXT, plain=True)
            self.max_len(element.get("value"), f"{path}/value", MAX_BUTTON_VALUE)
            self.max_len(element.get("url"), f"{path}/url", MAX_URL)
            style = element.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.add(f"{path}/style", f"must be 'primary' or 'danger' (got {style!r})")
        elif kind == "plain_text_input":
            self.plain_text_input(element, path)
        elif kind in STATIC_SELECTS:
            self.static_select(element, path)
        elif kind in ("checkboxes", "radio_buttons"):
            options = self.options(element.get("options"), f"{path}/options", high=MAX_CHOICE_OPTIONS, plain=False)
            self.initial_options(element, path, options)
        elif kind == "overflow":
            self.options(element.get("options"), f"{path}/options", high=MAX_OVERFLOW_OPTIONS, plain=True)
        elif kind == "image":
            self.image_fields(element, path)
        elif kind == "datepicker":
            self.pattern(element.get("initial_date"), f"{path}/initial_date", _DATE_RE, "YYYY-MM-DD")
        elif kind == "timepicker":
            self.pattern(element.get("initial_time"), f"{path}/initial_time", _TIME_RE, "HH:mm")
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.add(f"{path}/is_decimal_allowed", "is required (true/false)")
        if kind in MULTI_SELECTS and element.get("max_selected_items") is not None:
            items = element["max_selected_items"]
            if not isinstance(items, int) or items < 1:
                self.add(f"{path}/max_selected_items", "must be an integer >= 1")

    def plain_text_input(self, element: dict[str, Any], path: str) -> None:
        max_length, min_length = element.get("max_length"), element.get("min_length")
        if max_length is None:
            self.add(f"{path}/max_length", "plain_text_input must declare max_length (project rule)")
        for key, value, low in (("max_length", max_length, 1), ("min_length", min_length, 0)):
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_INPUT_LENGTH:
                self.add(f"{path}/{key}", f"must be an integer {low}..{MAX_INPUT_LENGTH} (got {value!r})")
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            self.add(f"{path}/min_length", f"must not exceed max_length ({min_length} > {max_length})")
        initial = element.get("initial_value")
        if initial is not None:
            if not isinstance(initial, str):
                self.add(f"{path}/initial_value", "must be a string")
            elif isinstance(max_length, int) and len(initial) > max_length:
                self.add(f"{path}/initial_value", f"is longer than max_length ({len(initial)} > {max_length})")

    def static_select(self, element: dict[str, Any], path: str) -> None:
        options, groups = element.get("options"), element.get("option_groups")
        if (options is None) == (groups is None):
            self.add(path, "needs exactly one of options or option_groups")
        collected: list[Any] = []
        if options is not None:
            collected = self.options(options, f"{path}/options", high=MAX_SELECT_OPTIONS, plain=True)
        if groups is not None:
            groups = self.array(groups, f"{path}/option_groups", low=1, high=MAX_SELECT_OPTIONS, what="option groups")
            for j, group in enumerate(groups):
                gpath = f"{path}/option_groups/{j}"
                if not isinstance(group, dict):
                    self.add(gpath, "must be an option group object")
                    continue
                self.text(group.get("label"), f"{gpath}/label", limit=MAX_OPTION_TEXT, plain=True)
                collected += self.options(group.get("options"), f"{gpath}/options", high=MAX_SELECT_OPTIONS, plain=True)
        self.initial_options(element, path, collected)

    def options(self, options: Any, path: str, *, high: int, plain: bool) -> list[Any]:
        items = self.array(options, path, low=1, high=high, what="options")
        for j, option in enumerate(items):
            opath = f"{path}/{j}"
            if not isinstance(option, dict):
                self.add(opath, "must be an option object")
                continue
            self.text(option.get("text"), f"{opath}/text", limit=MAX_OPTION_TEXT, plain=plain)
            self.max_len(option.get("value"), f"{opath}/value", MAX_OPTION_VALUE, required=True)
            self.text(
                option.get("description"),
                f"{opath}/description",
                limit=MAX_OPTION_TEXT,
                plain=plain,
                required=False,
            )
            self.max_len(option.get("url"), f"{opath}/url", MAX_URL)
        return items

    def initial_options(self, element: dict[str, Any], path: str, options: list[Any]) -> None:
        """initial_option(s) must be among the element's options (compared by value)."""
        values = {o.get("value") for o in options if isinstance(o, dict)}
        chosen: list[tuple[str, Any]] = []
        if element.get("initial_option") is not None:
            chosen.append(("initial_option", element["initial_option"]))
        if element.get("initial_options") is not None:
            initial = element["initial_options"]
            if not isinstance(initial, list):
                self.add(f"{path}/initial_options", "must be an array of options")
                initial = []
            chosen += [(f"initial_options/{k}", o) for k, o in enumerate(initial)]
        for key, option in chosen:
            value = option.get("value") if isinstance(option, dict) else None
            if value not in values:
                self.add(f"{path}/{key}", f"value {value!r} is not one of the element's options")

    def confirm(self, confirm: Any, path: str) -> None:
        if not isinstance(confirm, dict):
            self.add(path, "must be a confirm object")
            return
        self.text(confirm.get("title"), f"{path}/title", limit=MAX_CONFIRM_TITLE, plain=True)
        self.text(confirm.get("text"), f"{path}/text", limit=MAX_CONFIRM_TEXT)
        self.text(confirm.get("confirm"), f"{path}/confirm", limit=MAX_CONFIRM_BUTTON, plain=True)
        self.text(confirm.get("deny"), f"{path}/deny", limit=MAX_CONFIRM_BUTTON, plain=True)

    def pattern(self, value: Any, path: str, regex: re.Pattern[str], shape: str) -> None:
        if value is not None and (not isinstance(value, str) or not regex.match(value)):
            self.add(path, f"must look like {shape} (got {value!r})")
