"""Police intake: tips forwarded from the outbox to the police — at least once, deduped by reference.

Entry points:

- :class:`~bot.intake.forwarder.Forwarder` — ``run(stop)`` / ``run_once()``; inside ``hotline serve`` or alone
  as ``hotline forwarder``;
- :func:`~bot.intake.sinks.build_sinks` — the sinks named in ``intake.sinks`` (console, webhook, broker,
  telegram), behind the :class:`~bot.intake.sinks.Sink` protocol;
- :class:`~bot.intake.model.TipV1` and :func:`~bot.intake.builder.build_tip_v1` — the ``tip.v1`` contract
  (published as ``bot/intake/tip.v1.schema.json``);
- :mod:`bot.intake.verify` — what a webhook receiver runs to check our signature.
"""

from bot.intake.builder import build_tip_v1
from bot.intake.forwarder import Forwarder
from bot.intake.model import TipV1
from bot.intake.sinks import PermanentError, RetryableError, Sink, SinkError, TipCards, build_sinks

__all__ = ["Forwarder", "PermanentError", "RetryableError", "Sink", "SinkError", "TipCards", "TipV1",
           "build_sinks", "build_tip_v1"]
