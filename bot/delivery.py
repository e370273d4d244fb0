"""Sending what the police side writes to parents — officers' questions, live hand-off messages, hand-off
notices, outcome notices — from the durable ``notices`` rows, through the channel contract.

:class:`DeliveryService` runs inside ``hotline serve`` (one per process). Each pass it:

1. marks claims whose worker died mid-send as ``interrupted`` — never sent twice (at most once per
   recipient: a parent gets one copy or a visible "not sure", never two);
2. fails web-chat notices whose chat closed before they could be pushed (``chat_closed``: an anonymous web
   chat has no address once its page is gone);
3. hands idle live chats back to the bot and lets unanswered questions lapse (``handlers.handoff_ops.sweep``);
4. claims due notices for the push channels registered in ``runtime.channels`` — for a channel with a
   ``presence_owner`` (the web chat) only those whose chat is connected to this very process — and sends
   each with ``Channel.send``, recording sent / retry later / failed by the :class:`FailureReason`.

Channels that cannot push (``capabilities.push`` False: the HTTP API) get their notices with the parent's
next request: :func:`pull_unit` takes them and marks them sent in that message's own transaction.

A new platform plugs in by registering its :class:`~bot.channels.base.Channel` in ``runtime.channels``;
nothing here names a platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.broadcast_delivery import BroadcastSender, warning_message
from bot.channels.base import Capabilities, Channel, DeliveryFailure, FailureReason
from bot.runtime import Runtime
from bot.services import Service
from handlers.handoff_ops import Reach, Talk, sweep
from handlers.messages import ConversationKey, InboundMessage, OutboundMessage
from storage import broadcasts, notices, transcript
from storage.conversations import chat_ref
from storage.workflow import record_event

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
SWEEP_SECONDS = 5.0
_FAILURES = {FailureReason.BLOCKED: "blocked", FailureReason.OUT_OF_WINDOW: "out_of_window",
             FailureReason.INVALID_RECIPIENT: "invalid_recipient", FailureReason.PERMANENT: "permanent"}


def utcnow() -> datetime:
    return datetime.now(UTC)


class PullChannel:
    """A request/response platform (the HTTP API): nothing can be pushed; notices wait in their rows and go
    out with the parent's next request (:func:`pull`). The delivery worker never calls :meth:`send`."""

    capabilities = Capabilities(buttons=True, push=False)

    def __init__(self, name: str) -> None:
        self.name = name

    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        return ()

    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        raise DeliveryFailure(FailureReason.PERMANENT, f"{self.name} cannot push; notices go with the next reply")


def register_pull_channel(runtime: Runtime, name: str) -> None:
    if name not in runtime.channels:
        runtime.channels.register(PullChannel(name))


def reach_of(runtime: Runtime) -> Reach:
    """What this process can deliver to, from its registered channels (for the console's checks)."""
    names = frozenset(c.name for c in runtime.channels)
    open_only = frozenset(c.name for c in runtime.channels if getattr(c, "presence_owner", None))
    pull_only = frozenset(c.name for c in runtime.channels if not c.capabilities.push)
    return Reach(channels=names, while_open=open_only, pull=pull_only)


def talk_of(runtime: Runtime) -> Talk:
    return Talk(cipher=runtime.cipher, reach=reach_of(runtime), police_name=runtime.settings.province.police_name,
                config=runtime.engine.config.handoff)


def _delivered(conn: sa.Connection, *, row: notices.NoticeRow, now: datetime, window: timedelta) -> None:
    if row.kind == "question":
        transcript.question_delivered(conn, notice_id=row.id, now=now, window=window)


def _undelivered(conn: sa.Connection, *, notice_id: int, kind: str, tip_id: int, now: datetime) -> None:
    """A question that cannot arrive leaves nothing awaiting an answer."""
    if kind == "question" and transcript.close_question(conn, notice_id=notice_id):
        record_event(conn, tip_id=tip_id, actor="system", action="question_undelivered",
                     detail={"notice": notice_id}, now=now)


