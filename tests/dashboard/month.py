"""A generated month of tips (November 2026, six communes, thousands of tips) with two injected campaigns, filed
through the real ``storage.tips.create_tip`` — and a naive reference count of what should be alerted.

Background tips are spread evenly with a little jitter; each names its own number (some a domain or a bank
account), and a pretext/commune pair comes back only every ~11 hours, so nothing in the background reaches an
alert threshold. Injected:

- campaign A: :data:`CAMPAIGN_NUMBER`, 8 reporters in 40 minutes on 10/11 (then 3 more that afternoon);
- campaign B: pretext ``student_id_code`` in Xã Tân Lộc, 6 reporters in 50 minutes on 20/11;
- near misses that must raise nothing: 4 reporters in 30 minutes; one reporter six times; 6 reporters 15
  minutes apart (never 5 in any 60-minute window).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.alerts import AlertRules
from storage.cases import CaseTargets
from storage.crypto import Cipher
from storage.keys import ConversationKey
from storage.tips import Indicator, create_tip
from storage.units import replace_units

UNITS_CSV = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
CA-TL,Công an xã Tân Lộc,96,32014,Xã Tân Lộc
CA-AX,Công an phường An Xuyên,96,32002,Phường An Xuyên
CA-AX,Công an phường An Xuyên,96,32005,Phường Lý Văn Lâm
CA-HT,Công an xã Hồ Thị Kỷ,96,32080,Xã Hồ Thị Kỷ
"""
# name typed by the parent → (commune code, unit)
COMMUNES = {"Tân Thành": ("31993", "CA-TT"), "Tân Lộc": ("32014", "CA-TL"), "An Xuyên": ("32002", "CA-AX"),
            "Lý Văn Lâm": ("32005", "CA-AX"), "Hồ Thị Kỷ": ("32080", "CA-HT"), "": (None, "CA-96")}
PRETEXTS = ("update_records", "student_id_code", "install_app", "tuition_refund", "child_hospital", "other")
CHANNELS = ("web", "telegram", "zalo", "api")
LOCAL = timedelta(hours=7)
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC) - LOCAL  # 00:00 on 1/11 in Vietnam
DAYS = 30
CAMPAIGN_NUMBER = "+84912000111"
CAMPAIGN_PRETEXT, CAMPAIGN_COMMUNE = "student_id_code", "Tân Lộc"
POPULAR_DOMAIN = "vneduconnect.com"


@dataclass(frozen=True)
class Spec:
    """One tip to file."""

    reporter: str
    when: datetime
    commune: str
    pretext: str
    channel: str
    number: str
    domain: str | None = None
    bank: str | None = None
    money_vnd: int | None = None
    urgent: bool = False
    tag: str = "background"

    @property
    def commune_code(self) -> str | None:
        return COMMUNES[self.commune][0]

    @property
    def unit(self) -> str:
        return COMMUNES[self.commune][1]

    @property
    def local_day(self) -> date:
        return (self.when + LOCAL).date()

    def indicators(self) -> list[tuple[str, str]]:
        found = [("phone", self.number)]
        if self.domain:
            found.append(("domain", self.domain))
        if self.bank:
            found.append(("bank_account", self.bank))
        return found


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return MONTH_START + timedelta(days=day - 1, hours=hour, minutes=minute)


@dataclass
class Month:
    specs: list[Spec] = field(default_factory=list)

    def by(self, attr: str) -> dict[Any, int]:
        out: dict[Any, int] = {}
        for s in self.specs:
            value = getattr(s, attr)
            out[value] = out.get(value, 0) + 1
        return out


