// lineage ui: the little JavaScript the pages use. Everything works without it; it adds
// sorting by a click on a table's column header, and pan and zoom on a lineage graph.
"use strict";

(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.textContent.trim() : "";
  }

  function compare(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    var numeric = !isNaN(x) && !isNaN(y) && /^[-+.\d]/.test(a) && /^[-+.\d]/.test(b);
    if (numeric && x !== y) { return x - y; }
    return a.localeCompare(b);
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      if (th.hasAttribute("data-nosort")) { return; }
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var order = compare(cellValue(r1, index), cellValue(r2, index));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function makeZoomable(view) {
    var svg = view.querySelector("svg");
    if (!svg) { return; }
    var full = svg.viewBox.baseVal;
    var box = { x: full.x, y: full.y, w: full.width, h: full.height };
    var start = { x: box.x, y: box.y, w: box.w, h: box.h };
    // Fill the view's width at the drawing's own proportions, within most of a screen.
    var fitted = box.h * Math.min(view.clientWidth / box.w, 1.5);
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", Math.round(Math.min(Math.max(fitted, 160), window.innerHeight * 0.7)));
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    view.classList.add("zoomable");

    function apply() { svg.setAttribute("viewBox", box.x + " " + box.y + " " + box.w + " " + box.h); }

    function zoom(factor, cx, cy) {
      var w = Math.min(Math.max(box.w * factor, 60), start.w * 8);
      var h = box.h * (w / box.w);
      box.x = cx - (cx - box.x) * (w / box.w);
      box.y = cy - (cy - box.y) * (h / box.h);
      box.w = w; box.h = h;
      apply();
    }

    function pointAt(event) {
      var rect = svg.getBoundingClientRect();
      var scale = Math.max(box.w / rect.width, box.h / rect.height);
      return { x: box.x + (event.clientX - rect.left) * scale, y: box.y + (event.clientY - rect.top) * scale, scale: scale };
    }

    view.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = pointAt(event);
      zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
    }, { passive: false });

    var drag = null;
    view.addEventListener("pointerdown", function (event) {
      if (event.target.closest("a")) { return; }  // a click on a node follows its link
      drag = { x: event.clientX, y: event.clientY, bx: box.x, by: box.y, scale: pointAt(event).scale };
      view.classList.add("dragging");
      view.setPointerCapture(event.pointerId);
    });
    view.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      box.x = drag.bx - (event.clientX - drag.x) * drag.scale;
      box.y = drag.by - (event.clientY - drag.y) * drag.scale;
      apply();
    });
    function stop() { drag = null; view.classList.remove("dragging"); }
    view.addEventListener("pointerup", stop);
    view.addEventListener("pointercancel", stop);

    var tools = document.createElement("div");
    tools.className = "graph-tools";
    [["+", function () { zoom(1 / 1.3, box.x + box.w / 2, box.y + box.h / 2); }],
     ["−", function () { zoom(1.3, box.x + box.w / 2, box.y + box.h / 2); }],
     ["fit", function () { box = { x: start.x, y: start.y, w: start.w, h: start.h }; apply(); }]
    ].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = spec[0];
      button.addEventListener("click", spec[1]);
      tools.appendChild(button);
    });
    view.parentNode.insertBefore(tools, view);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll(".graph-view"), makeZoomable);
  });
})();
