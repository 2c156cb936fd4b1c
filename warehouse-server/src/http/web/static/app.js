// 公物仓 — progressive enhancement only. Every page works without this
// file; it adds live counts (server-sent events), remembered column
// choices, bulk selection and confirmations.
(function () {
  "use strict";
  // Live counts: <section data-live="/url"> with <x data-live-key="name">.
  document.querySelectorAll("[data-live]").forEach(function (box) {
    if (!window.EventSource) return;
    var es = new EventSource(box.getAttribute("data-live"));
    es.addEventListener("counts", function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data.error) return;
      Object.keys(data).forEach(function (k) {
        var el = document.querySelector('[data-live-key="' + k + '"]');
        if (el && typeof data[k] !== "object") el.textContent = String(data[k]);
      });
      var bar = document.querySelector("[data-live-progress]");
      if (bar && data.found !== undefined) { bar.max = Math.max(1, data.expected); bar.value = data.found; }
      // The stock-take's differences list: the server sends its rows
      // again when the counts change. A row still there is kept (with
      // whatever the keeper typed into it) unless its text changed; a line
      // now found is gone.
      var list = document.querySelector("[data-live-lines]");
      if (list && typeof data.lines === "string") {
        var fresh = document.createElement("tbody");
        fresh.innerHTML = data.lines;
        var old = {};
        list.querySelectorAll("tr[data-line]").forEach(function (tr) { old[tr.getAttribute("data-line")] = tr; });
        var next = document.createDocumentFragment();
        Array.prototype.slice.call(fresh.children).forEach(function (tr) {
          var had = old[tr.getAttribute("data-line")];
          next.appendChild(had && had.textContent === tr.textContent ? had : tr);
        });
        list.textContent = "";
        list.appendChild(next);
        var none = document.querySelector("[data-live-empty]");
        if (none) none.hidden = list.children.length > 0;
      }
      var rows = document.querySelector("[data-live-rows]");
      var sig = Array.isArray(data.rows) ? data.rows.map(function (r) { return r.join(" "); }).join("|") : null;
      if (rows && sig !== null && rows.getAttribute("data-sig") !== sig) {
        rows.setAttribute("data-sig", sig);
        // Rows are [epc, mark, asset id]; on the return form each known
        // asset gets its condition select (choices already made are kept).
        var conditions = rows.getAttribute("data-conditions");
        var chosen = {};
        rows.querySelectorAll("select").forEach(function (s) { chosen[s.name] = s.value; });
        rows.textContent = "";
        data.rows.forEach(function (r) {
          var tr = document.createElement("tr");
          [r[0], r[1]].forEach(function (cell, i) {
            var td = document.createElement("td");
            if (i === 0) td.className = "mono";
            td.textContent = String(cell);
            tr.appendChild(td);
          });
          if (conditions) {
            var td = document.createElement("td");
            if (r[2] !== null && r[2] !== undefined) {
              var sel = document.createElement("select");
              sel.name = "condition_" + r[2];
              sel.setAttribute("data-test", "condition-" + r[2]);
              conditions.split(",").forEach(function (pair) {
                var kv = pair.split(":");
                var o = document.createElement("option");
                o.value = kv[0];
                o.textContent = kv[1];
                sel.appendChild(o);
              });
              if (chosen[sel.name]) sel.value = chosen[sel.name];
              td.appendChild(sel);
            }
            tr.appendChild(td);
          }
          rows.appendChild(tr);
        });
      }
    });
    es.onerror = function () { /* the browser retries; a reload shows the truth */ };
  });
  // Column choice: the checkboxes fill the hidden `cols` field.
  document.querySelectorAll("form[data-remember]").forEach(function (f) {
    f.addEventListener("submit", function () {
      var picked = Array.prototype.map.call(f.querySelectorAll('input[name="col"]:checked'), function (c) { return c.value; });
      f.querySelector('input[name="cols"]').value = picked.join(".");
      f.querySelectorAll('input[name="col"]').forEach(function (c) { c.disabled = true; });
    });
  });
  // Bulk selection.
  var all = document.querySelector("[data-select-all]");
  var boxes = document.querySelectorAll("[data-select]");
  var count = document.querySelector("[data-selected-count]");
  var bulk = document.querySelectorAll("[data-bulk]");
  function update() {
    var n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    if (count) count.textContent = String(n);
    bulk.forEach(function (b) { b.disabled = n === 0; });
  }
  update();
  if (all) all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); update(); });
  boxes.forEach(function (b) { b.addEventListener("change", update); });
  // "Back" on error pages (the link itself leads to the dashboard; no
  // inline script, which the Content-Security-Policy forbids).
  document.querySelectorAll("a[data-back]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (window.history.length > 1) { ev.preventDefault(); window.history.back(); }
    });
  });
  // Print buttons (the pick list); no inline script under the CSP.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  // Confirm destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
    });
  });
})();
