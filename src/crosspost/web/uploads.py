"""Images sent with the composer: written to a private folder next to the queue's data for as
long as the request runs. Queueing copies them into the media store (as ``queue`` copies a
file's media), so nothing is left behind; a check reads them and forgets them."""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..app import App
from ..entries import Media

#: image rows of the composer: media0/alt0 … (a few images is what a post carries)
ROWS = 4


@contextmanager
def saved(app: App, files: list[tuple[Any, str]]) -> Iterator[list[Media]]:
    """``files``: (the form's upload, its alt text); empty file fields are skipped."""
    folder = app.settings.resolved_data_dir() / "uploads" / secrets.token_hex(8)
    out = []
    try:
        for i, (upload, alt) in enumerate(files):
            name = getattr(upload, "filename", "") or ""
            if not name:
                continue
            suffix = re.sub(r"[^a-z0-9.]", "", Path(name).suffix.lower())[:10]
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / f"{i}{suffix}"
            with path.open("wb") as f:
                shutil.copyfileobj(upload.file, f)
            out.append(Media(path, alt.strip()))
        yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def form_files(form: Any) -> list[tuple[Any, str]]:
    out = []
    for i in range(ROWS):
        upload = form.get(f"media{i}")
        alt = form.get(f"alt{i}")
        if upload is not None and not isinstance(upload, str):
            out.append((upload, alt if isinstance(alt, str) else ""))
    return out


def kept(form: Any) -> dict[int, str]:
    """On an edit, the images already queued with the post that stay, with their alt text."""
    out = {}
    for key in form:
        m = re.fullmatch(r"keep(\d+)", key)
        if m:
            alt = form.get(f"alt_kept{m.group(1)}")
            out[int(m.group(1))] = alt.strip() if isinstance(alt, str) else ""
    return out