def pull_unit(runtime: Runtime, channel: str, chat_id: str) -> Callable[[sa.Connection], list[OutboundMessage]]:
    """The work of :func:`pull`, to run inside a unit of work: the notices and awareness broadcasts waiting for
    a chat that cannot be pushed to, marked sent in that unit's transaction. A chat message hands it to
    ``Engine.handle(then=...)`` so the turn and the pull commit together (one transaction per request)."""
    ref = chat_ref(runtime.cipher, ConversationKey(channel, chat_id))
    window = runtime.engine.config.handoff.question_window

    def work(conn: sa.Connection) -> list[OutboundMessage]:
        now = utcnow()
        taken = notices.take_for_pull(conn, channel=channel, chat_ref=ref, now=now, cipher=runtime.cipher)
        for row, _ in taken:
            _delivered(conn, row=row, now=now, window=window)
        # Awareness broadcasts waiting for this chat's next visit go out with the same reply.
        warnings = [warning_message(text, locale).to_json()
                    for text, locale in broadcasts.take_for_pull(conn, channel=channel, ref=ref, now=now)]
        return [OutboundMessage.from_json(body) for body in [body for _, body in taken] + warnings if body]

    return work


async def pull(runtime: Runtime, channel: str, chat_id: str) -> list[OutboundMessage]:
    """The notices waiting for a chat that cannot be pushed to, marked sent: append them to its reply (in a
    unit of work of its own; see :func:`pull_unit` to take them in the message's own transaction)."""
    return await runtime.db.run(pull_unit(runtime, channel, chat_id))


