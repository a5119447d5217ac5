// @ts-check
// The dashboard page: polls the JSON API and redraws. Plain JavaScript served
// as-is (no bundler); type-checked from JSDoc by `npm run typecheck`.
//
// Job content is user input - an email subject can be `<img src=x onerror=...>`.
// Every piece of data reaches the page through textContent (see `el`), never
// as HTML; the server's Content-Security-Policy forbids inline script as well.

const POLL_MS = 1500;
const CHART_WINDOW_MS = 5 * 60_000;

/** @param {string} name */
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const BASE = meta('dashboard-base');
const TOKEN = meta('dashboard-token');
const TOKEN_HEADER = meta('dashboard-token-header');

// ---- DOM helpers -----------------------------------------------------------

/**
 * Creates an element. Strings and numbers become text nodes, so data can never be parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string | undefined>} [attrs] attributes; `class` included
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** @param {string} id @param {string | number} text */
function setText(id, text) {
  byId(id).textContent = String(text);
}

/** @param {HTMLElement} parent @param {Node[]} nodes */
function replaceRows(parent, nodes) {
  parent.replaceChildren(...nodes);
}

// ---- formatting ------------------------------------------------------------

const numberFormat = new Intl.NumberFormat('en');
/** @param {number} n */
const num = (n) => numberFormat.format(n);

/** @param {number | null | undefined} ms */
function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((abs % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.floor((abs % 3_600_000) / 60_000)} min`;
}

/** @param {number | null | undefined} at ms since the epoch */
function clock(at) {
  if (!at) return '–';
  const d = new Date(at);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString('en-GB') : d.toLocaleString('en-GB');
}

/** @param {number | null | undefined} at */
const ago = (at) => (at ? `${duration(Date.now() - at)} ago` : '–');

/** @param {unknown} args */
function compactJson(args, max = 300) {
  let text;
  try {
    text = JSON.stringify(args);
  } catch {
    text = String(args);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * @typedef {{ class: string, queue: string, args: unknown[], id: string | null, attempt: number, enqueuedAt: number | null, problem: string | null }} JobSummary
 */

/** A job in one line: class, id and attempt. @param {JobSummary} job */
function jobLabel(job) {
  return el(
    'span',
    { class: 'job' },
    el('strong', {}, job.class || '(no class)'),
    job.id ? el('code', { class: 'id' }, job.id) : null,
    job.attempt > 1 ? el('span', { class: 'tag' }, `attempt ${job.attempt}`) : null,
    job.problem ? el('span', { class: 'tag bad' }, job.problem) : null,
  );
}

// ---- API -------------------------------------------------------------------

class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @param {string} path */
async function getJson(path) {
  const res = await fetch(`${BASE}/api${path}`, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, typeof body.error === 'string' ? body.error : `HTTP ${res.status}`);
  return body;
}

/** @param {string} path @param {Record<string, unknown>} body */
async function post(path, body = {}) {
  const res = await fetch(`${BASE}/api${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: TOKEN },
    body: JSON.stringify(body),
  });
  const reply = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, typeof reply.error === 'string' ? reply.error : `HTTP ${res.status}`);
  return reply;
}

// ---- banners and messages --------------------------------------------------

/** @param {'live' | 'redis-down' | 'server-down' | 'connecting'} state @param {string} [message] */
function setConnection(state, message = '') {
  const live = byId('live');
  live.dataset.state = state;
  live.textContent = { live: 'live', 'redis-down': 'Redis unreachable', 'server-down': 'dashboard offline', connecting: 'connecting…' }[state];
  const banner = byId('banner');
  banner.hidden = state === 'live' || state === 'connecting';
  banner.dataset.kind = state;
  if (!banner.hidden) {
    const title = state === 'redis-down' ? 'Redis is unreachable.' : 'The dashboard server does not answer.';
    const next = 'Showing the last data received; retrying every few seconds.';
    banner.replaceChildren(el('strong', {}, title), ' ', message, el('br'), el('small', {}, next));
  }
  document.body.classList.toggle('stale', !banner.hidden);
}

let toastTimer = 0;
/** @param {string} message @param {boolean} [bad] */
function toast(message, bad = false) {
  const node = byId('toast');
  node.textContent = message;
  node.dataset.kind = bad ? 'bad' : 'ok';
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (node.hidden = true), 4000);
}

