// The cxscore dashboard. A plain ES module, no build step: it reads the
// sidecar's public JSON API every few seconds and updates the page in
// place, so it doubles as an example of that API from a browser. Every
// number on the page comes from one of these calls:
//
//   GET v1/keys                                   segments and touchpoints seen
//   GET v1/scores?segment=S&touchpoint=T&window=W one card
//   GET v1/compare?segment=S&touchpoint=T&window=W&against=previous
//                                                 one card's changes
//   GET v1/trend?segment=S&touchpoint=T&window=24h&step=1h   the charts
//   GET v1/matrix?window=W                        the heat map
//   GET v1/journey?segment=S&window=W             the journey scorecard
//                                                 (no stages: not shown)
//   GET v1/alerts                                 the recent alerts of -alerts
//                                                 (404, no -alerts: not shown)
//
// Times are shown in the business time zone the trend answer names
// (-timezone), not in the browser's: a CX team in several offices reads
// the same days. The current, still filling step of a trend ("partial")
// is drawn as a hollow point apart from the line.
//
// The page itself holds no data, so the sidecar serves it without a token;
// when the API answers 401 the page asks for the token and sends it with
// every call from then on.

// How often the page asks again. The engine answers a query in
// microseconds, so the cost is the requests: two per card and four more.
const REFRESH_MS = 5000;

// A call slower than this counts as "cannot be reached": a sidecar that
// hangs is as useless to a reader as one that is down.
const TIMEOUT_MS = 4000;

// MIN_RESPONSES is the fewest responses a score is shown for, in the
// cards and in the trend. With fewer, one answer more or less moves a
// score by over a tenth of its scale and the 95% margin is wider than ±30
// NPS points or ±20 CSAT points: a number would mislead more than inform,
// so the page says "too few" and shows the count. Ten is a floor for
// showing a number at all, not a mark of precision; the ± beside each
// score says how precise it is.
const MIN_RESPONSES = 10;

// The token lives in sessionStorage: it survives a reload but not the tab,
// and other sites cannot read it.
const TOKEN_KEY = 'cxscore-token';

// The three metrics as the API names them, with how to show their scores.
// A change is in the score's units: NPS points, CSAT percentage points
// (changeUnit), CES scale points. Higher is better for all three (for CES,
// easier), so ▲ is always an improvement.
const METRICS = {
  nps: { name: 'NPS', digits: 1, unit: '', changeUnit: '', scale: [-100, 100] },
  csat: { name: 'CSAT', digits: 1, unit: '%', changeUnit: ' pts', scale: [0, 100] },
  ces: { name: 'CES', digits: 2, unit: '', changeUnit: '', scale: [1, 7] },
};

// Chart colours: blue for the line and its band. The NPS split uses blue,
// grey and striped orange (style.css) with text labels, never red against
// green alone.
const LINE = '#1d4ed8';
const BAND = 'rgba(29, 78, 216, 0.15)';
const AXIS = '#4b5563';
const GRID = '#e5e7eb';

const $ = (selector, root = document) => root.querySelector(selector);

const el = {
  window: $('#window'),
  segment: $('#segment'),
  touchpoint: $('#trend-touchpoint'),
  status: $('#status'),
  banner: $('#banner'),
  main: $('#main'),
  cards: $('#cards'),
  template: $('#card-template'),
  trendSpan: $('#trend-span'),
  tokenForm: $('#token-form'),
  token: $('#token'),
  tokenRefused: $('#token-refused'),
  heatMetric: $('#heat-metric'),
  heatmap: $('#heatmap'),
  heatmapSpan: $('#heatmap-span'),
  heatMiddle: $('#heat-middle'),
  journeySection: $('#journey-section'),
  journey: $('#journey'),
  journeySpan: $('#journey-span'),
  journeyNote: $('#journey-note'),
  alertsSection: $('#alerts-section'),
  alerts: $('#alerts'),
  alertsSpan: $('#alerts-span'),
  alertsEmpty: $('#alerts-empty'),
};

// The selection, kept in the address (?window=24h&segment=smb) so that a
// link opens the same view.
const query = new URLSearchParams(location.search);
const state = {
  window: [...el.window.options].some((o) => o.value === query.get('window')) ? query.get('window') : '1h',
  segment: query.get('segment') || '*',
  touchpoint: query.get('touchpoint') || '*',
  metric: Object.hasOwn(METRICS, query.get('metric') ?? '') ? query.get('metric') : 'nps', // the heat map's
};

