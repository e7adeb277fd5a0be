"""``make_publication``: the one way tests build the ``Publication`` an adapter is handed.

The defaults describe an ordinary blog entry of the professional persona, scheduled a few
minutes ago; a test names only what it cares about. Without ``idempotency_key`` the key is
derived from the post and target, as the publisher's is unique per delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from crosspost.platforms.base import Publication


def make_publication(**overrides: Any) -> Publication:
    values: dict[str, Any] = dict(
        post_id=1,
        persona="professional",
        target="blog",
        platform="static",
        kind="entry",
        title="Sleep and anxiety",
        body="Some thoughts on sleep.",
        summary="Why sleep matters.",
        tags=(),
        categories=(),
        slug="sleep",
        lang="en",
        scheduled_at=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3),
        canonical_url=None,
    )
    values.update(overrides)
    values.setdefault("idempotency_key", f"post-{values['post_id']}/{values['target']}")
    values.setdefault("text", values["body"])
    return Publication(**values)
