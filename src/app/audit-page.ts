/**
 * The auditors' page (GET /api/audit/view): one self-contained HTML document — inline CSS and JS, no external
 * resources — that lists audit rows with the API's filters, pages through them, links each object to its timeline,
 * colours failures and stale consumers, and offers the CSV download. It holds no data: the script calls
 * /api/audit (forwarding the `code` key the page was opened with, if any; with App Service Authentication the
 * session cookie does the work).
 *
 * Rows contain names and tags from vaults and events that anyone with access to a vault can choose, so the script
 * only ever puts data into the document as text (textContent, never innerHTML) and builds links itself from encoded
 * path segments; a strict Content-Security-Policy with a per-response nonce backs that up.
 */
import { randomBytes } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, TRIGGERS } from '../core/audit.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../core/audit-query.js';
import { OBJECT_TYPES } from '../core/model.js';

const STYLE = `
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dde5; --bg:#f6f7f9; --fail:#b3261e; --failbg:#fdecea; --stale:#8a5a00; --stalebg:#fff4d6; --ok:#1e6b34; --okbg:#e8f5ec; --link:#1a56b0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); display: flex; align-items: baseline; gap: 16px; }
header h1 { font-size: 18px; margin: 0; }
header .sub { color: var(--muted); }
main { padding: 16px 20px; }
form#filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px 12px; background: #fff; padding: 12px; border: 1px solid var(--line); border-radius: 6px; }
form#filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form#filters input, form#filters select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
form#filters .actions { display: flex; align-items: end; gap: 8px; }
button, .button { font: inherit; padding: 5px 12px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; color: var(--fg); text-decoration: none; }
button.primary { background: var(--link); color: #fff; border-color: var(--link); }
button:disabled { opacity: .5; cursor: default; }
.bar { display: flex; align-items: center; gap: 12px; margin: 12px 0; }
#status { color: var(--muted); }
#status.error { color: var(--fail); font-weight: 600; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfc; }
/* The list reads at 1280-1920 px without horizontal scrolling: fixed columns, the detail takes the rest and wraps. */
table.list { table-layout: fixed; }
table.list thead th { position: sticky; top: 0; z-index: 2; box-shadow: 0 1px 0 var(--line); }
table.list td { overflow: hidden; overflow-wrap: anywhere; }
col.w-time { width: 150px; } col.w-vault { width: 100px; } col.w-object { width: 184px; } col.w-action { width: 160px; }
col.w-version { width: 150px; } col.w-consumer { width: 180px; } col.w-kind { width: 190px; }
.badge { white-space: nowrap; }
td.c-time { white-space: nowrap; }
.name { font-size: 13px; }
.clamp2, .clamp3 { display: -webkit-box; -webkit-box-orient: vertical; overflow: hidden; }
.clamp2 { -webkit-line-clamp: 2; line-clamp: 2; }
.clamp3 { -webkit-line-clamp: 3; line-clamp: 3; }
tr.expanded .clamp2, tr.expanded .clamp3 { display: block; -webkit-line-clamp: unset; line-clamp: unset; }
td.c-detail { cursor: pointer; }
.small { font-size: 12px; color: var(--muted); }
.reason { font-size: 12px; color: var(--muted); font-weight: 600; margin-right: 6px; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.mono.tight { font-size: 11px; }
td.detail { overflow-wrap: anywhere; }
/* One colour scheme everywhere (list, timeline, needs attention, CLI): failed red, stale / needs a person amber. */
tr.failed td { background: var(--failbg); }
tr.failed .c-outcome, .badge.failed { color: var(--fail); font-weight: 600; }
tr.stale td { background: var(--stalebg); }
tr.stale .c-outcome, .badge.stale { color: var(--stale); font-weight: 600; }
tr.attention .c-outcome { color: var(--stale); font-weight: 600; }
.tabs { display: flex; gap: 8px; margin-left: auto; }
.tabs a { padding: 4px 10px; border-radius: 4px; text-decoration: none; border: 1px solid var(--line); background: #fff; }
.tabs a.current { background: var(--link); color: #fff; border-color: var(--link); }
section#attention { display: none; }
section#attention.open { display: block; }
a { color: var(--link); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; border: 1px solid currentColor; }
.badge.ok { color: var(--ok); background: var(--okbg); }
.badge.failed { background: var(--failbg); }
.badge.stale { background: var(--stalebg); }
section#timeline { display: none; }
section#timeline.open { display: block; }
section#list.closed { display: none; }
.rotation { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; margin: 12px 0; }
.rotation.failed { border-left: 4px solid var(--fail); }
.rotation.stale { border-left: 4px solid var(--stale); }
.rotation h3 { margin: 0 0 8px; font-size: 15px; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
tr.consumer.stale td { background: var(--stalebg); }
tr.consumer.verified td.c-state { color: var(--ok); font-weight: 600; }
h2 { font-size: 16px; margin: 16px 0 8px; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var vocab = JSON.parse(document.getElementById('vocab').textContent);
  var base = location.pathname.replace(/\\/view\\/?$/, '');
  var key = new URLSearchParams(location.search).get('code');
  var FILTERS = ['vault', 'objectType', 'objectName', 'action', 'outcome', 'trigger', 'runId', 'from', 'to', 'pageSize'];
  var STALE = { ConsumerStale: 1, ConsumerUnreachable: 1, ConsumerMisconfigured: 1, ExternalRotationStale: 1 };
  var state = { params: new URLSearchParams(), tokens: [null], page: 0, next: null };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function text(tag, value, className) { return el(tag, { text: value == null ? '' : String(value), className: className || '' }); }
  function fill(select, values) {
    values.forEach(function (v) { select.appendChild(el('option', { value: v, text: v })); });
  }
  function apiUrl(path, params) {
    var p = new URLSearchParams(params || '');
    if (key) p.set('code', key);
    var q = p.toString();
    return base + path + (q ? '?' + q : '');
  }
  function objectHash(vault, type, name) {
    return '#/objects/' + encodeURIComponent(vault) + '/' + encodeURIComponent(type) + '/' + encodeURIComponent(name);
  }
  function shortId(v) { return v && v.length > 14 ? v.slice(0, 10) + '\\u2026' : (v || ''); }
  function short8(v) { return v && v.length > 9 ? v.slice(0, 8) : (v || ''); }
  /** "HPC Pack node c1/cn03 (hpcpack://c1/cn03)" -> "HPC Pack node c1/cn03": the full id is on hover and in the timeline. */
  function consumerName(label) { return (label || '').replace(/ \\(.*\\)$/, ''); }
  /** Long names lose their middle, never their distinguishing end (the full name is on hover and in the timeline). */
  function elide(v, max) { return v.length <= max ? v : v.slice(0, Math.floor((max - 1) * 0.4)) + '\\u2026' + v.slice(v.length - Math.ceil((max - 1) * 0.6)); }
  /** "Batch pool hpcbatch/render" -> ["Batch pool", "hpcbatch/render"]: the kind small, the name that tells consumers apart. */
  function consumerCell(label) {
    var name = consumerName(label);
    var m = /^(Batch pool|HPC Pack node|HPC Pack cluster|HPC Cache) (.*)$/.exec(name);
    var td = el('td', { className: 'c-consumer' }, m ? [text('div', m[1], 'small'), text('div', elide(m[2], 64), 'name')] : [text('div', elide(name, 64), 'name')]);
    if (label) td.title = label;
    return td;
  }
  function objectCell(r) {
    var link = r.objectName
      ? el('a', { href: objectHash(r.vault, r.objectType, r.objectName), className: 'object-link', text: r.objectType + '/' + elide(r.objectName, 40) })
      : text('span', r.objectType ? r.objectType : '(vault)');
    var td = el('td', { className: 'c-object name' }, [link]);
    td.title = r.vault + '/' + r.objectType + '/' + r.objectName;
    return td;
  }
  function rowClass(r) {
    if (STALE[r.action]) return 'stale';
    if (r.outcome === 'Failed') return 'failed';
    if (r.outcome === 'ActionRequired') return 'attention';
    return '';
  }
  function setStatus(message, isError) {
    var s = $('status');
    s.textContent = message;
    s.className = isError ? 'error' : '';
  }
  async function getJson(url) {
    var res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    var body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    if (!res.ok) {
      var msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + res.status;
      throw new Error(msg);
    }
    return body;
  }

  function readForm() {
    var p = new URLSearchParams();
    FILTERS.forEach(function (name) {
      var v = $('f-' + name).value.trim();
      if (v) p.set(name, v);
    });
    return p;
  }
  function writeForm(p) {
    FILTERS.forEach(function (name) { $('f-' + name).value = p.get(name) || (name === 'pageSize' ? vocab.defaultPageSize : ''); });
  }

  function renderRows(rows) {
    var body = $('rows-body');
    body.textContent = '';
    rows.forEach(function (r) {
      var versionCell = el('td', { className: 'c-version mono tight' }, [
        text('div', r.previousVersion || r.version ? (r.previousVersion ? short8(r.previousVersion) + ' \\u2192 ' : '') + short8(r.version) : ''),
        r.thumbprint ? text('div', (r.previousThumbprint ? short8(r.previousThumbprint) + ' \\u2192 ' : 'tp ') + short8(r.thumbprint), 'small mono tight c-thumbprint') : null,
      ]);
      versionCell.title = [r.previousVersion ? 'from version ' + r.previousVersion : '', r.version ? 'version ' + r.version : '', r.previousThumbprint ? 'from thumbprint ' + r.previousThumbprint : '', r.thumbprint ? 'thumbprint ' + r.thumbprint : ''].filter(Boolean).join('\\n');
      var detailCell = el('td', { className: 'detail c-detail' }, [el('div', { className: 'clamp3' }, [r.reason ? text('span', r.reason, 'reason c-reason') : null, text('span', r.detail)])]);
      detailCell.title = 'Click to show all of it';
      var tr = el('tr', { className: ('row ' + rowClass(r)).trim() }, [
        text('td', r.timestamp.replace('T', ' ').replace(/(\\.\\d+)?Z$/, ''), 'mono tight c-time'),
        el('td', { className: 'c-vault name' }, [text('div', r.vault)]),
        objectCell(r),
        el('td', { className: 'c-action' }, [text('div', r.action), el('div', { className: 'small' }, [text('span', r.outcome, 'c-outcome'), text('span', ' \\u00b7 ' + r.trigger, 'c-trigger')])]),
        versionCell,
        consumerCell(r.consumer),
        detailCell,
      ]);
      tr.title = 'run ' + r.runId + (r.rotationId ? ', rotation ' + r.rotationId : '') + ', seq ' + r.chainSeq + ' in ' + r.partitionKey;
      detailCell.addEventListener('click', function () { tr.classList.toggle('expanded'); });
      body.appendChild(tr);
    });
  }

  function show(section) {
    $('list').className = section === 'list' ? '' : 'closed';
    $('timeline').className = section === 'timeline' ? 'open' : '';
    $('attention').className = section === 'attention' ? 'open' : '';
    $('tab-list').className = section === 'attention' ? '' : 'current';
    $('tab-attention').className = section === 'attention' ? 'current' : '';
  }

  /**
   * Needs attention, from the audit log of the last 30 days (the API's default range; at most 10 pages of 1000
   * rows): for each object, consumer and vault the newest row decides — a problem stays listed until a later row
   * resolves it (a completed rotation, a new version, a verified consumer, a completed scan).
   */
  var PROBLEM = { ConsumerStale: 'Stale', ConsumerUnreachable: 'Unreachable', ConsumerMisconfigured: 'Misconfigured', RotationFailed: 'Failed',
    ManualActionRequired: 'ManualActionRequired', PolicyViolation: 'ManualActionRequired', ExternalRotationStale: 'Overdue', WorkItemFailed: 'Failed',
    ScanFailed: 'Failed', NotificationFailed: 'Failed' };
  var KIND_CLASS = { Stale: 'stale', Unreachable: 'stale', Misconfigured: 'stale', ManualActionRequired: 'stale', Overdue: 'stale', Failed: 'failed', Expired: 'failed' };
  var RESOLVES = { RotationCompleted: 1, VersionCreated: 1, NewVersionObserved: 1, ExternalRotationObserved: 1, ScanCompleted: 1, ConsumerVerified: 1 };
  function openProblems(rows) {
    var decided = {};
    var objectResolved = {};
    var out = [];
    rows.forEach(function (r) {
      var object = r.vault + '/' + r.objectType + '/' + r.objectName;
      var consumerRow = r.action.indexOf('Consumer') === 0;
      var key = consumerRow ? object + '|' + r.consumer : r.objectName ? object : r.vault + '|' + r.action;
      if (decided[key]) return;
      if (!consumerRow && r.objectName && (RESOLVES[r.action] || PROBLEM[r.action]) && !objectResolved[object]) {
        objectResolved[object] = r.action === 'RotationCompleted' || r.action === 'NewVersionObserved' ? 'resolved' : 'open';
      }
      if (!PROBLEM[r.action] && !RESOLVES[r.action]) return;
      decided[key] = true;
      if (!PROBLEM[r.action]) return;
      // A consumer problem older than the object's newest completed rotation or new version is resolved by it.
      if (consumerRow && objectResolved[object] === 'resolved') return;
      var kind = r.reason === 'Expired' ? 'Expired' : PROBLEM[r.action];
      out.push({ kind: kind, row: r });
    });
    return out;
  }
  function renderAttention(problems) {
    var body = $('attention-body');
    body.textContent = '';
    problems.forEach(function (p) {
      var r = p.row;
      var object = objectCell(r);
      object.insertBefore(text('div', r.vault, 'small'), object.firstChild);
      var tr = el('tr', { className: 'row problem ' + (KIND_CLASS[p.kind] || '') }, [
        el('td', { className: 'c-kind' }, [el('span', { className: 'badge ' + (KIND_CLASS[p.kind] || ''), text: p.kind })]),
        text('td', r.timestamp.replace('T', ' ').replace(/(\\.\\d+)?Z$/, ''), 'mono tight c-time'),
        object,
        consumerCell(r.consumer),
        el('td', { className: 'detail c-detail' }, [el('div', { className: 'clamp3' }, [r.reason ? text('span', r.reason, 'reason') : null, text('span', r.detail)])]),
      ]);
      tr.lastChild.addEventListener('click', function () { tr.classList.toggle('expanded'); });
      body.appendChild(tr);
    });
  }
  async function loadAttention() {
    show('attention');
    $('attention-status').textContent = 'Loading\u2026';
    $('attention-status').className = '';
    try {
      var rows = [];
      var params = new URLSearchParams({ pageSize: '1000' });
      for (var i = 0; i < 10; i++) {
        var data = await getJson(apiUrl('', params));
        rows = rows.concat(data.rows);
        if (!data.continuation) break;
        params.set('continuation', data.continuation);
      }
      var problems = openProblems(rows);
      renderAttention(problems);
      $('attention-status').textContent = problems.length
        ? problems.length + ' open problem(s) in the audit log of the last 30 days, newest first (rotor status lists them from the vaults themselves)'
        : 'Nothing needs attention in the audit log of the last 30 days.';
    } catch (e) {
      renderAttention([]);
      $('attention-status').textContent = e.message;
      $('attention-status').className = 'error';
    }
  }

  async function loadList() {
    show('list');
    var params = new URLSearchParams(state.params);
    var token = state.tokens[state.page];
    if (token) params.set('continuation', token);
    setStatus('Loading\\u2026');
    try {
      var data = await getJson(apiUrl('', params));
      renderRows(data.rows);
      state.next = data.continuation;
      var first = state.page * Number(data.query.pageSize) + 1;
      setStatus(data.count ? 'Rows ' + first + '\\u2013' + (first + data.count - 1) + ', newest first, ' + data.query.from + ' to ' + data.query.to : 'No rows match.');
      var csv = new URLSearchParams(params);
      csv.set('format', 'csv');
      $('csv').setAttribute('href', apiUrl('', csv));
    } catch (e) {
      renderRows([]);
      state.next = null;
      setStatus(e.message, true);
    }
    $('prev').disabled = state.page === 0;
    $('next').disabled = !state.next;
    $('page').textContent = 'Page ' + (state.page + 1);
  }

  function fact(dl, label, value) {
    if (!value) return;
    dl.appendChild(text('dt', label));
    dl.appendChild(text('dd', value, 'mono'));
  }
  function rowsTable(rows) {
    var t = el('table', { className: 'rows' }, [
      el('thead', null, [el('tr', null, ['Time', 'Action', 'Outcome', 'Trigger', 'Version', 'Consumer', 'Reason', 'Detail'].map(function (h) { return text('th', h); }))]),
    ]);
    var tb = el('tbody');
    rows.forEach(function (r) {
      tb.appendChild(el('tr', { className: ('row ' + rowClass(r)).trim() }, [
        text('td', r.timestamp.replace('T', ' ').replace('Z', ''), 'mono c-time'),
        text('td', r.action, 'c-action'),
        text('td', r.outcome, 'c-outcome'),
        text('td', r.trigger, 'c-trigger'),
        text('td', shortId(r.version), 'mono'),
        text('td', r.consumer),
        text('td', r.reason),
        text('td', r.detail, 'detail'),
      ]));
    });
    t.appendChild(tb);
    return t;
  }
  function renderTimeline(t) {
    var box = $('timeline-body');
    box.textContent = '';
    $('timeline-title').textContent = t.object.vault + ' / ' + t.object.objectType + ' / ' + t.object.objectName;
    $('timeline-summary').textContent = t.rotations.length + ' rotation(s), ' + t.other.length + ' other row(s)' + (t.truncated ? ' (truncated)' : '');
    t.rotations.forEach(function (r) {
      var stale = r.consumers.some(function (c) { return c.state !== 'Verified'; });
      var cls = r.status === 'Failed' ? 'failed' : stale ? 'stale' : '';
      var badge = r.status === 'Completed' ? 'ok' : r.status === 'Failed' ? 'failed' : 'stale';
      var h = el('h3', null, [
        el('span', { className: 'badge status ' + badge, text: r.status }),
        text('span', 'rotation ' + r.rotationId, 'mono rotation-id'),
        text('span', 'trigger: ' + r.trigger),
        text('span', r.reason),
      ]);
      var dl = el('dl', { className: 'facts' });
      fact(dl, 'Version', (r.fromVersion || '(none)') + ' \\u2192 ' + (r.toVersion || '(not created)'));
      fact(dl, 'Thumbprint', r.fromThumbprint || r.toThumbprint ? (r.fromThumbprint || '(none)') + ' \\u2192 ' + (r.toThumbprint || '(none)') : '');
      fact(dl, 'Secret id', r.secretId);
      fact(dl, 'Expires', r.expiresOn);
      fact(dl, 'Detected', r.detectedAt);
      fact(dl, 'Started', r.startedAt);
      fact(dl, 'Version created', r.versionCreatedAt);
      fact(dl, 'Completed', r.completedAt);
      fact(dl, 'Failed', r.failedAt);
      fact(dl, 'Consumers converged', r.consumers.length ? (r.converged ? 'yes, ' + r.convergedAt : 'no') : '');
      fact(dl, 'Runs', r.runIds.join(', '));
      var card = el('div', { className: ('rotation ' + cls).trim() }, [h, dl]);
      if (r.consumers.length) {
        var ct = el('table', { className: 'consumers' }, [
          el('thead', null, [el('tr', null, ['Consumer', 'State', 'Last checked', 'Confirmed', 'Expected', 'Observed', 'Detail'].map(function (x) { return text('th', x); }))]),
        ]);
        var cb = el('tbody');
        r.consumers.forEach(function (c) {
          var ccls = c.state === 'Verified' ? 'verified' : c.state === 'Skipped' ? '' : 'stale';
          cb.appendChild(el('tr', { className: ('consumer ' + ccls).trim() }, [
            text('td', c.consumer, 'c-consumer'),
            text('td', c.state, 'c-state'),
            text('td', c.at, 'mono'),
            text('td', c.verifiedAt || '', 'mono'),
            text('td', shortId(c.expected), 'mono'),
            text('td', shortId(c.observed), 'mono'),
            text('td', c.detail, 'detail'),
          ]));
        });
        ct.appendChild(cb);
        card.appendChild(ct);
      }
      var details = el('details', null, [text('summary', r.rows.length + ' row(s)'), rowsTable(r.rows)]);
      card.appendChild(details);
      box.appendChild(card);
    });
    if (t.other.length) {
      box.appendChild(text('h2', 'Reports and observations'));
      var other = rowsTable(t.other);
      other.id = 'timeline-other';
      box.appendChild(other);
    }
  }
  async function loadTimeline(vault, type, name) {
    show('timeline');
    $('timeline-body').textContent = '';
    $('timeline-title').textContent = vault + ' / ' + type + ' / ' + name;
    $('timeline-summary').textContent = 'Loading\\u2026';
    try {
      var path = '/objects/' + encodeURIComponent(vault) + '/' + encodeURIComponent(type) + '/' + encodeURIComponent(name);
      renderTimeline(await getJson(apiUrl(path)));
    } catch (e) {
      $('timeline-summary').textContent = e.message;
      $('timeline-summary').className = 'error';
    }
  }

  function route() {
    var h = location.hash;
    if (/^#\\/attention\\/?$/.test(h)) return loadAttention();
    var m = /^#\\/objects\\/([^/]*)\\/([^/]*)\\/(.*)$/.exec(h);
    if (m) {
      try { return loadTimeline(decodeURIComponent(m[1]), decodeURIComponent(m[2]), decodeURIComponent(m[3])); }
      catch (e) { setStatus('Bad object link', true); return; }
    }
    var q = h.indexOf('?') >= 0 ? h.slice(h.indexOf('?') + 1) : '';
    var params = new URLSearchParams(q);
    var changed = params.toString() !== state.params.toString();
    if (changed) { state.params = params; state.tokens = [null]; state.page = 0; }
    writeForm(params);
    return loadList();
  }

  fill($('f-objectType'), vocab.objectTypes);
  fill($('f-action'), vocab.actions);
  fill($('f-outcome'), vocab.outcomes);
  fill($('f-trigger'), vocab.triggers);
  $('filters').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var target = '#/?' + readForm().toString();
    if (location.hash === target) { state.tokens = [null]; state.page = 0; loadList(); }
    else location.hash = target;
  });
  $('reset').addEventListener('click', function () { location.hash = '#/'; });
  $('next').addEventListener('click', function () {
    if (!state.next) return;
    state.tokens[state.page + 1] = state.next;
    state.page += 1;
    loadList();
  });
  $('prev').addEventListener('click', function () {
    if (state.page === 0) return;
    state.page -= 1;
    loadList();
  });
  $('back').addEventListener('click', function (ev) {
    ev.preventDefault();
    location.hash = '#/?' + state.params.toString();
  });
  window.addEventListener('hashchange', route);
  route();
})();
`;

