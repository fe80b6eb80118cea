// llm-limiter dashboard: polls /api/v1/stats every second with the admin token kept in
// sessionStorage, and edits limits through PATCH/PUT /api/v1/targets/{provider}/{model} (a model's
// own slashes sent as %2F). A target's detail view (its config, effective limits, refusals by reason
// and the charts of its last 15 minutes, drawn with uPlot) polls that target's config, stats and
// history every 5 seconds, and, when the target shares its budget fairly, its tenants.
// Everything shown is set with textContent, never as HTML.
(function () {
  'use strict';
  var TOKEN_KEY = 'llmlimiter.adminToken';
  var known = {};

  function $(id) { return document.getElementById(id); }
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function api(method, path, body, contentType) {
    var headers = { 'Authorization': 'Bearer ' + token(), 'Accept': 'application/json' };
    var init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType || 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      var type = r.headers.get('Content-Type') || '';
      var parsed = type.indexOf('json') >= 0 ? r.json() : Promise.resolve(null);
      return parsed.then(function (json) { return { status: r.status, ok: r.ok, body: json }; });
    });
  }

  function problemText(res) {
    var b = res.body || {};
    return (b.title || ('HTTP ' + res.status)) + (b.detail ? ': ' + b.detail : '');
  }

  function setStatus(id, text, cls) {
    var s = $(id);
    s.textContent = text;
    s.className = cls || 'muted';
  }

  var REASONS = { '429': 'learned from provider 429s', 'headers': "the provider's stated limit" };

  // Used against the effective amount (what admissions are checked against); when learning took
  // it below the configured amount, the configured amount and the reason are shown beside it.
  function windowRow(w) {
    var row = el('div', 'window');
    var effective = w.effective === undefined ? w.amount : w.effective;
    var label = el('span', null, w.resource + ' ' + w.used + ' / ' + effective + ' per ' + w.window);
    if (effective < w.amount) {
      label.appendChild(el('span', 'learned', ' (configured ' + w.amount + ', ' + (REASONS[w.reason] || w.reason) + ')'));
    }
    var ratio = effective > 0 ? Math.min(1, w.used / effective) : 0;
    var bar = el('div', 'bar' + (ratio >= 1 ? ' full' : ratio >= 0.8 ? ' warn' : ''));
    var fill = el('span');
    fill.style.width = (ratio * 100).toFixed(1) + '%';
    bar.appendChild(fill);
    row.appendChild(label);
    row.appendChild(bar);
    return row;
  }

  function compactLimits(s) {
    var budgets = s.cost ? s.cost.budgets.map(function (b) { return b.budget; }) : [];
    return s.windows.map(function (w) { return w.resource + '=' + w.amount + '/' + w.window; })
      .concat(budgets).join(',');
  }

  // Dollars arrive as exact decimals; shown to the cent, or to a millionth below a cent.
  function usd(v) {
    var n = Number(v);
    return '$' + (n !== 0 && Math.abs(n) < 0.01 ? n.toFixed(6) : n.toFixed(2));
  }

  function costCell(s) {
    var td = el('td', 'cost');
    if (!s.cost) { return td; }
    td.appendChild(el('div', 'cost-today', 'today ' + usd(s.cost.today_usd)));
    td.appendChild(el('div', 'cost-month muted', 'month ' + usd(s.cost.month_usd)));
    s.cost.budgets.forEach(function (b) {
      var text = b.budget + (b.left_usd !== undefined ? ': ' + usd(b.left_usd) + ' left' : '');
      td.appendChild(el('div', 'budget muted', text));
    });
    return td;
  }

  function renderSpend(stats) {
    if (!stats.cost) { return; }
    $('spend-today').textContent = usd(stats.cost.today_usd);
    $('spend-month').textContent = usd(stats.cost.month_usd);
    var list = $('spend-targets');
    list.textContent = '';
    stats.targets.filter(function (s) { return s.cost && Number(s.cost.month_usd) > 0; })
      .sort(function (a, b) { return Number(b.cost.today_usd) - Number(a.cost.today_usd); })
      .slice(0, 10).forEach(function (s) {
        list.appendChild(el('li', null, s.target + ': ' + usd(s.cost.today_usd) + ' today, ' +
          usd(s.cost.month_usd) + ' this month'));
      });
    // The top tenants by spend, in the server's order, when the stats carry them.
    var tenants = $('spend-tenants');
    tenants.textContent = '';
    $('spend-tenants-box').hidden = !(stats.tenants && stats.tenants.length);
    (stats.tenants || []).slice(0, 10).forEach(function (t) {
      tenants.appendChild(el('li', null, t.tenant + (t.target ? ' on ' + t.target : '') + ': ' +
        usd(t.cost.today_usd) + ' today, ' + usd(t.cost.month_usd) + ' this month'));
    });
  }

  function render(stats) {
    renderSpend(stats);
    var body = $('targets-body');
    body.textContent = '';
    known = {};
    if (stats.targets.length === 0) {
      var empty = el('tr');
      var td = el('td', 'muted', 'No target has a config yet.');
      td.colSpan = 9;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    stats.targets.forEach(function (s) {
      known[s.target] = s;
      var tr = el('tr');
      tr.setAttribute('data-target', s.target);
      var name = el('td', 'target', s.target);
      if (s.config_source === 'default') {
        var mark = el('span', 'default-config', 'default config');
        mark.title = 'Redis had no config for this target, so a client wrote the default; set its real limits';
        name.appendChild(mark);
      }
      if (s.fair_share) {
        var shared = el('span', 'fair-share', 'fair share');
        shared.title = 'The budget is shared among tenants by weight; History and details shows each tenant';
        name.appendChild(shared);
      }
      if (s.delivery_margin_ms !== undefined) {
        name.appendChild(el('div', 'margin muted', 'margin ' + s.delivery_margin_ms + ' ms'));
      }
      var details = el('button', 'link details', 'History and details');
      details.type = 'button';
      details.addEventListener('click', function () { openDetail(s.target); });
      name.appendChild(details);
      tr.appendChild(name);
      var usage = el('td', 'usage');
      s.windows.forEach(function (w) { usage.appendChild(windowRow(w)); });
      tr.appendChild(usage);
      var cap = s.concurrency.max_concurrent;
      tr.appendChild(el('td', 'concurrency', s.concurrency.in_flight + ' / ' + (cap === 0 ? '∞' : cap)));
      tr.appendChild(el('td', 'waiting', String(s.waiting)));
      tr.appendChild(el('td', s.cooldown.active ? 'cool' : 'muted',
        s.cooldown.active ? (s.cooldown.remaining_ms / 1000).toFixed(1) + ' s' : '—'));
      tr.appendChild(el('td', 'provider-429', String(s.provider_429)));
      tr.appendChild(el('td', 'retries', String(s.retries)));
      tr.appendChild(costCell(s));
      var actions = el('td');
      var edit = el('button', 'secondary edit', 'Edit');
      edit.type = 'button';
      edit.addEventListener('click', function () { fillForm(s); });
      actions.appendChild(edit);
      tr.appendChild(actions);
      body.appendChild(tr);
    });
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  function fillForm(s) {
    $('edit-target').value = s.target;
    $('edit-limits').value = compactLimits(s);
    $('edit-max-concurrent').value = s.concurrency.max_concurrent;
    setStatus('edit-status', '');
  }

  function refresh() {
    fetch('/health', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (h) {
      var pill = $('health');
      pill.textContent = h.redis.reachable ? 'Redis: up, ' + h.redis.latency_ms.toFixed(2) + ' ms' : 'Redis: unreachable';
      pill.className = 'pill ' + (h.redis.reachable ? 'up' : 'down');
    }).catch(function () {
      $('health').textContent = 'server unreachable';
      $('health').className = 'pill down';
    });
    if (!token()) { return; }
    api('GET', '/api/v1/stats').then(function (res) {
      if (res.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        setStatus('auth-status', 'Token rejected: ' + problemText(res), 'error');
        return;
      }
      if (!res.ok) {
        setStatus('auth-status', problemText(res), 'error');
        return;
      }
      setStatus('auth-status', 'Connected.', 'muted');
      render(res.body);
    }).catch(function (e) { setStatus('auth-status', 'Request failed: ' + e, 'error'); });
  }

  // The provider is the first segment; the model is the rest and may hold '/' (openrouter/openai/gpt-4o).
  // The model is one path segment, its slashes sent as %2F, so a model ending in "/stats" still names
  // the config. Returns null when the text is not provider/model.
  function targetPath(target) {
    var slash = target.indexOf('/');
    if (slash <= 0 || slash === target.length - 1) {
      return null;
    }
    return '/api/v1/targets/' + encodeURIComponent(target.slice(0, slash)) + '/' +
      encodeURIComponent(target.slice(slash + 1));
  }

  function save(ev) {
    ev.preventDefault();
    var target = $('edit-target').value.trim();
    var path = targetPath(target);
    if (path === null) {
      setStatus('edit-status', 'Target must be provider/model.', 'error');
      return;
    }
    var maxConcurrent = Number($('edit-max-concurrent').value || '0');
    var change = { limits: $('edit-limits').value.trim(), max_concurrent: maxConcurrent };
    var exists = Object.prototype.hasOwnProperty.call(known, target);
    if (exists) {
      // The limits text carries the dollar budgets: the form's list replaces the target's.
      change.budgets = null;
    }
    setStatus('edit-status', 'Saving…');
    var call = exists ? api('PATCH', path, change, 'application/merge-patch+json') : api('PUT', path, change);
    call.then(function (res) {
      if (res.ok) {
        setStatus('edit-status', 'Saved ' + target + ': ' + res.body.limits.map(function (l) {
          return l.resource + '=' + l.amount + '/' + l.window;
        }).join(',') + ', max_concurrent ' + res.body.max_concurrent, 'ok');
        refresh();
      } else {
        setStatus('edit-status', problemText(res), 'error');
      }
    }).catch(function (e) { setStatus('edit-status', 'Request failed: ' + e, 'error'); });
  }

  // ---- Target detail: config, effective limits, refusals and history charts ----

  var detailTarget = null;
  var charts = {};
  var LIMIT = '#c62828';
  var CONFIGURED = '#c77800';
  // Each chart: its series, taken from the history's arrays; limits are drawn dashed.
  var CHARTS = {
    'chart-requests': [
      { key: 'admitted_per_s', label: 'admitted/s', stroke: '#2f5bd3' },
      { key: 'request_limit_per_s', label: 'limit (effective)/s', stroke: LIMIT, limit: true },
      { key: 'request_limit_configured_per_s', label: 'limit (configured)/s', stroke: CONFIGURED, limit: true }
    ],
    'chart-tokens': [
      { key: 'estimated_tokens_per_s', label: 'estimated tokens/s', stroke: '#2f5bd3' },
      { key: 'actual_tokens_per_s', label: 'reported tokens/s', stroke: '#1f8a4c' },
      { key: 'token_limit_per_s', label: 'limit (effective)/s', stroke: LIMIT, limit: true },
      { key: 'token_limit_configured_per_s', label: 'limit (configured)/s', stroke: CONFIGURED, limit: true }
    ],
    'chart-waiting': [
      { key: 'waiting', label: 'waiting', stroke: '#2f5bd3' },
      { key: 'in_flight', label: 'in flight', stroke: '#1f8a4c' },
      { key: 'max_concurrent', label: 'concurrency cap', stroke: LIMIT, limit: true }
    ],
    'chart-429': [
      { key: 'provider_429_per_min', label: 'provider 429s/min', stroke: LIMIT },
      { key: 'refused_per_min', label: 'refusals/min', stroke: CONFIGURED }
    ],
    'chart-wait': [
      { key: 'wait_p50_ms', label: 'p50 ms', stroke: '#2f5bd3' },
      { key: 'wait_p99_ms', label: 'p99 ms', stroke: LIMIT }
    ]
  };

  function hasValue(values) {
    return values.some(function (v) { return v !== null; });
  }

  function drawChart(id, history) {
    var box = $(id);
    // A limit the target does not have (no token limit, no concurrency cap) is left out.
    var specs = CHARTS[id].filter(function (c) { return !c.limit || hasValue(history.series[c.key] || []); });
    var data = [history.t].concat(specs.map(function (c) { return history.series[c.key] || []; }));
    var labels = specs.map(function (c) { return c.label; }).join('|');
    var chart = charts[id];
    if (chart && chart.labels === labels) {
      chart.plot.setData(data);
    } else {
      if (chart) { chart.plot.destroy(); }
      var opts = {
        width: Math.max(320, box.clientWidth || 480),
        height: 200,
        scales: { x: { time: true } },
        series: [{}].concat(specs.map(function (c) {
          return { label: c.label, stroke: c.stroke, width: c.limit ? 1.5 : 2, dash: c.limit ? [6, 4] : undefined };
        })),
        axes: [{}, { size: 60 }]
      };
      box.textContent = '';
      charts[id] = { labels: labels, plot: new uPlot(opts, data, box) };
    }
    box.setAttribute('data-series', labels);
    box.setAttribute('data-points', String(data[1].filter(function (v) { return v !== null; }).length));
  }

  function clearCharts() {
    Object.keys(charts).forEach(function (id) {
      charts[id].plot.destroy();
      $(id).textContent = '';
      $(id).removeAttribute('data-points');
      $(id).removeAttribute('data-series');
    });
    charts = {};
  }

  function limitsTable(stats) {
    var body = $('detail-limits').querySelector('tbody');
    body.textContent = '';
    stats.windows.forEach(function (w) {
      var tr = el('tr');
      tr.setAttribute('data-resource', w.resource);
      tr.appendChild(el('td', null, w.resource + ' per ' + w.window + ' (counted for ' + w.counted_for + ')'));
      tr.appendChild(el('td', 'configured', String(w.amount)));
      tr.appendChild(el('td', 'effective' + (w.effective < w.amount ? ' learned' : ''), String(w.effective)));
      tr.appendChild(el('td', 'reason', w.reason === 'configured' ? 'as configured' : (REASONS[w.reason] || w.reason)));
      tr.appendChild(el('td', 'used', String(w.used)));
      body.appendChild(tr);
    });
    var cap = el('tr');
    cap.setAttribute('data-resource', 'concurrency');
    cap.appendChild(el('td', null, 'concurrent calls'));
    var max = stats.concurrency.max_concurrent;
    cap.appendChild(el('td', 'configured', max === 0 ? 'no cap' : String(max)));
    cap.appendChild(el('td', 'effective', max === 0 ? 'no cap' : String(max)));
    cap.appendChild(el('td', 'reason', stats.cooldown.active ? 'cooling down after a provider 429' : 'as configured'));
    cap.appendChild(el('td', 'used', String(stats.concurrency.in_flight)));
    body.appendChild(cap);
  }

  function refusalsTable(history) {
    var body = $('detail-refusals').querySelector('tbody');
    body.textContent = '';
    Object.keys(history.refusals).forEach(function (reason) {
      var r = history.refusals[reason];
      var tr = el('tr');
      tr.setAttribute('data-reason', reason);
      tr.appendChild(el('td', null, reason));
      tr.appendChild(el('td', 'last-1m', String(r.last_1m)));
      tr.appendChild(el('td', 'last-5m', String(r.last_5m)));
      tr.appendChild(el('td', 'last-15m', String(r.last_15m)));
      body.appendChild(tr);
    });
  }

  // ---- Tenants of a target that shares fairly ----

  var PRIORITIES = ['interactive', 'batch', 'background'];

  function percent(v) { return (Number(v) * 100).toFixed(1) + '%'; }

  function shareRow(cls, label, share) {
    var row = el('div', 'share-row ' + cls);
    row.appendChild(el('span', 'share-label', label + ' ' + percent(share)));
    var bar = el('div', 'bar ' + cls);
    var fill = el('span');
    fill.style.width = (Math.min(1, Math.max(0, Number(share))) * 100).toFixed(1) + '%';
    bar.appendChild(fill);
    row.appendChild(bar);
    return row;
  }

  function ms(v) { return Number(v).toFixed(1) + ' ms'; }

  function clearTenants() {
    $('detail-tenants').hidden = true;
    $('tenants').querySelector('tbody').textContent = '';
    $('tenant-waits').querySelector('tbody').textContent = '';
  }

  // The cost columns and the waits by priority are shown when the answer carries them.
  function tenantsView(res) {
    if (res === null || (res.ok && !res.body.fair_share)) { clearTenants(); return; }
    $('detail-tenants').hidden = false;
    var body = $('tenants').querySelector('tbody');
    body.textContent = '';
    if (!res.ok) {
      var failed = el('td', 'error', problemText(res));
      failed.colSpan = 8;
      body.appendChild(el('tr')).appendChild(failed);
      return;
    }
    var list = res.body.tenants;
    var costs = list.some(function (t) { return t.cost !== undefined; });
    Array.prototype.forEach.call($('tenants').querySelectorAll('th.tenant-cost'), function (th) { th.hidden = !costs; });
    if (list.length === 0) {
      var none = el('td', 'muted', 'No tenant was admitted since the target was last idle.');
      none.colSpan = costs ? 8 : 6;
      body.appendChild(el('tr')).appendChild(none);
    }
    list.forEach(function (t) {
      var tr = el('tr');
      tr.setAttribute('data-tenant', t.tenant);
      tr.appendChild(el('td', 'tenant', t.tenant));
      tr.appendChild(el('td', 'weight', String(t.weight)));
      var share = el('td', 'share');
      share.appendChild(shareRow('weight-share', 'weight', t.weight_share));
      share.appendChild(shareRow('token-share', 'tokens', t.token_share));
      tr.appendChild(share);
      tr.appendChild(el('td', 'requests', String(t.requests)));
      tr.appendChild(el('td', 'tokens', String(t.tokens)));
      tr.appendChild(el('td', 'waiting', String(t.waiting)));
      if (costs) {
        tr.appendChild(el('td', 'cost-today', t.cost ? usd(t.cost.today_usd) : '—'));
        tr.appendChild(el('td', 'cost-month', t.cost ? usd(t.cost.month_usd) : '—'));
      }
      body.appendChild(tr);
    });
    var waits = res.body.waits;
    $('tenant-waits-box').hidden = !waits;
    var rows = $('tenant-waits').querySelector('tbody');
    rows.textContent = '';
    if (!waits) { return; }
    // The classes in their natural order, then any other the server names.
    PRIORITIES.filter(function (p) { return waits[p]; })
      .concat(Object.keys(waits).filter(function (p) { return PRIORITIES.indexOf(p) < 0; }))
      .forEach(function (p) {
        var w = waits[p];
        var tr = el('tr');
        tr.setAttribute('data-priority', p);
        tr.appendChild(el('td', null, p));
        tr.appendChild(el('td', 'count', String(w.count)));
        tr.appendChild(el('td', 'mean', w.count > 0 ? ms(w.mean_ms) : '—'));
        tr.appendChild(el('td', 'max', w.count > 0 ? ms(w.max_ms) : '—'));
        rows.appendChild(tr);
      });
  }

  function openDetail(target) {
    if (detailTarget !== target) {
      clearCharts();
      clearTenants();
      $('detail-config').textContent = '';
      $('detail-limits').querySelector('tbody').textContent = '';
      $('detail-refusals').querySelector('tbody').textContent = '';
    }
    detailTarget = target;
    $('detail-target').textContent = target;
    $('detail').hidden = false;
    loadDetail();
  }

  function closeDetail() {
    detailTarget = null;
    $('detail').hidden = true;
    clearCharts();
    clearTenants();
  }

  function loadDetail() {
    var target = detailTarget;
    var path = target === null ? null : targetPath(target);
    if (path === null || !token()) { return; }
    // Tenants only for a target whose config shares fairly, as the last stats said.
    var shared = Boolean(known[target] && known[target].fair_share);
    var calls = [api('GET', path), api('GET', path + '/stats'), api('GET', path + '/history')];
    if (shared) { calls.push(api('GET', path + '/tenants')); }
    Promise.all(calls).then(function (res) {
      if (detailTarget !== target) { return; }
      if (!res[0].ok) { setStatus('detail-status', problemText(res[0]), 'error'); return; }
      $('detail-config').textContent = JSON.stringify(res[0].body, null, 2);
      if (res[1].ok) { limitsTable(res[1].body); }
      tenantsView(shared ? res[3] : null);
      if (!res[2].ok || res[2].body.t.length < 2) {
        setStatus('detail-status', 'The history starts with the next samples (one every 5 s).', 'muted');
        return;
      }
      setStatus('detail-status', 'Sampled ' + new Date(res[2].body.t[res[2].body.t.length - 1] * 1000).toLocaleTimeString() +
        '. Rates are counter differences between samples; limits are drawn as their average rate (amount ÷ window).', 'muted');
      refusalsTable(res[2].body);
      Object.keys(CHARTS).forEach(function (id) { drawChart(id, res[2].body); });
    }).catch(function (e) { setStatus('detail-status', 'Request failed: ' + e, 'error'); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = $('token').value.trim();
      if (!t) { setStatus('auth-status', 'Paste the admin token first.', 'error'); return; }
      sessionStorage.setItem(TOKEN_KEY, t);
      $('token').value = '';
      refresh();
    });
    $('forget').addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      $('targets-body').textContent = '';
      closeDetail();
      setStatus('auth-status', 'Token forgotten.', 'muted');
    });
    $('edit-form').addEventListener('submit', save);
    $('detail-close').addEventListener('click', closeDetail);
    refresh();
    setInterval(refresh, 1000);
    setInterval(loadDetail, 5000);
  });
}());
