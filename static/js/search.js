// Live search dropdown under the header box (htmx fills it; this only handles the keyboard).
(function () {
  "use strict";

  function dropdown() { return document.getElementById("search-dropdown"); }

  document.addEventListener("keydown", function (event) {
    const box = document.querySelector("[data-search-input]");
    const list = dropdown();
    if (!box || !list) return;
    const links = Array.from(list.querySelectorAll("a"));
    const index = links.indexOf(document.activeElement);
    if (event.key === "Escape" && (event.target === box || index >= 0)) {
      list.innerHTML = "";
      box.focus();
    } else if (event.key === "ArrowDown" && (event.target === box || index >= 0) && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0) box.focus(); else links[index - 1].focus();
    }
  });

  // Clicking elsewhere closes the dropdown.
  document.addEventListener("click", function (event) {
    const list = dropdown();
    if (list && !event.target.closest("[data-search-form]")) list.innerHTML = "";
  });
})();

// Incident attach box: what was typed before a runbook was picked from the
// suggestions goes along as `q`, so search can learn which runbook answered it.
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.getAttribute("list") !== "runbook-options" || !box.form) return;
    const words = box.form.querySelector("[data-search-words]");
    if (!words) return;
    const picked = Array.from(document.querySelectorAll("#runbook-options option")).some(function (option) {
      return option.value === box.value;
    });
    if (!picked) words.value = box.value;
  });
})();