function field(name: string, label: string, control: string): string {
  return `<label for="f-${name}">${label}${control}</label>`;
}

const input = (name: string, placeholder = ''): string => `<input id="f-${name}" name="${name}" autocomplete="off" placeholder="${placeholder}">`;
const select = (name: string): string => `<select id="f-${name}" name="${name}"><option value="">any</option></select>`;

/** The page, with `nonce` on its inline style and script. */
export function auditPageHtml(nonce: string): string {
  const vocab = JSON.stringify({
    objectTypes: OBJECT_TYPES,
    actions: AUDIT_ACTIONS,
    outcomes: AUDIT_OUTCOMES,
    triggers: TRIGGERS,
    defaultPageSize: String(DEFAULT_PAGE_SIZE),
  }).replace(/</g, '\\u003c');
  const pageSizes = [25, 100, 500, MAX_PAGE_SIZE].map((n) => `<option value="${n}">${n}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Rotor audit log</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1>Rotor audit log</h1><span class="sub">What was rotated, when, by which trigger, and who confirmed it</span>
<nav class="tabs"><a href="#/" id="tab-list">Audit log</a><a href="#/attention" id="tab-attention">Needs attention</a></nav></header>
<main>
<section id="list">
<form id="filters">
${field('vault', 'Vault', input('vault', 'hpc-prod-kv'))}
${field('objectType', 'Type', select('objectType'))}
${field('objectName', 'Object name', input('objectName'))}
${field('action', 'Action', select('action'))}
${field('outcome', 'Outcome', select('outcome'))}
${field('trigger', 'Trigger', select('trigger'))}
${field('runId', 'Run id', input('runId'))}
${field('from', 'From (ISO 8601)', input('from', 'default: 30 days ago'))}
${field('to', 'To (ISO 8601)', input('to', 'default: now'))}
${field('pageSize', 'Rows per page', `<select id="f-pageSize" name="pageSize">${pageSizes}</select>`)}
<div class="actions"><button type="submit" class="primary" id="apply">Apply</button><button type="button" id="reset">Reset</button></div>
</form>
<div class="bar"><span id="status"></span><a id="csv" class="button" download>Download CSV (this page)</a></div>
<table id="rows" class="list">
<colgroup><col class="w-time"><col class="w-vault"><col class="w-object"><col class="w-action"><col class="w-version"><col class="w-consumer"><col></colgroup>
<thead><tr><th>Time (UTC)</th><th>Vault</th><th>Object</th><th>Action · outcome · trigger</th><th>Version · thumbprint</th><th>Consumer</th><th>Reason · detail (click for all)</th></tr></thead>
<tbody id="rows-body"></tbody>
</table>
<div class="bar"><button type="button" id="prev">Previous</button><span id="page">Page 1</span><button type="button" id="next">Next</button></div>
</section>
<section id="attention">
<div class="bar"><span id="attention-status"></span></div>
<table id="attention-rows" class="list">
<colgroup><col class="w-kind"><col class="w-time"><col class="w-object"><col class="w-consumer"><col></colgroup>
<thead><tr><th>Needs attention</th><th>Since (UTC)</th><th>Object</th><th>Consumer</th><th>Reason · detail</th></tr></thead>
<tbody id="attention-body"></tbody>
</table>
</section>
<section id="timeline">
<div class="bar"><a href="#/" id="back">&larr; Back to the list</a></div>
<h2 id="timeline-title"></h2>
<p id="timeline-summary"></p>
<div id="timeline-body"></div>
</section>
</main>
<script type="application/json" id="vocab">${vocab}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

export function auditPageResponse(): HttpResponseInit {
  const nonce = randomBytes(16).toString('base64');
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy':
        `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; ` +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
    body: auditPageHtml(nonce),
  };
}
