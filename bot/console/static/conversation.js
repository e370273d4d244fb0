// The tip page's two-way panel (_conversation.html), enhanced; without this file every form still works.
// - While a chat is live, a question waits or a message is on its way, the panel is refreshed every few
//   seconds: GET data-url?v=<version> answers 204 when nothing changed, else the new panel.
// - The panel's forms are sent in the background and the panel replaced by the answer, so the officer stays
//   on the page (and keeps what they were typing in the other box).
// No inline script or style anywhere (the CSP forbids them); fetched HTML is parsed, never run.
"use strict";
(function () {
  var POLL_MS = 3000;
  var timer = null;

  function panel() { return document.getElementById("conversation"); }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("conversation");
    var current = panel();
    if (!fresh || !current) return;
    var typed = {};
    Array.prototype.forEach.call(current.querySelectorAll("textarea"), function (t) { typed[t.name] = t.value; });
    var focused = document.activeElement && current.contains(document.activeElement) ? document.activeElement.id : null;
    var log = current.querySelector("#conv-log");
    var atBottom = log ? log.scrollTop + log.clientHeight >= log.scrollHeight - 8 : true;
    current.replaceWith(fresh);
    Array.prototype.forEach.call(fresh.querySelectorAll("textarea"), function (t) {
      if (typed[t.name]) t.value = typed[t.name];
    });
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
    var newLog = fresh.querySelector("#conv-log");
    if (newLog && atBottom) newLog.scrollTop = newLog.scrollHeight;
    bind(fresh);
  }

  function schedule() {
    clearTimeout(timer);
    var p = panel();
    if (p && p.dataset.poll === "1") timer = setTimeout(refresh, POLL_MS);
  }

  function refresh() {
    var p = panel();
    if (!p) return;
    fetch(p.dataset.url + "?v=" + encodeURIComponent(p.dataset.version), {
      credentials: "same-origin", cache: "no-store", headers: { "X-Requested-With": "conversation" }
    }).then(function (response) {
      if (response.status === 200) return response.text().then(swap);
      return null;
    }).catch(function () { /* offline for a moment: the next tick tries again */ }).then(schedule);
  }

  function bind(root) {
    Array.prototype.forEach.call(root.querySelectorAll("form[data-conversation]"), function (form) {
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) return; // e.g. a confirmation the officer declined
        event.preventDefault();
        var button = form.querySelector("button[type=submit]");
        if (button) button.disabled = true;
        fetch(form.action, {
          method: "POST", credentials: "same-origin", cache: "no-store",
          headers: { "X-Requested-With": "conversation" }, body: new URLSearchParams(new FormData(form))
        }).then(function (response) {
          if (response.status !== 200 && response.status !== 422) throw new Error(String(response.status));
          return response.text().then(function (html) {
            var box = form.querySelector("textarea");
            if (response.status === 200 && box) box.value = ""; // sent: that box starts empty, the others keep their text
            swap(html);
            schedule();
          });
        }).catch(function () {
          form.submit(); // the page way: the server answers with a redirect back to the tip
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var p = panel();
    if (!p) return;
    bind(p);
    var log = p.querySelector("#conv-log");
    if (log) log.scrollTop = log.scrollHeight;
    schedule();
  });
})();