def generate(*, background: int = 3000, seed: int = 12) -> Month:
    """The month's tips in filing order."""
    rng = random.Random(seed)
    names = list(COMMUNES)
    specs: list[Spec] = []
    step = DAYS * 86400 / max(background, 1)
    for i in range(background):
        when = MONTH_START + timedelta(seconds=i * step + rng.uniform(-120, 120) + 300)
        money = (i % 7 + 1) * 1_000_000 if i % 20 == 3 else None
        specs.append(Spec(
            reporter=f"bg-{i}", when=when, commune=names[(i // 6) % 6], pretext=PRETEXTS[i % 6],
            channel=CHANNELS[i % 4], number=f"+8493{i:07d}",
            domain=POPULAR_DOMAIN if i % 10 == 0 else (f"bg{i}.example.vn" if i % 4 == 1 else None),
            bank=f"1900{i:08d}" if i % 8 == 5 else None, money_vnd=money, urgent=money is not None or i % 15 == 0))
    for k in range(8):  # campaign A: one number, eight parents, forty minutes
        specs.append(Spec(f"camp-a-{k}", local(10, 9, 5 * k), names[k % 5], "install_app", "zalo", CAMPAIGN_NUMBER,
                          tag="A", money_vnd=5_000_000 if k == 2 else None, urgent=k == 2))
    for k in range(3):  # …and it goes on that afternoon: the same campaign
        specs.append(Spec(f"camp-a-late-{k}", local(10, 15, 10 * k), names[k], "install_app", "web", CAMPAIGN_NUMBER,
                          tag="A"))
    for k in range(6):  # campaign B: one pretext in one commune, each parent a different number
        specs.append(Spec(f"camp-b-{k}", local(20, 14, 10 * k), CAMPAIGN_COMMUNE, CAMPAIGN_PRETEXT, "telegram",
                          f"+8497000{k:04d}", tag="B"))
    for k in range(4):  # near miss: four reporters
        specs.append(Spec(f"near-4-{k}", local(5, 20, 7 * k), names[k], "other", "web", "+84911000444", tag="near"))
    for k in range(6):  # near miss: one reporter, six times
        specs.append(Spec("near-same", local(6, 10, 4 * k), names[k % 5], "other", "web", "+84911000555", tag="near"))
    for k in range(6):  # near miss: six reporters, fifteen minutes apart
        specs.append(Spec(f"near-spread-{k}", local(7, 8, 15 * k), names[k % 5], "tuition_refund", "api",
                          "+84911000666", tag="near"))
    specs.sort(key=lambda s: s.when)
    return Month(specs)


def slots_of(spec: Spec) -> dict[str, Any]:
    slots: dict[str, Any] = {"contact_channel": "call", "caller_number": spec.number, "pretext": spec.pretext,
                             "asked": ["otp"], "money_lost": "yes" if spec.money_vnd else "no",
                             "commune": spec.commune or None, "message_text": "Giả danh nhà trường"}
    if spec.money_vnd:
        slots["amount"] = spec.money_vnd
    return slots


def file_specs(conn: sa.Connection, *, specs: Sequence[Spec], cipher: Cipher,
               rules: AlertRules | None = None) -> list[str]:
    """File these tips in this transaction, as the dialogue would; returns their references."""
    targets = CaseTargets(alerts=rules or AlertRules())
    refs = []
    for spec in specs:
        indicators = [Indicator(k, v) for k, v in spec.indicators()]
        refs.append(create_tip(conn, key=ConversationKey(spec.channel, spec.reporter), user_id=spec.reporter,
                               urgent=spec.urgent, data={"slots": slots_of(spec), "locale": "vi"}, attachments=[],
                               indicators=indicators, sinks=["console"], prefix="TG", now=spec.when, cipher=cipher,
                               targets=targets))
    return refs


def load_units(conn: sa.Connection) -> None:
    from bot.intake.units_csv import parse_units_csv

    parsed = parse_units_csv(UNITS_CSV.encode())
    replace_units(conn, units=parsed.units, communes=parsed.communes, now=datetime(2026, 10, 1, tzinfo=UTC))


def chunks(items: Sequence[Spec], size: int) -> Iterator[Sequence[Spec]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def expected_alerts(specs: Sequence[Spec], rules: AlertRules | None = None) -> list[tuple[str, str, int]]:
    """A naive reference (quadratic, from the definition): (kind, plain key, tips) per campaign, in raise order.

    At each tip of a key, the window ending at it is "hot" when its distinct reporters reach the threshold. A
    hot window with no campaign running raises one (with the window's tips); a running campaign takes every
    tip of the key until ``campaign_gap_hours`` pass after its last hot moment.
    """
    rules = rules or AlertRules()
    gap = timedelta(hours=rules.campaign_gap_hours)
    keyed: dict[tuple[str, str], list[Spec]] = {}
    for s in specs:
        keys = list(s.indicators())
        if s.commune_code:
            keys.append(("pretext_commune", f"{s.pretext}@{s.commune_code}"))
        for pair in keys:
            keyed.setdefault(pair, []).append(s)
    out: list[tuple[datetime, str, str, int]] = []
    for (kind, key), tips in keyed.items():
        rule = rules.rule(kind)
        window = timedelta(minutes=rule.window_minutes)
        running: list[Spec] | None = None
        hot_at = raised_at = tips[0].when
        for i, tip in enumerate(tips):
            inside = [t for t in tips[:i + 1] if tip.when - window < t.when <= tip.when]
            hot = len({t.reporter for t in inside}) >= rule.threshold
            if running is not None and tip.when - hot_at <= gap:
                running.append(tip)
                hot_at = tip.when if hot else hot_at
                continue
            if running is not None:
                out.append((raised_at, kind, key, len(running)))
                running = None
            if hot:
                running, hot_at, raised_at = list(inside), tip.when, tip.when
        if running is not None:
            out.append((raised_at, kind, key, len(running)))
    return [(kind, key, n) for _at, kind, key, n in sorted(out)]