let lastRunId = '';
/** @param {{ runId: string, uptimeSeconds: number }} redis */
function noticeRestart(redis) {
  if (lastRunId && redis.runId && redis.runId !== lastRunId) {
    const notice = byId('notice');
    notice.textContent = `Redis restarted ${duration(redis.uptimeSeconds * 1000)} ago (at ${clock(Date.now() - redis.uptimeSeconds * 1000)}). Counters and jobs are what it kept on disk.`;
    notice.hidden = false;
  }
  lastRunId = redis.runId || lastRunId;
}

// ---- sections --------------------------------------------------------------

/** @param {any} o */
function renderOverview(o) {
  setText('total-processed', num(o.processed));
  setText('total-failed', num(o.failed));
  setText('total-failed-listed', o.failedListed > 0 ? `${num(o.failedListed)} in the failed list` : '');
  setText('total-queued', num(o.queued));
  setText('total-delayed', num(o.delayed));
  setText('total-working', num(o.working));
  setText('total-workers', num(o.workers));
  const r = o.redis;
  const memory = r.maxMemoryBytes > 0 ? `${r.usedMemoryHuman} of ${(r.maxMemoryBytes / 1048576).toFixed(0)}M` : `${r.usedMemoryHuman} (no maxmemory)`;
  replaceRows(byId('redis-info'), [
    el('dt', {}, 'Version'), el('dd', {}, r.version),
    el('dt', {}, 'Memory'), el('dd', {}, memory),
    el('dt', {}, 'Clients'), el('dd', {}, num(r.connectedClients)),
    el('dt', {}, 'Up for'), el('dd', {}, duration(r.uptimeSeconds * 1000)),
  ]);
  noticeRestart(r);
  drawChart(o.throughput, o.now);
}

const SVG = 'http://www.w3.org/2000/svg';
/** @param {string} tag @param {Record<string, string | number>} attrs @param {string} [text] */
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A line chart drawn by hand: two series, a y scale that starts at 0, gaps where Redis was down.
 * @param {{ t: number, processed: number | null, failed: number | null }[]} points @param {number} now */
function drawChart(points, now) {
  const chart = byId('chart');
  const W = 640, H = 180, left = 44, right = 8, top = 10, bottom = 22;
  const from = now - CHART_WINDOW_MS;
  const shown = points.filter((p) => p.t >= from);
  const peak = Math.max(1, ...shown.map((p) => Math.max(p.processed ?? 0, p.failed ?? 0)));
  const ceiling = niceCeiling(peak);
  const x = (/** @type {number} */ t) => left + ((t - from) / CHART_WINDOW_MS) * (W - left - right);
  const y = (/** @type {number} */ v) => top + (1 - v / ceiling) * (H - top - bottom);
  /** @type {Element[]} */
  const nodes = [];
  for (const v of [0, ceiling / 2, ceiling]) {
    nodes.push(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'grid' }));
    nodes.push(svg('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, num(v)));
  }
  for (const [label, t] of [['-5 min', from], ['-2.5 min', from + CHART_WINDOW_MS / 2], ['now', now]]) {
    nodes.push(svg('text', { x: x(/** @type {number} */ (t)), y: H - 6, class: 'axis', 'text-anchor': label === 'now' ? 'end' : 'middle' }, String(label)));
  }
  for (const series of /** @type {const} */ (['processed', 'failed'])) {
    // One polyline per unbroken run: a null (no data) starts a new one.
    /** @type {string[]} */
    let run = [];
    const flush = () => {
      if (run.length > 1) nodes.push(svg('polyline', { points: run.join(' '), class: `line ${series}` }));
      run = [];
    };
    for (const p of shown) {
      const v = p[series];
      if (v === null) flush();
      else run.push(`${x(p.t).toFixed(1)},${y(v).toFixed(1)}`);
    }
    flush();
  }
  const last = shown.at(-1);
  nodes.push(svg('text', { x: W - right, y: top + 12, class: 'axis current', 'text-anchor': 'end' }, last ? `${num(last.processed ?? 0)}/s now` : 'waiting for samples'));
  chart.replaceChildren(...nodes);
}

/** @param {number} n */
function niceCeiling(n) {
  const magnitude = 10 ** Math.floor(Math.log10(n));
  const step = [1, 2, 5, 10].find((s) => s * magnitude >= n) ?? 10;
  return step * magnitude;
}

