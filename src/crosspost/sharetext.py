"""Which text goes to which target, and how long it is there.

Template precedence for a share target: the entry's ``share`` override for the account name,
then for the platform, then the account's ``share`` template, then the persona's. A short post
(no title) shares its own text unless an override exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as _date
from typing import TYPE_CHECKING

from .errors import ConfigError
from .platforms import registry
from .profiles import Account, Blog, Persona

if TYPE_CHECKING:
    from .entries import Entry


def counted(platform: str) -> bool:
    """Whether the platform's length is counted exactly (the others have no practical limit)."""
    return registry.spec(platform).counting is not None


@dataclass(frozen=True)
class ShareSource:
    kind: str
    title: str | None
    body: str
    summary: str | None
    tags: tuple[str, ...]
    slug: str
    share: dict[str, str]
    #: the entry asked for threads (``thread: true``)
    thread: bool = False


def share_source(entry: Entry) -> ShareSource:
    """What the share texts of ``entry`` are made from: the same for preview and publishing,
    so preview shows what the daemon sends."""
    return ShareSource(
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
        summary=entry.summary,
        tags=tuple(entry.tags),
        slug=entry.effective_slug(),
        share=dict(entry.share),
        thread=entry.thread,
    )


def canonical_url(blog: Blog, slug: str, date: _date | None = None) -> str:
    """The URL an entry will have on a blog whose URLs crosspost decides (static sites).

    For WordPress and Micropub the server decides; this is then only a prediction, replaced
    by the real URL once the blog has published.

    ``permalink`` may use ``{year}``, ``{month}``, ``{day}`` (zero-padded) besides ``{slug}``;
    they come from ``date``, which the caller gives in the persona's time zone (the static
    adapter uses the scheduled time there, the date the generator sees in the front matter).
    """
    fields = {"slug": slug}
    if date is not None:
        fields |= {
            "year": f"{date.year:04d}",
            "month": f"{date.month:02d}",
            "day": f"{date.day:02d}",
        }
    try:
        path = blog.permalink.format_map(fields)
    except KeyError as e:
        name = e.args[0]
        if name in ("year", "month", "day"):
            raise ValueError(
                f"permalink {blog.permalink!r} uses {{{name}}}: pass the entry's date"
            ) from None
        raise ConfigError(
            f"[blog] permalink {blog.permalink!r} uses unknown placeholder {{{name}}}",
            hint="use {slug}, {year}, {month} and {day}, like '/posts/{slug}/'",
        ) from None
    except (ValueError, IndexError, AttributeError) as e:
        raise ConfigError(
            f"[blog] permalink {blog.permalink!r} is not a valid pattern ({e})",
            hint="use {slug}, {year}, {month} and {day}, like '/posts/{slug}/'",
        ) from None
    return blog.url.rstrip("/") + "/" + path.lstrip("/")


def template_for(src: ShareSource, persona: Persona, account: Account) -> str | None:
    """The template to render, or None when the post's own text is shared as is."""
    for key in (account.name, account.platform):
        if key in src.share:
            return src.share[key]
    if src.kind == "short":
        return None
    return account.share or persona.share


def limit_for(account: Account) -> int | None:
    return account.limit or registry.spec(account.platform).limit


def render_for(
    src: ShareSource,
    persona: Persona,
    account: Account,
    url: str | None,
    limit: int | None = None,
    counting: str | None = None,
) -> str:
    """The share text for one account, fitted to ``limit`` (default: the platform's) as
    ``counting`` counts (default: the account's ``counting``, else the platform's rule)."""
    from .compose import ShareInput, compose_share, fit, template_problem

    template = template_for(src, persona, account)
    limit = limit or limit_for(account)
    counting = counting or account.chosen_counting()
    if template is not None:
        # profiles and entries are checked on load; this catches posts queued before that
        problem = template_problem(template, f"the share template for account '{account.name}'")
        if problem is not None:
            raise ConfigError(problem)
    if template is None:
        text = src.body
        if counted(account.platform):
            text = fit(text, account.platform, limit, counting=counting)
        return text
    data = ShareInput(title=src.title, url=url, summary=src.summary, tags=src.tags, body=src.body)
    if counted(account.platform):
        return compose_share(template, data, account.platform, limit, counting=counting)
    from .compose import render_share

    return render_share(template, data)


def threads_for(account: Account, src: ShareSource | None = None) -> bool:
    """Whether shares to ``account`` too long for one post become threads: its platform can
    thread, and the account (``thread = true``) or the entry (``thread: true``) asks."""
    if not registry.spec(account.platform).threads:
        return False
    return account.threads() or bool(src is not None and src.thread)


def thread_for(
    src: ShareSource,
    persona: Persona,
    account: Account,
    url: str | None,
    limit: int | None = None,
    counting: str | None = None,
) -> list[str] | None:
    """The parts of the thread ``account`` gets, or None when the share goes out as one post
    (no thread asked for, the text fits, or it cannot be split: then it is shortened)."""
    if not threads_for(account, src):
        return None
    from .compose import ShareInput, render_share
    from .threads import ThreadSplitError, split_thread

    template = template_for(src, persona, account)
    if template is None:
        full = src.body
    else:
        data = ShareInput(
            title=src.title, url=url, summary=src.summary, tags=src.tags, body=src.body
        )
        full = render_share(template, data)
    limit = limit or limit_for(account)
    counting = counting or account.chosen_counting()
    try:
        parts = split_thread(
            full, account.platform, limit, counting=counting, numbering=account.numbers_threads()
        )
    except ThreadSplitError:
        return None
    return parts if len(parts) > 1 else None


def length_for(text: str, platform: str, counting: str | None = None) -> int:
    if counted(platform):
        from .textlength import text_length

        return text_length(text, platform, counting=counting)
    return len(text)
