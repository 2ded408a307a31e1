// Sortable tables and round progress. No library, nothing fetched but the page's own server.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    if (raw === null) raw = cell.textContent.trim();
    var number = Number(raw);
    return raw !== "" && !isNaN(number) ? number : raw.toLocaleLowerCase();
  }
  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(header.parentNode.children, function (h) {
      h.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var order = typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y), "vi");
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (header) {
      header.setAttribute("tabindex", "0");
      header.addEventListener("click", function () { sortBy(table, header); });
      header.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, header); }
      });
    });
  });
  // A table of four columns or more becomes cards on a phone (app.css): each cell carries
  // its column's name, and the roles are said outright because a table shown as blocks
  // loses them in some browsers.
  document.querySelectorAll("table").forEach(function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head || head.cells.length < 4 || table.classList.contains("beside")) return;
    var names = Array.prototype.map.call(head.cells, function (h) {
      return h.textContent.replace(/\s+/g, " ").trim();
    });
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll(":scope > thead, :scope > tbody"),
      function (group) { group.setAttribute("role", "rowgroup"); });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var full = row.cells.length === names.length;
      Array.prototype.forEach.call(row.cells, function (cell, i) {
        cell.setAttribute("role", cell.tagName === "TH"
          ? (row.parentNode === table.tHead ? "columnheader" : "rowheader") : "cell");
        if (full && row.parentNode !== table.tHead && names[i]) {
          cell.setAttribute("data-label", names[i]);
        }
      });
    });
    table.setAttribute("data-cards", "");
  });
  // A box that scrolls (a long table) takes the keyboard's focus, so it scrolls without a
  // mouse.
  document.querySelectorAll(".scroll, .slip-sheets").forEach(function (box) {
    if (!box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
  });
  // A map names the commune under a tap (a phone has no hover to show <title>), or the
  // nearest one within a finger's width, below the map where the key says to look.
  document.querySelectorAll("figure.map-figure").forEach(function (figure) {
    var map = figure.querySelector("svg.map");
    var tip = figure.querySelector("[data-map-tip]");
    if (!map || !tip) return;
    var chosen = null;
    function show(dot) {
      if (chosen) chosen.classList.remove("chosen");
      chosen = dot;
      dot.classList.add("chosen");
      var title = dot.querySelector("title");
      tip.textContent = title ? title.textContent : "";
    }
    map.addEventListener("click", function (e) {
      var hit = e.target.closest && e.target.closest("circle.place");
      if (hit) { show(hit); return; }
      var best = null, bestDistance = 24;
      map.querySelectorAll("circle.place").forEach(function (dot) {
        var box = dot.getBoundingClientRect();
        var d = Math.max(0, Math.hypot(box.left + box.width / 2 - e.clientX,
          box.top + box.height / 2 - e.clientY) - box.width / 2);
        if (d < bestDistance || (d === 0 && bestDistance === 0)) { best = dot; bestDistance = d; }
      });
      if (best) show(best);
    });
    map.addEventListener("mouseover", function (e) {
      var dot = e.target.closest && e.target.closest("circle.place");
      if (dot) show(dot);
    });
  });
  // Once a solve this page was following has finished, say so after the reload.
  var finished = null;
  try { finished = JSON.parse(sessionStorage.getItem("allocator-finished") || "null"); }
  catch (e) { finished = null; }
  var notice = document.getElementById("finished");
  if (finished && finished.path === location.pathname && notice) {
    sessionStorage.removeItem("allocator-finished");
    notice.textContent = "✓ " + finished.label;
    notice.setAttribute("data-status", finished.status);
    notice.hidden = false;
  }
  // The round's solve and its analyses (budget curve, bottlenecks) each poll their own URL.
  var working = {solving: true, queued: true, running: true};
  document.querySelectorAll(".progress[data-url]").forEach(function (box) {
    var text = box.querySelector("[data-progress-text]");
    var fill = box.querySelector(".fill");
    var poll = function () {
      fetch(box.getAttribute("data-url"), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (text) text.textContent = p.label;
          if (fill) fill.setAttribute("width", String(Math.round(100 * p.fraction)));
          box.setAttribute("data-state", p.status);
          if (working[p.status]) { setTimeout(poll, 700); return; }
          try {
            sessionStorage.setItem("allocator-finished", JSON.stringify(
              {path: location.pathname, status: p.status, label: p.label}));
          } catch (e) { /* storage off: the reloaded page still shows the result */ }
          window.location.reload();
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 400);
  });
})();