/** @param {{ queues: { name: string, length: number, latencyMs: number | null }[], delayed: number }} q */
function renderQueues(q) {
  const rows = q.queues.map((queue) =>
    el(
      'tr',
      { 'data-queue': queue.name },
      el('td', {}, el('code', {}, queue.name)),
      el('td', { class: 'num length' }, num(queue.length)),
      el('td', { class: `num latency ${queue.latencyMs !== null && queue.latencyMs > 60_000 ? 'warn' : ''}` }, queue.length === 0 ? '–' : duration(queue.latencyMs)),
    ),
  );
  replaceRows(byId('queue-rows'), rows.length ? rows : [el('tr', {}, el('td', { colspan: '3', class: 'empty' }, 'No queues yet: nothing was ever enqueued.'))]);
  setText('queues-delayed', q.delayed > 0 ? `${num(q.delayed)} more job(s) wait in the delayed schedule (see Delayed).` : 'No delayed jobs.');
  setText('nav-delayed', q.delayed > 0 ? num(q.delayed) : '');
}

/**
 * @typedef {{ name: string, pending: number, idleMs: number }} ConsumerInfo
 * @typedef {{ name: string, consumers: ConsumerInfo[], pending: number, lag: number, lastDeliveredId: string, processed: number, dead: number, trimmed: number }} GroupInfo
 * @typedef {{ stream: string, length: number, firstId: string | null, lastId: string | null, maxlen: number, groups: GroupInfo[], deadLetters: number }} StreamInfo
 * @typedef {{ id: string, at: number, entry: string, group: string, consumer: string, deliveries: number, error: string, fields: Record<string, string> | null, fieldCount: number }} DeadLetter
 */

/**
 * The event stream and its groups; hidden where Redis holds no stream (strategies 4 and 5).
 * @param {{ stream: StreamInfo | null, deadLetters: DeadLetter[] }} s
 */
function renderStreams(s) {
  const info = s.stream;
  const present = info !== null && (info.length > 0 || info.groups.length > 0 || info.deadLetters > 0);
  byId('streams').hidden = !present;
  byId('nav-streams').hidden = !present;
  if (!info || !present) return;
  setText('stream-name', info.stream);
  setText('stream-length', num(info.length));
  setText('stream-maxlen', `keeps about ${num(info.maxlen)}`);
  setText('stream-first', info.firstId ?? '–');
  setText('stream-last', info.lastId ?? '–');
  setText('stream-groups', num(info.groups.length));
  setText('stream-dead', num(info.deadLetters));
  setText('nav-dead', info.deadLetters ? num(info.deadLetters) : '');
  // A group lagging by more than half the retention is close to losing unread events to trimming.
  const rows = info.groups.map((g) =>
    el(
      'tr',
      { 'data-group': g.name },
      el('td', {}, el('code', {}, g.name)),
      el('td', { class: `num lag ${g.lag > info.maxlen / 2 ? 'warn' : ''}` }, num(g.lag)),
      el('td', { class: 'num pending' }, num(g.pending)),
      el('td', { class: 'num processed' }, num(g.processed)),
      el('td', { class: `num dead ${g.dead > 0 ? 'bad' : ''}` }, num(g.dead)),
      el('td', { class: `num trimmed ${g.trimmed > 0 ? 'bad' : ''}` }, num(g.trimmed)),
      el('td', {}, el('code', {}, g.lastDeliveredId)),
      el('td', {}, ...(g.consumers.length ? g.consumers.map(consumerLine) : [el('span', { class: 'empty' }, 'none yet')])),
    ),
  );
  replaceRows(byId('group-rows'), rows.length ? rows : [el('tr', {}, el('td', { colspan: '8', class: 'empty' }, 'No consumer group reads this stream yet.'))]);
  const dead = s.deadLetters.map((d) =>
    el(
      'article',
      { class: 'entry dead-letter', 'data-dead': d.id, 'data-entry': d.entry },
      el(
        'div',
        { class: 'entry-head' },
        el('span', { class: 'job' }, el('strong', {}, `entry ${d.entry || '?'}`), d.fields?.id ? el('code', { class: 'id' }, d.fields.id) : null),
        el('span', { class: 'meta' }, `group ${d.group || '?'} · consumer ${d.consumer || '?'} · ${d.deliveries} deliveries · ${clock(d.at)}`),
        el('span', { class: 'actions' }, action('Retry', '/streams/dead/retry', { id: d.id }, 'retry-dead')),
      ),
      el('div', { class: 'error' }, el('strong', {}, 'Error'), ': ', d.error),
      el('div', { class: 'args' }, d.fields ? compactJson(d.fields, 1000) : '(no readable fields)', d.fields && d.fieldCount > Object.keys(d.fields).length ? ` and ${d.fieldCount - Object.keys(d.fields).length} more fields` : null),
    ),
  );
  const more = info.deadLetters > dead.length ? el('p', { class: 'hint' }, `Showing the newest ${dead.length} of ${num(info.deadLetters)}.`) : null;
  replaceRows(byId('dead-list'), dead.length ? [...dead, ...(more ? [more] : [])] : [el('p', { class: 'empty' }, 'No dead letters.')]);
}

