/* Hotline web chat. Talks to /chat/ws, falls back to POST /chat/api/*, and keeps this tab's transcript and
   unsent messages in sessionStorage so a reload continues the same conversation. No libraries, no build. */
(function () {
  "use strict";

  var body = document.body;
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var fileInput = document.getElementById("file");
  var typing = document.getElementById("typing");
  var statusBox = document.getElementById("status");
  var statusText = document.getElementById("status-text");
  var langButton = document.getElementById("lang");
  var UI = JSON.parse(document.getElementById("ui-strings").textContent);
  var STORE = "hotline.chat.v1";
  var MAX_ENTRIES = 200;
  var MAX_IMAGE = 10 * 1024 * 1024;
  var REPLY_TIMEOUT = 20000;

  var saved = load();
  var lang = saved.lang || body.dataset.lang || "vi";
  var transcript = saved.transcript || []; // {who: "bot", m: message} | {who: "me", text: "..."}
  var queue = saved.queue || []; // messages not yet answered; resent with the same id (the server dedupes)
  var school = body.dataset.school || null;
  var fresh = false; // no conversation on the server yet: the next message carries the school code

  var ws = null;
  var everOpen = false;
  var wsFails = 0;
  var reconnectTimer = null;
  var waiting = {}; // message id -> {resolve, reject, timer}
  var resumeWaiters = [];
  var busy = false;
  var needResume = true;
  var failed = false;
  var keyboard = false; // was the last interaction a key press (rather than a tap or click)?

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "{}"); } catch (e) { return {}; }
  }

  function save() {
    var keep = queue.filter(function (q) { return !q.file; }); // a File cannot be stored: re-pick after reload
    try {
      sessionStorage.setItem(STORE, JSON.stringify({ lang: lang, transcript: transcript.slice(-MAX_ENTRIES), queue: keep }));
    } catch (e) { /* storage full or disabled: the chat still works, only a reload forgets the transcript */ }
  }

  function t(key) { return UI[lang][key]; }

  function newId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes); // works on plain http too, unlike crypto.randomUUID
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* ----- rendering ------------------------------------------------------------------------------- */

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text; // engine text is never parsed as HTML
    return node;
  }

  function who(label) { return el("span", "sr-only", label + ": "); }

  function botNode(m) {
    var node = el("div", "msg bot" + (m.urgent ? " urgent" : ""));
    node.appendChild(who(t("bot")));
    if (m.urgent) node.appendChild(el("strong", "tag", t("urgent")));
    node.appendChild(richText(m.text));
    if (m.links && m.links.length) {
      // Links are evidence to read, not to open: plain text, never <a>, selectable for copying.
      var links = el("div", "links");
      links.appendChild(el("span", "links-label", t("links")));
      m.links.forEach(function (url) { links.appendChild(el("code", null, url)); });
      node.appendChild(links);
    }
    if (m.buttons && m.buttons.length) {
      var group = el("div", "choices");
      group.setAttribute("role", "group");
      m.buttons.forEach(function (b) {
        // "Xong" ends a several-answers question and Back / Menu / Skip leave one: neither looks like an answer.
        var button = el("button", b.id === "!done" ? "done" : WAY_OUT[b.id] ? "way-out" : null, b.label);
        button.type = "button";
        button.dataset.id = b.id;
        if (m.multi_select && b.id.charAt(0) !== "!") button.setAttribute("aria-pressed", String(b.label.indexOf("✅") === 0));
        button.addEventListener("click", function () { press(m, b); });
        group.appendChild(button);
      });
      node.appendChild(group);
    }
    return node;
  }

  /* Emergency numbers are tap-to-call and a tip's reference never breaks and copies in one tap. Nothing else in a
     reply becomes a link: a scammer's number or site quoted in a verdict must never be one tap away. */
  var RICH = /[A-Z]{1,8}-\d{4}-\d{1,12}|\d[\d .]*\d|\d/g;
  var REFERENCE = /^[A-Z]{1,8}-\d{4}-\d{1,12}$/;
  var EMERGENCY = { "113": 1, "111": 1, "156": 1, "5656": 1 };
  var WAY_OUT = { "!back": 1, "!menu": 1, "!skip": 1 };

  function richText(text) {
    var span = el("span", "text");
    var last = 0;
    text.replace(RICH, function (found, at) {
      var number = found.replace(/[ .]+$/, "");
      if (REFERENCE.test(found)) {
        span.appendChild(document.createTextNode(text.slice(last, at)));
        span.appendChild(referenceNode(found));
        last = at + found.length;
      } else if (EMERGENCY[number]) {
        span.appendChild(document.createTextNode(text.slice(last, at)));
        var call = el("a", "tel", number);
        call.href = "tel:" + number;
        span.appendChild(call);
        last = at + number.length;
      }
      return found;
    });
    span.appendChild(document.createTextNode(text.slice(last)));
    return span;
  }

  function referenceNode(reference) {
    var box = el("span", "ref-box");
    var ref = el("strong", "ref", reference);
    ref.translate = false;
    var copy = el("button", "copy", t("copy"));
    copy.type = "button";
    copy.setAttribute("aria-label", t("copy_label") + " " + reference);
    copy.addEventListener("click", function () {
      var done = function () { copy.textContent = t("copied"); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(reference).then(done, function () { selectText(ref); });
      } else {
        selectText(ref);
        try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the parent copies it */ }
      }
    });
    box.appendChild(ref);
    box.appendChild(copy);
    return box;
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function entryNode(entry) {
    if (entry.who === "bot") return botNode(entry.m);
    var node = el("div", "msg " + (entry.who === "me" ? "me" : "note"));
    node.appendChild(who(entry.who === "me" ? t("you") : t("bot")));
    node.appendChild(el("span", "text", entry.text));
    return node;
  }

  function disableChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".choices button"), function (b) { b.disabled = true; });
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function add(entry) {
    transcript.push(entry);
    if (transcript.length > MAX_ENTRIES) { transcript.shift(); if (log.firstChild) log.removeChild(log.firstChild); }
    disableChoices();
    log.appendChild(entryNode(entry));
    save();
    scrollDown();
  }

  function lastBot() {
    var last = transcript[transcript.length - 1];
    return last && last.who === "bot" ? last.m : null;
  }

  function same(a, b) {
    return a && b && a.text === b.text && JSON.stringify(a.buttons || []) === JSON.stringify(b.buttons || []);
  }

  function showReplies(messages) {
    var hadFocus = document.activeElement;
    var before = log.children.length;
    messages.forEach(function (m) {
      var prev = lastBot();
      if (m.multi_select && prev && prev.multi_select && prev.text === m.text) {
        // A toggle in a multi-select question: update the buttons in place instead of repeating the question.
        transcript[transcript.length - 1] = { who: "bot", m: m };
        log.replaceChild(botNode(m), log.lastChild);
        save();
      } else {
        add({ who: "bot", m: m });
      }
    });
    var last = lastBot();
    input.inputMode = last && last.request_contact ? "tel" : "text";
    // A keyboard user who just pressed a (now disabled or replaced) button lands on the new choices. Not after a
    // tap: a focus ring on the first option would look like a pre-selected answer.
    if (keyboard && (!hadFocus || hadFocus === document.body || hadFocus.disabled || !document.body.contains(hadFocus))) {
      var first = log.lastChild && log.lastChild.querySelector ? log.lastChild.querySelector(".choices button") : null;
      if (first) first.focus({ preventScroll: true });
    }
    // Several replies at once (a verdict, advice, then a question) can be taller than the screen: show the
    // start of the first one, which is the one that matters, rather than the end of the last.
    var firstNew = log.children[Math.min(before, log.children.length - 1)];
    if (firstNew && log.children.length > before) log.scrollTop = firstNew.offsetTop - 8; else scrollDown();
  }

  function note(text) { add({ who: "note", text: text }); }

  function renderAll() {
    log.textContent = "";
    transcript.forEach(function (entry) { log.appendChild(entryNode(entry)); });
    disableChoices();
    enableLast();
    scrollDown();
  }

  function enableLast() {
    if (!lastBot() || queue.length) return;
    Array.prototype.forEach.call(log.lastChild.querySelectorAll(".choices button"), function (b) { b.disabled = false; });
  }

  /* ----- language --------------------------------------------------------------------------------- */

  function setLang(next) {
    if (!UI[next]) return;
    lang = next;
    document.documentElement.lang = next;
    Array.prototype.forEach.call(document.querySelectorAll("[data-ui]"), function (n) { n.textContent = t(n.dataset.ui); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-ui-label]"), function (n) {
      n.setAttribute("aria-label", t(n.dataset.uiLabel));
      n.title = t(n.dataset.uiLabel);
    });
    input.placeholder = t("placeholder");
    log.setAttribute("aria-label", t("log"));
    langButton.textContent = t("switch");
    langButton.lang = t("switch_lang");
    if (!statusBox.hidden) showStatus();
    save();
  }

  /* ----- sending ---------------------------------------------------------------------------------- */

  function send(fields, shown) {
    var item = { type: "message", id: newId(), locale: lang };
    Object.keys(fields).forEach(function (k) { item[k] = fields[k]; });
    if (fresh && school) item.start_param = school;
    fresh = false;
    if (shown) add({ who: "me", text: shown });
    disableChoices();
    queue.push(item);
    save();
    flush();
  }

  function press(m, b) {
    // Toggling one option of a multi-select question is not an answer yet: no bubble for it.
    var toggle = m.multi_select && b.id.charAt(0) !== "!";
    send({ payload: b.id }, toggle ? null : b.label);
  }

  function flush() {
    if (busy || !queue.length || needResume) return;
    busy = true;
    typing.hidden = false;
    scrollDown();
    var item = queue[0];
    deliver(item).then(function (reply) {
      queue.shift();
      save();
      busy = false;
      typing.hidden = true;
      connectionOk();
      showReplies(reply.messages || []);
      flush();
    }, function (err) {
      busy = false;
      typing.hidden = true;
      if (err.permanent) { // this message can never succeed: say why and go on with the next one
        queue.shift();
        save();
        note(t("rejected") + err.message);
        enableLast();
        flush();
      } else {
        failed = true;
        showStatus();
      }
    });
  }

  function deliver(item) {
    if (item.file) return upload(item);
    if (ws && ws.readyState === 1) return viaSocket(item).catch(function (err) {
      if (err.permanent) throw err;
      return viaHttp("/chat/api/messages", item);
    });
    return viaHttp("/chat/api/messages", item);
  }

  function failure(message, permanent) {
    var err = new Error(message || "network");
    err.permanent = !!permanent;
    return err;
  }

  function viaHttp(path, item) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(item || {})
    }).then(answer);
  }

  function answer(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (response.ok) return data;
      var transient = response.status >= 500 || response.status === 408 || response.status === 429;
      var error = data.error && typeof data.error === "object" ? data.error.message : data.error;
      throw failure(error || String(response.status), !transient);
    });
  }

  function upload(item) {
    var data = new FormData();
    data.append("id", item.id);
    data.append("locale", item.locale);
    data.append("file", item.file, item.file.name || "screenshot");
    return fetch("/chat/api/upload", { method: "POST", credentials: "same-origin", body: data })
      .then(function (response) {
        if (response.status === 413) throw failure(t("too_big"), true);
        if (response.status === 415) throw failure(t("not_image"), true);
        return answer(response);
      });
  }

  function sendImage(file) {
    if (!file) return;
    if (file.size > MAX_IMAGE) { note(t("too_big")); return; }
    if (file.type && file.type.indexOf("image/") !== 0) { note(t("not_image")); return; }
    add({ who: "me", text: t("image") + (file.name ? ": " + file.name : "") });
    disableChoices();
    queue.push({ id: newId(), locale: lang, file: file });
    save();
    flush();
  }

  /* ----- the socket ------------------------------------------------------------------------------- */

  function viaSocket(item) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { delete waiting[item.id]; reject(failure("timeout")); }, REPLY_TIMEOUT);
      waiting[item.id] = { resolve: resolve, reject: reject, timer: timer };
      ws.send(JSON.stringify(item));
    });
  }

  function onFrame(event) {
    var frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.type === "resume") { var r = resumeWaiters.shift(); if (r) r.resolve(frame); return; }
    // Pushed by the server, not an answer: a message from the police (a question, the live chat with an officer).
    if (frame.type === "notice") { showReplies(frame.messages || []); return; }
    var w = frame.id && waiting[frame.id];
    if (!w) return;
    delete waiting[frame.id];
    clearTimeout(w.timer);
    if (frame.type === "replies") w.resolve(frame);
    else w.reject(failure(frame.error, !frame.retry));
  }

  function dropWaiting() {
    Object.keys(waiting).forEach(function (id) {
      clearTimeout(waiting[id].timer);
      waiting[id].reject(failure("closed"));
    });
    waiting = {};
    resumeWaiters.splice(0).forEach(function (r) { r.reject(failure("closed")); });
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws && ws.readyState <= 1) return;
    var sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat/ws");
    ws = sock;
    sock.onopen = function () {
      everOpen = true;
      wsFails = 0;
      connectionOk();
      if (needResume) resume(); else flush();
    };
    sock.onmessage = onFrame;
    sock.onclose = function () {
      if (ws === sock) ws = null;
      dropWaiting();
      wsFails += 1;
      if (everOpen && wsFails > 1) showStatus(); // the first retry failed too: the drop is real
      if (needResume && wsFails === 1) resume(); // no socket at all (a proxy?): carry on over HTTP
      var delay = Math.min(15000, 500 * Math.pow(2, Math.min(wsFails, 5)));
      reconnectTimer = setTimeout(connect, delay * (0.75 + Math.random() / 2));
    };
  }

  function request(frame) {
    if (ws && ws.readyState === 1) {
      return new Promise(function (resolve, reject) {
        resumeWaiters.push({ resolve: resolve, reject: reject });
        ws.send(JSON.stringify(frame));
      }).catch(function () { return viaHttp("/chat/api/resume"); });
    }
    return viaHttp("/chat/api/resume");
  }

  var resuming = false;

  function resume() {
    if (resuming || !needResume) return;
    resuming = true;
    request({ type: "resume" }).then(function (r) {
      resuming = false;
      needResume = false;
      connectionOk();
      if (r.locale) setLang(r.locale);
      if (!r.started) {
        if (!queue.length) {
          // A new visitor, or one whose data was erased: nothing of the old transcript remains on the server.
          transcript = [];
          renderAll();
          fresh = true;
          send({ text: "/start" }, null);
        } else {
          fresh = true;
          flush();
        }
        return;
      }
      var prompt = r.messages && r.messages[r.messages.length - 1];
      if (prompt && !same(prompt, lastBot()) && !queue.length) showReplies([prompt]); else enableLast();
      flush();
    }, function () {
      resuming = false;
      failed = true;
      showStatus();
    });
  }

  /* ----- connection status ------------------------------------------------------------------------ */

  function showStatus() {
    statusText.textContent = failed || queue.length || needResume ? t("failed") : t("reconnecting");
    statusBox.hidden = false;
    scrollDown(); // the banner takes room from the log: keep the unsent message in view
  }

  function connectionOk() {
    failed = false;
    statusBox.hidden = true;
  }

  function retry() {
    failed = false;
    wsFails = 0;
    statusText.textContent = t("reconnecting");
    connect();
    if (needResume) resume(); else flush();
  }

  /* ----- wiring ----------------------------------------------------------------------------------- */

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    grow();
    send({ text: text }, text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  function grow() { input.style.height = "auto"; input.style.height = input.scrollHeight + 4 + "px"; }
  input.addEventListener("input", grow);
  document.getElementById("attach").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    sendImage(file);
  });
  document.getElementById("retry").addEventListener("click", retry);
  langButton.addEventListener("click", function () {
    var shown = t("switch");
    var word = t("switch_to");
    setLang(t("switch_lang"));
    send({ text: word }, shown);
  });
  window.addEventListener("online", retry);
  document.addEventListener("keydown", function () { keyboard = true; }, true);
  document.addEventListener("pointerdown", function () { keyboard = false; }, true);

  setLang(lang);
  renderAll();
  connect();
})();
