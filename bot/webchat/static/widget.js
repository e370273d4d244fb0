/* Hotline widget for school websites:
     <script src="https://HOTLINE-HOST/widget.js" data-school="SCHOOL_CODE" data-lang="vi" defer></script>
   Adds a chat button; pressing it opens the chat from HOTLINE-HOST in a panel (an iframe). Nothing is loaded
   from Hotline and no cookie is set until the visitor opens the panel. */
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/null || { title: "Hotline", brand: "#0b5394", onBrand: "#ffffff", lang: "vi" };
  var script = document.currentScript;
  if (!script || window.hotlineWidget) return;
  window.hotlineWidget = true;

  var origin = new URL(script.src, location.href).origin;
  var lang = script.getAttribute("data-lang") === "en" ? "en" : script.getAttribute("data-lang") === "vi" ? "vi" : CONFIG.lang;
  var school = script.getAttribute("data-school") || "";
  var WORDS = {
    vi: { open: "Hỏi " + CONFIG.title, close: "Đóng" },
    en: { open: "Ask " + CONFIG.title, close: "Close" }
  }[lang];

  function chatUrl(embedded) {
    return origin + "/chat?" + (embedded ? "embed=1&" : "") + "lang=" + lang +
      (school ? "&school=" + encodeURIComponent(school) : "");
  }

  function css(node, styles) { Object.keys(styles).forEach(function (k) { node.style[k] = styles[k]; }); }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "💬 " + WORDS.open;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "hotline-panel");
  css(button, {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", minHeight: "56px", maxWidth: "calc(100vw - 32px)",
    padding: "12px 20px", border: "0", borderRadius: "28px", background: CONFIG.brand, color: CONFIG.onBrand,
    font: "600 18px/1.3 system-ui, sans-serif", boxShadow: "0 4px 16px rgba(0,0,0,.3)", cursor: "pointer"
  });

  var panel = document.createElement("div");
  panel.id = "hotline-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", CONFIG.title);
  panel.hidden = true;
  var frame = null;

  var close = document.createElement("button");
  close.type = "button";
  close.textContent = "✕ " + WORDS.close;
  css(close, {
    display: "block", marginLeft: "auto", minHeight: "44px", padding: "8px 16px", border: "0", background: CONFIG.brand,
    color: CONFIG.onBrand, font: "600 17px/1.3 system-ui, sans-serif", cursor: "pointer"
  });
  panel.appendChild(close);

  function place() {
    var small = window.matchMedia("(max-width: 600px)").matches;
    css(panel, small
      ? { position: "fixed", inset: "0", width: "100%", height: "100%", borderRadius: "0" }
      : { position: "fixed", inset: "auto", right: "16px", bottom: "88px", width: "400px", height: "min(640px, calc(100vh - 110px))", borderRadius: "12px" });
    css(panel, {
      zIndex: "2147483001", display: panel.hidden ? "none" : "flex", flexDirection: "column", overflow: "hidden",
      background: CONFIG.brand, boxShadow: "0 8px 32px rgba(0,0,0,.35)"
    });
  }

  function open() {
    if (!document.querySelector("meta[name=viewport]") && Math.min(screen.width, window.innerWidth) <= 600) {
      // A phone showing a desktop-only site zooms everything out, our panel too: use a tab of its own instead.
      window.open(chatUrl(false), "_blank", "noopener");
      return;
    }
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = CONFIG.title;
      frame.src = chatUrl(true);
      frame.referrerPolicy = "no-referrer";
      frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
      css(frame, { flex: "1", width: "100%", border: "0", background: "#fff" });
      panel.appendChild(frame);
    }
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    place();
    frame.focus();
  }

  function hide() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    place();
    button.focus();
  }

  button.addEventListener("click", function () { if (panel.hidden) open(); else hide(); });
  close.addEventListener("click", hide);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) hide(); });
  window.addEventListener("resize", place);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
    place();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
