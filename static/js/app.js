// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Controls that only matter without JavaScript (e.g. a "Filter" button) hide themselves.
  document.documentElement.classList.add("js");

  // "/" focuses the search box from any page, unless the user is typing.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    const box = document.querySelector("[data-search-input]");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // One-click copy for code blocks (the button is rendered server-side).
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const code = button.parentElement.querySelector("pre");
    if (!code) return;
    const text = code.innerText.replace(/\n$/, "");
    const done = function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.textContent = "Copy"; button.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  function fallbackCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  // A step form clears its note once the server accepted it; other steps' notes stay as typed.
  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form.matches && form.matches("[data-step-form]") && event.detail.successful) {
      const note = form.querySelector("input[name=note]");
      if (note && document.activeElement !== note) note.value = "";
    }
  });

  // Inside [data-swap-errors], a refused or invalid form (400/403/409) comes
  // back as the form with its message: show it instead of dropping it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (![400, 403, 409].includes(status)) return;
    if (!event.detail.elt.closest("[data-swap-errors]")) return;
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  });
})();
