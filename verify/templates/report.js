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
      document.querySelectorAll("#clusters details, details.article:not([data-hidden]), #sources details").forEach(function (d) { d.open = true; });
    }
    shown.textContent = active ? n + " shown" : "";
  }
  function later() { clearTimeout(timer); timer = setTimeout(apply, 120); }
  q.addEventListener("input", later);
  [fStatus, fOrigin, fKind, fReview].forEach(function (s) { if (s) { s.addEventListener("change", apply); } });
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
})();

// The source rows: sort by independent origins or by first appearance, and show only the claims
// a single origin carries. Without this script the rows stay in the first order, all shown.
(function () {
  "use strict";
  var tools = document.getElementById("row-tools");
  var list = document.getElementById("source-rows");
  if (!tools || !list) { return; }
  tools.hidden = false;
  var sort = document.getElementById("row-sort");
  var single = document.getElementById("row-single");
  var rows = Array.prototype.slice.call(list.querySelectorAll("li.source-row"));
  function rank(el) { return Number(el.dataset.rank); }
  function order() {
    var byFirst = sort.value === "first";
    rows.slice().sort(function (a, b) {
      if (byFirst) {
        var fa = a.dataset.first || "\uffff", fb = b.dataset.first || "\uffff";  // undated last
        if (fa !== fb) { return fa < fb ? -1 : 1; }
      }
      return rank(a) - rank(b);
    }).forEach(function (el) { list.appendChild(el); });
  }
  function only() {
    rows.forEach(function (el) {
      if (single.checked && el.dataset.nOrigins !== "1") { el.setAttribute("data-off", ""); } else { el.removeAttribute("data-off"); }
    });
  }
  sort.addEventListener("change", order);
  single.addEventListener("change", only);
})();