// ---- the API ----

// Unauthorized is thrown for a 401: the sidecar wants a (different) token.
class Unauthorized extends Error {}

// api calls GET v1/<endpoint>?<params> and returns the decoded JSON. It
// throws Unauthorized for a 401 and an Error saying what went wrong for
// anything else that is not a 200.
async function api(endpoint, params) {
  const url = `v1/${endpoint}` + (params ? `?${new URLSearchParams(params)}` : '');
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  let res;
  try {
    res = await fetch(url, { headers, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch {
    throw new Error('The sidecar cannot be reached.');
  }
  if (res.status === 401) {
    throw new Unauthorized();
  }
  const body = await res.json().catch(() => null);
  if (!res.ok || body === null) {
    const err = new Error(`The sidecar answered ${res.status}${body?.error ? `: ${body.error}` : ''}.`);
    err.status = res.status;
    err.reason = body?.error ?? '';
    throw err;
  }
  return body;
}

// refusable returns a call's answer, or { refused: reason } when the
// sidecar answers 400: a comparison it cannot make (the previous 30 days
// are older than it keeps) leaves the rest of the page as it is.
async function refusable(call) {
  try {
    return await call;
  } catch (err) {
    if (err.status === 400) return { refused: err.reason };
    throw err;
  }
}

// optional returns a call's answer, or null when the sidecar answers 404:
// a part it does not serve (GET /v1/alerts without -alerts).
async function optional(call) {
  try {
    return await call;
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

// touchpointsOf lists the touchpoints seen in a segment ('*': in any).
function touchpointsOf(keys, segment) {
  if (segment === '*') {
    return keys.touchpoints;
  }
  const seen = keys.keys.filter((k) => k.segment === segment).map((k) => k.touchpoint);
  return [...new Set(seen)].sort();
}

// trendSpan is what the charts show for a window: hours of the last day
// for short windows, days of the last month for long ones, and for a
// calendar period its hours (today) or days.
function trendSpan(window) {
  switch (window) {
    case 'today': return { window, step: '1h', text: 'today, hourly', unit: 'hours' };
    case 'this_week': return { window, step: '1d', text: 'this week, daily', unit: 'days' };
    case 'this_month': return { window, step: '1d', text: 'this month, daily', unit: 'days' };
    case 'last_month': return { window, step: '1d', text: 'last month, daily', unit: 'days' };
  }
  return ['5m', '1h', '24h'].includes(window)
    ? { window: '24h', step: '1h', text: 'last 24 hours, hourly', unit: 'hours' }
    : { window: '30d', step: '1d', text: 'last 30 days, daily', unit: 'days' };
}

// PERIOD_BASELINES names the calendar period each period's changes are
// measured against (the API's against=previous for a period).
const PERIOD_BASELINES = {
  today: 'yesterday', yesterday: 'the day before', this_week: 'last week', last_week: 'the week before',
  this_month: 'last month', last_month: 'the month before', this_quarter: 'last quarter', last_quarter: 'the quarter before',
};

// windowName is how a window reads in a title: "last 24h", "this month".
function windowName(window) {
  return PERIOD_BASELINES[window] ? window.replace('_', ' ') : `last ${window}`;
}

// baselineName is what a window's changes are measured against: the
// period of the same length before a sliding window ("previous 24h"), the
// calendar period before a period ("last month").
function baselineName(window) {
  return PERIOD_BASELINES[window] ?? `previous ${window}`;
}

// zone is the business time zone's IANA name, from the last trend answer;
// undefined (the browser's zone) until one arrives.
let zone;

// ---- the refresh loop ----

let timer = 0;
let generation = 0; // bumped by every refresh; answers to an older one are dropped
let lastUpdate = null; // when the page last showed a complete answer

// refresh fetches everything the page shows, updates it, and schedules the
// next refresh. A change of selection calls it at once; an answer that
// arrives after a newer refresh began is dropped, so a slow answer for the
// old selection never overwrites the new one.
async function refresh() {
  clearTimeout(timer);
  const gen = ++generation;
  const sel = { ...state };
  try {
    const keys = await api('keys');
    if (gen !== generation) return;
    const touchpoints = touchpointsOf(keys, sel.segment);
    setOptions(el.segment, keys.segments, sel.segment, 'All segments');
    if (!touchpoints.includes(sel.touchpoint)) {
      sel.touchpoint = state.touchpoint = '*'; // not in this segment: show them all
    }
    setOptions(el.touchpoint, touchpoints, sel.touchpoint, 'All touchpoints');
    const span = trendSpan(sel.window);
    const cardTouchpoints = ['*', ...touchpoints];
    const [results, changes, trend, matrix, journey, alerts] = await Promise.all([
      Promise.all(cardTouchpoints.map((tp) =>
        api('scores', { segment: sel.segment, touchpoint: tp, window: sel.window }))),
      Promise.all(cardTouchpoints.map((tp) => refusable(
        api('compare', { segment: sel.segment, touchpoint: tp, window: sel.window, against: 'previous' })))),
      api('trend', { segment: sel.segment, touchpoint: sel.touchpoint, window: span.window, step: span.step }),
      api('matrix', { window: sel.window }),
      refusable(api('journey', { segment: sel.segment, window: sel.window })),
      optional(api('alerts')),
    ]);
    if (gen !== generation) return;
    zone = trend.zone || undefined;
    renderCards(results, changes, sel.window);
    renderJourney(journey, sel);
    renderAlerts(alerts);
    renderHeatmap(matrix, sel.metric);
    renderTrend(trend, span);
    lastUpdate = new Date();
    setText(el.status, `Updated ${clock(lastUpdate)} · answers since ${since(results[0].from)} · times in ${zone ?? 'your zone'} · refreshes every ${REFRESH_MS / 1000} s`);
    el.banner.hidden = true;
    el.main.classList.remove('stale');
  } catch (err) {
    if (gen !== generation) return;
    if (err instanceof Unauthorized) {
      askForToken(); // no more calls until the person answers
      return;
    }
    const since = lastUpdate ? ` The numbers below are from ${clock(lastUpdate)}.` : '';
    setText(el.banner, `${err.message} Retrying every ${REFRESH_MS / 1000} s.${since}`);
    el.banner.hidden = false;
    el.main.classList.add('stale');
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

// ---- the token ----

// askForToken shows the token form, once: refreshing stops until it is
// answered. A stored token that drew the 401 was refused, and is dropped.
function askForToken() {
  const refused = sessionStorage.getItem(TOKEN_KEY) !== null;
  sessionStorage.removeItem(TOKEN_KEY);
  el.tokenRefused.hidden = !refused;
  el.banner.hidden = true;
  el.tokenForm.hidden = false;
  el.token.focus();
  setText(el.status, 'Waiting for the token.');
}

el.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault(); // the form is never sent anywhere (the CSP forbids it too)
  sessionStorage.setItem(TOKEN_KEY, el.token.value.trim());
  el.token.value = '';
  el.tokenForm.hidden = true;
  refresh();
});

// ---- the cards ----

const cards = new Map(); // touchpoint ('*' for all) → its card element

// renderCards shows one card per result, in the results' order, with the
// change of each of its scores (changes[i], a /v1/compare answer), reusing
// each touchpoint's card so that a refresh changes only text and widths.
function renderCards(results, changes, window) {
  const wanted = new Set(results.map((r) => r.touchpoint));
  for (const [tp, card] of cards) {
    if (!wanted.has(tp)) {
      card.remove();
      cards.delete(tp);
    }
  }
  results.forEach((r, i) => {
    let card = cards.get(r.touchpoint);
    if (!card) {
      card = el.template.content.firstElementChild.cloneNode(true);
      card.dataset.touchpoint = r.touchpoint;
      $('.card-title', card).textContent = r.touchpoint === '*' ? 'All touchpoints' : r.touchpoint;
      cards.set(r.touchpoint, card);
    }
    if (el.cards.children[i] !== card) {
      el.cards.insertBefore(card, el.cards.children[i] ?? null);
    }
    fillCard(card, r, changes[i], window);
  });
}

function fillCard(card, r, comparison, window) {
  setText($('.customers .value', card), count(r.unique_customers));
  for (const [key, metric] of Object.entries(METRICS)) {
    const m = r[key];
    const row = $(`tr[data-metric="${key}"]`, card);
    const few = m.responses < MIN_RESPONSES;
    row.classList.toggle('few', few);
    let score = m.responses === 0 ? 'none' : 'too few';
    if (!few) {
      score = m.score.toFixed(metric.digits) + metric.unit;
    }
    setText($('.score', row), score);
    setText($('.moe', row), few || m.margin_of_error === null ? '–' : `±${m.margin_of_error.toFixed(metric.digits)}`);
    setText($('.responses', row), count(m.responses));
    fillChange($(`tr.change[data-metric="${key}"] .change-text`, card), key, comparison, window);
  }
  fillSplit($('.split', card), r.nps);
}

// ---- changes against the previous period ----

// changeText says how a metric changed against the period before
// (baselineName): "▲ +4.2 vs previous 24h" when the change is significant
// at 5%, "+1.0 vs last month (not significant)" when it is not, "not
// enough data vs previous 24h" when a side holds too few answers to test
// (the API's enough is false). comparison is the /v1/compare answer, or
// { refused } when the sidecar cannot compare that window.
function changeText(key, comparison, window) {
  const base = baselineName(window);
  if (comparison.refused !== undefined) {
    return { text: PERIOD_BASELINES[window] ? `${base} is not kept to compare with` : `no ${base} to compare with`, kind: 'none' };
  }
  const c = comparison[key];
  if (!c.enough || c.difference === null) {
    return { text: `not enough data vs ${base}`, kind: 'none' };
  }
  const metric = METRICS[key];
  let d = c.difference.toFixed(metric.digits); // a difference that rounds to zero has no sign
  d = Number(d) === 0 ? (0).toFixed(metric.digits) : `${c.difference > 0 ? '+' : ''}${d}`;
  d += metric.changeUnit;
  if (c.significant === true) {
    const up = c.difference > 0;
    return { text: `${up ? '▲' : '▼'} ${d} vs ${base}`, kind: up ? 'up' : 'down' };
  }
  const why = c.significant === false ? 'not significant' : 'not tested';
  return { text: `${d} vs ${base} (${why})`, kind: 'flat' };
}

// fillChange writes a change into node, with its interval and p-value as
// the node's title.
function fillChange(node, key, comparison, window) {
  const { text, kind } = changeText(key, comparison, window);
  setText(node, text);
  node.dataset.kind = kind;
  const c = comparison[key];
  const digits = METRICS[key].digits;
  const title = c && c.interval && c.p_value !== null
    ? `95% interval of the change: ${c.interval.low.toFixed(digits)} to ${c.interval.high.toFixed(digits)}; p = ${c.p_value.toPrecision(2)}`
    : comparison.refused ?? '';
  if (node.title !== title) node.title = title;
}

// scoreText is a score as the cards write it: the score, or "too few"
// (with some responses) or "none" below MIN_RESPONSES.
function scoreText(key, m) {
  if (m.responses < MIN_RESPONSES) return m.responses === 0 ? 'none' : 'too few';
  return m.score.toFixed(METRICS[key].digits) + METRICS[key].unit;
}

// ---- the recent alerts ----

// How many of the recent alerts the page lists, newest first.
const MAX_ALERTS = 20;

// DELIVERY says an alert's delivery state (GET /v1/alerts) in words.
const DELIVERY = {
  none: () => 'no webhook',
  pending: (n) => n > 0 ? `retrying (${tries(n)} failed)` : 'sending',
  delivered: (n) => `delivered (${tries(n)})`,
  given_up: (n) => `given up after ${tries(n)}`,
  dropped: () => 'dropped: queue full',
};
const tries = (n) => `${n} ${n === 1 ? 'try' : 'tries'}`;

// renderAlerts lists the recent alerts of -alerts: when, which rule, what
// it tests, over which selection, firing or resolved, and how its delivery
// stands. Without -alerts (null) the section stays hidden. Rows are keyed
// by event id and updated in place.
function renderAlerts(answer) {
  el.alertsSection.hidden = answer === null;
  if (answer === null) return;
  const list = (answer.alerts ?? []).slice(0, MAX_ALERTS);
  el.alertsEmpty.hidden = list.length > 0;
  setText(el.alertsSpan, list.length ? `· the last ${list.length}, newest first` : '');
  const body = el.alerts.tBodies[0];
  const ids = list.map((a) => a.alert.event_id);
  const have = [...body.rows].map((r) => r.dataset.eventId);
  if (have.length !== ids.length || have.some((id, i) => id !== ids[i])) {
    body.replaceChildren(...list.map((a) => {
      const row = document.createElement('tr');
      row.dataset.eventId = a.alert.event_id;
      for (const name of ['time', 'rule', 'kind', 'selection', 'state', 'delivery']) {
        const cell = document.createElement('td');
        cell.dataset.field = name;
        row.append(cell);
      }
      return row;
    }));
  }
  list.forEach((a, i) => {
    const row = body.rows[i];
    const al = a.alert;
    const d = new Date(al.time);
    const cell = (name) => row.querySelector(`[data-field="${name}"]`);
    setText(cell('time'), `${d.toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: zone })} ${clock(d)}`);
    setText(cell('rule'), al.rule);
    setText(cell('kind'), `${al.kind} · ${String(al.metric).toUpperCase()}`);
    setText(cell('selection'), `${al.segment === '*' ? 'all segments' : al.segment} × ${al.touchpoint === '*' ? 'all touchpoints' : al.touchpoint}`);
    setText(cell('state'), al.state);
    cell('state').className = `alert-state ${al.state}`;
    const say = DELIVERY[a.delivery] ?? (() => a.delivery);
    setText(cell('delivery'), (a.webhook ? `${a.webhook}: ` : '') + say(a.attempts));
    row.dataset.delivery = a.delivery;
  });
}

// ---- the journey scorecard ----

// renderJourney shows each stage of the sidecar's -journey with its three
// scores and their changes; without a journey the section stays hidden.
function renderJourney(journey, sel) {
  const stages = journey.stages ?? [];
  const refused = journey.refused !== undefined;
  el.journeySection.hidden = !refused && stages.length === 0;
  el.journeyNote.hidden = !refused;
  if (refused) {
    setText(el.journeyNote, `The journey cannot be compared over ${sel.window}: ${journey.refused}`);
  }
  const where = sel.segment === '*' ? 'all segments' : sel.segment;
  setText(el.journeySpan, `· ${where}, last ${sel.window} against the ${sel.window} before`);
  const body = el.journey.tBodies[0];
  const names = stages.map((st) => st.name);
  const have = [...body.rows].map((r) => r.dataset.stage);
  if (have.length !== names.length || have.some((n, i) => n !== names[i])) {
    body.replaceChildren(...stages.map((st) => {
      const row = document.createElement('tr');
      row.dataset.stage = st.name;
      const head = document.createElement('th');
      head.scope = 'row';
      const name = document.createElement('span');
      name.className = 'stage-name';
      name.textContent = st.name;
      const tps = document.createElement('span');
      tps.className = 'stage-touchpoints quiet';
      tps.textContent = st.touchpoints.join(', ');
      head.append(name, tps);
      row.append(head);
      for (const key of Object.keys(METRICS)) {
        const cell = document.createElement('td');
        cell.dataset.metric = key;
        const score = document.createElement('span');
        score.className = 'score';
        const responses = document.createElement('span');
        responses.className = 'responses quiet';
        const change = document.createElement('span');
        change.className = 'change-text';
        cell.append(score, responses, change);
        row.append(cell);
      }
      return row;
    }));
  }
  stages.forEach((st, i) => {
    const row = body.rows[i];
    for (const key of Object.keys(METRICS)) {
      const cell = $(`td[data-metric="${key}"]`, row);
      const m = st.compare.current[key];
      cell.classList.toggle('few', m.responses < MIN_RESPONSES);
      setText($('.score', cell), scoreText(key, m));
      setText($('.responses', cell), `${count(m.responses)} responses`);
      fillChange($('.change-text', cell), key, st.compare, sel.window);
    }
  });
}

// ---- the heat map ----

// heatColour is a score's cell colour: orange below the middle of the
// metric's scale, blue above, white-grey at it, deeper the further from
// it; with the text colour that reads on it.
function heatColour(key, score) {
  const [low, high] = METRICS[key].scale;
  const t = Math.max(-1, Math.min(1, (2 * (score - low)) / (high - low) - 1)); // −1 to 1
  const mid = [243, 244, 246];
  const end = t < 0 ? [194, 65, 12] : [29, 78, 216]; // the page's orange and blue
  const a = Math.abs(t);
  const rgb = mid.map((m, i) => Math.round(m + (end[i] - m) * a));
  return { background: `rgb(${rgb.join(', ')})`, text: a > 0.45 ? '#ffffff' : '#111827' };
}

// renderHeatmap draws segments (rows) × touchpoints (columns) of one
// metric from a /v1/matrix answer: each cell the score, coloured, and its
// responses; greyed "too few" where enough is false; "–" where the
// segment never had that touchpoint.
function renderHeatmap(matrix, key) {
  const metric = METRICS[key];
  setText(el.heatmapSpan, `· ${metric.name}, ${windowName(matrix.window)}`);
  const middle = (metric.scale[0] + metric.scale[1]) / 2;
  setText(el.heatMiddle, `(${metric.name} ${middle}${metric.unit})`);
  const shape = JSON.stringify([matrix.segments, matrix.touchpoints]);
  if (el.heatmap.dataset.shape !== shape) {
    el.heatmap.dataset.shape = shape;
    const headRow = el.heatmap.tHead.rows[0];
    headRow.replaceChildren(headRow.cells[0], ...matrix.touchpoints.map((tp) => {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = tp;
      return th;
    }));
    el.heatmap.tBodies[0].replaceChildren(...matrix.segments.map((seg) => {
      const row = document.createElement('tr');
      row.dataset.segment = seg;
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = seg;
      row.append(th, ...matrix.touchpoints.map((tp) => {
        const td = document.createElement('td');
        td.dataset.touchpoint = tp;
        td.className = 'cell';
        const score = document.createElement('span');
        score.className = 'cell-score';
        const n = document.createElement('span');
        n.className = 'cell-count';
        td.append(score, n);
        return td;
      }));
      return row;
    }));
  }
  const byKey = new Map(matrix.keys.map((k) => [`${k.segment}\u0000${k.touchpoint}`, k]));
  for (const row of el.heatmap.tBodies[0].rows) {
    for (const td of row.querySelectorAll('td')) {
      const k = byKey.get(`${row.dataset.segment}\u0000${td.dataset.touchpoint}`);
      const m = k?.[key];
      const scored = m !== undefined && m.enough && m.score !== null;
      td.classList.toggle('few', m !== undefined && !scored);
      td.classList.toggle('empty', m === undefined);
      let text = '–';
      if (m !== undefined) text = scored ? m.score.toFixed(metric.digits) + metric.unit : m.responses ? 'too few' : 'none';
      setText($('.cell-score', td), text);
      setText($('.cell-count', td), m === undefined ? '' : `n = ${count(m.responses)}`);
      const colour = scored ? heatColour(key, m.score) : { background: '', text: '' };
      td.style.backgroundColor = colour.background; // CSSOM, which the CSP allows; style attributes it does not
      td.style.color = colour.text;
      const where = `${row.dataset.segment} × ${td.dataset.touchpoint}`;
      td.title = m === undefined ? `${where}: no answers` : `${where}: ${metric.name} ${text}, ${count(m.responses)} responses`;
    }
  }
}

// fillSplit draws the NPS promoters / passives / detractors bar. Each part
// is labelled in text below the bar, so the colours are never the only
// way to tell them apart.
function fillSplit(split, nps) {
  const n = nps.responses;
  split.classList.toggle('few', n < MIN_RESPONSES);
  const words = [];
  for (const part of ['promoters', 'passives', 'detractors']) {
    const share = n ? (100 * nps[part]) / n : 0;
    $(`.part.${part}`, split).style.width = `${share}%`;
    setText($(`li.${part} .count`, split), n ? `${share.toFixed(0)}% (${count(nps[part])})` : '–');
    words.push(`${count(nps[part])} ${part}`);
  }
  const label = n ? `NPS split of ${count(n)} responses: ${words.join(', ')}` : 'NPS split: no responses';
  $('.bar', split).setAttribute('aria-label', label);
}

// ---- the trend charts ----

const charts = {}; // metric → { plot, figure, points }

// makeChart draws an empty chart for a metric: the score as a line, its
// 95% interval as a band around it. uPlot does the axes, scaling and
// hover; the page redraws with setData, which does not flicker.
function makeChart(figure, key) {
  const metric = METRICS[key];
  const target = $('.plot', figure);
  const [low, high] = metric.scale;
  const plot = new window.uPlot({
    width: target.clientWidth || 320,
    // The axis labels days and hours in the business zone.
    tzDate: (ts) => (zone ? window.uPlot.tzDate(new Date(ts * 1e3), zone) : new Date(ts * 1e3)),
    height: 180,
    legend: { show: false }, // the summary line below says it in words
    cursor: { drag: { x: false, y: false } }, // no zooming: the next refresh would undo it
    scales: {
      x: { time: true },
      // Pad the data's range by a tenth, within the metric's scale; a
      // chart with nothing to show spans the whole scale.
      y: {
        range: (u, min, max) => {
          if (min === null || max === null) return [low, high];
          const pad = Math.max((max - min) / 10, (high - low) / 100);
          return [Math.max(low, min - pad), Math.min(high, max + pad)];
        },
      },
    },
    series: [
      {},
      { label: metric.name, stroke: LINE, width: 2, points: { show: true, size: 5, fill: LINE } },
      { label: 'low', stroke: 'transparent', points: { show: false } },
      { label: 'high', stroke: 'transparent', points: { show: false } },
      // The partial step: a hollow point, not joined to the line.
      { label: 'so far', stroke: LINE, paths: () => null, points: { show: true, size: 7, width: 2, fill: '#fff', stroke: LINE } },
    ],
    bands: [{ series: [3, 2], fill: BAND }],
    axes: [
      { stroke: AXIS, grid: { stroke: GRID }, ticks: { stroke: GRID } },
      { stroke: AXIS, grid: { stroke: GRID }, ticks: { stroke: GRID }, size: 48 },
    ],
    hooks: { setCursor: [(u) => describe(key, u.cursor.idx)] },
  }, [[], [], [], [], []], target);
  new ResizeObserver(() => plot.setSize({ width: target.clientWidth, height: 180 })).observe(target);
  charts[key] = { plot, figure, points: [], span: null };
}

// renderTrend gives each chart the trend's points. A point resting on
// fewer than MIN_RESPONSES responses is left out, as a gap; the current
// step, still filling (partial), is drawn apart as a hollow point.
function renderTrend(trend, span) {
  setText(el.trendSpan, `· ${span.text}`);
  const xs = trend.points.map((p) => Date.parse(p.from) / 1000);
  // The last point, when partial, is the step that holds now (a first
  // point cut by a period's start is partial too, but complete data).
  const last = trend.points.length - 1;
  const current = (p, i) => i === last && p.partial;
  for (const [key, chart] of Object.entries(charts)) {
    const scored = (p) => p[key].responses >= MIN_RESPONSES && p[key].score !== null;
    const ys = trend.points.map((p, i) => (scored(p) && !current(p, i) ? p[key].score : null));
    const now = trend.points.map((p, i) => (scored(p) && current(p, i) ? p[key].score : null));
    const lo = trend.points.map((p) => (scored(p) && p[key].interval ? p[key].interval.low : null));
    const hi = trend.points.map((p) => (scored(p) && p[key].interval ? p[key].interval.high : null));
    chart.points = trend.points;
    chart.span = span;
    chart.plot.setData([xs, ys, lo, hi, now]);
    $('.plot', chart.figure).setAttribute('aria-label', summarize(key, trend.points, span, trend.touchpoint));
    describe(key, chart.plot.cursor.idx);
  }
}

// summarize says in words what a chart shows, for its aria-label.
function summarize(key, points, span, touchpoint) {
  const metric = METRICS[key];
  const where = touchpoint === '*' ? 'all touchpoints' : touchpoint;
  const scored = points.filter((p) => p[key].responses >= MIN_RESPONSES);
  let text = `${metric.name} trend for ${where}, ${span.text}: ${scored.length} of ${points.length} ${span.unit} have at least ${MIN_RESPONSES} responses`;
  if (scored.length > 0) {
    const by = (a, b) => a[key].score - b[key].score;
    const lowest = scored.reduce((a, b) => (by(a, b) <= 0 ? a : b));
    const highest = scored.reduce((a, b) => (by(a, b) >= 0 ? a : b));
    text += `; lowest ${value(key, lowest)} at ${when(lowest.from, span)}, highest ${value(key, highest)} at ${when(highest.from, span)}`;
    text += `; latest ${value(key, scored[scored.length - 1])} at ${when(scored[scored.length - 1].from, span)}`;
  }
  return text + '.';
}

// describe writes the line under a chart: the point under the cursor, or
// else the latest scored point, and how many points are scored.
function describe(key, idx) {
  const { figure, points, span } = charts[key];
  if (!span) return;
  const summary = $('.summary', figure);
  const scored = points.filter((p) => p[key].responses >= MIN_RESPONSES);
  const tally = `${scored.length} of ${points.length} ${span.unit} scored`;
  const p = idx !== null && idx !== undefined ? points[idx] : scored[scored.length - 1];
  if (!p) {
    setText(summary, `No ${span.unit} with ${MIN_RESPONSES} or more responses yet.`);
    return;
  }
  const m = p[key];
  const reading = m.responses >= MIN_RESPONSES
    ? `${value(key, p)} (${m.interval.low.toFixed(METRICS[key].digits)} to ${m.interval.high.toFixed(METRICS[key].digits)})`
    : 'too few';
  const label = idx !== null && idx !== undefined ? '' : 'Latest: ';
  setText(summary, `${label}${when(p.from, span, p === points[points.length - 1] && p.partial)} — ${reading}, ${count(m.responses)} responses · ${tally}`);
}

// ---- the controls ----

// setOptions makes a select list '*' and values, keeping the selection;
// it touches the DOM only when the list changed, so an open select stays
// open through refreshes.
function setOptions(select, values, selected, allLabel) {
  const want = ['*', ...values];
  if (!want.includes(selected)) {
    want.push(selected); // chosen by link before any event named it
  }
  const have = [...select.options].map((o) => o.value);
  if (have.length !== want.length || have.some((v, i) => v !== want[i])) {
    select.replaceChildren(...want.map((v) => new Option(v === '*' ? allLabel : v, v)));
  }
  select.value = selected;
}

function onChange(select, field) {
  select.addEventListener('change', () => {
    state[field] = select.value;
    const q = new URLSearchParams();
    if (state.window !== '1h') q.set('window', state.window);
    if (state.segment !== '*') q.set('segment', state.segment);
    if (state.touchpoint !== '*') q.set('touchpoint', state.touchpoint);
    if (state.metric !== 'nps') q.set('metric', state.metric);
    history.replaceState(null, '', q.size ? `?${q}` : location.pathname);
    refresh();
  });
}

// ---- formatting ----

// setText changes a node's text only if it differs: refreshes that bring
// the same numbers change nothing on the page.
function setText(node, text) {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

const count = (n) => n.toLocaleString('en-US');
const value = (key, p) => p[key].score.toFixed(METRICS[key].digits) + METRICS[key].unit;
const clock = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: zone });

// when names a trend point by its start, in the business zone: an hour
// (with its day) or a day; "so far" marks the step still filling.
function when(iso, span, partial) {
  const d = new Date(iso);
  const text = span.step === '1h'
    ? d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZone: zone })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: zone });
  return partial ? `${text} (so far)` : text;
}

// since writes when a result's time begins, in the business zone: a clock
// time within the last day, a date and time before. (It ends now.)
function since(iso) {
  const d = new Date(iso);
  const hhmm = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', timeZone: zone });
  return Date.now() - d < 20 * 3600 * 1000 ? hhmm : `${d.toLocaleDateString([], { month: 'short', day: 'numeric', timeZone: zone })}, ${hhmm}`;
}

// ---- start ----

el.window.value = state.window;
setOptions(el.segment, [], state.segment, 'All segments');
setOptions(el.touchpoint, [], state.touchpoint, 'All touchpoints');
onChange(el.window, 'window');
onChange(el.segment, 'segment');
onChange(el.touchpoint, 'touchpoint');
el.heatMetric.value = state.metric;
onChange(el.heatMetric, 'metric');
$('#min-responses').textContent = MIN_RESPONSES;
for (const figure of document.querySelectorAll('.chart')) {
  makeChart(figure, figure.dataset.metric);
}
refresh();
