"""The dialogue engine: lock the conversation, load its state, run one step, save — every message.

Platform-free: channels hand in an :class:`InboundMessage` and render the :class:`OutboundMessage` list.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from handlers.checking import Checker
from handlers.checks.phones import normalize_phone
from handlers.checks.urls import registrable_domain
from handlers.dialogue import Dialogue
from handlers.evidence.hook import EvidenceHook
from handlers.evidence.slots import evidence_accounts
from handlers.faq import FaqHook
from handlers.flowload import FlowRegistry
from handlers.handoff import FILED, Handoff, HandoffConfig, forget_chat
from handlers.messages import Attachment, ConversationKey, InboundMessage, OutboundMessage
from handlers.ratelimit import RateLimiter, Verdict
from handlers.subscribing import SubscribeHook
from handlers.texts import say
from handlers.turn import Turn, may_submit
from handlers.understanding import Understand
from nlu.redact import redact
from storage import audit, cluster_counts
from storage import blocks as blocks_repo
from storage import conversations as conv_repo
from storage.cases import CaseTargets
from storage.crypto import Cipher
from storage.db import Database
from storage.schema import tips
from storage.tips import Indicator, create_tip, open_data, seal_data

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_BANK_ACCOUNT = re.compile(r"(?<!\d)(\d{6,19})(?!\d)")
# Slots that hold the engine's own bookkeeping, not the parent's report.
_INTERNAL_SLOTS = frozenset({"shared_hint"})
# A channel's extra work in a message's own transaction (Engine.handle's ``then``): the messages it adds.
Unit = Callable[[sa.Connection], list[OutboundMessage]]


@dataclass(frozen=True)
class EngineConfig:
    default_locale: str = "vi"
    max_text_chars: int = 4000
    reference_prefix: str = "TG"
    sinks: tuple[str, ...] = ("console",)
    variables: dict[str, Any] = field(default_factory=dict)
    max_attachments: int = 5
    user_burst: int = 40
    user_per_minute: int = 60
    global_per_second: int = 2000
    block_after_violations: int = 5
    block_minutes: int = 30
    block_cache_seconds: float = 5.0  # how soon a block lifted by an officer elsewhere takes effect
    case_targets: CaseTargets = field(default_factory=CaseTargets)  # first-action targets of new tips
    handoff: HandoffConfig = field(default_factory=HandoffConfig)  # officers' hours, live-chat idle time


class NeedsDurableCommit(Exception):
    """Raised inside a turn that files a tip on an ordinary transaction: the turn is redone durably."""


class KeyedLocks:
    """One asyncio lock per conversation, dropped when nobody holds or waits for it.

    Keeps one chat's messages in order inside this process; the database row lock covers other processes.
    """

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: ConversationKey) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Engine:
    """Runs the flows for every channel. Safe to share across tasks; holds no conversation in memory."""

    def __init__(self, db: Database, flows: FlowRegistry, *, checker: Checker, config: EngineConfig,
                 cipher: Cipher, understand: Understand | None = None, low_confidence: float = 0.5,
                 remote_parse: Callable[[str], Awaitable[Any]] | None = None,
                 evidence: EvidenceHook | None = None) -> None:
        self.db = db
        # Files (screenshots, QR codes, APKs) are read before the turn, in worker processes (handlers/evidence).
        self.evidence = evidence
        self.cipher = cipher
        # A remote NLU server (Rasa) is asked before the turn, on the event loop; the turn itself stays sync.
        self.remote_parse = remote_parse
        self.flows = flows
        self.config = config
        self.dialogue = Dialogue(
            flows.get, checker=checker, submit=self._submit, erase=self._erase,
            variables=config.variables, max_attachments=config.max_attachments, understand=understand,
            low_confidence=low_confidence, evidence=evidence,
        )
        self.handoff = Handoff(cipher=cipher, flows=flows.get, variables=config.variables, config=config.handoff)
        # Scam-warning subscriptions and FAQ answers: before the flow, where the parent is not mid-form.
        self.hooks = (SubscribeHook(cipher=cipher, flows=flows.get, variables=config.variables),
                      FaqHook(flows=flows.get, variables=config.variables))
        self._locks = KeyedLocks()
        self.blocks = blocks_repo.BlockCache(ttl=config.block_cache_seconds)
        self.limiter = RateLimiter(user_burst=config.user_burst, user_per_minute=config.user_per_minute,
                                   global_per_second=config.global_per_second,
                                   block_after=config.block_after_violations)

    async def handle(self, msg: InboundMessage, *, then: Unit | None = None) -> list[OutboundMessage]:
        """Process one inbound message exactly once and return the replies.

        ``then(conn)`` is the channel's own work for this request (a pull channel's waiting notices:
        ``bot.delivery.pull_unit``). It runs in the message's transaction after the turn — after a duplicate's
        stored replies or the "blocked" reply too — exactly once, in the attempt that commits, and its messages
        follow the turn's. Without a turn (rate limit) it runs in a transaction of its own.
        """
        started = time.perf_counter()
        verdict = self.limiter.check(msg.key)
        if verdict is not Verdict.OK:
            return await self._over_limit(msg, verdict, then)
        msg, notes = self._sanitise(msg)
        async with self._locks.hold(msg.key):
            # Filing a tip needs a power-cut-proof commit; guess it up front so the turn usually runs once.
            durable = may_submit(msg.payload, msg.text)
            parsed = {msg.text: await self.remote_parse(msg.text)} if self.remote_parse and msg.text else {}
            if self.evidence is not None and msg.attachments:
                msg = await self.evidence(msg)  # inside the lock: a chat's messages stay in order
            for attempt in range(4):
                try:
                    run = self.db.run_durable if durable else self.db.run
                    replies = await run(self._unit, msg, notes, durable, parsed, then)
                    break
                except NeedsDurableCommit:
                    # Rare (once per report) and side-effect free: the first try rolled back entirely.
                    durable = True
                except conv_repo.StaleConversationError:
                    log.warning("conversation changed concurrently; retrying (attempt %d)", attempt + 1)
            else:
                raise RuntimeError("conversation kept changing under us")
        log.debug("handled %s message in %.1f ms", msg.channel, (time.perf_counter() - started) * 1000)
        return replies

    async def _over_limit(self, msg: InboundMessage, verdict: Verdict, then: Unit | None) -> list[OutboundMessage]:
        locale = msg.locale or self.config.default_locale
        if verdict is Verdict.SLOW_DOWN:
            return [OutboundMessage(say("slow_down", locale)), *(await self.db.run(then) if then else [])]
        ref = conv_repo.chat_ref(self.cipher, msg.key)
        until = msg.received_at + timedelta(minutes=self.config.block_minutes)

        def block(conn: sa.Connection) -> list[OutboundMessage]:
            blocks_repo.block(conn, channel=msg.channel, chat_ref=ref, reason="rate limit", now=msg.received_at,
                              until=until)
            audit.record(conn, actor="system", action="block", subject=ref, now=msg.received_at,
                         detail=f"{msg.channel}: rate limit, {self.config.block_minutes} min")
            return then(conn) if then else []

        extra = await self.db.run(block)
        self.blocks.add(msg.channel, ref, until)
        self.limiter.reset(msg.key)
        log.warning("chat blocked for %d min after repeated rate-limit violations", self.config.block_minutes)
        return [OutboundMessage(say("blocked", locale, minutes=self.config.block_minutes)), *extra]

    def _sanitise(self, msg: InboundMessage) -> tuple[InboundMessage, list[str]]:
        """Redact secrets and cap length before anything is stored, logged or even parsed."""
        notes: list[str] = []
        text = msg.text
        if text is not None:
            text = _CONTROL.sub("", text)
            if len(text) > self.config.max_text_chars:
                text = text[: self.config.max_text_chars]
                notes.append("too_long")
            text, found = redact(text)
            if found:
                notes.append("secret_warning")
        payload = msg.payload[:64] if msg.payload is not None else None
        extras = dict(msg.extras)
        for key in ("forwarded_text", "forwarded_from"):
            if isinstance(extras.get(key), str):
                extras[key] = redact(_CONTROL.sub("", extras[key])[: self.config.max_text_chars])[0]
        return replace(msg, text=text, payload=payload, extras=extras), notes

    def _unit(self, conn: sa.Connection, msg: InboundMessage, notes: list[str], durable: bool,
              parsed: dict[str, Any], then: Unit | None) -> list[OutboundMessage]:
        """The message's whole transaction: the turn, then the channel's ``then`` (see :meth:`handle`). What makes
        :meth:`handle` try again (a stale conversation, a durable redo) is raised by the turn, before ``then``; any
        failure rolls back ``then``'s work with the turn's."""
        replies = self._turn(conn, msg, notes, durable, parsed)
        return [*replies, *then(conn)] if then is not None else replies

    def _turn(self, conn: sa.Connection, msg: InboundMessage, notes: list[str], durable: bool,
              parsed: dict[str, Any]) -> list[OutboundMessage]:
        """One unit of work: dedupe, lock and load, step, save — all in the caller's transaction."""
        now = msg.received_at
        if msg.message_id:
            previous = conv_repo.find_replies(conn, key=msg.key, message_id=msg.message_id, cipher=self.cipher)
            if previous is not None:
                return [OutboundMessage.from_json(r) for r in previous]
        if self.blocks.is_blocked(conn, channel=msg.channel, chat_ref=conv_repo.chat_ref(self.cipher, msg.key),
                                  now=now, mono=time.monotonic()):
            return [OutboundMessage(say("blocked", msg.locale or self.config.default_locale,
                                        minutes=self.config.block_minutes))]
        stored = conv_repo.lock_and_load(
            conn, key=msg.key, user_id=msg.user_id, locale=msg.locale or self.config.default_locale, now=now,
            cipher=self.cipher,
        )
        locale = stored.locale if stored.state else (msg.locale or self.config.default_locale)
        turn = Turn(conn=conn, state=stored.state, locale=locale, inbound=msg, text=msg.text or "", now=now,
                    durable=durable, parsed=parsed)
        for note in notes:
            turn.say(note, limit=self.config.max_text_chars)
        # An officer's question awaiting its answer, or a live hand-off, takes the message before the flow.
        if not self.handoff.intercept(turn) and not any(hook.intercept(turn) for hook in self.hooks):
            self.dialogue.respond(turn)
        self.handoff.after(turn)
        for hook in self.hooks:
            hook.after(turn)
        if turn.erase:
            conv_repo.delete_conversation(conn, key=msg.key, cipher=self.cipher)
            audit.record(conn, actor="parent", action="forget", subject=conv_repo.chat_ref(self.cipher, msg.key),
                         now=now, detail=f"{msg.channel}: conversation erased, tips anonymised")
        else:
            conv_repo.save(conn, conversation=stored, state=turn.state, locale=turn.locale, now=now,
                           cipher=self.cipher)
            if msg.message_id:
                conv_repo.record_replies(conn, key=msg.key, message_id=msg.message_id,
                                         replies=[m.to_json() for m in turn.out], now=now, cipher=self.cipher)
        return turn.out

    # ----- what submitting and forgetting do to storage -------------------------------------------------
    def _submit(self, turn: Turn) -> str:
        if not turn.durable:
            # "Your tip was received" must survive a power cut, not only a crash.
            raise NeedsDurableCommit
        slots = {k: v for k, v in turn.slots.items() if k not in _INTERNAL_SLOTS}
        if slots.get("contact_consent") != "contact_ok":
            slots.pop("contact_phone", None)  # anonymous unless the parent agreed
        attachments = [Attachment(**a) for a in slots.pop("screenshots", None) or []]
        urgent = bool(turn.state.get("urgent")) or slots.get("money_lost") == "yes" or any(
            s in ("otp", "password", "card", "installed_app") for s in slots.get("shared") or [])
        data: dict[str, Any] = {"slots": slots, "locale": turn.locale,
                                "consent": {"contact": slots.get("contact_consent") == "contact_ok",
                                            "recorded_at": turn.now.isoformat(), "wording": "report.v1"}}
        reference = create_tip(
            turn.conn, key=turn.inbound.key, user_id=turn.inbound.user_id, urgent=urgent, data=data,
            attachments=attachments, indicators=list(_indicators(slots)), sinks=self.config.sinks,
            prefix=self.config.reference_prefix, now=turn.now, cipher=self.cipher,
            targets=self.config.case_targets, origin=_origin(turn.inbound),
            kind="handoff" if slots.get("request_human") else "report",
        )
        if slots.get("request_human"):
            turn.state[FILED] = reference  # the hand-off hook then says when an officer will answer
        log.info("tip %s filed (urgent=%s, channel=%s)", reference, urgent, turn.inbound.channel)
        return reference

    def _erase(self, turn: Turn) -> int:
        """Anonymise this chat's tips (the case stays, the reporter goes); the engine deletes the chat."""
        conn = turn.conn
        ref = conv_repo.chat_ref(self.cipher, turn.inbound.key)
        forget_chat(conn, chat_ref_value=ref, now=turn.now)  # no question or live chat outlives the erasure
        rows = conn.execute(sa.select(tips.c.id, tips.c.data).where(tips.c.reporter_ref == ref)).all()
        for row in rows:
            data = open_data(self.cipher, row.id, row.data)
            slots = dict(data.get("slots", {}))
            slots.pop("contact_phone", None)
            slots["contact_consent"] = "anonymous"
            data.update(slots=slots, erased_at=turn.now.isoformat())
            data["consent"] = {**data.get("consent", {}), "contact": False}
            # A random reference unlinks the tip from this chat for good; the sealed ids are dropped.
            conn.execute(sa.update(tips).where(tips.c.id == row.id).values(
                data=seal_data(self.cipher, row.id, data), reporter=None, reporter_ref=secrets.token_hex(32)))
            # The indicator rows' reporter and address hashes could be recomputed from the chat id: replace them.
            cluster_counts.replace_reporter(conn, tip_id=row.id, reporter_key=secrets.token_hex(32))
        log.info("parent asked to be forgotten: %d tip(s) anonymised", len(rows))
        return len(rows)


def _indicators(slots: dict[str, Any]) -> Sequence[Indicator]:
    """What a tip names, normalised exactly as the check engine looks it up (report counts, clusters)."""
    out: list[Indicator] = []
    number = normalize_phone(slots["caller_number"]) if isinstance(slots.get("caller_number"), str) else None
    if number:
        out.append(Indicator("phone", number))
    for link in [slots.get("link"), *(slots.get("other_links") or [])]:
        domain = registrable_domain(link) if isinstance(link, str) else None
        if domain:
            out.append(Indicator("domain", domain))
    if isinstance(slots.get("bank"), str):
        out += [Indicator("bank_account", m) for m in _BANK_ACCOUNT.findall(slots["bank"])]
    out += [Indicator("bank_account", a) for a in evidence_accounts(slots)]  # from payment QR codes
    return out


def _origin(msg: InboundMessage) -> str | None:
    """The reporter's client address when the channel knows it (only its keyed hash is stored)."""
    value = msg.extras.get("client_addr")
    return value if isinstance(value, str) and value else None


def utcnow() -> datetime:
    return datetime.now(UTC)
