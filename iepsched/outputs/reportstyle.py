"""The report's inline stylesheet and filter script (the HTML loads nothing from anywhere)."""

from __future__ import annotations

# The per-student facts the report writes on each timeline (data-facts), in this order.
FACT_KEYS = ("students", "proposed", "booked", "held", "late", "nocontact")

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d5dae3;--bg:#fff;--soft:#f5f7fa}
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px 40px}
h1{font-size:24px;margin:8px 0 2px}h2{font-size:19px;margin:28px 0 10px;
border-bottom:2px solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:0 0 6px}
.sub{color:var(--muted);margin:0 0 6px}.note{background:#eef4ff;border-left:4px solid #3d6fd6;
padding:6px 10px;margin:8px 0}
nav.toc a{margin-right:14px;color:#2450a8}
[hidden]{display:none!important}
.filters{position:sticky;top:0;z-index:2;background:var(--soft);border:1px solid var(--line);
border-radius:6px;padding:8px 12px;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px 18px;
align-items:center}
.filters select{font:inherit;padding:2px 4px;max-width:260px}
.filters button{font:inherit;padding:2px 10px}
#f-count{color:var(--muted);margin-left:auto}
ul.counts{list-style:none;display:flex;flex-wrap:wrap;gap:10px;padding:0;margin:0}
.count{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:130px}
.count .n{display:block;font-size:26px;font-weight:700;line-height:1.1}
.facts{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left}
thead th{background:var(--soft)}thead{display:table-header-group}
.nowrap{white-space:nowrap}
table.attention td.action,p.action{font-weight:600}
table.attention{table-layout:fixed}
table.attention th:nth-child(1){width:11%}table.attention th:nth-child(2){width:18%}
table.attention th:nth-child(3){width:16%}th.w-warn{width:37%}th.w-act{width:18%}
td.who .cm,td .mt{color:var(--muted);font-size:12px}td.who .cm{overflow-wrap:anywhere}
ul.warnings{margin:0;padding-left:18px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
border:1px solid currentColor;vertical-align:middle;white-space:nowrap}
.st-overdue{color:#a1001d;background:#fde8eb}.st-infeasible{color:#5e2593;background:#f2eafb}
.st-unplanned{color:#444;background:#ececec}.st-at_risk{color:#7a4d00;background:#fff1d1}
.st-on_track{color:#17622f;background:#e5f4e9}
.count.st-overdue,.count.st-infeasible,.count.st-unplanned,.count.st-at_risk,.count.st-on_track
{border-color:currentColor}
.count .what{color:var(--fg)}
table.month{table-layout:fixed;margin:0 0 18px;break-inside:avoid;page-break-inside:avoid}
table.month caption{text-align:left;font-weight:700;padding:4px 0}
table.month td{height:62px;font-size:12px}
table.month th.we,table.month td.we{width:7%;background:#fafbfc}
table.month td.out{background:#f3f4f6}
table.month td.today{outline:2px solid #3d6fd6;outline-offset:-2px}
.dn{color:var(--muted);font-size:11px}
ul.day{list-style:none;margin:2px 0 0;padding:0}
li.mtg{border:1px solid currentColor;border-radius:4px;padding:0 3px;margin:2px 0;
white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
li.mtg a{color:inherit}li.ms-proposed{border-style:dashed}li.ms-held{text-decoration:line-through}
.ini{color:var(--muted)}li.mtg .ini{color:inherit}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.legend{color:var(--muted);font-size:12px}
article.student{border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin:0 0 14px;
break-inside:avoid;page-break-inside:avoid}
dl.meta{display:flex;flex-wrap:wrap;gap:2px 22px;margin:0 0 6px}
dl.meta div{display:flex;gap:6px}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
table.timeline{margin:6px 0;font-size:13px}
table.timeline td:first-child{width:110px}table.timeline td:last-child{width:110px}
tr.ms-overdue td:last-child{color:#a1001d;font-weight:700}
tr.ms-due_soon td:last-child{color:#7a4d00;font-weight:600}
tr.ms-done td{color:var(--muted)}tr.ms-unscheduled td:last-child{color:#444;font-style:italic}
tr.mtg-row td{background:#eef4ff;font-weight:600}
p.contacts{margin:6px 0 0}p.contacts.unmet{color:#a1001d;font-weight:600}
p.contacts.met{color:#17622f}.logged{color:var(--muted);font-weight:400}
#problems.alert{background:#fde8eb;border:2px solid #a1001d;border-radius:8px;padding:4px 14px;
margin:12px 0}#problems.alert h2{border-bottom-color:#f3b7c1;margin-top:8px}
table.late{margin:6px 0 14px}td.noreason{color:#a1001d;font-style:italic}
.held-year h3{margin:14px 0 2px}
details.tl{margin:6px 0}details.tl summary{cursor:pointer;color:#2450a8}
footer{margin-top:30px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
@media print{
@page{margin:12mm}
body{max-width:none;padding:0;font-size:10pt}
th,td{padding:2px 4px}
table.timeline{font-size:8.5pt}table.month td{height:auto;min-height:40px;font-size:8pt}
article.student{padding:6px 10px;margin:0 0 8px}
.filters,nav.toc{display:none!important}
a{color:inherit;text-decoration:none}
h2{break-after:avoid;page-break-after:avoid}
article.student,table.month,tr{break-inside:avoid;page-break-inside:avoid}
.badge,.count,li.mtg,tr.mtg-row td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

# Filters show and hide every element carrying data-cm/-building/-status; without JavaScript
# the filter bar stays hidden and everything shows. In a large report (a `tl-rows` list present)
# a timeline's table is built when its <details> opens, when a link leads to its student, and,
# for the students shown (at most PRINT_LIMIT of them), before printing.
JS = r"""
(function () {
  var source = document.getElementById('tl-rows');
  if (!source || !document.querySelectorAll) { return; }
  var rows = JSON.parse(source.textContent);
  var head = '<table class="timeline"><thead><tr><th>Date</th><th>Step</th><th>Status</th>' +
    '</tr></thead><tbody>';
  function fill(d) {
    if (d.getAttribute('data-done')) { return; }
    var ids = d.getAttribute('data-r').split(' '), body = '';
    for (var i = 0; i < ids.length; i++) { body += rows[parseInt(ids[i], 36)]; }
    d.insertAdjacentHTML('beforeend', head + body + '</tbody></table>');
    d.setAttribute('data-done', '1');
  }
  document.addEventListener('toggle', function (ev) {
    var d = ev.target;
    if (d.tagName === 'DETAILS' && d.open && d.hasAttribute('data-r')) { fill(d); }
  }, true);
  function follow() {
    var el = window.location.hash && document.getElementById(window.location.hash.slice(1));
    var d = el && el.querySelector && el.querySelector('details[data-r]');
    if (d) { fill(d); d.open = true; }
  }
  window.addEventListener('hashchange', follow);
  follow();
  window.addEventListener('beforeprint', function () {
    var all = document.querySelectorAll('article.student:not([hidden]) details[data-r]');
    if (all.length > PRINT_LIMIT) { return; }
    for (var i = 0; i < all.length; i++) { fill(all[i]); all[i].open = true; }
  });
})();
(function () {
  var bar = document.getElementById('filters');
  if (!bar || !document.querySelectorAll) { return; }
  var cm = document.getElementById('f-cm');
  var building = document.getElementById('f-building');
  var status = document.getElementById('f-status');
  var count = document.getElementById('f-count');
  var none = document.getElementById('f-none');
  var flagged = document.getElementById('n-attention');
  var items = document.querySelectorAll('.flt');
  var cards = document.querySelectorAll('li.count[data-count]');
  var facts = document.querySelectorAll('#summary [data-fact]');
  var factKeys = 'FACT_KEYS'.split(' ');
  // Meetings held (SPEC §6): late rows follow the case manager and building (a held meeting has
  // no status); each year's counts are summed from [year, cm, building, timely, late] entries.
  var lateRows = document.querySelectorAll('.flt-cl');
  var heldSource = document.getElementById('held-counts');
  var held = heldSource ? JSON.parse(heldSource.textContent) : [];
  var years = document.querySelectorAll('.held-year[data-year]');
  var selects = {cm: cm, building: building, status: status};
  function matches(el, sel, attr) { return !sel.value || el.getAttribute(attr) === sel.value; }
  function apply() {
    var shown = 0, total = 0, attention = 0, counts = {}, sums = {}, i, k;
    for (i = 0; i < items.length; i++) {
      var el = items[i];
      var mine = matches(el, cm, 'data-cm') && matches(el, building, 'data-building');
      var ok = mine && matches(el, status, 'data-status');
      el.hidden = !ok;
      if (el.tagName === 'ARTICLE') {
        total++;
        if (ok) { shown++; }
        var st = el.getAttribute('data-status');
        if (mine) {
          counts[st] = (counts[st] || 0) + 1;
          var values = el.getAttribute('data-facts').split(' ');
          for (k = 0; k < factKeys.length; k++) {
            sums[factKeys[k]] = (sums[factKeys[k]] || 0) + parseInt(values[k], 10);
          }
        }
      } else if (el.tagName === 'TR' && ok) { attention++; }
    }
    for (i = 0; i < lateRows.length; i++) {
      lateRows[i].hidden = !(matches(lateRows[i], cm, 'data-cm') &&
        matches(lateRows[i], building, 'data-building'));
    }
    var tally = {};
    for (i = 0; i < held.length; i++) {
      var h = held[i];
      if ((!cm.value || h[1] === cm.value) && (!building.value || h[2] === building.value)) {
        var t = tally[h[0]] || (tally[h[0]] = [0, 0]);
        t[0] += h[3]; t[1] += h[4];
      }
    }
    for (i = 0; i < years.length; i++) {
      var y = tally[years[i].getAttribute('data-year')] || [0, 0];
      years[i].querySelector('[data-held="held"]').textContent = y[0] + y[1];
      years[i].querySelector('[data-held="timely"]').textContent = y[0];
      years[i].querySelector('[data-held="late"]').textContent = y[1];
    }
    count.textContent = shown + ' of ' + total + ' students shown';
    none.hidden = shown !== 0;
    if (flagged) { flagged.textContent = attention; }
    // The counts follow the chosen caseload (case manager, building), whatever the status.
    for (i = 0; i < cards.length; i++) {
      cards[i].querySelector('.n').textContent = counts[cards[i].getAttribute('data-count')] || 0;
    }
    for (i = 0; i < facts.length; i++) {
      facts[i].textContent = sums[facts[i].getAttribute('data-fact')] || 0;
    }
    for (i = 1; i < status.options.length; i++) {
      var opt = status.options[i];
      opt.textContent = opt.getAttribute('data-label') + ' (' + (counts[opt.value] || 0) + ')';
    }
  }
  // The chosen filters live in the URL (?cm=...&building=...&status=...), so a bookmark or a
  // link sent to someone opens the same caseload; #cm=... is read too. The hash stays free for
  // the links to students.
  function query() {
    var parts = [];
    for (var name in selects) {
      if (selects[name].value) {
        parts.push(name + '=' + encodeURIComponent(selects[name].value));
      }
    }
    return parts.join('&');
  }
  function save() {
    var q = query(), loc = window.location;
    try {
      window.history.replaceState(null, '', loc.pathname + (q ? '?' + q : '') + loc.hash);
    } catch (e) {
      loc.replace('#' + q);  // where a file's URL cannot change its query
    }
  }
  function choose(sel, wanted) {
    sel.value = '';
    for (var i = 0; i < sel.options.length; i++) {
      var value = sel.options[i].value;
      if (value.toLowerCase() === wanted.toLowerCase()) { sel.value = value; }
    }
  }
  function load() {
    var text = window.location.search.slice(1), hash = window.location.hash.slice(1);
    if (hash.indexOf('=') >= 0) { text += '&' + hash; }
    var pairs = text.split('&');
    for (var i = 0; i < pairs.length; i++) {
      var eq = pairs[i].indexOf('='), name = pairs[i].slice(0, eq);
      if (eq > 0 && selects.hasOwnProperty(name)) {
        var raw = pairs[i].slice(eq + 1).replace(/\+/g, ' ');
        try { choose(selects[name], decodeURIComponent(raw)); } catch (e) { /* a mangled link */ }
      }
    }
  }
  [cm, building, status].forEach(function (s) {
    s.addEventListener('change', function () { apply(); save(); });
  });
  document.getElementById('f-reset').addEventListener('click', function () {
    cm.value = ''; building.value = ''; status.value = ''; apply(); save();
  });
  load();
  bar.hidden = false;
  apply();
})();
""".replace("PRINT_LIMIT", "2000").replace("FACT_KEYS", " ".join(FACT_KEYS))
