"""Tables of the police intake: police units, the commune → unit map, and each tip's routing.

Defined on the shared :data:`storage.schema.metadata`; migration ``0004_intake`` creates them. The outbox
itself lives in :mod:`storage.schema`; its ``status`` gains the value ``inflight`` here (see
:mod:`storage.outbox`), which needs no schema change.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

police_units = sa.Table(
    "police_units",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the unit_id of the imported CSV
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("province_code", sa.String(16), nullable=False, server_default=""),
    # Exactly one unit is provincial after an import: it receives every tip no commune matched.
    sa.Column("provincial", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

unit_communes = sa.Table(
    "unit_communes",
    metadata,
    sa.Column("commune_code", sa.String(16), primary_key=True),
    sa.Column("commune_name", sa.String(255), nullable=False),
    # The name folded (no diacritics, no "xã"/"phường" prefix, single spaces): what a parent's typing is
    # matched against. Not unique: two communes may share a bare name ("Xã Tân Lộc", "Phường Tân Lộc").
    sa.Column("name_key", sa.String(255), nullable=False, index=True),
    # The folded name with its prefix, to tell such twins apart when the parent typed the prefix.
    sa.Column("full_key", sa.String(255), nullable=False, index=True),
    sa.Column("unit_id", sa.String(64), sa.ForeignKey("police_units.id", ondelete="CASCADE"), nullable=False),
    sa.Column("province_code", sa.String(16), nullable=False, server_default=""),
)

# Where a tip went, decided once (the first time it is forwarded) so every sink and the console agree,
# and so officers can later reassign it without the router overriding them.
tip_routing = sa.Table(
    "tip_routing",
    metadata,
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit_id", sa.String(64), sa.ForeignKey("police_units.id", ondelete="SET NULL"), nullable=True,
              index=True),
    sa.Column("commune_code", sa.String(16), nullable=True),
    sa.Column("province_code", sa.String(16), nullable=True),
    sa.Column("method", sa.String(16), nullable=False),  # commune | provincial | none (no units imported)
    sa.Column("routed_at", UTCDateTime, nullable=False),
)
