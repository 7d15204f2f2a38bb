// The merchant UI's only script: the template editor's live preview. Pages work without it.
(function () {
  "use strict";
  var DELAY = 300; // ms after the last keystroke
  var source = document.getElementById("source");
  if (!source || !source.dataset.preview) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var words = document.getElementById("words").dataset;
  var timer = null, sent = 0, shown = 0;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value || "";
  }

  function problems(list) {
    var ul = document.getElementById("live-problems");
    ul.textContent = "";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = (p.line ? words.line + " " + p.line + ": " : "") + p.message;
      ul.appendChild(li);
    });
  }

  function segments(sms) {
    var meter = document.getElementById("pv-segments");
    if (!meter) return;
    meter.textContent = "";
    if (!sms) return;
    var count = document.createElement("strong");
    count.setAttribute("data-testid", "segments");
    count.textContent = sms.segments;
    var enc = document.createElement("span");
    enc.setAttribute("data-testid", "encoding");
    enc.textContent = sms.encoding;
    meter.append(count, " " + words.segments + " · ", enc,
      " · " + sms.characters + " " + words.characters + " · " + words.budget + " " + sms.budget +
      (sms.over_budget ? " · " + words.over : "") +
      (sms.non_gsm.length ? " · " + sms.non_gsm.join(" ") + " " + words.ucs2 : ""));
    meter.classList.toggle("over", sms.over_budget);
  }

  function show(data) {
    problems(data.problems);
    if (!data.text && data.problems.length) return; // keep the last good render visible
    text("pv-text", data.text);
    text("pv-subject", data.subject);
    var frame = document.getElementById("pv-html");
    if (frame) frame.srcdoc = frame.dataset.csp + (data.html || "");
    segments(data.sms);
  }

  function refresh() {
    var ticket = ++sent;
    var body = new URLSearchParams({ source: source.value });
    fetch(source.dataset.preview, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && ticket > shown) { shown = ticket; show(data); }
      })
      .catch(function () { /* offline: the saved preview stays */ });
  }

  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY);
  });
})();
