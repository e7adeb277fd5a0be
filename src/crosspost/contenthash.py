"""What makes two posts "the same content", as one short key the database can index.

``queue`` refuses a post whose title and body a post of the same persona already has; comparing
bodies in SQL would read every post of the persona, so each post stores this hash of its
normalised title and body (``post.content_hash``), and the check looks it up through an index.
Changing the normalisation changes every key: it needs a migration that recomputes them.
"""

from __future__ import annotations

import hashlib
import json


def normalised_body(body: str) -> str:
    """Line endings and surrounding white space do not make a post different."""
    return body.replace("\r\n", "\n").replace("\r", "\n").strip()


def normalised_title(title: str | None) -> str:
    """Runs of white space in a title (a wrapped front matter line) do not either."""
    return " ".join((title or "").split())


def content_hash(title: str | None, body: str) -> str:
    """The key of a post's content: equal exactly when the normalised title and body are."""
    blob = json.dumps([normalised_title(title), normalised_body(body)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
