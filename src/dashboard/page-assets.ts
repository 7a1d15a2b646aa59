/**
 * The dashboard page's own script and style, kept as strings so the page needs no data file at run
 * time (the controller image copies only dist/ and a few data folders). The script is plain browser
 * JavaScript: it receives snapshots over server-sent events and redraws the list or one Canary,
 * building every element with textContent (no HTML from data). It never writes anything.
 */

export const PAGE_SCRIPT = String.raw`(function () {
  'use strict';
  var source = null;
  var lastCharts = '';

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function selected() {
    var m = /^#\/canary\/([^/]+)\/([^/]+)$/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) + '/' + decodeURIComponent(m[2]) : null;
  }

  function age(s) {
    if (s === null || s === undefined) return '';
    if (s < 120) return s + 's';
    if (s < 7200) return Math.floor(s / 60) + 'm';
    if (s < 172800) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }

  function time(t) {
    return t ? new Date(t * 1000).toLocaleTimeString() : '';
  }

  function weights(r) {
    return r.canaryWeight === null ? '' : r.stable + ' ' + r.stableWeight + ' / ' + r.canary + ' ' + r.canaryWeight;
  }

  function setBanners(list) {
    var box = document.getElementById('banners');
    box.textContent = '';
    list.forEach(function (b) { box.appendChild(el('div', { class: 'banner ' + b.kind, text: b.text })); });
  }

  function renderList(s) {
    var view = document.getElementById('view');
    view.textContent = '';
    lastCharts = '';
    view.appendChild(el('h2', { text: 'Canaries' }));
    if (!s.rows.length) {
      view.appendChild(el('p', { id: 'empty', text: s.banners.api ? 'Nothing read from the API server yet.' : 'No Canaries in the cluster (or none this kubeconfig may list).' }));
      return;
    }
    var head = el('tr', {}, ['Namespace', 'Name', 'Phase', 'Weights (stable / canary)', 'Step', 'Failed checks', 'Age'].map(function (h) { return el('th', { text: h }); }));
    var body = el('tbody');
    s.rows.forEach(function (r) {
      var link = el('a', { href: '#/canary/' + encodeURIComponent(r.namespace) + '/' + encodeURIComponent(r.name), text: r.name });
      body.appendChild(el('tr', { 'data-key': r.key, class: 'phase-' + r.phase }, [
        el('td', { text: r.namespace }), el('td', {}, [link]), el('td', { class: 'phase', text: r.phase }),
        el('td', { class: 'weights', text: weights(r) }), el('td', { text: r.step }),
        el('td', { text: r.failedChecks + ' of ' + r.threshold }), el('td', { text: age(r.ageSeconds) }),
      ]));
    });
    view.appendChild(el('table', { id: 'canaries' }, [el('thead', {}, [head]), body]));
  }

  function eventsTable(id, events, empty) {
    if (!events.length) return el('p', { id: id, class: 'muted', text: empty });
    var body = el('tbody');
    events.forEach(function (e) {
      body.appendChild(el('tr', { class: e.type === 'Warning' ? 'warn' : '' }, [
        el('td', { text: e.lastTimestamp ? new Date(e.lastTimestamp).toLocaleTimeString() : '' }), el('td', { text: e.type }),
        el('td', { text: e.reason }), el('td', { text: e.count > 1 ? 'x' + e.count : '' }), el('td', { text: e.message }),
      ]));
    });
    return el('table', { id: id }, [el('thead', {}, [el('tr', {}, ['time', 'type', 'reason', '', 'message'].map(function (h) { return el('th', { text: h }); }))]), body]);
  }

  function renderDetail(s, key) {
    var view = document.getElementById('view');
    var d = s.detail;
    if (!d) {
      view.textContent = '';
      lastCharts = '';
      view.appendChild(el('p', { id: 'missing', text: 'Canary ' + key + ' is not in the cluster (any more).' }));
      view.appendChild(el('a', { href: '#/', text: 'All Canaries' }));
      return;
    }
    var chartsJson = JSON.stringify(d.charts);
    var charts = document.getElementById('charts');
    if (!charts) {
      view.textContent = '';
      view.appendChild(el('p', {}, [el('a', { href: '#/', text: '← All Canaries' })]));
      view.appendChild(el('h2', { id: 'title', text: d.row.namespace + '/' + d.row.name }));
      view.appendChild(el('div', { id: 'summary' }));
      charts = el('div', { id: 'charts' });
      view.appendChild(charts);
      view.appendChild(el('h3', { text: 'Decisions' }));
      view.appendChild(el('div', { id: 'timeline-box' }));
      view.appendChild(el('h3', { text: "Hooks' results" }));
      view.appendChild(el('div', { id: 'hooks-box' }));
      view.appendChild(el('h3', { text: 'Events' }));
      view.appendChild(el('div', { id: 'events-box' }));
      lastCharts = '';
    }
    var r = d.row;
    var summary = document.getElementById('summary');
    summary.textContent = '';
    summary.appendChild(el('span', { class: 'phase phase-' + r.phase, id: 'phase', text: r.phase }));
    summary.appendChild(document.createTextNode(' weights ' + weights(r) + (r.step ? ', step ' + r.step : '') + ', failed checks ' + r.failedChecks + ' of ' + r.threshold + ', age ' + age(r.ageSeconds) + (r.message ? ' — ' + r.message : '')));
    if (chartsJson !== lastCharts) {
      lastCharts = chartsJson;
      charts.textContent = '';
      charts.setAttribute('data-max-weight', d.maxWeight === null ? '' : String(d.maxWeight));
      window.routeshiftDrawCharts(charts, d.charts, uPlot);
    }
    var tl = document.getElementById('timeline-box');
    tl.textContent = '';
    if (!d.decisions.length) tl.appendChild(el('p', { class: 'muted', text: 'No decisions yet.' }));
    else tl.appendChild(el('ol', { id: 'timeline' }, d.decisions.map(function (x) {
      return el('li', { class: 'decision kind-' + x.kind, 'data-reason': x.reason }, [el('time', { text: time(x.t) }), ' ', el('b', { text: x.reason }), ' ', el('span', { class: 'msg', text: x.message + (x.count > 1 ? ' (x' + x.count + ')' : '') })]);
    })));
    var hooks = document.getElementById('hooks-box');
    hooks.textContent = '';
    hooks.appendChild(eventsTable('hooks', d.hooks, 'No webhook failures or closed gates reported (routeshift reports a hook only when it fails or holds the rollout).'));
    var evs = document.getElementById('events-box');
    evs.textContent = '';
    evs.appendChild(eventsTable('events', d.events.slice().reverse(), 'No Events.'));
  }

  function render(s) {
    window.routeshiftState = s;
    var banners = [];
    if (s.banners.api) banners.push({ kind: 'error api', text: s.banners.api });
    if (s.banners.prometheus) banners.push({ kind: 'error prometheus', text: s.banners.prometheus });
    if (!s.sources.prometheus) banners.push({ kind: 'info', text: 'No Prometheus given (--prometheus): charts start when the dashboard did.' });
    setBanners(banners);
    document.getElementById('sources').textContent = 'API server ' + s.sources.api + (s.sources.prometheus ? ' · Prometheus ' + s.sources.prometheus : '') + ' · updated ' + time(s.now) + ' · read-only';
    var key = selected();
    if (key) renderDetail(s, key);
    else renderList(s);
  }

  function connect() {
    if (source) source.close();
    var key = selected();
    source = new EventSource('api/stream' + (key ? '?canary=' + encodeURIComponent(key) : ''));
    source.addEventListener('state', function (ev) {
      document.getElementById('conn').textContent = 'live';
      render(JSON.parse(ev.data));
    });
    source.onerror = function () {
      document.getElementById('conn').textContent = 'disconnected: the dashboard server is not answering; the browser retries';
    };
  }

  window.addEventListener('hashchange', function () {
    lastCharts = '';
    var charts = document.getElementById('charts');
    if (charts) document.getElementById('view').textContent = '';
    connect();
  });
  connect();
})();
`;

