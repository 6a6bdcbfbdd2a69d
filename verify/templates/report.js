// Filters and search for the verify report. Everything is readable without this script; it only
// hides what does not match. No network, no eval, no inline handlers (the page's CSP forbids them).
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var q = document.getElementById("q");
  var fStatus = document.getElementById("f-status");
  var fOrigin = document.getElementById("f-origin");
  var fKind = document.getElementById("f-kind");
  var fReview = document.getElementById("f-review");  // only on the live page (verify serve)
  var shown = document.getElementById("shown");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-status], details.article, #sources tr[data-origins]"));
  var texts = new Map();  // lower-cased text, read once and only when a search needs it

  function matches(el, words, status, origin, kind, review) {
    if (review && el.dataset.review !== review) { return false; }
    if (status && el.dataset.status !== undefined && el.dataset.status !== status) { return false; }
    if (status && el.dataset.status === undefined) { return false; }
    if (origin && ("|" + (el.dataset.origins || "") + "|").indexOf("|" + origin + "|") < 0) { return false; }
    if (kind && ("|" + (el.dataset.kinds || "") + "|").indexOf("|" + kind + "|") < 0) { return false; }
    if (words.length) {
      if (!texts.has(el)) { texts.set(el, el.textContent.toLowerCase()); }
      var text = texts.get(el);
      for (var i = 0; i < words.length; i++) { if (text.indexOf(words[i]) < 0) { return false; } }
    }
    return true;
  }

  var timer = null;
  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var status = fStatus.value, origin = fOrigin.value, kind = fKind.value, review = fReview ? fReview.value : "";
    var n = 0;
    items.forEach(function (el) {
      var ok = matches(el, words, status, origin, kind, review);
      if (ok) { el.removeAttribute("data-hidden"); n++; } else { el.setAttribute("data-hidden", ""); }
    });
    var active = words.length || status || origin || kind || review;
    if (active) {
      // Open the groups so that matches inside them can be seen.
      document.querySelectorAll("#clusters details, details.article:not([data-hidden])").forEach(function (d) { d.open = true; });
    }
    shown.textContent = active ? n + " shown" : "";
  }
  function later() { clearTimeout(timer); timer = setTimeout(apply, 120); }
  q.addEventListener("input", later);
  [fStatus, fOrigin, fKind, fReview].forEach(function (s) { if (s) { s.addEventListener("change", apply); } });
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
})();
