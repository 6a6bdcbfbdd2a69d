"""The tool's own error rate, read from the reviewers' decisions.

Every flagged conflict is pending, confirmed (a real contradiction) or dismissed (a false alarm).
Counted by conflict kind and by score band, that says where the detector can be trusted, and
which flag threshold a user would pick from their own reviews: the lowest band edge above which
at least 90% of the reviewed conflicts were confirmed.
"""

from __future__ import annotations

from collections import Counter

import sqlite_utils

BAND_EDGES = (0.0, 0.5, 0.7, 0.9, 1.0)
TARGET_PRECISION = 0.9  # share of reviewed conflicts confirmed above a suggested threshold
MIN_REVIEWED = 5  # fewer reviewed conflicts than this (above an edge) say nothing


def band_of(score: float) -> str:
    """The band label of a score: "0.0-0.5", "0.5-0.7", "0.7-0.9" or "0.9-1.0" (the last is closed)."""
    for low, high in zip(BAND_EDGES, BAND_EDGES[1:]):
        if score < high or high == BAND_EDGES[-1]:
            return f"{low:.1f}-{high:.1f}"
    raise AssertionError("unreachable")


def _row(label: str, counts: Counter) -> dict:
    confirmed, dismissed, pending = counts["confirmed"], counts["dismissed"], counts["pending"]
    reviewed = confirmed + dismissed
    share = confirmed / reviewed if reviewed else None
    return {"label": label, "confirmed": confirmed, "dismissed": dismissed, "pending": pending,
            "total": reviewed + pending, "reviewed": reviewed,
            "confirmed_share": round(share, 3) if reviewed else None,
            "share_text": f"{confirmed} of {reviewed} ({share:.0%})" if reviewed else "none reviewed"}


def error_rate(db: sqlite_utils.Database) -> dict:
    """{"by_kind": [...], "by_band": [...], "total": {...}, "suggestion": {...}}: per kind and per
    score band, how many flagged conflicts were confirmed, dismissed or are pending."""
    rows = list(db.query(
        "select conflicts.kind, conflicts.score, coalesce(reviews.decision, 'pending') as review "
        "from conflicts left join reviews on reviews.pair_key = conflicts.pair_key"))
    by_kind: dict[str, Counter] = {}
    by_band: dict[str, Counter] = {band_of(low): Counter() for low in BAND_EDGES[:-1]}
    total = Counter()
    for r in rows:
        by_kind.setdefault(r["kind"], Counter())[r["review"]] += 1
        by_band[band_of(r["score"])][r["review"]] += 1
        total[r["review"]] += 1
    return {
        "by_kind": [_row(kind, counts) for kind, counts in sorted(by_kind.items())],
        "by_band": [_row(label, counts) for label, counts in by_band.items()],
        "total": _row("all", total),
        "suggestion": suggest_threshold([(r["score"], r["review"]) for r in rows]),
    }


def suggest_threshold(scored: list[tuple[float, str]]) -> dict:
    """The lowest band edge above which >= 90% of reviewed conflicts were confirmed, from at
    least MIN_REVIEWED reviews: {"threshold": edge or None, "confirmed", "reviewed", "text"}."""
    reviewed = [(score, review) for score, review in scored if review != "pending"]
    if len(reviewed) < MIN_REVIEWED:
        return {"threshold": None, "confirmed": sum(r == "confirmed" for _, r in reviewed), "reviewed": len(reviewed),
                "text": f"not enough reviews to suggest a flag threshold ({len(reviewed)} reviewed; "
                        f"{MIN_REVIEWED} needed)"}
    best = None
    for edge in BAND_EDGES[:-1]:
        above = [r for score, r in reviewed if score >= edge]
        confirmed = sum(r == "confirmed" for r in above)
        if len(above) >= MIN_REVIEWED and confirmed / len(above) >= TARGET_PRECISION:
            best = (edge, confirmed, len(above))
            break
    if best is None:
        confirmed = sum(r == "confirmed" for _, r in reviewed)
        return {"threshold": None, "confirmed": confirmed, "reviewed": len(reviewed),
                "text": f"no score band reaches {TARGET_PRECISION:.0%} confirmed with {MIN_REVIEWED} or more reviews "
                        f"(all scores: {confirmed} of {len(reviewed)} confirmed)"}
    edge, confirmed, n = best
    return {"threshold": edge, "confirmed": confirmed, "reviewed": n,
            "text": f"above {edge:.1f}, {confirmed} of {n} were confirmed: a flag threshold of {edge:.1f} "
                    f"keeps {TARGET_PRECISION:.0%} or more of flags right"}
