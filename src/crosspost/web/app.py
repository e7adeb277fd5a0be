"""``crosspost serve``'s pages: calendar, post, composer, personas and audit log.

Pages are rendered on the server and work without script; the one script (static/app.js,
the project's own) makes the composer check as the user types, lets a post be dragged to
another time and refreshes the calendar while nobody is using it. Every
change goes through :mod:`crosspost.web.actions`, i.e. through the functions the commands
call. The library is synchronous (SQLAlchemy, the guard): each request's work runs in
Starlette's thread pool, so several tabs never wait on one another's page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..app import App
from ..errors import CrosspostError
from . import actions, uploads
from .calendar import ATTENTION, Lane, build_days, month_days, utc_span, week_days
from .security import CSRF_FIELD, Gate, OneTimeToken

HERE = Path(__file__).parent
T = TypeVar("T")
SESSION_COOKIE = "crosspost_session"


def build_app(
    app: App,
    token: OneTimeToken,
    *,
    allowed_hosts: list[str],
    https: bool = False,
) -> Starlette:
    """The web app over ``app`` (loaded now: a broken configuration stops ``serve`` at once,
    with its message, instead of showing broken pages)."""
    _ = app.personas, app.store
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    pages = Pages(app, templates)
    routes = [
        Route("/", pages.home),
        Route("/calendar", pages.calendar),
        Route("/posts/{post_id:int}", pages.post),
        Route("/posts/{post_id:int}/{action}", pages.act, methods=["POST"]),
        Route("/posts/{post_id:int}/edit", pages.edit_form, methods=["GET"]),
        Route("/compose", pages.compose, methods=["GET", "POST"]),
        Route("/api/check", pages.check, methods=["POST"]),
        Route("/personas", pages.personas),
        Route("/personas/test", pages.test_account, methods=["POST"]),
        Route("/audit", pages.audit),
        Route("/audit-exposure", pages.exposure, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts),
        Middleware(
            SessionMiddleware,
            secret_key=secrets.token_urlsafe(32),
            session_cookie=SESSION_COOKIE,
            max_age=None,
            same_site="strict",
            https_only=https,
        ),
        Middleware(Gate, token=token),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={CrosspostError: pages.problem, Exception: unexpected},
    )


async def unexpected(request: Request, exc: Exception) -> Response:
    """A bug or a broken database: one readable line, never a traceback or a statement
    (which may hold a post's text); the details go to the terminal running serve."""
    import logging

    from starlette.responses import HTMLResponse

    from ..dberrors import store_problem, summary
    from .security import CSP, plain_page

    problem = store_problem(exc)
    if problem is not None:
        text = _error_text(problem)
    else:
        logging.getLogger("crosspost").error("serve: %s", summary(exc), exc_info=exc)
        text = (
            f"unexpected {type(exc).__name__}: {summary(exc)} (nothing was changed by the "
            "failed step; the terminal running crosspost serve has the details)"
        )
    return HTMLResponse(
        plain_page("Something went wrong", text),
        status_code=500,
        headers={"content-security-policy": CSP},
    )


def _flash(request: Request, kind: str, text: str) -> None:
    request.session["flash"] = [kind, text]


def _error_text(e: CrosspostError) -> str:
    return f"{e.message} ({e.hint})" if e.hint else e.message


class Pages:
    def __init__(self, app: App, templates: Jinja2Templates) -> None:
        from .exposure import LastRuns

        self.app = app
        self.templates = templates
        self.exposure_runs = LastRuns()

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> Response:
        flash = request.session.pop("flash", None)
        return self.templates.TemplateResponse(
            request,
            name,
            {
                "csrf": request.session.get(CSRF_FIELD, ""),
                "csrf_field": CSRF_FIELD,
                "flash": flash,
                "colours": self.colours(),
                **context,
            },
            status_code=status_code,
        )

    async def problem(self, request: Request, exc: Exception) -> Response:
        """A user's problem that a page did not expect (a database that became read-only, a
        profile that no longer loads): its message and fix, as the CLI prints them."""
        assert isinstance(exc, CrosspostError)
        return self.render(request, "error.html", 400, message=_error_text(exc))

    def fresh(self) -> None:
        """A profile edited while serve runs counts from the next page on (a broken edit
        keeps the last good profiles, as in the daemon)."""
        self.app.refresh_personas()

    def colours(self) -> dict[str, int]:
        return {name: i % 4 for i, name in enumerate(self.app.personas.names())}

    def lanes(self) -> list[Lane]:
        colours = self.colours()
        return [Lane(p.name, p.tz, p.separation, colours[p.name]) for p in self.app.personas]

    # -- calendar ------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/calendar", status_code=303)

    async def calendar(self, request: Request) -> Response:
        await run_in_threadpool(self.fresh)
        view = "month" if request.query_params.get("view") == "month" else "week"
        lanes = self.lanes()
        tz = lanes[0].tz if lanes else UTC
        try:
            anchor = date.fromisoformat(request.query_params.get("date", ""))
        except ValueError:
            anchor = datetime.now(tz).date()
        if not MINYEAR < anchor.year < MAXYEAR:  # no week or month to step to on either side
            anchor = datetime.now(tz).date()
        days = week_days(anchor) if view == "week" else month_days(anchor)
        start, end = utc_span(days, lanes)

        def rows() -> list[Any]:
            found, _ = self.app.store.list_posts(start=start, end=end, limit=5000)
            return found

        found = await run_in_threadpool(rows)
        health = await run_in_threadpool(self.health)
        grid = build_days(days, lanes, found, month=anchor if view == "month" else None)
        step = 7 if view == "week" else 31
        prev_day = anchor - timedelta(days=step)
        next_day = anchor + timedelta(days=step)
        if view == "month":
            prev_day = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
            next_day = (anchor.replace(day=28) + timedelta(days=5)).replace(day=1)
        return self.render(
            request,
            "calendar.html",
            view=view,
            days=grid,
            lanes=lanes,
            anchor=anchor,
            prev_day=prev_day,
            next_day=next_day,
            today=datetime.now(tz).date(),
            attention=ATTENTION,
            health=health,
        )

    def health(self) -> dict[str, Any]:
        """What ``crosspost status`` says needs the user, and whether a daemon publishes:
        without one, nothing queued here goes out."""
        from ..status import collect

        try:
            st = collect(self.app)
        except CrosspostError as e:
            return {"problems": [_error_text(e)], "daemons": None}
        return {"problems": st.problems, "daemons": len(st.running)}

    # -- one post --------------------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        post_id = int(request.path_params["post_id"])
        from .. import views
        from ..when import format_local

        def load() -> tuple[Any, Any]:
            post, deliveries = self.app.store.get(post_id)
            tzs: dict[str, tzinfo] = {p.name: p.tz for p in self.app.personas}
            tz = tzs.get(post.persona, UTC)
            return views.post_json(post, deliveries, tzs, full=True), tz

        try:
            data, tz = await run_in_threadpool(load)
        except CrosspostError as e:
            return self.render(request, "error.html", 404, message=_error_text(e))
        when = datetime.fromisoformat(data["scheduled_at"].replace("Z", "+00:00"))
        return self.render(
            request,
            "post.html",
            post=data,
            when=format_local(when, tz),
            local_value=when.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
            editable=data["status"] in ("queued", "held"),
            held=any(t["state"] == "held" for t in data["targets"]),
        )

    async def act(self, request: Request) -> Response:
        await run_in_threadpool(self.fresh)
        post_id = int(request.path_params["post_id"])
        action = request.path_params["action"]
        form = await request.form()
        f = {k: v for k, v in form.items() if isinstance(v, str)}
        a = self.app
        work = {
            "cancel": lambda: actions.cancel(a, post_id),
            "retry": lambda: actions.retry(a, post_id, f.get("target") or None),
            "resolve": lambda: actions.resolve(
                a, post_id, f.get("target", ""), f.get("url") or None
            ),
            "release": lambda: actions.move(
                a, post_id, _at(f) or "now", False, release=True, early=f.get("early") == "1"
            ),
            "reschedule": lambda: actions.move(
                a, post_id, _at(f), f.get("next_slot") == "1", release=False
            ),
        }.get(action)
        if work is None:
            return self.render(request, "error.html", 404, message=f"no action '{action}'")
        wants_json = "application/json" in request.headers.get("accept", "")
        try:
            done = await run_in_threadpool(work)
        except CrosspostError as e:
            if wants_json:
                return JSONResponse({"error": _error_text(e)}, status_code=400)
            _flash(request, "error", _error_text(e))
        else:
            if wants_json:
                return JSONResponse({"ok": done})
            _flash(request, "ok", done)
        return RedirectResponse(f"/posts/{post_id}", status_code=303)

    # -- composer --------------------------------------------------------------------------------

    async def read_draft(self, request: Request) -> tuple[actions.Draft, list[Any]]:
        """The composer's form; the images are saved only while the work runs (:meth:`run`)."""
        form = await request.form()
        draft = actions.Draft.from_form(
            {k: v for k, v in form.items() if isinstance(v, str)},
            [v for v in form.getlist("to") if isinstance(v, str)],
        )
        if draft.post_id is not None:
            draft.kept = uploads.kept(form)
        return draft, uploads.form_files(form)

    def with_media(self, draft: actions.Draft, files: list[Any], work: Callable[[], T]) -> T:
        with uploads.saved(self.app, files) as media:
            draft.media = media
            return work()

    async def compose(self, request: Request) -> Response:
        await run_in_threadpool(self.fresh)
        if request.method == "POST":
            draft, files = await self.read_draft(request)
            a = self.app
            try:
                if draft.post_id is not None:
                    pid = draft.post_id
                    post, _, _ = await run_in_threadpool(
                        self.with_media, draft, files, lambda: actions.edit(a, pid, draft)
                    )
                    _flash(request, "ok", f"post {pid} edited")
                else:
                    post, _ = await run_in_threadpool(
                        self.with_media, draft, files, lambda: actions.queue(a, draft)
                    )
                    _flash(request, "ok", f"queued post {post.id}")
            except CrosspostError as e:
                draft.media = []
                message = _error_text(e)
                if files:
                    message += " (choose the images again: a browser does not keep them)"
                return self.composer(request, draft, error=message, status=400)
            return RedirectResponse(f"/posts/{post.id}", status_code=303)
        persona = request.query_params.get("persona", "")
        if persona not in self.app.personas.names():
            return self.render(request, "choose.html", personas=list(self.app.personas))
        p = self.app.personas.get(persona)
        draft = actions.Draft(
            persona=persona, to=p.target_names(), when="next" if p.slots else "now"
        )
        return self.composer(request, draft)

    def composer(
        self,
        request: Request,
        draft: actions.Draft,
        *,
        error: str | None = None,
        status: int = 200,
        existing: list[dict[str, Any]] | None = None,
    ) -> Response:
        try:
            p = self.app.personas.get(draft.persona)
        except CrosspostError as e:
            return self.render(request, "error.html", 400, message=_error_text(e))
        targets = []
        if p.blog is not None:
            targets.append(("blog", p.blog.platform))
        targets += [(acc.name, acc.platform) for acc in p.accounts]
        return self.render(
            request,
            "compose.html",
            status,
            draft=draft,
            persona=p,
            targets=targets,
            error=error,
            post_id=draft.post_id or "",
            existing=existing if existing is not None else self.existing(draft),
            rows=range(uploads.ROWS),
        )

    def existing(self, draft: actions.Draft) -> list[dict[str, Any]]:
        """The images of the post being edited, with their alt text (and whether they stay)."""
        if draft.post_id is None:
            return []
        try:
            post, _ = self.app.store.get(draft.post_id)
        except CrosspostError:
            return []
        kept = draft.kept
        own = [m for m in post.media if not m.get("ref")]
        return [
            {
                "i": i,
                "name": Path(m.get("original") or m["path"]).name,
                "alt": kept.get(i, m.get("alt", "")) if kept is not None else m.get("alt", ""),
                "kept": kept is None or i in kept,
            }
            for i, m in enumerate(own)
        ]

    async def edit_form(self, request: Request) -> Response:
        post_id = int(request.path_params["post_id"])
        try:
            post, deliveries = await run_in_threadpool(self.app.store.get, post_id)
        except CrosspostError as e:
            return self.render(request, "error.html", 404, message=_error_text(e))
        draft = actions.Draft(
            persona=post.persona,
            title=post.title or "",
            body=post.body,
            tags=", ".join(post.tags),
            to=[d.target for d in deliveries if d.state != "cancelled"],
            when="keep",
            post_id=post_id,
            version=actions.version_of(post),
        )
        return self.composer(request, draft)

    async def check(self, request: Request) -> Response:
        await run_in_threadpool(self.fresh)
        draft, files = await self.read_draft(request)
        if draft.post_id is None and draft.when in ("keep", "at") and not draft.at:
            draft.when = "now"  # no time typed yet: the text is checked all the same
        a = self.app
        result = await run_in_threadpool(
            self.with_media, draft, files, lambda: actions.check(a, draft)
        )
        return JSONResponse(result)

    # -- personas and audit --------------------------------------------------------------------

    async def personas(self, request: Request) -> Response:
        await run_in_threadpool(self.fresh)
        from .personas import persona_pages

        data = await run_in_threadpool(persona_pages, self.app)
        return self.render(request, "personas.html", personas=data)

    async def test_account(self, request: Request) -> Response:
        from .personas import test_credentials

        form = await request.form()
        persona, target = str(form.get("persona", "")), str(form.get("target", ""))
        try:
            done = await run_in_threadpool(test_credentials, self.app, persona, target)
        except CrosspostError as e:
            _flash(request, "error", f"{persona}/{target}: {_error_text(e)}")
        else:
            _flash(request, "ok", f"{persona}/{done}")
        return RedirectResponse("/personas", status_code=303)

    async def audit(self, request: Request) -> Response:
        from .. import views

        def load() -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
            records, total = self.app.store.audit_records(limit=200)
            tzs = {p.name: p.tz for p in self.app.personas}
            return [views.audit_json(r) for r in records], total, tzs

        records, total, tzs = await run_in_threadpool(load)
        from ..views import audit_detail
        from ..when import format_local

        rows = [
            {
                **r,
                "when": format_local(
                    datetime.fromisoformat(r["at"].replace("Z", "+00:00")),
                    tzs.get(r["persona"], UTC),
                ),
                "what": r["reason"] or audit_detail(r["detail"] or {}),
            }
            for r in records
        ]
        return self.render(request, "audit.html", records=rows, total=total)

    async def exposure(self, request: Request) -> Response:
        """``crosspost audit-exposure`` from the browser: the POST runs it (seconds: every
        account is read back) and redirects; the page shows the last run of this process."""
        from . import exposure

        await run_in_threadpool(self.fresh)
        if request.method == "POST":
            form = await request.form()
            f = {k: v for k, v in form.items() if isinstance(v, str)}

            def work() -> exposure.LastRun:
                persona, limit, record = exposure.parse_form(self.app, f)
                return exposure.run_audit(self.app, persona, limit, record)

            try:
                done = await run_in_threadpool(work)
            except CrosspostError as e:
                _flash(request, "error", _error_text(e))
            else:
                self.exposure_runs.put(done)
            return RedirectResponse("/audit-exposure", status_code=303)
        last = self.exposure_runs.get()
        tzs: dict[str, tzinfo] = {p.name: p.tz for p in self.app.personas}
        default = next(iter(tzs.values()), UTC)
        return self.render(
            request,
            "exposure.html",
            last=exposure.page_data(last, tzs, default) if last is not None else None,
            personas=list(tzs),
            limit=last.limit if last is not None else exposure.LIMIT_DEFAULT,
            limits=(exposure.LIMIT_MIN, exposure.LIMIT_MAX),
        )


def _at(form: dict[str, str]) -> str | None:
    at = form.get("at", "").strip()
    return at.replace("T", " ") if at else None
