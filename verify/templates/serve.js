// Reviewing from the page served by `verify serve` (never part of the static report). Every
// decision and note is saved at once with fetch() to the server that served the page (CSP:
// connect-src 'self'), with the page's CSRF token in a header; the card, the counts, the queue
// and the error rate update from the server's answer, without a reload.
// Keys: j / k next / previous card, c confirm, d dismiss, n note (Enter saves, Escape leaves),
// u undo the last review made in this tab.
(function () {
  "use strict";
  var tokenMeta = document.querySelector('meta[name="verify-csrf"]');
  if (!tokenMeta) { return; }
  var token = tokenMeta.getAttribute("content");
  var undoStack = [];  // ids of the conflicts this tab reviewed, the last on top
  var current = null;  // the selected conflict card

  function visibleCards() {
    return Array.prototype.slice.call(document.querySelectorAll("#conflicts article.conflict"))
      .filter(function (card) { return !card.hasAttribute("data-hidden"); });
  }
  function idOf(card) { return card.id.slice("conflict-".length); }
  function select(card) {
    if (current) { current.classList.remove("current"); }
    current = card;
    if (!card) { return; }
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "center" });
  }
  function move(step) {
    var cards = visibleCards();
    if (!cards.length) { return; }
    var i = cards.indexOf(current);
    var next = i < 0 ? (step > 0 ? 0 : cards.length - 1) : Math.min(cards.length - 1, Math.max(0, i + step));
    select(cards[next]);
  }
  function nextPending() {
    // Work down the queue: the next card below that nobody has decided on yet.
    var cards = visibleCards();
    for (var j = cards.indexOf(current) + 1; j < cards.length; j++) {
      if (cards[j].dataset.review === "pending") { select(cards[j]); return; }
    }
  }
  function say(card, text, bad) {
    var out = card && card.querySelector("output.saved");
    if (!out) { return; }
    out.textContent = text;
    out.classList.toggle("bad", !!bad);
    out.setAttribute("role", bad ? "alert" : "status");
  }

  // One request at a time, in order: a note saved on leaving its field and the click that left
  // it must reach the server in the order they were made, or the older one could win.
  var inFlight = Promise.resolve();
  function post(path, body) {
    var sent = inFlight.then(function () { return send(path, body); });
    inFlight = sent.catch(function () {});
    return sent;
  }
  function send(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || ("the server answered " + response.status)); }
        return data;
      });
    });
  }

  function setText(el, text) { if (el) { el.textContent = String(text); } }
  function show(data) {
    var x = data.conflict;
    var card = document.getElementById("conflict-" + x.id);
    if (card) {
      card.dataset.review = x.review;
      setText(card.querySelector(".review"), x.review);
      card.querySelectorAll(".review-btn").forEach(function (b) {
        b.setAttribute("aria-pressed", b.dataset.decision === x.review ? "true" : "false");
      });
      var note = card.querySelector("input.note");
      if (note && document.activeElement !== note) { note.value = x.note || ""; }
      if (note) { note.dataset.saved = x.note || ""; }
    }
    var item = document.querySelector('#queue-list li[data-conflict="' + x.id + '"]');
    if (item) { item.hidden = x.review !== "pending"; }
    Object.keys(data.counts).forEach(function (key) {
      setText(document.querySelector('#counts li[data-count="' + key + '"] b'), data.counts[key]);
    });
    setText(document.getElementById("queue-count"), data.counts["to-review"]);
    var empty = document.getElementById("queue-empty");
    if (empty) { empty.hidden = data.counts["to-review"] > 0; }
    Object.keys(data.clusters).forEach(function (id) {
      var el = document.getElementById("cluster-" + id), status = data.clusters[id];
      if (!el) { return; }
      el.classList.remove(el.dataset.status);
      el.classList.add(status);
      el.dataset.status = status;
      var badge = el.querySelector("h3 .badge");
      if (badge) { badge.className = "badge " + status; badge.textContent = status; }
    });
    var stats = data.stats;
    setText(document.getElementById("stats-suggestion"), stats.suggestion.text);
    [["kind", stats.by_kind], ["band", stats.by_band]].forEach(function (pair) {
      pair[1].forEach(function (row) {
        var tr = document.querySelector('tr[data-stats-row="' + pair[0] + ":" + row.label + '"]');
        if (!tr) { return; }
        ["confirmed", "dismissed", "pending", "share_text"].forEach(function (field) {
          setText(tr.querySelector('[data-field="' + field + '"]'), row[field]);
        });
      });
    });
  }

  function review(card, decision) {
    var note = card.querySelector("input.note");
    say(card, "saving…");
    return post("/api/review", { id: idOf(card), decision: decision, note: note ? note.value : "" })
      .then(function (data) {
        undoStack.push(idOf(card));
        show(data);
        say(card, "saved: " + data.conflict.review + (data.conflict.note ? ", with note" : ""));
        return true;
      })
      .catch(function (error) { say(card, "not saved: " + error.message, true); return false; });
  }
  function decide(card, decision) {
    select(card);
    review(card, decision).then(function (ok) { if (ok && current === card) { nextPending(); } });
  }
  function saveNote(card) {
    var note = card.querySelector("input.note");
    if (!note || note.value === (note.dataset.saved || "")) { return; }
    // Enter saves and then leaves the field, which fires "change": this value is on its way already.
    var previous = note.dataset.saved || "";
    note.dataset.saved = note.value;
    review(card, card.dataset.review || "pending").then(function (ok) { if (!ok) { note.dataset.saved = previous; } });
  }
  function undo() {
    var id = undoStack.pop();
    if (!id) { say(current, "nothing to undo in this tab"); return; }
    var card = document.getElementById("conflict-" + id);
    post("/api/undo", { id: id }).then(function (data) {
      show(data);
      if (card) { select(card); say(card, "undone: back to " + data.conflict.review); }
    }).catch(function (error) { undoStack.push(id); say(card, "not undone: " + error.message, true); });
  }

  document.querySelectorAll("#conflicts article.conflict").forEach(function (card) {
    card.querySelectorAll(".review-btn").forEach(function (button) {
      button.addEventListener("click", function () { decide(card, button.dataset.decision); });
    });
    var note = card.querySelector("input.note");
    if (!note) { return; }
    note.dataset.saved = note.value;
    note.addEventListener("focus", function () { if (current !== card) { if (current) { current.classList.remove("current"); } current = card; card.classList.add("current"); } });
    note.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); saveNote(card); card.focus({ preventScroll: true }); }
      else if (e.key === "Escape") { e.preventDefault(); card.focus({ preventScroll: true }); }
    });
    note.addEventListener("change", function () { saveNote(card); });
  });

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (e.target && e.target.isContentEditable)) { return; }
    var key = e.key;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "c" || key === "d") {
      if (!current || current.hasAttribute("data-hidden")) { move(1); }
      if (current) { decide(current, key === "c" ? "confirmed" : "dismissed"); }
    }
    else if (key === "n") {
      if (!current) { move(1); }
      var note = current && current.querySelector("input.note");
      if (note) { note.focus(); }
    }
    else if (key === "u") { undo(); }
    else { return; }
    e.preventDefault();
  });
})();
