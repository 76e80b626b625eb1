"""Global middleware that Bolt calls with the body and the context only.

Bolt calls a function middleware (`app.middleware(fn)`) through its argument injection, which builds
every argument a function could ask for (`say`, `respond`, the payload's views of itself...) on each
call: for every request, once per middleware. The app's global middlewares read only the body and the
context, so they are Bolt `Middleware` objects that pass just those two: the same chain, without
rebuilding the arguments three times per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

# fn(body, context, next): calls next() to go on; a middleware that does not ends the request, with the
# BoltResponse it returns (as a function middleware would).
BodyContextFn = Callable[[dict, Any, Callable[[], None]], BoltResponse | None]


class BodyContextMiddleware(Middleware):
    def __init__(self, fn: BodyContextFn) -> None:
        self._fn = fn

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 (Bolt's name)
    ) -> BoltResponse:
        answer = self._fn(req.body, req.context, next)
        return answer if isinstance(answer, BoltResponse) else resp

    @property
    def name(self) -> str:
        return f"BodyContextMiddleware({getattr(self._fn, '__qualname__', self._fn)})"
