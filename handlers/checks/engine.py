"""The one check function the dialogue, the CLI and the HTTP API all call.

``check`` = ``analyse`` (pure) → ``gather`` (a few indexed reads) → ``evaluate`` (pure). Only ``gather``
touches the database, and nothing touches the network. Like every unit of work here it is synchronous and
takes the caller's connection: from async code use ``await db.run(check, request, cipher=cipher)``.
"""

from __future__ import annotations

import sqlalchemy as sa

from handlers.checks.codes import SchoolRef
from handlers.checks.evaluate import Facts, evaluate
from handlers.checks.request import Analysis, CheckRequest, analyse
from handlers.checks.result import CheckResult
from handlers.checks.schools import choose, sub_phrases
from handlers.checks.urls import parent_domains
from handlers.reference_overrides import effective_reference
from storage import reference
from storage.crypto import Cipher


def _candidates(conn: sa.Connection, analysis: Analysis) -> list[str]:
    if analysis.school_id:
        return [s.id for s in reference.get_schools(conn, ids=[analysis.school_id])]
    key = analysis.school_key
    if key is None or not key.core:
        return []
    # Exact keys first (an index lookup): they hold every exact and name-plus-place match, which always
    # beat a partial one. Only a name that is part of a school's name needs the LIKE scan.
    chosen = choose(key, reference.schools_with_name_keys(conn, keys=sub_phrases(key)))
    if not chosen:
        chosen = choose(key, reference.schools_with_name_part(conn, padded_core=key.padded))
    return [c.id for c in chosen]


def gather(conn: sa.Connection, analysis: Analysis, *, cipher: Cipher) -> Facts:
    """Look up everything the rules need about this analysis. Read-only.

    ``cipher`` gives the blind index citizens' reports are counted by (reported numbers are never in clear).
    """
    candidate_ids = _candidates(conn, analysis)
    numbers = sorted({p.e164 for p in analysis.phones if p.e164 and p.valid})
    by_phone = reference.schools_with_phones(conn, phones=numbers)
    parents = {u.host: parent_domains(u) for u in analysis.urls}
    all_hosts = sorted({h for hosts in parents.values() for h in hosts})
    by_host = reference.schools_with_hosts(conn, hosts=all_hosts) if all_hosts else {}
    # One query for the phones of every school we may name in the answer.
    ids = set(candidate_ids) | {sid for owners in by_phone.values() for sid, _n in owners}
    schools = {s.id: SchoolRef(s.id, s.name, s.phones) for s in reference.get_schools(conn, ids=sorted(ids))}
    reported_domains = sorted({(u.host if u.is_ip else u.registrable) for u in analysis.urls} - {""})
    blocked = reference.blocklisted(conn, phones=numbers, domains=all_hosts)
    reports = reference.report_counts(conn, phones=numbers, domains=reported_domains, cipher=cipher)
    return Facts(
        candidates=tuple(schools[i] for i in candidate_ids if i in schools),
        phone_owners={p: tuple(schools[sid] for sid, _n in owners if sid in schools) for p, owners in by_phone.items()},
        site_owners={
            host: tuple(SchoolRef(sid, name) for h in hosts for sid, name in by_host.get(h, ()))
            for host, hosts in parents.items()
        },
        blocked=frozenset(blocked),
        reports=reports,
    )


def check(conn: sa.Connection, request: CheckRequest, *, cipher: Cipher) -> CheckResult:
    """Check a call, a link or a message against the directory, the blocklist and citizens' reports."""
    analysis = analyse(request)
    # Domains admins added or switched off in the console count from the next check on (issue 13).
    return evaluate(analysis, gather(conn, analysis, cipher=cipher), effective_reference(conn))
