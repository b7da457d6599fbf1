// perparb dashboard: sortable tables. A click (or Enter / Space) on a header of a `table.sortable` sorts its body
// by that column, ascending then descending. Cells may carry the raw value in `data-sort` (numbers as plain
// numbers, "" when unknown); headers say how to compare with `data-type` ("num" or "text"). Unknown values sort
// last in both directions. No dependency, no network.
"use strict";

(function () {
  function cellKey(row, index, type) {
    const cell = row.cells[index];
    if (!cell) return null;
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (type === "num") {
      if (raw === "") return null;
      const value = Number(raw);
      return Number.isFinite(value) ? value : null;
    }
    return raw === "" || raw === "\u2013" ? null : raw.toLowerCase();
  }

  function sortBy(table, header, index) {
    const type = header.dataset.type || "text";
    const direction = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("thead th").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
    const body = table.tBodies[0];
    if (!body) return;
    const rows = Array.from(body.rows).filter(function (r) { return !r.querySelector("td.empty"); });
    const keyed = rows.map(function (row) { return { row: row, key: cellKey(row, index, type) }; });
    keyed.sort(function (a, b) {
      if (a.key === null && b.key === null) return 0;
      if (a.key === null) return 1;
      if (b.key === null) return -1;
      let c = 0;
      if (type === "num") c = a.key - b.key;
      else c = a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
      return direction === "ascending" ? c : -c;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  function setUp(table) {
    table.querySelectorAll("thead th").forEach(function (header, index) {
      if (header.dataset.type === "none") return;
      header.tabIndex = 0;
      header.classList.add("sortable-header");
      header.title = header.title || "sort by " + header.textContent.trim();
      header.addEventListener("click", function () { sortBy(table, header, index); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, header, index);
        }
      });
    });
  }

  document.querySelectorAll("table.sortable").forEach(setUp);
})();
