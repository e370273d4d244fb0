// Admins' content and broadcast pages; every page works without it.
// - live progress: an element with data-progress-url is refreshed every second from that JSON (its
//   data-field children take the values, its <progress> the percent); the page reloads when the job's
//   status changes, so the final report is the server's own.
// - flow editor: pressing an error that names a line selects that line in the text.
"use strict";
(() => {
  const poll = (box) => {
    const url = box.dataset.progressUrl;
    const started = box.dataset.status;
    const bar = box.querySelector("progress");
    const tick = async () => {
      let data;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        data = await response.json();
      } catch (_error) {
        return; // a network hiccup: the next tick tries again
      }
      for (const el of box.querySelectorAll("[data-field]")) {
        const value = data[el.dataset.field];
        if (value !== undefined && el.dataset.field !== "status" && el.dataset.field !== "state") {
          el.textContent = value === null ? "—" : String(value);
        }
      }
      if (bar && typeof data.percent === "number") {
        bar.value = data.percent;
        bar.textContent = `${data.percent}%`;
      }
      if (data.status && data.status !== started) window.location.reload();
    };
    if (started === "running" || started === "sending" || started === "scheduled" || started === "paused") {
      window.setInterval(tick, 1000);
    }
  };

  const jumpToLine = (item) => {
    const text = document.getElementById("text");
    const line = Number(item.dataset.line);
    if (!text || !line) return;
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    text.focus();
    text.setSelectionRange(start, start + (lines[line - 1] || "").length);
    const height = text.scrollHeight / Math.max(lines.length, 1);
    text.scrollTop = Math.max(0, (line - 5) * height);
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const box of document.querySelectorAll("[data-progress-url]")) poll(box);
    for (const item of document.querySelectorAll("#flow-errors li[data-line]")) {
      item.tabIndex = 0;
      item.addEventListener("click", () => jumpToLine(item));
      item.addEventListener("keydown", (event) => { if (event.key === "Enter") jumpToLine(item); });
    }
  });
})();