export const PAGE_STYLE = String.raw`body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#fff}
header{display:flex;align-items:baseline;gap:1em;padding:.6em 1.5em;background:#f4f6f8;border-bottom:1px solid #dde}
header h1{font-size:18px;margin:0}header h1 a{color:inherit;text-decoration:none}
#conn{color:#666;font-size:12px}
main{padding:0 1.5em 1em}footer{padding:.5em 1.5em;color:#777;font-size:12px;border-top:1px solid #eee}
.banner{margin:.6em 1.5em;padding:.6em 1em;border-radius:4px}
.banner.error{background:#fde8e8;border:1px solid #e0a0a0;color:#8a1111;font-weight:600}
.banner.info{background:#eef4fb;border:1px solid #c5d8ef;color:#234}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
tr.warn td{background:#fff6e5}
.phase{font-weight:600}
.phase-Succeeded .phase,.phase.phase-Succeeded{color:#1b7a1b}
.phase-Failed .phase,.phase.phase-Failed,.phase-Invalid .phase,.phase.phase-Invalid{color:#b01010}
.phase-Progressing .phase,.phase.phase-Progressing{color:#1f5fb0}
.muted{color:#777}
#timeline{list-style:none;padding:0;margin:0;font-size:13px}
#timeline li{padding:3px 6px;border-left:4px solid #ccc;margin:2px 0}
#timeline li.kind-rollback{border-color:#d62728;background:#fde8e8}
#timeline li.kind-promote{border-color:#2ca02c;background:#e6f6e6}
#timeline li.kind-failed-check{border-color:#f0a030}
#timeline time{color:#666;font-variant-numeric:tabular-nums}
`;
