// The console's few behaviours htmx does not cover. Pages work without it.
(function () {
  "use strict";
  // Filters fold away on a phone; wide screens keep them open.
  function foldFilters() {
    if (!window.matchMedia("(max-width: 640px)").matches) return;
    document.querySelectorAll("details.fold[open]").forEach(function (d) { d.open = false; });
  }
  // A link to a folded section ("Retry with edits…") opens it.
  function openTarget(event) {
    var link = event.target.closest('a[href^="#"]');
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      var field = target.querySelector("textarea, input, select");
      if (field) setTimeout(function () { field.focus(); }, 0);
    }
  }
  document.addEventListener("DOMContentLoaded", foldFilters);
  document.addEventListener("click", openTarget);
})();
