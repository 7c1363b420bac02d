/* cxreport site script: navigation from OUT/site.js, offline search from OUT/search-index.js, sortable and
   filterable tables (with the vendored tablesort), chart values on hover, the contents folded on a phone. Inlined in every page and
   allowed by its hash in the Content-Security-Policy; it builds everything with DOM calls and text nodes,
   never from markup, so text from the data stays text. */
(function () {
  "use strict";
  var MIN_ROWS_INTERACTIVE = 10; // a table of this many rows or more can be sorted and filtered
  var MAX_HITS = 25;

  function meta(name) {
    var m = document.querySelector('meta[name="cx-' + name + '"]');
    return m ? m.getAttribute("content") : "";
  }
  var ROOT = meta("root"), YEAR = meta("year"), REPORT = meta("report"), UNIT = meta("unit");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // ------------------------------------------------------------------ navigation (OUT/site.js)
  function yearOf(site, year) {
    return (site.years || []).filter(function (y) { return y.year === year; })[0];
  }

  function samePageIn(yearEntry) {
    // The page that shows this report (this unit) in another year, or null.
    var found = null;
    (yearEntry.reports || []).forEach(function (r) {
      if (r.name !== REPORT) return;
      if (UNIT) {
        (r.units || []).forEach(function (u) { if (u.id === UNIT) found = u.href; });
      } else if (r.href) {
        found = r.href;
      }
    });
    return found;
  }

  function buildNav(site) {
    var list = document.querySelector(".cx-links");
    var here = yearOf(site, YEAR);
    if (list && here) {
      while (list.firstChild) list.removeChild(list.firstChild);
      var add = function (label, href, current) {
        var a = el("a", { href: ROOT + href }, label);
        if (current) a.setAttribute("aria-current", "page");
        var li = el("li");
        li.appendChild(a);
        list.appendChild(li);
      };
      add("Index", here.index, !REPORT);
      here.reports.forEach(function (r) {
        if (r.units) add(r.title, here.index + "#" + r.name, false);
        else if (r.href) add(r.title, r.href, r.name === REPORT && !UNIT);
      });
      add("Tables", here.index + "#tables", false);
    }
    // A scorecard's notebook does not receive the organisation setting: its page takes it from the site's data.
    var org = document.querySelector(".cx-org");
    if (org && !meta("organisation") && site.organisation) {
      org.textContent = site.organisation;
      document.title = document.title + " \u00b7 " + site.organisation;
    }
    var others = (site.years || []).filter(function (y) { return y.year !== YEAR; });
    var holder = document.querySelector(".cx-years");
    if (!holder || !YEAR || !others.length) return;
    holder.appendChild(document.createTextNode(REPORT ? "This report in other years:" : "Other years:"));
    others.forEach(function (y) {
      var target = REPORT ? samePageIn(y) : null;
      var a = el("a", { href: ROOT + (target || y.index) }, y.year);
      a.setAttribute("title", target ? "The same report in " + y.year : "Not built for " + y.year + ": the year's index");
      if (!target) a.setAttribute("data-cx-index", "");
      holder.appendChild(a);
    });
    holder.hidden = false;
  }

  // ------------------------------------------------------------------ search (OUT/search-index.js)
  var searchState = { loading: false, index: null, prepared: null };

  function fold(text) {
    return (text || "").toLowerCase().replace(/\u2212/g, "-").normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  }

  function loadIndex(then) {
    if (window.CX_SEARCH) { then(window.CX_SEARCH); return; }
    if (searchState.loading) return;
    searchState.loading = true;
    var s = document.createElement("script");
    s.src = ROOT + "search-index.js";
    s.onload = function () { searchState.loading = false; if (window.CX_SEARCH) then(window.CX_SEARCH); };
    s.onerror = function () { searchState.loading = false; showMessage("Search is not available: the site's search index is missing."); };
    document.head.appendChild(s);
  }

  function prepare(index) {
    if (searchState.prepared) return searchState.prepared;
    searchState.prepared = index.sections.map(function (s) {
      var page = index.pages[s[0]];
      return { page: page, anchor: s[1], title: s[2] || page.n, text: s[3],
               ftitle: fold(s[2] + " " + page.n), ftext: fold(s[3]) };
    });
    return searchState.prepared;
  }

  function search(index, query) {
    var q = fold(query).trim();
    var terms = q.split(/\s+/).filter(function (t) { return t.length > 0; });
    if (!terms.length) return [];
    var hits = [];
    prepare(index).forEach(function (s) {
      var all = s.ftitle + " " + s.ftext;
      for (var i = 0; i < terms.length; i++) if (all.indexOf(terms[i]) < 0) return;
      var score = 0;
      if (s.ftitle.indexOf(q) >= 0) score += 20;
      if (s.ftext.indexOf(q) >= 0) score += 10;
      terms.forEach(function (t) { if (s.ftitle.indexOf(t) >= 0) score += 3; });
      if (s.page.y === YEAR) score += 2;
      hits.push({ s: s, score: score });
    });
    hits.sort(function (a, b) { return b.score - a.score || (b.s.page.y > a.s.page.y ? 1 : b.s.page.y < a.s.page.y ? -1 : 0); });
    return hits.slice(0, MAX_HITS).map(function (h) { return h.s; });
  }

  function snippet(text, query) {
    // About 160 characters around the first match, the matched words marked.
    var f = fold(text), q = fold(query).trim(), at = f.indexOf(q);
    if (at < 0) at = f.indexOf(q.split(/\s+/)[0]);
    var start = Math.max(0, at - 60), piece = text.slice(start, start + 160);
    var span = el("span", { "class": "cx-hit-text" });
    var terms = q.split(/\s+/).filter(Boolean).sort(function (a, b) { return b.length - a.length; });
    var fp = fold(piece), pos = 0;
    while (pos < piece.length) {
      var next = -1, len = 0;
      terms.forEach(function (t) {
        var i = fp.indexOf(t, pos);
        if (i >= 0 && (next < 0 || i < next)) { next = i; len = t.length; }
      });
      if (next < 0) { span.appendChild(document.createTextNode(piece.slice(pos))); break; }
      span.appendChild(document.createTextNode(piece.slice(pos, next)));
      span.appendChild(el("mark", {}, piece.slice(next, next + len)));
      pos = next + len;
    }
    if (start > 0) span.insertBefore(document.createTextNode("\u2026"), span.firstChild);
    if (start + 160 < text.length) span.appendChild(document.createTextNode("\u2026"));
    return span;
  }

  var results, input;
  function showMessage(text, query) {
    while (results.firstChild) results.removeChild(results.firstChild);
    results.appendChild(el("div", { "class": "cx-none" }, text));
    results.setAttribute("data-cx-query", query || "");
    results.hidden = false;
  }

  function showHits(query) {
    if (!query.trim()) { results.hidden = true; return; }
    loadIndex(function (index) {
      if (input.value !== query) return; // a newer query is on its way
      var hits = search(index, query);
      while (results.firstChild) results.removeChild(results.firstChild);
      if (!hits.length) { showMessage("No section of any report mentions \u201c" + query.trim() + "\u201d.", query); return; }
      hits.forEach(function (s) {
        var a = el("a", { href: ROOT + s.page.u + (s.anchor ? "#" + s.anchor : ""), role: "option", "class": "cx-hit" });
        a.appendChild(el("span", { "class": "cx-hit-page" }, s.page.n + " \u00b7 " + s.page.y));
        a.appendChild(el("span", { "class": "cx-hit-title" }, s.title));
        a.appendChild(snippet(s.text, query));
        results.appendChild(a);
      });
      results.setAttribute("data-cx-query", query); // what the list answers (the tests wait for it)
      results.hidden = false;
    });
  }

  function setUpSearch() {
    input = document.querySelector(".cx-search-input");
    results = document.querySelector(".cx-results");
    if (!input || !results) return;
    input.hidden = false;
    var timer = null;
    input.addEventListener("focus", function () { loadIndex(function () {}); });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value;
      timer = setTimeout(function () { showHits(q); }, 120);
    });
    input.addEventListener("keydown", function (e) {
      var first = results.querySelector("a");
      if (e.key === "Enter" && first) { e.preventDefault(); first.click(); }
      else if (e.key === "ArrowDown" && first) { e.preventDefault(); first.focus(); }
      else if (e.key === "Escape") { input.value = ""; results.hidden = true; }
    });
    results.addEventListener("keydown", function (e) {
      var a = document.activeElement;
      if (e.key === "ArrowDown" && a.nextElementSibling) { e.preventDefault(); a.nextElementSibling.focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); (a.previousElementSibling || input).focus(); }
      else if (e.key === "Escape") { results.hidden = true; input.focus(); }
    });
    document.addEventListener("click", function (e) {
      if (!e.target.closest || !e.target.closest(".cx-search")) results.hidden = true;
    });
  }

  // ------------------------------------------------------------------ sortable, filterable tables
  // House numbers: 1,178 · €1,234 · −3.1 · 95.7% · +3.0 points · 1,234 CHF; "–" is unknown and sorts below every number.
  var NUMBER = /^[+\-\u2212]?[\u20ac$\u00a3]?\s?\d[\d,]*(\.\d+)?(\s?[A-Za-z%]{1,12}|\s?\/\s?\d+)?$/;
  function numeric(text) {
    var t = text.trim();
    if (t === "\u2013" || t === "") return -Infinity;
    var n = parseFloat(t.replace(/\u2212/g, "-").replace(/[^0-9.\-]/g, ""));
    return isNaN(n) ? -Infinity : n;
  }

  function setUpTables() {
    if (typeof window.Tablesort !== "function") return;
    window.Tablesort.extend("cx-number", function (item) {
      var t = item.trim();
      return t === "\u2013" || NUMBER.test(t);
    }, function (a, b) { return numeric(b) - numeric(a); });
    var tables = document.querySelectorAll("main.cx-report table");
    Array.prototype.forEach.call(tables, function (table, n) {
      var body = table.tBodies[0];
      if (!body || body.rows.length < MIN_ROWS_INTERACTIVE || !table.tHead) return;
      table.classList.add("cx-sortable");
      new window.Tablesort(table);
      var box = table.parentNode && table.parentNode.classList.contains("cx-table") ? table.parentNode : table;
      var caption = table.caption ? table.caption.textContent.trim() : "";
      var label = el("label", { "class": "cx-filter" });
      label.appendChild(document.createTextNode("Filter rows"));
      var field = el("input", { type: "search", placeholder: "Type to filter", "aria-label": "Filter the rows of " + (caption || "this table"), "data-cx-table": String(n) });
      label.appendChild(field);
      var count = el("span", { "class": "cx-filter-count", "aria-live": "polite" });
      label.appendChild(count);
      box.parentNode.insertBefore(label, box);
      var rows = Array.prototype.slice.call(body.rows);
      var showCount = function (shown) { count.textContent = shown + " of " + rows.length + " rows"; };
      showCount(rows.length);
      field.addEventListener("input", function () {
        var terms = fold(field.value).split(/\s+/).filter(Boolean), shown = 0;
        rows.forEach(function (row) {
          var text = fold(row.textContent);
          var keep = terms.every(function (t) { return text.indexOf(t) >= 0; });
          row.hidden = !keep;
          if (keep) shown++;
        });
        showCount(shown);
      });
    });
  }

  // ------------------------------------------------------------------ chart values on hover
  function setUpChartHover() {
    // A chart's bars and their values come with the image (data-cx-hover: [left, top, width, height, text], in
    // fractions of the image): a transparent box over each bar carries its value as a tooltip.
    Array.prototype.forEach.call(document.querySelectorAll("img[data-cx-hover]"), function (img) {
      var spots;
      try { spots = JSON.parse(img.getAttribute("data-cx-hover")); } catch (e) { return; }
      if (!Array.isArray(spots) || !spots.length) return;
      var frame = el("span", { "class": "cx-hoverable" });
      img.parentNode.insertBefore(frame, img);
      frame.appendChild(img);
      spots.forEach(function (s) {
        if (!Array.isArray(s) || s.length < 5) return;
        var spot = el("span", { "class": "cx-hot", title: String(s[4]) });
        spot.style.left = 100 * s[0] + "%";
        spot.style.top = 100 * s[1] + "%";
        spot.style.width = 100 * s[2] + "%";
        spot.style.height = 100 * s[3] + "%";
        frame.appendChild(spot);
      });
    });
  }

  // ------------------------------------------------------------------ the contents, folded on a phone
  function foldContents() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 1100px)").matches) return;
    Array.prototype.forEach.call(document.querySelectorAll(".cx-side details"), function (d) { d.open = false; });
  }

  function showCurrentLink() {
    // On a phone the links scroll sideways: bring the current page's link into view.
    var list = document.querySelector(".cx-links"), current = list && list.querySelector('[aria-current="page"]');
    if (current && list.scrollWidth > list.clientWidth) list.scrollLeft = current.parentNode.offsetLeft - list.offsetLeft - 8;
  }

  function start() {
    if (window.CX_SITE) buildNav(window.CX_SITE);
    showCurrentLink();
    setUpSearch();
    setUpTables();
    setUpChartHover();
    foldContents();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
