"""Threads (Meta): the Threads API on graph.threads.net, with a long-lived user token."""

from __future__ import annotations

import importlib
from typing import Literal

from ..spec import AccountConfig, Counting, CredentialField, PlatformSpec


class ThreadsAccount(AccountConfig):
    platform: Literal["threads"]


def threads_length(text: str) -> int:
    """A post's length as Threads counts it against its 500, never less.

    Meta's guide says "Text posts are limited to 500 characters" and "Emojis are counted as the
    number of UTF-8 bytes" (developers.facebook.com/docs/threads/posts, Limitations). So an
    emoji (a grapheme cluster with an Extended_Pictographic or Regional_Indicator code point,
    or a keycap) counts its UTF-8 bytes (👍 4, 👩‍⚕️ 13); any other cluster counts its UTF-16 code
    units, which is never less than its graphemes or code points (é 1, 𝐀 2). URLs count in full.
    """
    from ...textlength import graphemes

    clusters = graphemes(text)  # loads (and checks) graphemeu's tables
    groups = importlib.import_module("grapheme.grapheme_property_group")
    kinds = groups.GraphemePropertyGroup
    emoji = {kinds.EXTENDED_PICTOGRAPHIC, kinds.REGIONAL_INDICATOR}
    total = 0
    for cluster in clusters:
        if "\u20e3" in cluster or any(groups.get_group(ch) in emoji for ch in cluster):
            total += len(cluster.encode("utf-8", "surrogatepass"))
        else:
            total += len(cluster.encode("utf-16-le", "surrogatepass")) // 2
    return total


SPEC = PlatformSpec(
    name="threads",
    title="Threads",
    role="share",
    config=ThreadsAccount,
    adapter="crosspost.platforms.threads:ThreadsAdapter",
    login_ends=("token_expires_at",),
    credential_fields=(
        CredentialField("access_token", "Threads long-lived access token"),
        CredentialField(
            "token_expires_at", "When the token expires (Unix seconds; empty: unknown)", False
        ),
        CredentialField("user_id", "Threads user id (empty: asked with /me)", False),
    ),
    limit=500,
    # Meta: 500 characters, emoji counted as their UTF-8 bytes; links count in full
    counting=Counting(length=threads_length, unit="characters (emoji: UTF-8 bytes)"),
    summary="posts to Threads through Meta's Threads API with a long-lived token",
)