/** @param {ConsumerInfo} c */
function consumerLine(c) {
  return el('div', { class: 'consumer', 'data-consumer': c.name }, el('code', {}, c.name), ` · ${num(c.pending)} pending · idle ${duration(c.idleMs)}`);
}

/** @param {{ workers: any[], dead: number }} w */
function renderWorkers(w) {
  const rows = w.workers.map((worker) => {
    const current = worker.current;
    const heartbeat =
      worker.heartbeatInMs === null ? 'none (not one of ours)' : worker.heartbeatInMs < 0 ? `missed for ${duration(-worker.heartbeatInMs)}` : `due within ${duration(worker.heartbeatInMs)}`;
    const state = worker.state === 'dead' ? 'dead: awaiting recovery' : worker.state;
    const held = worker.held.length > 1 ? el('details', {}, el('summary', {}, `${worker.reserved} jobs`), ...worker.held.map((/** @type {JobSummary} */ j) => el('div', {}, jobLabel(j)))) : num(worker.reserved);
    return el(
      'tr',
      { 'data-worker': worker.name, class: `state-${worker.state}` },
      el('td', {}, el('code', {}, worker.name), el('div', { class: 'sub' }, `queues: ${worker.queues.join(', ')}`), multiWorkerLine(worker.multiWorker)),
      el('td', {}, el('span', { class: `badge ${worker.state}` }, state)),
      el('td', {}, ...workingOn(current, worker.held)),
      el('td', {}, current?.since ? `${ago(current.since)}` : worker.startedAt ? `up ${ago(worker.startedAt).replace(' ago', '')}` : '–'),
      el('td', { class: 'num' }, held),
      el('td', { class: 'num' }, `${num(worker.processed)} / ${num(worker.failed)}`),
      el('td', { class: worker.state === 'dead' ? 'bad' : '' }, heartbeat),
    );
  });
  replaceRows(byId('worker-rows'), rows.length ? rows : [el('tr', {}, el('td', { colspan: '7', class: 'empty' }, 'No workers registered.'))]);
  setText('nav-workers', w.dead > 0 ? `${w.workers.length} (${w.dead} dead)` : w.workers.length ? num(w.workers.length) : '');
}

/**
 * A multiWorker's scaling at a glance: processors busy of how many (and its bounds), and the event-loop delay that sets them.
 * @param {{ processors: number, active: number, min: number, max: number, delayMs: number, utilization: number, verb: string } | null} m
 */
function multiWorkerLine(m) {
  if (!m) return null;
  return el(
    'div',
    { class: 'multi' },
    el('span', { class: 'tag' }, 'multiWorker'),
    ` ${m.active} of ${m.processors} processors busy (${m.min}-${m.max})`,
    el('br'),
    `event-loop delay ${m.delayMs.toFixed(1)} ms`,
    ` · loop ${Math.round(m.utilization * 100)}% busy · last check: ${m.verb}`,
  );
}

/**
 * The job a worker started last; or, when it has no working-on record (it died
 * before writing one, or was never ours), the first job it holds.
 * @param {(JobSummary & { since: number | null }) | null} current @param {JobSummary[]} held
 */