class DeliveryService:
    """The delivery worker of one process (see the module docstring). Keyword arguments exist for tests."""

    def __init__(self, runtime: Runtime, *, poll_seconds: float = 0.5, lease: timedelta = timedelta(minutes=5),
                 send_timeout: float = 60.0, batch: int = 20, max_attempts: int = 8,
                 chat_closed_after: timedelta = timedelta(seconds=60), retry_base: float = 5.0) -> None:
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        # Longer than any send may take (send_timeout), so a live claim is never mistaken for a dead one.
        self.lease = max(lease, timedelta(seconds=send_timeout * 2))
        self.send_timeout = send_timeout
        self.batch = batch
        self.max_attempts = max_attempts
        self.chat_closed_after = chat_closed_after
        self.retry_base = retry_base
        self.owner = secrets.token_hex(8)
        self._next_sweep = 0.0
        self._next_heartbeat = 0.0

    def _channels(self) -> tuple[list[Channel], list[str], list[str]]:
        push = [c for c in self.runtime.channels if c.capabilities.push]
        names = [c.name for c in push]
        presence = [c.name for c in push if getattr(c, "presence_owner", None)]
        return push, names, presence

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a failed pass is logged and the next one tries again."""
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("notice delivery pass failed")
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def run_once(self) -> int:
        """One pass; returns how many notices it sent or settled (0: nothing to do now)."""
        db, now = self.runtime.db, utcnow()
        push, names, presence = self._channels()
        settled = await db.run(self._housekeeping, now=now, presence=presence)
        if time.monotonic() >= self._next_heartbeat:
            await self._heartbeat(push, now)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_SECONDS
            settled += await db.run(sweep, talk=talk_of(self.runtime), now=now)
        claimed = await db.run(self._claim, names=names, presence=presence, now=now)
        for item in claimed:
            await self._deliver(item)
        return settled + len(claimed)

    def _owner_of(self, channel: str) -> str:
        found = self.runtime.channels.get(channel)
        return str(getattr(found, "presence_owner", "") or self.owner)

    def _claim(self, conn: sa.Connection, *, names: list[str], presence: list[str],
               now: datetime) -> list[notices.Claimed]:
        out: list[notices.Claimed] = []
        # A presence channel's rows are claimed under its own owner id: that is what its connections record.
        plain = [n for n in names if n not in presence]
        if plain:
            out += notices.claim(conn, owner=self.owner, now=now, channels=plain, limit=self.batch,
                                 cipher=self.runtime.cipher)
        for name in presence:
            out += notices.claim(conn, owner=self._owner_of(name), now=now, channels=[name], presence_channels=[name],
                                 limit=self.batch, cipher=self.runtime.cipher)
        return out

    def _housekeeping(self, conn: sa.Connection, *, now: datetime, presence: list[str]) -> int:
        lost = notices.recover_interrupted(conn, before=now - self.lease, now=now)
        for row in lost:
            log.warning("notice %d was claimed by a worker that stopped mid-send: marked interrupted", row.id)
        for name in presence:
            lost += notices.fail_closed_chats(conn, channel=name, created_before=now - self.chat_closed_after,
                                              now=now)
        for row in lost:
            _undelivered(conn, notice_id=row.id, kind=row.kind, tip_id=row.tip_id, now=now)
        return len(lost)

    async def _heartbeat(self, push: list[Channel], now: datetime) -> None:
        self._next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        for channel in push:
            owner = getattr(channel, "presence_owner", None)
            refs = getattr(channel, "connected_refs", None)
            if owner and refs is not None:
                await self.runtime.db.run(notices.heartbeat, owner=owner, channel=channel.name, chat_refs=refs(),
                                          now=now)

    async def _deliver(self, item: notices.Claimed) -> None:
        db = self.runtime.db
        owner = self._owner_of(item.channel)
        channel = self.runtime.channels.get(item.channel)
        if channel is None:  # unregistered since the claim (cannot happen today): give it back untried
            await db.run(notices.release, notice_id=item.id, owner=owner, at=utcnow())
            return
        message = OutboundMessage.from_json(item.body)
        try:
            await asyncio.wait_for(channel.send(item.chat_id, [message]), timeout=self.send_timeout)
        except DeliveryFailure as exc:
            await self._failed(item, owner, exc)
            return
        except TimeoutError:
            # It may or may not have arrived: not sent again (at most once), and the officer sees why.
            await db.run(self._settle, item=item, owner=owner, failure="timeout", detail="no answer from the channel")
            return
        except Exception as exc:  # a bug or an unexpected platform error: keep the row, try later
            log.exception("sending notice %d failed unexpectedly", item.id)
            await self._failed(item, owner, DeliveryFailure(FailureReason.TRANSIENT, repr(exc)[:200]))
            return
        await db.run(self._sent, item=item, owner=owner)

    def _sent(self, conn: sa.Connection, *, item: notices.Claimed, owner: str) -> None:
        now = utcnow()
        if notices.mark_sent(conn, notice_id=item.id, owner=owner, now=now):
            row = notices.get(conn, notice_id=item.id)
            if row is not None:
                _delivered(conn, row=row, now=now, window=self.runtime.engine.config.handoff.question_window)

    def _settle(self, conn: sa.Connection, *, item: notices.Claimed, owner: str, failure: str,
                detail: str | None) -> None:
        now = utcnow()
        if notices.mark_failed(conn, notice_id=item.id, owner=owner, failure=failure, detail=detail, now=now):
            _undelivered(conn, notice_id=item.id, kind=item.kind, tip_id=item.tip_id, now=now)

    async def _failed(self, item: notices.Claimed, owner: str, exc: DeliveryFailure) -> None:
        db = self.runtime.db
        if exc.reason.retryable:
            delay = exc.retry_after if exc.retry_after is not None else (
                min(600.0, self.retry_base * 2.0 ** min(item.attempts, 7)) * random.uniform(0.8, 1.2))  # noqa: S311
            log.info("notice %d: %s; retrying in %.0f s", item.id, exc.reason.value, delay)

            def later(conn: sa.Connection) -> None:
                now = utcnow()
                again = notices.retry_later(conn, notice_id=item.id, owner=owner, at=now + timedelta(seconds=delay),
                                            detail=str(exc), max_attempts=self.max_attempts, now=now)
                if not again:
                    _undelivered(conn, notice_id=item.id, kind=item.kind, tip_id=item.tip_id, now=now)

            await db.run(later)
            return
        failure = _FAILURES.get(exc.reason, "permanent")
        if failure == "out_of_window" and getattr(self.runtime.channels.get(item.channel), "presence_owner", None):
            failure = "chat_closed"  # the web chat's page went away between the claim and the push
        log.info("notice %d not delivered: %s (%s)", item.id, failure, exc)
        await db.run(self._settle, item=item, owner=owner, failure=failure, detail=str(exc))


def delivery_services(runtime: Runtime, **options: Any) -> list[tuple[str, Service]]:
    """What ``hotline serve`` runs for notices (``options`` are :class:`DeliveryService`'s, for tests)."""
    register_pull_channel(runtime, "api")
    service = DeliveryService(runtime, **options)
    # Awareness broadcasts go through the same channels, from their own durable rows (bot/broadcast_delivery.py).
    return [("notices", service.run), ("broadcasts", BroadcastSender(runtime).run)]
