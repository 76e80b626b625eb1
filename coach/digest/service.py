"""Posting the managers' digest: on schedule exactly once per period, and on demand.

The steps are: claim a `digest_runs` row, compute the figures (SQL
aggregates, `data.py`), build the messages (`blocks.py`), post them to
MANAGER_CHANNEL with the run id as Slack message metadata, upload the chart,
and record the outcome. A run left 'posting' (its instance died, or Slack
was unreachable) is taken over after a lease by exactly one instance, which
first reads the channel history for that metadata and posts only the parts
that are missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from coach.db import Database, instance_name
from coach.digest import blocks, chart, data, runs
from coach.digest.period import CATCH_UP, Period, recontact_window, scheduled_period
from coach.digest.runs import Kind, RunStatus
from coach.i18n import Translator
from coach.models import DigestRun
from coach.slack.errors import Outcome, classify_failure
from coach.slack.history import UNKNOWN, find_by_metadata

log = logging.getLogger(__name__)

METADATA_EVENT = "lost_deal_coach_digest"
LEASE = timedelta(minutes=5)


@dataclass
class RunResult:
    """What one attempt did: for logs and tests."""

    outcome: str  # posted / duplicate / failed / retrying / no_channel / no_period / recovered
    run_id: int | None = None
    message_ts: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Built:
    data: data.DigestData
    messages: list[blocks.Message]
    png: bytes | None


class _PostFailed(Exception):
    def __init__(self, error: str, transient: bool, posted: list[str]) -> None:
        super().__init__(error)
        self.error, self.transient, self.posted = error, transient, posted


class Digester:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        *,
        channel: str | None,
        locale: str,
        team_timezone: str,
        cron: str,
        clock: Callable[[], datetime],
        instance: str | None = None,
        lease: timedelta = LEASE,
        charts: bool = True,
    ) -> None:
        self.db, self.client, self.channel = db, client, channel
        self.locale, self.tz = locale, ZoneInfo(team_timezone)
        self.cron, self.tz_name = cron, team_timezone
        self.clock = clock
        self.instance = instance or instance_name()
        self.lease = lease
        self.charts = charts

    @classmethod
    def from_settings(
        cls, settings, db: Database, client: WebClient, clock: Callable[[], datetime], **kwargs
    ) -> Digester:
        return cls(
            db,
            client,
            channel=settings.manager_channel,
            locale=settings.default_locale,
            team_timezone=settings.team_timezone,
            cron=settings.digest_cron,
            clock=clock,
            **kwargs,
        )

    @property
    def t(self) -> Translator:
        return Translator(self.locale, self.tz)

    # Building -------------------------------------------------------------

    def compute(self, period: Period, *, team_id: str | None = None) -> data.DigestData:
        first, until = recontact_window(period.end, self.tz)
        with self.db.session() as s:
            return data.compute(s, period, team_id=team_id, recontact_from=first, recontact_until=until)

    def build(
        self,
        period: Period,
        *,
        team_id: str | None = None,
        requested_by: str | None = None,
        with_chart: bool | None = None,
    ) -> Built:
        figures = self.compute(period, team_id=team_id)
        t = self.t
        messages = blocks.digest_messages(t, figures, requested_by=requested_by)
        png = None
        if self.charts if with_chart is None else with_chart:
            try:
                png = chart.reasons_chart_png(t, figures)
            except Exception:  # a chart is a bonus: the text digest goes out regardless
                log.exception("drawing the digest chart failed; posting the digest without it")
        return Built(figures, messages, png)

    # Scheduled ------------------------------------------------------------

    def run_scheduled(self, now: datetime | None = None) -> RunResult:
        """The cron job: post the digest of the period that just ended, unless someone already has."""
        now = now or self.clock()
        period = scheduled_period(self.cron, self.tz_name, now)
        if period is None:
            return RunResult("no_period")
        if not self.channel:
            log.warning("no MANAGER_CHANNEL is set: the managers' digest for %s was not posted", period.end)
            return RunResult("no_channel")
        run = runs.claim(self.db, Kind.SCHEDULED, period, instance=self.instance, now=now)
        if run is None:
            log.info("the digest for the period ending %s is another instance's (or done); not posting", period.end)
            return RunResult("duplicate")
        log.info("digest run %s claimed for %s – %s", run.id, period.start, period.end)
        return self._deliver(run, period, found={})

    def recover(self, now: datetime | None = None) -> list[RunResult]:
        """The minute tick: finish runs left 'posting', and post a digest whose fire time the app missed."""
        now = now or self.clock()
        results = []
        for run in runs.stale(self.db, now=now, lease=self.lease):
            results.append(self._recover_run(run, now))
        period = scheduled_period(self.cron, self.tz_name, now)
        if (
            period is not None
            and now - period.end <= CATCH_UP
            and self.channel
            and runs.find(self.db, Kind.SCHEDULED, period.start) is None
        ):
            log.warning("the digest due at %s was not posted (the app was down?); posting it now", period.end)
            results.append(self.run_scheduled(now))
        return results

    def _recover_run(self, run: DigestRun, now: datetime) -> RunResult:
        period = Period(run.period_start, run.period_end)
        if now - run.period_end > CATCH_UP:
            if runs.take_over(self.db, run, instance=self.instance, now=now):
                runs.record(
                    self.db,
                    run.id,
                    instance=self.instance,
                    status=RunStatus.FAILED,
                    channel_id=run.channel_id,
                    message_ts=_ts_list(run.message_ts),
                    error=f"gave up: {run.last_error or 'never finished posting'}",
                    now=now,
                )
                log.error("digest run %s never finished posting; giving up (%s)", run.id, run.last_error)
            return RunResult("failed", run.id, error=run.last_error)
        if not runs.take_over(self.db, run, instance=self.instance, now=now):
            return RunResult("duplicate", run.id)
        channel = run.channel_id or self.channel
        found = self._find_posted(channel, run)
        if found is None:
            # Slack could not be asked; release nothing, the lease expires again and someone retries.
            return RunResult("retrying", run.id, error="history_unavailable")
        log.warning(
            "digest run %s was left posting by %s; %d part(s) already in the channel, posting the rest",
            run.id,
            run.claimed_by,
            len(found),
        )
        result = self._deliver(run, period, found=found, channel=channel)
        result.outcome = "recovered" if result.outcome == "posted" else result.outcome
        return result

    def _find_posted(self, channel: str | None, run: DigestRun) -> dict[int, str] | None:
        """{part: ts} of this run's messages already in the channel; None if Slack could not tell."""
        if not channel:
            return {}
        # A scheduled run is first claimed at or after its period's end; a later takeover moved
        # claimed_at on, so look from the period's end, not from the latest claim.
        oldest = min(run.claimed_at, run.period_end) - timedelta(minutes=1)
        found = find_by_metadata(
            self.client,
            channel,
            since=oldest.timestamp(),
            matches=lambda meta: (
                meta.get("event_type") == METADATA_EVENT and (meta.get("event_payload") or {}).get("run_id") == run.id
            ),
        )
        if found is UNKNOWN:
            log.error("could not read the managers' channel to check digest run %s", run.id)
            return None
        return {int((m["metadata"].get("event_payload") or {}).get("part", 1)): m["ts"] for m in found}

    # On demand ------------------------------------------------------------

    def run_on_demand(
        self, period: Period, *, requested_by: str, team_id: str | None, now: datetime | None = None
    ) -> RunResult:
        now = now or self.clock()
        if not self.channel:
            return RunResult("no_channel")
        run = runs.claim_on_demand(self.db, period, instance=self.instance, now=now, requested_by=requested_by)
        return self._deliver(run, period, found={}, team_id=team_id, requested_by=requested_by)

    # Posting --------------------------------------------------------------

    def _deliver(
        self,
        run: DigestRun,
        period: Period,
        *,
        found: dict[int, str],
        channel: str | None = None,
        team_id: str | None = None,
        requested_by: str | None = None,
    ) -> RunResult:
        channel = channel or self.channel
        now = self.clock()
        try:
            # After a takeover, the chart goes only if nothing had been posted: it carries no
            # metadata, so it cannot be checked for, and a second chart would be noise.
            built = self.build(
                period,
                team_id=team_id,
                requested_by=requested_by or run.requested_by,
                with_chart=self.charts and not found,
            )
            posted = self._post_parts(run, channel, built.messages, found)
        except _PostFailed as e:
            # A scheduled run stays 'posting' on a transient error, for the recovery tick to finish
            # after the lease; an on-demand one fails at once (the manager is told and may ask again).
            e.transient = e.transient and run.kind == Kind.SCHEDULED
            status = RunStatus.POSTING if e.transient else RunStatus.FAILED
            runs.record(
                self.db,
                run.id,
                instance=self.instance,
                status=status,
                channel_id=channel,
                message_ts=e.posted,
                error=e.error,
                now=self.clock(),
            )
            if e.transient:
                log.warning("digest run %s: Slack failed (%s); another try after the lease", run.id, e.error)
                return RunResult("retrying", run.id, e.posted, e.error)
            log.error("digest run %s failed: %s", run.id, e.error)
            return RunResult("failed", run.id, e.posted, e.error)
        except Exception as e:
            log.exception("digest run %s failed before posting", run.id)
            runs.record(
                self.db,
                run.id,
                instance=self.instance,
                status=RunStatus.FAILED,
                channel_id=channel,
                message_ts=[],
                error=type(e).__name__,
                now=self.clock(),
            )
            return RunResult("failed", run.id, error=type(e).__name__)
        error = None
        if built.png is not None:
            error = self._upload_chart(built, channel)
        runs.record(
            self.db,
            run.id,
            instance=self.instance,
            status=RunStatus.POSTED,
            channel_id=channel,
            message_ts=posted,
            error=error,
            now=now,
        )
        log.info(
            "digest run %s posted to %s in %d message(s)%s",
            run.id,
            channel,
            len(posted),
            f"; chart not uploaded: {error}" if error else "",
        )
        return RunResult("posted", run.id, posted, error)

    def _post_parts(
        self, run: DigestRun, channel: str, messages: list[blocks.Message], found: dict[int, str]
    ) -> list[str]:
        posted: list[str] = []
        for part, (text, message_blocks) in enumerate(messages, start=1):
            if part in found:
                posted.append(found[part])
                continue
            try:
                resp = self.client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=message_blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    metadata={
                        "event_type": METADATA_EVENT,
                        "event_payload": {"run_id": run.id, "part": part, "parts": len(messages)},
                    },
                )
            except SlackApiError as e:
                error = str(e.response.get("error") or f"http_{e.response.status_code}")
                transient = classify_failure(e.response.status_code, error) is not Outcome.PERMANENT
                raise _PostFailed(error, transient, posted) from e
            except Exception as e:  # connection refused or timed out after the client's retries
                raise _PostFailed(type(e).__name__, True, posted) from e
            posted.append(resp["ts"])
        return posted

    def _upload_chart(self, built: Built, channel: str) -> str | None:
        t = self.t
        title = t._("Stated reasons beside underlying reasons")
        try:
            self.client.files_upload_v2(
                channel=channel,
                file=built.png,
                filename=f"lost-deal-digest-{built.data.period.end:%Y-%m-%d}.png",
                title=title,
                initial_comment=blocks.digest_title(t, built.data) + " · " + title,
                alt_txt=title,
            )
        except SlackApiError as e:
            error = str(e.response.get("error") or f"http_{e.response.status_code}")
            log.error("uploading the digest chart failed: %s", error)
            return f"chart: {error}"
        except Exception as e:
            log.error("uploading the digest chart failed: %s", type(e).__name__)
            return f"chart: {type(e).__name__}"
        return None


def _ts_list(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]