function workingOn(current, held) {
  const job = current ?? held[0];
  if (!job) return ['–'];
  return [jobLabel(job), el('div', { class: 'args' }, compactJson(job.args, 160)), current ? null : el('div', { class: 'sub' }, 'held, not recorded as started')];
}

/** Backtraces the reader opened stay open across redraws. @type {Set<string>} */
const openBacktraces = new Set();

/** @param {{ total: number, items: any[] }} f */
function renderFailed(f) {
  setText('failed-count', f.total ? num(f.total) : '');
  setText('nav-failed', f.total ? num(f.total) : '');
  for (const id of ['retry-all', 'remove-all']) /** @type {HTMLButtonElement} */ (byId(id)).disabled = f.total === 0;
  const items = f.items.map((item) => {
    const trace = el('details', { class: 'backtrace' }, el('summary', {}, `backtrace (${item.backtrace.length} lines)`), el('pre', {}, item.backtrace.join('\n') || '(none recorded)'));
    if (openBacktraces.has(item.key)) trace.setAttribute('open', '');
    trace.addEventListener('toggle', () => ((/** @type {HTMLDetailsElement} */ (trace)).open ? openBacktraces.add(item.key) : openBacktraces.delete(item.key)));
    return el(
      'article',
      { class: 'entry', 'data-key': item.key, 'data-job-id': item.job.id ?? '' },
      el(
        'div',
        { class: 'entry-head' },
        jobLabel(item.job),
        el('span', { class: 'meta' }, `queue ${item.queue || '?'} · worker ${item.worker || '?'} · failed ${item.failedAt ? clock(Date.parse(item.failedAt)) : '?'}`),
        el(
          'span',
          { class: 'actions' },
          action('Retry', '/failed/retry', { index: item.index, key: item.key }, 'retry'),
          action('Remove', '/failed/remove', { index: item.index, key: item.key }, 'remove', true),
        ),
      ),
      el('div', { class: 'error' }, el('strong', {}, item.exception || 'Error'), ': ', item.error),
      el('div', { class: 'args' }, compactJson(item.job.args, 1000)),
      trace,
    );
  });
  const more = f.total > f.items.length ? el('p', { class: 'hint' }, `Showing the oldest ${f.items.length} of ${num(f.total)}.`) : null;
  replaceRows(byId('failed-list'), items.length ? [...items, ...(more ? [more] : [])] : [el('p', { class: 'empty' }, 'No failed jobs.')]);
}

/** @param {{ total: number, items: any[] }} d */
function renderDelayed(d) {
  setText('delayed-count', d.total ? num(d.total) : '');
  const rows = d.items.map((item) =>
    el(
      'tr',
      { 'data-key': item.key, 'data-job-id': item.job.id ?? '' },
      el('td', {}, clock(item.dueAt), el('div', { class: 'sub' }, item.dueAt > Date.now() ? `in ${duration(item.dueAt - Date.now())}` : 'due now')),
      el('td', {}, jobLabel(item.job)),
      el('td', {}, el('code', {}, item.job.queue || '?')),
      el('td', { class: 'args' }, compactJson(item.job.args, 200)),
      el(
        'td',
        { class: 'actions' },
        action('Enqueue now', '/delayed/enqueue-now', { second: item.second, key: item.key }, 'enqueue-now'),
        action('Remove', '/delayed/remove', { second: item.second, key: item.key }, 'remove', true),
      ),
    ),
  );
  replaceRows(byId('delayed-rows'), rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'empty' }, 'Nothing scheduled.'))]);
}

/** @param {any} job */
function renderLookup(job) {
  const s = job.status;
  const rows = job.history.map((/** @type {{ at: number | null, event: string, detail: string }} */ h) =>
    el('tr', {}, el('td', {}, h.at ? clock(h.at) : '–'), el('td', {}, h.event), el('td', {}, h.detail)),
  );
  byId('lookup-result').replaceChildren(
    el(
      'div',
      { class: 'lookup-card', 'data-state': s?.state ?? 'unknown' },
      el('div', {}, el('code', { class: 'id' }, job.id), ' ', el('span', { class: `badge ${s?.state ?? 'unknown'}` }, s?.state ?? 'status expired')),
      s ? el('p', {}, `${s.class} on queue ${s.queue} · attempts ${s.attempts}${s.error ? ` · last error: ${s.error}` : ''}`) : null,
      el('p', {}, `Now: ${job.location ?? (s?.state === 'succeeded' ? 'done' : 'not found in Redis')}`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'When'), el('th', {}, 'What'), el('th', {}, 'Detail'))), el('tbody', {}, ...rows)),
    ),
  );
}

