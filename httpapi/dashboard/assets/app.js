// shepherd dashboard: plain JavaScript, no build step, no dependency.
//
// Everything it shows comes from the HTTP API (docs/http.md) with the
// token the operator typed, sent as Authorization: Bearer. Data from the
// daemon is shown with textContent and setAttribute only, never parsed
// as HTML; the page's CSP allows no inline script anyway.
'use strict';

(() => {
  const TOKEN_KEY = 'shepherd.token';
  const LOG_MAX = 2000;      // log lines kept on a service page
  const EVENTS_MAX = 300;    // history events kept on a service page
  const SVG = 'http://www.w3.org/2000/svg';
  const STATES = ['running', 'starting', 'stopping', 'stopped', 'failed', 'unreachable'];

  // ---------- small helpers ----------

  // h makes an element: h('td', {class: 'x', dataset: {name}}, child, 'text').
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    setAttrs(el, attrs);
    append(el, kids);
    return el;
  }
  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function append(el, kids) {
    for (const k of kids.flat()) {
      if (k === undefined || k === null || k === false) continue;
      el.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
  }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const enc = encodeURIComponent;

  function stateOf(sum) {
    if (!sum) return 'stopped';
    if (sum.one_shot && sum.done && sum.state === 'stopped') return 'done';
    return sum.state || 'stopped';
  }
  function pill(state, big) {
    return h('span', {class: 'st ' + state + (big ? ' big' : ''), text: state});
  }
  function setPill(el, state) {
    el.className = el.className.replace(/\b(running|starting|stopping|stopped|failed|unreachable|done)\b/g, '').trim() + ' ' + state;
    el.textContent = state;
  }

  function fmtTime(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return '';
    const now = new Date();
    const hms = d.toLocaleTimeString([], {hour12: false});
    if (d.toDateString() === now.toDateString()) return hms;
    return d.toLocaleDateString([], {month: 'short', day: 'numeric'}) + ' ' + hms;
  }
  function fmtAgo(t) {
    const ms = Date.now() - new Date(t).getTime();
    if (!(ms >= 0)) return '';
    const sec = Math.round(ms / 1000);
    if (sec < 60) return sec + 's ago';
    if (sec < 3600) return Math.round(sec / 60) + 'm ago';
    if (sec < 86400) return Math.round(sec / 3600) + 'h ago';
    return Math.round(sec / 86400) + 'd ago';
  }
  function fmtDur(ns) {
    const sec = ns / 1e9;
    if (sec < 1) return Math.round(sec * 1000) + ' ms';
    if (sec < 120) return sec.toFixed(1) + ' s';
    if (sec < 7200) return Math.round(sec / 60) + ' min';
    return (sec / 3600).toFixed(1) + ' h';
  }
  // A sturdyref without its secret (the swiss number): never shown.
  function redact(ref) { return String(ref || '').replace(/\/s\/[A-Za-z0-9_-]+/g, '/s/…'); }
  function parseRef(ref) {
    const m = /^ocapn:\/\/([^/?]+)\.libp2p\/[^?]*(?:\?(.*))?$/.exec(ref || '');
    if (!m) return null;
    const addrs = [];
    for (const kv of (m[2] || '').split('&')) {
      const [k, v] = kv.split('=');
      if (k === 'addr' && v) {
        try { addrs.push(decodeURIComponent(v)); } catch (e) { addrs.push(v); }
      }
    }
    return {peer: m[1], addrs};
  }
  function fmtRTT(sec) {
    if (!(sec > 0)) return '';
    return sec < 0.001 ? Math.round(sec * 1e6) + ' µs' : (sec * 1000).toFixed(1) + ' ms';
  }
  function shortPeer(p) { return p.length > 20 ? p.slice(0, 12) + '…' + p.slice(-6) : p; }

  function toast(msg, ok) {
    const t = h('div', {class: 'toast' + (ok ? ' ok' : ''), text: msg});
    $('#toasts').append(t);
    setTimeout(() => t.remove(), ok ? 3000 : 8000);
  }

  // ---------- the token and the API ----------

  let token = sessionStorage.getItem(TOKEN_KEY) || '';

  class APIError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || ('HTTP ' + status));
      this.status = status;
      this.kind = e.kind || '';
    }
  }

  async function errorOf(resp) {
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    const err = new APIError(resp.status, body);
    if (resp.status === 401) askToken(err.message);
    return err;
  }

  async function api(method, path, body) {
    const init = {method, headers: {Authorization: 'Bearer ' + token}, cache: 'no-store'};
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    if (!resp.ok) throw await errorOf(resp);
    const type = resp.headers.get('Content-Type') || '';
    return type.startsWith('application/json') ? resp.json() : resp.text();
  }

  // sse reads a text/event-stream with fetch (EventSource cannot send
  // an Authorization header) and calls onEvent({id, event, data}) for
  // each event. It resolves when the stream ends and rejects on an
  // error; signal aborts it.
  async function sse(path, {lastId, signal, onOpen, onEvent}) {
    const headers = {Authorization: 'Bearer ' + token, Accept: 'text/event-stream'};
    if (lastId) headers['Last-Event-ID'] = lastId;
    const resp = await fetch(path, {headers, signal, cache: 'no-store'});
    if (!resp.ok) throw await errorOf(resp);
    if (onOpen) onOpen();
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let ev = {id: null, event: '', data: []};
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return;
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          let line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (ev.data.length || ev.event) onEvent({id: ev.id, event: ev.event || 'message', data: ev.data.join('\n')});
            ev = {id: null, event: '', data: []};
            continue;
          }
          if (line.startsWith(':')) continue;
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let val = c < 0 ? '' : line.slice(c + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'data') ev.data.push(val);
          else if (field === 'id') ev.id = val;
          else if (field === 'event') ev.event = val;
        }
        if (buf.length > (1 << 20)) throw new Error('event stream: a line over 1 MiB');
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  // ---------- the live event feed (GET /v1/events) ----------

  // feed keeps one stream of the history's events open for the whole
  // page, resuming after a drop with Last-Event-ID, so that no event is
  // lost or seen twice. Views subscribe to it.
  const feed = {
    lastId: '',
    ctl: null,
    subs: new Set(),
    backoff: 1000,
    running: false,
    opened: null,

    // start opens the stream; the promise resolves once it is open
    // (events from then on are delivered).
    gen: 0,
    start() {
      if (this.running) return this.opened;
      this.running = true;
      this.opened = new Promise((resolve) => { this.resolveOpen = resolve; });
      this.loop(++this.gen);
      return this.opened;
    },
    stop() {
      this.running = false;
      this.gen++;
      if (this.ctl) this.ctl.abort();
      if (this.resolveOpen) { this.resolveOpen(); this.resolveOpen = null; }
      conn('off', 'offline');
    },
    // loop runs until stop; a loop from before a stop and a new start
    // ends at its next turn (its generation is gone).
    async loop(gen) {
      const live = () => this.running && this.gen === gen;
      while (live()) {
        this.ctl = new AbortController();
        conn('wait', this.lastId ? 'reconnecting…' : 'connecting…');
        try {
          await sse('/v1/events', {
            lastId: this.lastId,
            signal: this.ctl.signal,
            onOpen: () => {
              this.backoff = 1000;
              conn('live', 'live');
              if (this.resolveOpen) { this.resolveOpen(); this.resolveOpen = null; }
            },
            onEvent: (m) => {
              if (!live()) return;
              if (m.event === 'error') {
                let e = {};
                try { e = JSON.parse(m.data); } catch (x) { /* ignore */ }
                if (e.kind === 'capability-revoked' || e.kind === 'capability-expired') askToken(e.message);
                return;
              }
              if (m.id) this.lastId = m.id;
              let e;
              try { e = JSON.parse(m.data); } catch (x) { return; }
              for (const f of this.subs) f(e);
            },
          });
        } catch (err) {
          if (!live()) break;
          if (err.status === 401 || err.status === 403) {
            this.stop();
            conn('off', 'refused');
            break;
          }
        }
        if (!live()) break;
        conn('wait', 'reconnecting…');
        await new Promise((r) => setTimeout(r, this.backoff));
        this.backoff = Math.min(this.backoff * 2, 15000);
      }
    },
    on(f) { this.subs.add(f); return () => this.subs.delete(f); },
    // reconnect drops the stream; the loop opens it again after the
    // last event received.
    reconnect() {
      if (!this.running) { this.start(); return; }
      this.backoff = 1000;
      if (this.ctl) this.ctl.abort();
    },
  };

  function conn(cls, text) {
    const el = $('#conn');
    el.className = 'conn ' + cls;
    el.textContent = text;
  }

  // ---------- the service list, shared by the views ----------

  // services: name -> summary, kept current by the feed.
  const services = new Map();
  let listLoaded = null;
  const listeners = new Set(); // f(name, summary) on each change

  // Events that arrive while the list is read are applied after it, in
  // order: the list may be older than some of them.
  let pending = null;
  async function loadList() {
    pending = pending || [];
    let all;
    try {
      all = await api('GET', '/v1/services');
    } catch (err) {
      pending = null;
      throw err;
    }
    const keep = new Map();
    for (const sum of all.services || []) {
      const old = services.get(sum.name);
      if (old && old.changed) sum.changed = old.changed;
      keep.set(sum.name, sum);
    }
    services.clear();
    for (const [k, v] of keep) services.set(k, v);
    const later = pending;
    pending = null;
    for (const e of later) applyEvent(e, true);
    for (const f of listeners) f(null, null);
  }

  let reloadTimer = 0;
  function reloadListSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => loadList().catch(() => {}), 300);
  }

  function applyEvent(e, quiet) {
    if (pending) { pending.push(e); return; }
    if (e.kind === 'load') { reloadListSoon(); return; }
    if (!e.service) return;
    const sum = services.get(e.service);
    if (!sum) {
      if (e.kind === 'state') reloadListSoon(); // a new service (spawn, load)
      return;
    }
    let changed = false;
    if (e.kind === 'state' && e.state) {
      sum.state = e.state;
      if (e.state === 'starting' || e.state === 'running') sum.done = false;
      sum.changed = e.time;
      changed = true;
    } else if (e.kind === 'action' && (e.action === 'enable' || e.action === 'disable') && !/fail|refus|denied/.test(e.result || '')) {
      sum.enabled = e.action === 'enable';
      changed = true;
    } else if (e.kind === 'respawn-limit') {
      sum.enabled = false;
      changed = true;
    } else if (e.kind === 'exit' && sum.one_shot && e.exit_code === 0) {
      sum.done = true;
      changed = true;
    }
    if (changed && !quiet) for (const f of listeners) f(e.service, sum);
  }

  // ensureList loads the list once the feed is open, so that every
  // change after the list was read arrives as an event.
  function ensureList() {
    if (!listLoaded) {
      listLoaded = feed.start().then(loadList).catch((err) => { listLoaded = null; throw err; });
    }
    return listLoaded;
  }

  // act runs a lifecycle verb; the state it makes arrives by the feed.
  async function act(name, verb, buttons) {
    for (const b of buttons || []) b.disabled = true;
    try {
      await api('POST', `/v1/services/${enc(name)}/${verb}`);
    } catch (err) {
      toast(`${verb} ${name}: ${err.message}`);
    } finally {
      for (const b of buttons || []) b.disabled = false;
      // The feed brings the states; a status read settles them if the
      // feed is down.
      if (!$('#conn').classList.contains('live')) {
        api('GET', `/v1/services/${enc(name)}`).then((st) => {
          applyEvent({kind: 'state', service: name, state: st.state, time: st.since});
        }).catch(() => {});
      }
    }
  }

  // ---------- views ----------

  let teardown = [];
  function onLeave(f) { teardown.push(f); }
  function leave() {
    for (const f of teardown.splice(0)) { try { f(); } catch (e) { /* ignore */ } }
  }

  function mainEl() { return $('#main'); }

  function errorBox(err) {
    return h('p', {class: 'error', text: err.status === 403
      ? 'Not allowed with this capability: ' + err.message
      : 'Error: ' + err.message});
  }

  // Services: one table, rows kept and updated in place.
  function viewServices() {
    const main = mainEl();
    const filter = h('input', {type: 'search', id: 'filter', placeholder: 'Filter by name or state  ( / )', spellcheck: 'false'});
    const chips = h('div', {class: 'chips'});
    const count = h('span', {class: 'count'});
    const tbody = h('tbody');
    const table = h('table', {class: 'grid fixed', id: 'services'},
      h('colgroup', {}, h('col', {class: 'c-state'}), h('col'), h('col', {class: 'c-enabled'}), h('col', {class: 'c-when'}), h('col', {class: 'c-acts'})),
      h('thead', {}, h('tr', {}, h('th', {text: 'State'}), h('th', {text: 'Service'}), h('th', {text: 'Enabled'}),
        h('th', {text: 'Since'}), h('th', {class: 'acts', text: ''}))),
      tbody);
    main.replaceChildren(
      h('div', {class: 'toolbar'}, h('h1', {text: 'Services'}), filter, chips, count),
      table);

    const rows = new Map(); // name -> {tr, st, en, when, start, stop, restart}
    let stateFilter = '';
    filter.value = sessionStorage.getItem('shepherd.filter') || '';

    function makeRow(sum) {
      const st = pill(stateOf(sum));
      const start = h('button', {type: 'button', class: 'act-start', dataset: {act: 'start'}, text: 'Start'});
      const stop = h('button', {type: 'button', class: 'act-stop', dataset: {act: 'stop'}, text: 'Stop'});
      const restart = h('button', {type: 'button', class: 'act-restart', dataset: {act: 'restart'}, text: 'Restart'});
      const en = h('td', {class: 'muted'});
      const when = h('td', {class: 'when'});
      const nameCell = h('td', {class: 'name'}, h('a', {href: '#/service/' + enc(sum.name), text: sum.name}));
      if (sum.one_shot) nameCell.append(h('span', {class: 'tag', text: 'one-shot'}));
      if (sum.transient) nameCell.append(h('span', {class: 'tag', text: 'transient'}));
      const tr = h('tr', {dataset: {name: sum.name}}, h('td', {}, st), nameCell, en, when, h('td', {class: 'acts'}, start, stop, restart));
      const row = {tr, st, en, when, start, stop, restart};
      fillRow(row, sum);
      return row;
    }
    function fillRow(row, sum) {
      const state = stateOf(sum);
      setPill(row.st, state);
      row.tr.dataset.state = state;
      row.en.textContent = sum.enabled ? 'yes' : 'no';
      row.en.className = sum.enabled ? 'muted' : 'error';
      row.when.textContent = sum.changed ? fmtTime(sum.changed) : '';
      const up = state === 'running' || state === 'starting';
      row.start.disabled = up || state === 'unreachable';
      row.stop.disabled = !(up || state === 'stopping' || state === 'failed');
    }
    function matches(name, sum) {
      const q = filter.value.trim().toLowerCase();
      const state = stateOf(sum);
      if (stateFilter && state !== stateFilter) return false;
      if (!q) return true;
      return name.toLowerCase().includes(q) || state === q;
    }
    function applyFilter() {
      let shown = 0;
      for (const [name, row] of rows) {
        const ok = matches(name, services.get(name));
        row.tr.hidden = !ok;
        if (ok) shown++;
      }
      count.textContent = shown === rows.size ? `${rows.size} services` : `${shown} of ${rows.size} services`;
    }
    function drawChips() {
      const n = {};
      for (const sum of services.values()) { const st = stateOf(sum); n[st] = (n[st] || 0) + 1; }
      const kids = [];
      for (const st of [...STATES, 'done']) {
        if (!n[st]) continue;
        const c = h('span', {class: 'st chip ' + st + (stateFilter === st ? ' on' : ''), dataset: {state: st}, title: 'show only ' + st},
          st + ' ', h('span', {class: 'n', text: n[st]}));
        kids.push(c);
      }
      chips.replaceChildren(...kids);
    }
    function rebuild() {
      rows.clear();
      const frag = document.createDocumentFragment();
      for (const sum of services.values()) {
        const row = makeRow(sum);
        rows.set(sum.name, row);
        frag.append(row.tr);
      }
      tbody.replaceChildren(frag);
      drawChips();
      applyFilter();
      performance.mark('services-drawn');
    }
    // Since when each service is in its state: its last state event in
    // the last events of the history (the summary does not say).
    async function loadSince() {
      let r;
      try { r = await api('GET', '/v1/history?limit=5000'); } catch (e) { return; }
      for (const e of r.events || []) {
        const sum = e.kind === 'state' && services.get(e.service);
        if (sum && sum.state === e.state && (!sum.changed || new Date(sum.changed) < new Date(e.time))) sum.changed = e.time;
      }
      for (const [name, row] of rows) {
        const sum = services.get(name);
        if (sum && sum.changed) row.when.textContent = fmtTime(sum.changed);
      }
    }
    // Changes are applied once a frame, however many events came: a
    // start of 1000 services is 3000 events.
    const dirty = new Set();
    let raf = 0;
    function flushRows() {
      raf = 0;
      let refilter = false;
      const flashed = [];
      for (const name of dirty) {
        const row = rows.get(name);
        const sum = services.get(name);
        if (!row || !sum) continue;
        fillRow(row, sum);
        if (!matches(name, sum) !== row.tr.hidden) refilter = true;
        row.tr.classList.remove('flash');
        flashed.push(row.tr);
      }
      dirty.clear();
      if (flashed.length) {
        void tbody.offsetWidth; // one layout restarts every row's animation
        for (const tr of flashed) tr.classList.add('flash');
      }
      if (refilter) applyFilter();
      drawChips();
    }
    const unlisten = (name) => {
      if (name === null) { rebuild(); return; }
      dirty.add(name);
      if (!raf) raf = requestAnimationFrame(flushRows);
    };
    listeners.add(unlisten);
    onLeave(() => { listeners.delete(unlisten); cancelAnimationFrame(raf); });

    const slash = (ev) => {
      if (ev.key === '/' && document.activeElement !== filter && !/INPUT|TEXTAREA/.test(document.activeElement.tagName)) {
        ev.preventDefault();
        filter.focus();
      }
    };
    document.addEventListener('keydown', slash);
    onLeave(() => document.removeEventListener('keydown', slash));
    filter.addEventListener('input', () => { sessionStorage.setItem('shepherd.filter', filter.value); applyFilter(); });
    chips.addEventListener('click', (ev) => {
      const c = ev.target.closest('.chip');
      if (!c) return;
      stateFilter = stateFilter === c.dataset.state ? '' : c.dataset.state;
      drawChips();
      applyFilter();
    });
    tbody.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-act]');
      if (!b) return;
      const tr = b.closest('tr');
      act(tr.dataset.name, b.dataset.act, [b]);
    });

    main.append(h('p', {class: 'empty', id: 'loading', text: 'Loading…'}));
    ensureList().then(() => {
      $('#loading') && $('#loading').remove();
      rebuild();
      loadSince();
    }).catch((err) => {
      $('#loading') && $('#loading').replaceWith(errorBox(err));
    });
  }

  // ---------- the service page ----------

  function viewService(name) {
    const main = mainEl();
    const st = pill('stopped', true);
    const buttons = ['start', 'stop', 'restart', 'enable', 'disable'].map((v) =>
      h('button', {type: 'button', class: 'act-' + v, dataset: {act: v}, text: v[0].toUpperCase() + v.slice(1)}));
    const facts = h('dl', {class: 'facts'});
    const graphBody = h('div', {class: 'body'});
    const tlSvg = s('svg', {class: 'timeline', id: 'timeline'});
    const evBody = h('tbody');
    const logEl = h('div', {class: 'log', id: 'log'});
    const follow = h('input', {type: 'checkbox', id: 'follow', checked: true});
    main.replaceChildren(
      h('div', {class: 'crumbs'}, h('a', {href: '#/', text: 'Services'}), ' / ', name),
      h('div', {class: 'svc-head'}, h('h1', {id: 'svc-name', text: name}), st, h('span', {class: 'muted', id: 'svc-since'}),
        h('div', {class: 'acts'}, buttons)),
      h('div', {class: 'cards'},
        h('section', {class: 'card'}, h('h2', {text: 'Status'}), h('div', {class: 'body'}, facts)),
        h('div', {class: 'stack'},
          h('section', {class: 'card'}, h('h2', {text: 'Requirements and dependents'}), graphBody),
          h('section', {class: 'card'}, h('h2', {}, 'History', h('span', {class: 'spacer'}), h('span', {class: 'muted', id: 'tl-range'})),
            h('div', {class: 'body'},
              h('div', {class: 'legend'}, ...['running', 'starting', 'stopping', 'stopped', 'failed'].map((x) => h('span', {}, h('i', {class: x}), x)),
                h('span', {}, h('i', {class: 'exit'}), 'exit'), h('span', {}, h('i', {class: 'exit bad'}), 'failed exit'),
                h('span', {}, h('i', {class: 'respawn'}), 'respawn')),
              tlSvg))),
        h('section', {class: 'card wide'}, h('h2', {}, 'Log', h('span', {class: 'spacer'}),
          h('label', {class: 'muted'}, follow, ' follow')), logEl),
        h('section', {class: 'card wide'}, h('h2', {text: 'Events'}),
          h('div', {class: 'events'}, h('table', {class: 'ev'}, evBody)))));

    let status = null;
    let events = [];
    const ctl = new AbortController();
    onLeave(() => ctl.abort());

    for (const b of buttons) {
      b.addEventListener('click', () => act(name, b.dataset.act, buttons).then(refreshStatus));
    }

    function drawStatus() {
      const x = status;
      const state = stateOf(x);
      setPill(st, state);
      $('#svc-since').textContent = x.since ? 'since ' + fmtTime(x.since) + ' (' + fmtAgo(x.since) + ')' : '';
      const up = state === 'running' || state === 'starting';
      buttons[0].disabled = up;
      buttons[1].disabled = !(up || state === 'stopping' || state === 'failed');
      buttons[3].disabled = x.enabled;
      buttons[4].disabled = !x.enabled;
      const rows = [];
      const add = (k, v, cls) => { if (v !== undefined && v !== null && v !== '') rows.push(h('dt', {text: k}), h('dd', {class: cls}, v)); };
      add('State', state);
      add('Enabled', x.enabled ? 'yes' : (x.disabled ? `no (${x.disabled.by}${x.disabled.reason ? ': ' + x.disabled.reason : ''})` : 'no'), x.enabled ? '' : 'error');
      add('PID', x.pid || '');
      add('Command', x.command ? h('code', {text: x.command.join(' ')}) : '');
      add('Documentation', x.documentation);
      add('Provides', (x.provides || []).filter((p) => p !== x.name).join(', '));
      add('Respawn', x.respawn ? `yes, ${x.respawns || 0} so far` + (x.respawns_last_hour ? `, ${x.respawns_last_hour} in the last hour` : '') : 'no');
      if (x.flapping_count) add('Flapping', `${x.flapping_count} respawns in ${x.flapping_minutes} min`, 'error');
      if (x.last_exit) {
        const e = x.last_exit;
        const how = e.unknown ? 'unknown (adopted)' : e.signal ? 'signal ' + e.signal : 'code ' + e.code;
        add('Last exit', `${how}, pid ${e.pid}, after ${fmtDur(e.runtime ? (typeof e.runtime === 'number' ? e.runtime : parseDur(e.runtime)) : 0)}` +
          (e.at ? ', ' + fmtTime(e.at) : ''), e.success || /^SIG(TERM|INT|HUP)$/.test(e.signal || '') ? '' : 'error');
      }
      if (x.failing) add('Failing', (x.fail_reason || 'yes') + (x.failed_at ? ' (' + fmtTime(x.failed_at) + ')' : ''), 'error');
      add('Ready', x.ready ? x.ready + (x.status_text ? ': ' + x.status_text : '') : '');
      add('Stop issue', x.stop_issue, 'error');
      add('Log error', x.log_error, 'error');
      if (x.remote) add('Remote', h('code', {text: redact(x.remote)}));
      add('Remote error', redact(x.remote_error), 'error');
      if (x.instances && x.instances.length) {
        add('Instances', h('span', {}, ...x.instances.map((i) => h('span', {}, h('a', {href: '#/service/' + enc(i.name), text: i.name}), ' ', pill(i.state), ' '))));
      }
      if (x.members && x.members.length) {
        add('Members', h('span', {}, ...x.members.map((i) => h('span', {}, h('a', {href: '#/service/' + enc(i.name), text: i.name}), ' ', pill(i.state), ' '))));
      }
      if (x.actions && x.actions.length) add('Actions', x.actions.join(', '));
      facts.replaceChildren(...rows);
      recolorGraph();
    }

    async function refreshStatus() {
      try {
        status = await api('GET', `/v1/services/${enc(name)}`);
        drawStatus();
      } catch (err) {
        facts.replaceChildren(errorBox(err));
      }
    }

    // The graph: requirements on the left, dependents on the right.
    async function drawGraph() {
      let req = [];
      let deps = [];
      try {
        const g = await api('GET', '/v1/graph');
        for (const [from, to] of g.edges || []) {
          if (from === name) req.push(to);
          if (to === name) deps.push(from);
        }
      } catch (err) {
        // Not the admin capability: the requirements are in the status.
        req = (status && status.requires) || [];
      }
      req = [...new Set(req)].sort();
      deps = [...new Set(deps)].sort();
      graphBody.replaceChildren(graphSVG(name, req, deps));
    }

    function graphSVG(center, req, deps) {
      const MAX = 9;
      const cut = (list) => list.length > MAX ? [...list.slice(0, MAX - 1), `+${list.length - MAX + 1} more`] : list;
      const left = cut(req);
      const right = cut(deps);
      const rowH = 30;
      const n = Math.max(left.length, right.length, 1);
      const H = Math.max(n * rowH + 30, 90);
      const W = 640;
      const nodeW = 170;
      const colX = [20, (W - nodeW) / 2, W - 20 - nodeW];
      const svg = s('svg', {class: 'graph', id: 'graph', viewBox: `0 0 ${W} ${H}`, height: H});
      svg.append(s('defs', {}, s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse'},
        s('path', {d: 'M0,0 L10,5 L0,10 z'}))));
      svg.append(s('text', {class: 'col', x: colX[0] + nodeW / 2, y: 12}, 'requires'));
      svg.append(s('text', {class: 'col', x: colX[2] + nodeW / 2, y: 12}, 'required by'));
      const cy = 20 + (H - 20) / 2;
      const ys = (k) => { const top = 20 + ((H - 20) - k * rowH) / 2; return (i) => top + i * rowH + rowH / 2; };
      const edges = s('g');
      const nodes = s('g');
      svg.append(edges, nodes);
      function node(label, x, y, self) {
        const more = label.startsWith('+');
        const sum = services.get(label);
        const state = self ? stateOf(status || sum) : (sum ? stateOf(sum) : 'stopped');
        const g = s('g', {class: 'node ' + (more ? '' : state) + (self ? ' self' : ''), dataset: {name: label}});
        const text = label.length > 22 ? label.slice(0, 21) + '…' : label;
        const box = [s('rect', {x, y: y - 11, width: nodeW, height: 22, rx: 6}), s('text', {x: x + 10, y}, text), s('title', {}, more ? label : `${label}: ${state}`)];
        if (more || self) g.append(...box);
        else g.append(s('a', {href: '#/service/' + enc(label)}, ...box));
        nodes.append(g);
      }
      const yl = ys(left.length);
      left.forEach((r, i) => {
        const y = yl(i);
        node(r, colX[0], y, false);
        // dependent -> requirement: from the center to the left node.
        edges.append(s('path', {class: 'edge', 'marker-end': 'url(#arrow)', d: `M${colX[1]},${cy} C${colX[1] - 50},${cy} ${colX[0] + nodeW + 50},${y} ${colX[0] + nodeW},${y}`}));
      });
      const yr = ys(right.length);
      right.forEach((r, i) => {
        const y = yr(i);
        node(r, colX[2], y, false);
        edges.append(s('path', {class: 'edge', 'marker-end': 'url(#arrow)', d: `M${colX[2]},${y} C${colX[2] - 50},${y} ${colX[1] + nodeW + 50},${cy} ${colX[1] + nodeW},${cy}`}));
      });
      node(center, colX[1], cy, true);
      if (!left.length) svg.append(s('text', {class: 'col', x: colX[0] + nodeW / 2, y: cy}, 'nothing'));
      if (!right.length) svg.append(s('text', {class: 'col', x: colX[2] + nodeW / 2, y: cy}, 'nothing'));
      return svg;
    }
    function recolorGraph() {
      for (const g of graphBody.querySelectorAll('g.node[data-name]')) {
        const nm = g.dataset.name;
        const sum = nm === name ? (status || services.get(nm)) : services.get(nm);
        if (!sum) continue;
        g.setAttribute('class', 'node ' + stateOf(sum) + (nm === name ? ' self' : ''));
      }
    }

    // History: a timeline of states, exits and respawns, and the events.
    function describe(e) {
      switch (e.kind) {
        case 'state': return e.state;
        case 'start': return `pid ${e.pid}: ${(e.command || []).join(' ')}`;
        case 'exit': {
          const how = e.signal ? 'signal ' + e.signal : 'code ' + (e.exit_code === undefined ? '?' : e.exit_code);
          return `pid ${e.pid} ${how}` + (e.runtime_ns ? ` after ${fmtDur(e.runtime_ns)}` : '') + (e.max_rss_kb ? `, ${Math.round(e.max_rss_kb / 1024)} MiB max` : '');
        }
        case 'action': return `${e.action}: ${e.result || ''}` + (e.who ? ` (${e.who})` : '');
        default: return [e.action, e.result, e.message, e.who].filter(Boolean).join(' ');
      }
    }
    // An exit that says something went wrong: a status other than 0, or
    // a signal other than the ones a stop sends.
    function badExit(e) {
      if (e.kind !== 'exit') return false;
      if (e.signal) return !/^SIG(TERM|INT|HUP)$/.test(e.signal);
      return e.exit_code !== undefined && e.exit_code !== 0;
    }
    function eventRow(e) {
      const cls = e.kind + (badExit(e) ? ' bad' : '');
      return h('tr', {class: cls}, h('td', {class: 'when', title: e.time, text: fmtTime(e.time)}), h('td', {class: 'kind', text: e.kind}),
        h('td', {}, e.kind === 'state' ? pill(e.state) : describe(e)));
    }
    function drawEvents() {
      const frag = document.createDocumentFragment();
      for (let i = events.length - 1; i >= 0 && i >= events.length - 150; i--) frag.append(eventRow(events[i]));
      evBody.replaceChildren(frag);
      if (!events.length) evBody.append(h('tr', {}, h('td', {class: 'muted', text: 'No events yet.'})));
    }
    function drawTimeline() {
      // Drawn at the width it has, so that its text is not stretched.
      const W = Math.max(Math.round(tlSvg.getBoundingClientRect().width), 200);
      tlSvg.setAttribute('viewBox', `0 0 ${W} 64`);
      tlSvg.replaceChildren();
      const now = Date.now();
      const times = events.map((e) => new Date(e.time).getTime()).filter((t) => t > 0);
      // From a little before the first event to now; ten seconds at least.
      let span = times.length ? Math.max((now - Math.min(...times)) * 1.04, 10000) : 3600000;
      const t0 = now - span;
      span = Math.max(span, 1);
      const x = (t) => ((t - t0) / span) * (W - 2) + 1;
      $('#tl-range').textContent = times.length ? `${fmtTime(t0)} – now, ${events.length} events` : '';
      // State segments.
      let cur = null;
      let from = t0;
      const segs = [];
      for (const e of events) {
        if (e.kind !== 'state') continue;
        const t = new Date(e.time).getTime();
        if (cur) segs.push([cur, from, t]);
        cur = e.state;
        from = t;
      }
      if (cur) segs.push([cur, from, now]);
      else if (status) segs.push([stateOf(status), t0, now]);
      for (const [state, a, b] of segs) {
        tlSvg.append(s('rect', {class: 'seg ' + state, x: x(a), y: 22, width: Math.max(x(b) - x(a), 1.5), height: 18}, s('title', {}, `${state} ${fmtTime(a)} – ${fmtTime(b)}`)));
      }
      // Exits and respawns.
      for (const e of events) {
        const t = new Date(e.time).getTime();
        if (e.kind === 'exit') {
          tlSvg.append(s('rect', {class: 'exit' + (badExit(e) ? ' bad' : ''), x: x(t) - 1, y: 14, width: 2.5, height: 34}, s('title', {}, fmtTime(e.time) + ' exit: ' + describe(e))));
        } else if (e.kind === 'respawn' || e.kind === 'respawn-limit') {
          tlSvg.append(s('path', {class: 'respawn', d: `M${x(t)},4 l5,9 l-10,0 z`}, s('title', {}, fmtTime(e.time) + ' ' + e.kind)));
        }
      }
      // Axis: five ticks.
      for (let i = 0; i <= 4; i++) {
        const t = t0 + (span * i) / 4;
        const xx = 1 + ((W - 2) * i) / 4;
        tlSvg.append(s('line', {class: 'tick', x1: xx, x2: xx, y1: 42, y2: 48}));
        tlSvg.append(s('text', {class: 'axis', x: Math.min(Math.max(xx, 24), W - 24), y: 60, 'text-anchor': 'middle'}, fmtTime(t)));
      }
    }
    let tlTimer = 0;
    function redrawHistorySoon() {
      if (tlTimer) return;
      tlTimer = setTimeout(() => { tlTimer = 0; drawTimeline(); drawEvents(); }, 150);
    }
    onLeave(() => clearTimeout(tlTimer));
    const resized = new ResizeObserver(() => redrawHistorySoon());
    resized.observe(tlSvg);
    onLeave(() => resized.disconnect());

    async function loadHistory() {
      try {
        const r = await api('GET', `/v1/history?service=${enc(name)}&limit=${EVENTS_MAX}`);
        const seen = new Set(events.map((e) => e.seq));
        events = [...(r.events || []).filter((e) => !seen.has(e.seq)), ...events].sort((a, b) => a.seq - b.seq);
        drawTimeline();
        drawEvents();
      } catch (err) {
        evBody.replaceChildren(h('tr', {}, h('td', {}, errorBox(err))));
      }
    }

    // Log: the last lines, then each new one as it is written.
    let atBottom = true;
    logEl.addEventListener('scroll', () => { atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4; });
    function logLine(entry) {
      const text = entry.text || '';
      const m = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?\S*)\s(.*)$/s.exec(text);
      const line = h('div', {class: 'line'});
      if (m) line.append(h('span', {class: 'ts', text: m[1] + ' '}), m[2]);
      else if (entry.time) line.append(h('span', {class: 'ts', text: entry.time + ' '}), text);
      else line.append(text);
      return line;
    }
    function addLines(lines) {
      const frag = document.createDocumentFragment();
      for (const l of lines) frag.append(l);
      logEl.append(frag);
      while (logEl.childElementCount > LOG_MAX) logEl.firstElementChild.remove();
      if (atBottom && follow.checked) logEl.scrollTop = logEl.scrollHeight;
    }
    async function followLog() {
      let first = true;
      let backoff = 1000;
      while (!ctl.signal.aborted) {
        let batch = [];
        let flush = 0;
        try {
          await sse(`/v1/services/${enc(name)}/log?n=${first ? 200 : 0}&follow=1`, {
            signal: ctl.signal,
            onOpen: () => { backoff = 1000; logEl.dataset.following = '1'; },
            onEvent: (m) => {
              if (m.event === 'error') {
                let e = {};
                try { e = JSON.parse(m.data); } catch (x) { /* ignore */ }
                batch.push(h('div', {class: 'note', text: '— ' + (e.message || 'the log stream ended') + ' —'}));
                return;
              }
              if (m.event !== 'log') return;
              let entry;
              try { entry = JSON.parse(m.data); } catch (x) { return; }
              batch.push(logLine(entry));
              // A hidden tab draws no frame: keep only what will be shown.
              if (batch.length > LOG_MAX) batch.splice(0, batch.length - LOG_MAX);
              if (!flush) flush = requestAnimationFrame(() => { flush = 0; addLines(batch.splice(0)); });
            },
          });
        } catch (err) {
          if (ctl.signal.aborted) return;
          if (err.status && err.status !== 503) {
            addLines([h('div', {class: 'note', text: '— ' + err.message + ' —'})]);
            return;
          }
        }
        if (flush) cancelAnimationFrame(flush);
        addLines(batch.splice(0));
        if (first && !logEl.childElementCount) addLines([h('div', {class: 'note', text: 'No output yet.'})]);
        first = false;
        if (ctl.signal.aborted) return;
        delete logEl.dataset.following;
        addLines([h('div', {class: 'note', text: '— the log stream was interrupted; following again —'})]);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 15000);
      }
    }
    const unlisten = feed.on((e) => {
      if (e.service !== name) return;
      events.push(e);
      if (events.length > EVENTS_MAX * 2) events.splice(0, events.length - EVENTS_MAX);
      redrawHistorySoon();
      if (e.kind === 'state' && status) {
        status.state = e.state;
        status.since = e.time;
        drawStatus();
        clearTimeout(statusTimer);
        statusTimer = setTimeout(refreshStatus, 400); // pid, exit, respawns
      }
    });
    let statusTimer = 0;
    const unlistenList = () => recolorGraph();
    listeners.add(unlistenList);
    onLeave(() => { unlisten(); listeners.delete(unlistenList); clearTimeout(statusTimer); });

    ensureList().catch(() => {}).then(async () => {
      await refreshStatus();
      drawGraph();
      loadHistory();
    });
    followLog();
  }

  function parseDur(v) {
    // wire.Duration: a Go duration string ("1.5s", "2m3s") or nanoseconds.
    if (typeof v === 'number') return v;
    let ns = 0;
    const re = /([\d.]+)(ns|us|µs|ms|s|m|h)/g;
    const mult = {ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9};
    let m;
    while ((m = re.exec(v))) ns += parseFloat(m[1]) * mult[m[2]];
    return ns;
  }

  // ---------- the fleet ----------

  // parseMetrics reads the samples of the named metrics from the
  // Prometheus text format: [{name, labels, value}].
  function parseMetrics(text, names) {
    const out = [];
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const brace = line.indexOf('{');
      const sp = line.indexOf(' ');
      const metric = brace >= 0 && brace < sp ? line.slice(0, brace) : line.slice(0, sp);
      if (!names.includes(metric)) continue;
      const labels = {};
      let rest = line.slice(metric.length);
      if (rest[0] === '{') {
        let i = 1;
        while (i < rest.length && rest[i] !== '}') {
          const eq = rest.indexOf('=', i);
          const key = rest.slice(i, eq).trim();
          let j = eq + 2; // past ="
          let val = '';
          while (j < rest.length && rest[j] !== '"') {
            if (rest[j] === '\\' && j + 1 < rest.length) {
              const c = rest[j + 1];
              val += c === 'n' ? '\n' : c;
              j += 2;
            } else val += rest[j++];
          }
          labels[key] = val;
          i = j + 1;
          if (rest[i] === ',') i++;
        }
        rest = rest.slice(i + 1);
      }
      out.push({name: metric, labels, value: parseFloat(rest.trim().split(' ')[0])});
    }
    return out;
  }

  function viewFleet() {
    const main = mainEl();
    const body = h('div', {}, h('p', {class: 'empty', text: 'Loading…'}));
    main.replaceChildren(h('div', {class: 'toolbar'}, h('h1', {text: 'Fleet'}),
      h('span', {class: 'muted', text: 'remote services (proxies) by the daemon that exports them'})), body);
    let proxies = []; // {name, reachable, rtt, status}
    // Statuses already read, with the reachability they were read at:
    // read again only when it changed.
    const known = new Map();
    const ctl = {left: false};
    onLeave(() => { ctl.left = true; });

    async function load() {
      let text;
      try {
        text = await api('GET', '/metrics');
      } catch (err) {
        body.replaceChildren(errorBox(err.status === 403
          ? Object.assign(new Error('the fleet view reads /metrics, which needs the admin capability (herd cap grant daemon --to-http)'), {status: 403})
          : err));
        return;
      }
      const samples = parseMetrics(text, ['shepherd_proxy_reachable', 'shepherd_proxy_rtt_seconds']);
      const by = new Map();
      for (const m of samples) {
        const n = m.labels.service;
        if (!n) continue;
        if (!by.has(n)) by.set(n, {name: n});
        if (m.name === 'shepherd_proxy_reachable') by.get(n).reachable = m.value === 1;
        else by.get(n).rtt = m.value;
      }
      proxies = [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
      // Each proxy's status names its exporter (peer and addresses).
      const todo = [];
      for (const p of proxies) {
        const k = known.get(p.name);
        if (k && k.reachable === p.reachable) p.status = k.status;
        else todo.push(p);
      }
      let next = 0;
      async function worker() {
        while (next < todo.length && !ctl.left) {
          const p = todo[next++];
          try {
            p.status = await api('GET', `/v1/services/${enc(p.name)}`);
            known.set(p.name, {reachable: p.reachable, status: p.status});
          } catch (e) { p.error = e.message; }
        }
      }
      await Promise.all([1, 2, 3, 4, 5, 6].map(worker));
      if (!ctl.left) draw();
    }

    function draw() {
      if (!proxies.length) {
        body.replaceChildren(h('p', {class: 'empty'}, 'No remote services. Import one with ', h('code', {text: 'herd cap import NAME REF'}),
          ' or a ', h('code', {text: 'remote:'}), ' service (docs/network.md).'));
        return;
      }
      const hosts = new Map();
      for (const p of proxies) {
        const ref = parseRef(p.status && p.status.remote);
        const key = ref ? ref.peer : '(unknown exporter)';
        if (!hosts.has(key)) hosts.set(key, {peer: key, addrs: ref ? ref.addrs : [], proxies: []});
        hosts.get(key).proxies.push(p);
      }
      const cards = [];
      let up = 0;
      for (const host of [...hosts.values()].sort((a, b) => a.peer.localeCompare(b.peer))) {
        const reachable = host.proxies.some((p) => p.reachable);
        if (reachable) up++;
        const rtts = host.proxies.map((p) => p.rtt).filter((x) => x > 0);
        const rtt = rtts.length ? Math.min(...rtts) : 0;
        const rows = host.proxies.map((p) => {
          const sum = services.get(p.name) || (p.status ? {state: p.status.state} : null);
          return h('tr', {dataset: {name: p.name}}, h('td', {class: 'name'}, h('a', {href: '#/service/' + enc(p.name), text: p.name})),
            h('td', {}, pill(stateOf(sum))),
            p.status && p.status.remote_error
              ? h('td', {class: 'err', text: redact(p.status.remote_error)})
              : h('td', {class: 'muted num', text: fmtRTT(p.rtt)}));
        });
        cards.push(h('section', {class: 'card host' + (reachable ? '' : ' down'), dataset: {peer: host.peer}},
          h('h2', {}, h('span', {class: 'peer', title: host.peer, text: shortPeer(host.peer)}), h('span', {class: 'spacer'}),
            rtt ? h('span', {class: 'muted', text: 'rtt ' + fmtRTT(rtt)}) : null,
            pill(reachable ? 'running' : 'unreachable')),
          h('div', {class: 'body'},
            host.addrs.length ? h('div', {class: 'addrs', text: host.addrs.join('  ')}) : null,
            h('table', {class: 'mini'}, h('tbody', {}, rows)))));
        const last = cards[cards.length - 1].querySelector('h2 .st:last-child');
        last.textContent = reachable ? 'reachable' : 'unreachable';
      }
      body.replaceChildren(h('p', {class: 'muted', text: `${hosts.size} hosts, ${up} reachable; ${proxies.length} remote services`}),
        h('div', {class: 'hosts'}, cards));
    }

    const unlisten = (nm) => {
      if (nm === null) return;
      if (proxies.some((p) => p.name === nm)) { clearTimeout(t); t = setTimeout(() => load(), 500); }
    };
    let t = 0;
    listeners.add(unlisten);
    const iv = setInterval(load, 15000);
    onLeave(() => { listeners.delete(unlisten); clearInterval(iv); clearTimeout(t); });
    ensureList().catch(() => {}).then(load);
  }

  // ---------- fleet runs ----------

  function viewRuns() {
    const main = mainEl();
    const tbody = h('tbody');
    main.replaceChildren(h('div', {class: 'toolbar'}, h('h1', {text: 'Fleet runs'}), h('span', {class: 'muted', text: 'herd fleet exec, newest first'})),
      h('table', {class: 'grid', id: 'runs'}, h('thead', {}, h('tr', {}, h('th', {text: '#'}), h('th', {text: 'When'}), h('th', {text: 'Command'}),
        h('th', {text: 'Hosts'}), h('th', {text: 'Summary'}))), tbody));
    api('GET', '/v1/fleet/runs').then((r) => {
      const runs = (r.runs || []).slice().sort((a, b) => b.id - a.id);
      if (!runs.length) {
        tbody.replaceChildren(h('tr', {}, h('td', {class: 'muted', colspan: 5, text: 'No fleet runs yet (herd fleet exec).'})));
        return;
      }
      tbody.replaceChildren(...runs.map((run) => h('tr', {},
        h('td', {class: 'num'}, h('a', {href: '#/runs/' + run.id, text: run.id})),
        h('td', {class: 'when', text: fmtTime(run.time)}),
        h('td', {class: 'name'}, h('a', {href: '#/runs/' + run.id, text: (run.command || []).join(' ')})),
        h('td', {class: 'muted', text: run.selector || ''}),
        h('td', {class: /fail|error|unreach/i.test(run.summary || '') ? 'error' : '', text: run.summary || ''}))));
    }).catch((err) => tbody.replaceChildren(h('tr', {}, h('td', {colspan: 5}, errorBox(err)))));
  }

  function viewRun(id) {
    const main = mainEl();
    const body = h('div', {}, h('p', {class: 'empty', text: 'Loading…'}));
    main.replaceChildren(h('div', {class: 'crumbs'}, h('a', {href: '#/runs', text: 'Fleet runs'}), ' / ', '#' + id), body);
    api('GET', '/v1/fleet/runs/' + enc(id)).then((run) => {
      // Hosts with the same outcome and output make one group, as
      // clush -b and herd fleet exec do.
      const groups = new Map();
      for (const r of run.results || []) {
        const ok = r.exit_code === 0 && !r.error;
        const key = JSON.stringify([ok, r.exit_code, r.kind || '', r.error || '', r.output || '']);
        if (!groups.has(key)) groups.set(key, {ok, r, hosts: []});
        groups.get(key).hosts.push(r.host);
      }
      const list = [...groups.values()].sort((a, b) => (a.ok - b.ok) || (b.hosts.length - a.hosts.length));
      body.replaceChildren(
        h('div', {class: 'svc-head'}, h('h1', {text: (run.command || []).join(' ')}),
          h('span', {class: 'muted', text: `#${run.id}, ${fmtTime(run.time)}${run.selector ? ', on ' + run.selector : ''}: ${run.summary || ''}`})),
        ...list.map((g) => h('section', {class: 'group ' + (g.ok ? 'ok' : 'bad')},
          h('h3', {}, pill(g.ok ? 'running' : 'failed'), `${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}`,
            h('span', {class: 'muted', text: g.ok ? 'exit 0' : (g.r.error ? `${g.r.kind || 'error'}: ${g.r.error}` : 'exit ' + g.r.exit_code)})),
          h('div', {class: 'hostlist', text: g.hosts.sort().join(', ')}),
          g.r.output ? h('pre', {text: g.r.output}) : h('div', {class: 'hostlist muted', text: 'no output'}))));
      for (const p of body.querySelectorAll('.group h3 .st')) p.textContent = p.classList.contains('running') ? 'ok' : 'failed';
    }).catch((err) => body.replaceChildren(errorBox(err)));
  }

  // ---------- routing and the token ----------

  function route() {
    leave();
    if (!token) { askToken(); return; }
    const hash = location.hash.replace(/^#/, '') || '/';
    const parts = hash.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    let nav = 'services';
    if (parts[0] === 'service' && parts[1]) viewService(parts.slice(1).join('/'));
    else if (parts[0] === 'fleet') { nav = 'fleet'; viewFleet(); }
    else if (parts[0] === 'runs' && parts[1]) { nav = 'runs'; viewRun(parts[1]); }
    else if (parts[0] === 'runs') { nav = 'runs'; viewRuns(); }
    else viewServices();
    for (const a of document.querySelectorAll('#top nav a')) a.classList.toggle('active', a.dataset.nav === nav);
    document.title = (parts[0] === 'service' ? parts[1] + ' · ' : '') + 'shepherd';
  }

  function askToken(message) {
    feed.stop();
    listLoaded = null;
    $('#login').hidden = false;
    $('#logout').hidden = true;
    const err = $('#login-error');
    err.hidden = !message;
    err.textContent = message || '';
    $('#token').value = '';
    $('#token').focus();
  }

  function init() {
    $('#login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (!t) return;
      performance.mark('token-submitted');
      token = t;
      try {
        await api('GET', '/v1/services');
      } catch (err) {
        if (err.status !== 401) {
          $('#login-error').hidden = false;
          $('#login-error').textContent = err.message;
        }
        token = '';
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      $('#login').hidden = true;
      $('#logout').hidden = false;
      route();
    });
    $('#logout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      token = '';
      leave();
      services.clear();
      mainEl().replaceChildren();
      askToken();
    });
    feed.on(applyEvent);
    $('#conn').addEventListener('click', () => { if (token) feed.reconnect(); });
    window.addEventListener('hashchange', route);
    if (token) $('#logout').hidden = false;
    route();
  }

  init();
})();
