// crosspost serve: the composer's live guard check and drag-to-reschedule on the calendar.
// The project's own script; every request carries the session's CSRF token in a header.
"use strict";
(function () {
  document.documentElement.classList.add("js");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url, body, accept) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": accept || "application/json" },
      body: body,
    });
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // -- calendar: place each post at its minute, draw its separation window, drag to move --
  const PX_PER_MIN = 960 / 1440;
  document.querySelectorAll(".week .item").forEach(function (item) {
    const minute = Number(item.dataset.minute);
    const win = Number(item.dataset.window);
    item.style.top = (minute * PX_PER_MIN) + "px";
    const band = item.querySelector(".window");
    if (band && win > 0) {
      band.style.top = (-win * PX_PER_MIN) + "px";
      band.style.height = (2 * win * PX_PER_MIN + item.offsetHeight) + "px";
    }
    if (item.getAttribute("draggable") === "true") {
      item.addEventListener("dragstart", function (ev) {
        ev.dataTransfer.setData("text/plain", item.dataset.id);
        ev.dataTransfer.effectAllowed = "move";
      });
    }
  });
  document.querySelectorAll(".week .lane").forEach(function (lane) {
    lane.addEventListener("dragover", function (ev) { ev.preventDefault(); lane.classList.add("drop"); });
    lane.addEventListener("dragleave", function () { lane.classList.remove("drop"); });
    lane.addEventListener("drop", function (ev) {
      ev.preventDefault();
      lane.classList.remove("drop");
      const id = ev.dataTransfer.getData("text/plain");
      const y = ev.clientY - lane.getBoundingClientRect().top;
      const minute = Math.max(0, Math.min(1425, Math.round(y / PX_PER_MIN / 15) * 15));
      const at = lane.dataset.day + " " + String(Math.floor(minute / 60)).padStart(2, "0") + ":" + String(minute % 60).padStart(2, "0");
      post("/posts/" + id + "/reschedule", new URLSearchParams({ at: at }))
        .then(function (r) { return r.json(); })
        .then(function (res) {
          if (res.error) { window.alert(res.error); } else { window.location.reload(); }
        });
    });
  });

  // -- follow: the calendar and a post's page refresh themselves while nobody is using them --
  const follow = document.querySelector('meta[name="follow"]');
  let dragging = false;
  document.addEventListener("dragstart", function () { dragging = true; });
  document.addEventListener("dragend", function () { dragging = false; });
  if (follow) {
    setInterval(function () {
      const active = document.activeElement;
      const busy = active && ["INPUT", "TEXTAREA", "SELECT", "BUTTON"].indexOf(active.tagName) >= 0;
      if (document.visibilityState === "visible" && !busy && !dragging) window.location.reload();
    }, Number(follow.content) * 1000);
  }

  // -- composer: the guard runs as the user types --
  const form = document.getElementById("composer");
  if (!form) return;
  const status = document.getElementById("check-status");
  const findings = document.getElementById("findings");
  const marked = document.getElementById("marked");
  const preview = document.getElementById("preview");
  let timer = null;
  let seq = 0;

  function show(res) {
    findings.replaceChildren();
    marked.replaceChildren();
    preview.replaceChildren();
    if (res.error) {
      status.textContent = res.error + (res.hint ? " (" + res.hint + ")" : "");
      return;
    }
    const blocking = res.findings.filter(function (f) { return f.blocks; }).length;
    status.textContent = res.findings.length === 0
      ? "Clean: nothing of another persona found. It would go out " + res.when + "."
      : (blocking ? blocking + " finding(s) block this post." : "Warnings only: the post can be queued.") + " It would go out " + res.when + ".";
    status.className = blocking ? "blocked" : "clean";
    res.findings.forEach(function (f) {
      const li = el("li", f.blocks ? "blocks" : "warns");
      li.append(el("strong", "", (f.allowed ? "allowed " : f.severity + " ") + f.rule), document.createTextNode(" in " + f.field + ": " + f.message));
      if (f.allowed) li.append(document.createTextNode(" (override: " + f.allowed + ")"));
      if (f.blocks && f.rule !== "routing" && form.allow) {
        const b = el("button", "", "Override…");
        b.type = "button";
        b.addEventListener("click", function () {
          form.allow.value = f.rule;
          form.allow.closest("details").open = true;
          form.reason.focus();
        });
        li.append(b);
      }
      findings.append(li);
    });
    res.body.forEach(function (seg) {
      if (seg.rule) {
        const m = el("mark", "finding" + (seg.blocks ? "" : " warn"), seg.text);
        m.title = seg.rule + ": " + seg.message;
        marked.append(m);
      } else {
        marked.append(document.createTextNode(seg.text));
      }
    });
    res.preview.forEach(function (it) {
      const box = el("section", "pv");
      const limit = it.limit ? "/" + it.limit : "";
      const head = it.target + " (" + it.platform + "): " + (it.parts.length > 1 ? "a thread of " + it.parts.length + " posts" : it.length + limit + " " + it.unit);
      box.append(el("h3", it.over ? "over" : "", head + (it.over ? ", over the limit" : "")));
      it.parts.forEach(function (part, i) {
        if (it.parts.length > 1) box.append(el("div", part.over ? "over" : "", "part " + (i + 1) + ": " + part.length + limit + " " + it.unit));
        box.append(el("pre", "", part.text));
      });
      preview.append(box);
    });
  }

  function check() {
    const mine = ++seq;
    status.textContent = "Checking…";
    post(form.dataset.check, new FormData(form))
      .then(function (r) { return r.json(); })
      .then(function (res) { if (mine === seq) show(res); })
      .catch(function () { if (mine === seq) status.textContent = "The check could not run (is crosspost serve still running?)"; });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  if (form.body.value.trim()) check();
})();