// ---- actions ---------------------------------------------------------------

/**
 * A button that POSTs an action, then refreshes.
 * @param {string} label @param {string} path @param {Record<string, unknown>} body @param {string} name @param {boolean} [danger]
 */
function action(label, path, body, name, danger = false) {
  const button = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: danger ? 'danger' : undefined, 'data-action': name }, label));
  button.addEventListener('click', () => act(button, path, body));
  return button;
}

/** @param {HTMLButtonElement} button @param {string} path @param {Record<string, unknown>} body */
async function act(button, path, body) {
  button.disabled = true;
  try {
    const reply = await post(path, body);
    toast(describe(path, reply));
  } catch (err) {
    toast(err instanceof Error ? err.message : String(err), true);
  } finally {
    button.disabled = false;
    refresh();
  }
}

/** @param {string} path @param {Record<string, number | string>} reply */
function describe(path, reply) {
  if (path.endsWith('retry-all')) return `Retried ${reply.retried} job(s)${reply.skipped ? `, ${reply.skipped} could not run again` : ''}.`;
  if (path.endsWith('remove-all')) return `Removed ${reply.removed} failed job(s).`;
  if (path.endsWith('enqueue-now')) return 'Enqueued now.';
  if (path.startsWith('/streams')) return `Appended again as entry ${reply.eventId}: every group reads it.`;
  return path.includes('retry') ? 'Retried: back in its queue.' : 'Removed.';
}

/** "All" buttons ask twice: the first click arms them for a few seconds. @param {string} id @param {string} path */
function armTwice(id, path) {
  const button = /** @type {HTMLButtonElement} */ (byId(id));
  const label = button.textContent ?? '';
  let armed = 0;
  button.addEventListener('click', () => {
    if (!armed) {
      button.textContent = button.dataset.confirm ?? 'Click again';
      button.classList.add('armed');
      armed = window.setTimeout(() => {
        armed = 0;
        button.textContent = label;
        button.classList.remove('armed');
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = 0;
    button.textContent = label;
    button.classList.remove('armed');
    void act(button, path, {});
  });
}

// ---- polling ---------------------------------------------------------------

let lookupId = '';
let timer = 0;
let polling = false;

async function poll() {
  polling = true;
  try {
    const [overview, queues, streams, workers, failed, delayed] = await Promise.all([
      getJson('/overview'),
      getJson('/queues'),
      getJson('/streams'),
      getJson('/workers'),
      getJson('/failed?limit=50'),
      getJson('/delayed?limit=50'),
    ]);
    renderOverview(overview);
    renderQueues(queues);
    renderStreams(streams);
    renderWorkers(workers);
    renderFailed(failed);
    renderDelayed(delayed);
    if (lookupId) await lookup(lookupId, false);
    setConnection('live');
    byId('live').title = `updated ${new Date().toLocaleTimeString('en-GB')}`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) setConnection('redis-down', err.message);
    else if (err instanceof ApiError) setConnection('server-down', `${err.status}: ${err.message}`);
    else setConnection('server-down', 'No answer from the dashboard server: is it still running?');
  } finally {
    polling = false;
  }
}

function refresh() {
  clearTimeout(timer);
  if (polling) {
    timer = window.setTimeout(refresh, 100);
    return;
  }
  void poll().finally(() => {
    clearTimeout(timer);
    timer = window.setTimeout(refresh, POLL_MS);
  });
}

/** @param {string} id @param {boolean} explicit */
async function lookup(id, explicit) {
  try {
    renderLookup(await getJson(`/jobs/${encodeURIComponent(id)}`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) throw err;
    byId('lookup-result').replaceChildren(el('p', { class: 'empty' }, err instanceof Error ? err.message : String(err)));
    if (explicit) lookupId = '';
  }
}

byId('lookup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId('lookup-id'));
  lookupId = input.value.trim();
  if (lookupId) void lookup(lookupId, true).catch((err) => setConnection('redis-down', err.message));
});
armTwice('retry-all', '/failed/retry-all');
armTwice('remove-all', '/failed/remove-all');
refresh();
