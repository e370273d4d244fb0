"""``tip.v1``: what the police receive for every confirmed tip, on every sink.

The pydantic model is the source of truth; ``bot/intake/tip.v1.schema.json`` is generated from it
(:func:`json_schema`, checked by a test) and the same model can be mounted in the OpenAPI spec
(``TipV1.model_json_schema()`` or as a FastAPI ``response_model``).

Compatibility rules for ``tip.v1``: fields are only ever added, never renamed or retyped; code lists
(``contact.channel``, ``claimed_role``, ``pretext``, ``asked``, ``harm.shared``, reason codes) are open sets —
receivers must accept codes they do not know. A breaking change is ``tip.v2`` on a new schema file.

Privacy: the reporter's contact appears only when the parent agreed to be contacted; OTP codes, card
numbers and passwords are redacted before anything is stored and again when the payload is built.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "tip.v1"
SCHEMA_PATH = Path(__file__).with_name("tip.v1.schema.json")


class _Part(BaseModel):
    # Every key is always present in what we send (null when unknown), so the schema lists them all as required.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class ReasonV1(_Part):
    code: str = Field(description="Stable reason code, e.g. asks_otp, domain_lookalike, phone_blocklisted.")
    severity: str | None = Field(default=None, description="high | medium | low | info")
    message: str | None = Field(default=None, description="The reason explained in Vietnamese.")


class CheckV1(_Part):
    """The check engine's answer when the parent checked the call or link before reporting."""

    verdict: str = Field(description="scam | suspicious | no_red_flags")
    score: int | None = Field(default=None, description="0–100, higher is more likely a scam.")
    reasons: list[ReasonV1] = Field(default_factory=list)


class ContactV1(_Part):
    channel: str | None = Field(default=None, description="How the scammer made contact: call | sms | zalo | "
                                                          "telegram | facebook | other.")
    caller_number: str | None = Field(default=None, description="The scammer's number in E.164 (+84…).")
    time: datetime | None = Field(default=None, description="When the contact happened, as the parent said.")


class SchoolV1(_Part):
    id: str | None = Field(default=None, description="Directory id when the school was matched, else null.")
    name: str = Field(description="The directory name when matched, else what the parent typed.")
    matched: bool = Field(description="True when the school was found in the province's directory.")


class LinkV1(_Part):
    url: str = Field(description="As given by the parent; never opened by us. Do not open it carelessly.")
    domain: str | None = Field(default=None, description="Registrable domain (the cluster key).")
    check: CheckV1 | None = Field(default=None, description="The link check covering this link, if one ran.")


class AttachmentV1(_Part):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mime_type: str
    size: int = Field(ge=0, description="Bytes.")
    kind: str = Field(description="photo | document")
    url: str = Field(description="Download URL on the Hotline server (authenticated).")


class HarmV1(_Part):
    money_lost: bool | None = Field(default=None, description="Null when the parent did not say.")
    amount_vnd: int | None = Field(default=None, ge=0, description="Amount lost, in đồng.")
    bank: str | None = Field(default=None, description="The parent's bank and any receiving account, as typed.")
    loss_time: datetime | None = None
    shared: list[str] = Field(default_factory=list, description="What the parent gave away: otp | password | "
                                                                "card | bank_account | id_number | installed_app.")


class UnitV1(_Part):
    id: str
    name: str | None = None


class LocationV1(_Part):
    commune_text: str | None = Field(default=None, description="The commune as the parent typed it.")
    commune_code: str | None = Field(default=None, description="Official commune code, when matched.")
    commune_name: str | None = None
    province_code: str | None = None
    unit: UnitV1 | None = Field(default=None, description="The police unit the tip is assigned to.")
    routed_by: Literal["commune", "provincial", "none"] = Field(
        description="commune: matched; provincial: no commune matched, so the provincial unit; none: no units "
                    "are configured.")


class ReporterV1(_Part):
    """Present only when the parent agreed to be contacted."""

    phone: str | None = Field(default=None, description="E.164.")
    consent_recorded_at: datetime | None = None


class ClusterKeyV1(_Part):
    key: str = Field(description="kind:value, e.g. phone:+84377123999, domain:vneduconnect.com, "
                                 "bank_account:0123456789.")
    kind: str = Field(description="phone | domain | bank_account")
    value: str
    size: int = Field(ge=1, description="Tips naming this value (this one included).")
    reporters: int = Field(ge=1, description="Distinct reporters among them.")
    first_seen: datetime
    last_seen: datetime


class ClusterV1(_Part):
    """Tips sharing at least one key with this one (one hop, this tip included)."""

    size: int = Field(ge=1)
    first_seen: datetime
    last_seen: datetime


class TipV1(_Part):
    """One confirmed tip, as sent to the police (webhook body, broker message, Telegram card source)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Hotline tip (tip.v1)", populate_by_name=True,
                              json_schema_serialization_defaults_required=True)

    schema_: Literal["tip.v1"] = Field(default="tip.v1", alias="schema")
    reference: str = Field(description="Unique and stable (e.g. TG-2026-000123); also the Idempotency-Key.")
    created_at: datetime = Field(description="When the parent confirmed the tip (UTC).")
    urgent: bool = Field(description="Money lost or secrets given away: act first.")
    reported_via: str = Field(description="Our channel the parent used: telegram | zalo | web | api | terminal.")
    locale: str = Field(default="vi")
    verdict: str | None = Field(default=None, description="The most severe check verdict on this tip, if any.")
    contact: ContactV1
    claimed_role: str | None = Field(default=None, description="principal | homeroom_teacher | teacher | "
                                                               "school_staff | education_department | police | "
                                                               "bank | other")
    school: SchoolV1 | None = None
    pretext: str | None = Field(default=None, description="update_records | student_id_code | install_app | "
                                                          "tuition_refund | child_hospital | other")
    asked: list[str] = Field(default_factory=list, description="otp | bank_account | money_transfer | "
                                                               "install_app | personal_info | student_id_code | "
                                                               "click_link")
    call_check: CheckV1 | None = None
    links: list[LinkV1] = Field(default_factory=list)
    message_text: str | None = Field(default=None, description="The scammer's message, secrets redacted.")
    attachments: list[AttachmentV1] = Field(default_factory=list)
    harm: HarmV1
    location: LocationV1
    reporter: ReporterV1 | None = Field(default=None, description="Only with the parent's consent.")
    clusters: list[ClusterKeyV1] = Field(default_factory=list)
    cluster: ClusterV1 | None = Field(default=None, description="Null when the tip names no phone, link or "
                                                                "bank account.")


def json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of ``tip.v1``."""
    schema = TipV1.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://hotline/schemas/tip.v1.json",
            **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def encode(tip: dict[str, Any]) -> bytes:
    """The bytes every sink sends (and the webhook signs): compact UTF-8 JSON, keys sorted."""
    return json.dumps(tip, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def write_schema_file() -> Path:
    """Regenerate the published file after changing the model (a test fails until you do)::

        .venv/bin/python -c "from bot.intake.model import write_schema_file; write_schema_file()"
    """
    SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    return SCHEMA_PATH
