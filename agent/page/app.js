// The status page's script: plain browser JavaScript, no build step. Reads /status every 2 s and /history every
// 10 s (every minute beyond 6 hours) from the agent that served it, fills the tables and draws the plots with
// uPlot. Text from the agent goes in with textContent only (an ERP's error reply or a topic name is shown, never run).
'use strict';
(function () {
  const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bf8700', '#1b7c83', '#a40e26', '#57606a'];
  const plots = new Map(); // element id -> { plot, labels }
  const $ = (id) => document.getElementById(id);

  function age(sec) {
    if (sec === null || sec === undefined) return '–';
    if (sec < 120) return `${Math.round(sec)} s`;
    if (sec < 7200) return `${Math.round(sec / 60)} min`;
    if (sec < 172800) return `${Math.round(sec / 3600)} h`;
    return `${Math.round(sec / 86400)} d`;
  }
  const since = (iso) => (iso ? `${age((Date.now() - Date.parse(iso)) / 1000)} ago` : 'never');
  const num = (n) => Number(n).toLocaleString('en-US');

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  /** Replaces a table's rows; each row keyed by name (data-name) so a test or a person can find it. */
  function rows(tableId, entries, fill) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren();
    for (const [name, v] of entries) {
      const tr = document.createElement('tr');
      tr.dataset.name = name;
      fill(tr, name, v);
      body.appendChild(tr);
    }
    if (!entries.length) cell(body.insertRow(), 'none configured', 'note').colSpan = 10;
  }

  function showStatus(st) {
    $('agent-id').textContent = st.agentId;
    $('config-version').textContent = st.configVersion + (st.config.refused ? ' (a newer config was REFUSED: see plantsync status)' : '');
    $('uptime').textContent = age(st.uptimeSec);
    $('updated').textContent = new Date().toLocaleTimeString();
    const ready = $('ready');
    ready.textContent = st.ready ? 'ready' : 'NOT READY';
    ready.className = `badge ${st.ready ? 'ready' : 'not-ready'}`;
    const why = $('not-ready');
    why.replaceChildren(...st.notReady.map((r) => Object.assign(document.createElement('li'), { textContent: r })));
    rows('sources', Object.entries(st.sources), (tr, name, s) => {
      cell(tr, name);
      cell(tr, s.connected ? 'connected' : 'DISCONNECTED', s.connected ? 'good' : 'bad');
      cell(tr, since(s.lastMessageAt));
      cell(tr, num(s.received), 'n');
      cell(tr, num(s.rejected), s.rejected ? 'n bad' : 'n');
      cell(tr, s.lastError || '', 'why');
    });
    rows('sinks', Object.entries(st.sinks), (tr, name, s) => {
      cell(tr, name);
      cell(tr, num(s.pending), 'n');
      cell(tr, num(s.held), 'n');
      cell(tr, s.oldestPendingAgeSec === null ? '–' : age(s.oldestPendingAgeSec));
      cell(tr, s.breaker, s.breaker === 'closed' ? 'good' : 'bad');
      cell(tr, num(s.inFlight), 'n');
      cell(tr, num(s.deadLetters), s.deadLetters ? 'n bad' : 'n');
      cell(tr, num(s.parkedKeys), 'n');
      cell(tr, num(s.delivered), 'n');
      cell(tr, s.lastError ? `${s.lastError} (${since(s.lastErrorAt)})` : '', 'why');
    });
    $('summary').textContent = `${num(st.rejectedRecords)} rejected records kept (plantsync rejected list)` +
      (st.objectives.recentMisses.length ? ` · late in the last 5 min: ${st.objectives.recentMisses.map((m) => `${m.count} ${m.type} to ${m.sink} (worst ${age(m.worstSec)}, objective ${age(m.objectiveSec)})`).join(', ')}` : '');
  }

  const fromZero = (u, min, max) => [0, max > 0 ? max * 1.05 : 1];

  /** Draws a plot, or gives the one there new data (a new set of series draws it again). Gauges and latencies
   * are drawn with dots: a minute between gaps (the agent was down, nothing was delivered) still shows. A series
   * with `right` set is read on a second axis, on the right, labelled with it. */
  function plot(id, title, xs, series, yLabel) {
    const el = $(id);
    const labels = series.map((s) => s.label).join('\n');
    const data = [xs, ...series.map((s) => s.values)];
    const width = Math.max(300, el.clientWidth || 480);
    const known = plots.get(id);
    if (known && known.labels === labels) {
      known.plot.setData(data);
      return;
    }
    if (known) known.plot.destroy();
    const opts = {
      title,
      width,
      height: 220,
      // Everything plotted is a count or a duration: the axes start at 0, so a backlog of 900 never looks empty.
      scales: { x: { time: true }, y: { range: fromZero }, right: { range: fromZero } },
      axes: [{}, { label: yLabel, size: 60 }, ...series.filter((s) => s.right).slice(0, 1).map((s) => ({ scale: 'right', side: 1, label: s.right, size: 60, grid: { show: false } }))],
      series: [{}, ...series.map((s, i) => ({ label: s.label, scale: s.right ? 'right' : 'y', stroke: s.color || COLORS[i % COLORS.length], width: 1.5, dash: s.dash, spanGaps: false, points: { show: s.dots === true, size: 4 } }))],
    };
    plots.set(id, { plot: new uPlot(opts, data, el), labels });
  }

  function showHistory(h) {
    const xs = h.minutes;
    const sinks = Object.keys(h.delivered).sort();
    plot('plot-events', '', xs, [{ label: 'in', values: h.eventsIn }, ...sinks.map((s) => ({ label: `delivered: ${s}`, values: h.delivered[s] }))], 'events/min');
    const sinks2 = Object.keys(h.backlog).sort();
    plot('plot-backlog', '', xs, [
      ...sinks2.map((s) => ({ label: s, values: h.backlog[s], dots: true })),
      ...sinks2.map((s, i) => ({ label: `oldest waiting: ${s}`, values: h.oldestSec[s], dots: true, dash: [4, 3], right: 'seconds', color: COLORS[(i + sinks2.length) % COLORS.length] })),
    ], 'events');
    plot('plot-exceptions', '', xs, [
      ...Object.keys(h.deadWaiting).sort().map((s) => ({ label: `dead letters: ${s}`, values: h.deadWaiting[s], dots: true })),
      { label: 'rejected input/min', values: h.rejected, color: '#8250df' },
    ], 'count');
    const box = $('latency-plots');
    const types = Object.keys(h.latency).sort();
    $('latency-empty').hidden = types.length > 0;
    for (const type of types) {
      const id = `plot-latency-${type.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      if (!$(id)) {
        const fig = document.createElement('figure');
        const cap = document.createElement('figcaption');
        cap.textContent = type;
        const div = document.createElement('div');
        div.id = id;
        div.className = 'plot';
        div.dataset.type = type;
        fig.append(cap, div);
        box.appendChild(fig);
      }
      const l = h.latency[type];
      const series = [{ label: 'p50', values: l.p50Sec, color: '#0969da', dots: true }, { label: 'p95', values: l.p95Sec, color: '#bf8700', dots: true }];
      if (l.objectiveSec !== null) series.push({ label: `objective ${age(l.objectiveSec)}`, values: xs.map(() => l.objectiveSec), color: '#cf222e', dash: [6, 4] });
      plot(id, '', xs, series, 'seconds');
    }
  }

  function showDeadLetters(list) {
    $('dead-letters-section').hidden = list.length === 0;
    const body = $('dead-letters').tBodies[0];
    body.replaceChildren();
    for (const d of list) {
      const tr = document.createElement('tr');
      tr.dataset.seq = String(d.seq);
      cell(tr, d.sink);
      cell(tr, `${since(d.at)}`);
      cell(tr, d.type);
      cell(tr, d.orderingKey);
      cell(tr, d.parksKey ? 'yes: later events of the key wait' : 'no', d.parksKey ? 'bad' : '');
      cell(tr, d.reason, 'why'); // the sink's words, with the ERP's status in them
      body.appendChild(tr);
    }
  }

  function failed(what, err) {
    const e = $('error');
    e.hidden = false;
    e.textContent = `${what}: ${err.message || err} (the agent may be stopped; retrying)`;
  }

  async function getJson(path) {
    const res = await fetch(path, { cache: 'no-store' });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || `${res.status}`);
    return body;
  }

  async function refreshStatus() {
    try {
      const st = await getJson('/status');
      showStatus(st);
      const dead = Object.values(st.sinks).reduce((n, s) => n + s.deadLetters, 0);
      showDeadLetters(dead ? await getJson('/dead-letters') : []);
      $('error').hidden = true;
    } catch (err) {
      failed('status', err);
    }
  }

  async function refreshHistory() {
    try {
      showHistory(await getJson(`/history?hours=${$('hours').value}`));
      document.body.dataset.historyAt = String(Date.now());
    } catch (err) {
      failed('history', err);
    }
  }

  // The plots of a long range change slowly and cost the agent more to read: asked for every minute, not 10 s.
  let lastHistory = 0;
  $('hours').addEventListener('change', () => { lastHistory = Date.now(); refreshHistory(); });
  window.addEventListener('resize', () => {
    for (const [id, p] of plots) p.plot.setSize({ width: Math.max(300, $(id).clientWidth), height: 220 });
  });
  refreshStatus();
  refreshHistory();
  setInterval(refreshStatus, 2000);
  setInterval(() => {
    if (Number($('hours').value) > 6 && Date.now() - lastHistory < 60000) return;
    lastHistory = Date.now();
    refreshHistory();
  }, 10000);
})();
