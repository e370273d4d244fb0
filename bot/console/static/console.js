// Light enhancement for the console; every page works without it.
// - "select all" checkboxes for bulk actions (data-select-all="name")
// - confirmation before destructive submits (data-confirm="question")
// - forms that must not be submitted twice (a second click while the first is in flight)
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    box.addEventListener("change", () => {
      for (const item of document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)) item.checked = box.checked;
    });
  }
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => {
      const button = event.submitter;
      const question = (button && button.dataset.confirm) || form.dataset.confirm;
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      if (form.dataset.sending === "1") { event.preventDefault(); return; }
      if (form.method.toLowerCase() === "post") form.dataset.sending = "1";
    });
  }
});
