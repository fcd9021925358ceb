// A cron evaluator for previews, the same rules as the server's
// (protocol/cron.cpp): 5 fields (minute hour day-of-month month
// day-of-week), lists, ranges, steps (*/15, 10-30/10, 5/20), names
// (JAN-DEC, SUN-SAT), weekday 7 = Sunday, @shorthands, and Vixie's rule
// for the two day fields (both restricted: either matches). Times are
// evaluated in an IANA time zone (default UTC); a local time skipped by a
// daylight-saving gap fires when the gap ends, a repeated one on its
// first occurrence. The server stays the authority (next_run_at).

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const SHORTHANDS = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

const MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export class CronError extends Error {}

function fail(spec, message) {
  throw new CronError(`${spec.name}: ${message}`);
}

function readValue(spec, item, pos) {
  const rest = item.slice(pos);
  const num = /^\d+/.exec(rest);
  if (num) {
    const v = Number(num[0]);
    if (v < spec.min || v > spec.max) fail(spec, `${num[0]} is out of range ${spec.min}-${spec.max}`);
    return [v, pos + num[0].length];
  }
  const word = /^[A-Za-z]+/.exec(rest);
  if (!word) {
    if (rest === '') fail(spec, `missing a value in "${item}"`);
    fail(spec, `expected a number, got "${rest}" in "${item}"`);
  }
  if (!spec.names) fail(spec, `expected a number, got "${word[0]}"`);
  const idx = spec.names.indexOf(word[0].toUpperCase());
  if (idx < 0) fail(spec, `unknown name "${word[0]}"`);
  return [spec.min + idx, pos + word[0].length];
}

function parseItem(spec, item, set) {
  let pos = 0;
  let lo = spec.min;
  let hi = spec.max;
  if (item[0] === '*') {
    pos = 1;
  } else {
    [lo, pos] = readValue(spec, item, pos);
    hi = lo;
    if (item[pos] === '-') {
      [hi, pos] = readValue(spec, item, pos + 1);
      if (lo > hi) fail(spec, `range "${item.slice(0, pos)}" is reversed (start after end)`);
    } else if (item[pos] === '/') {
      hi = spec.max; // N/S: from N through the maximum
    }
  }
  let step = 1;
  if (item[pos] === '/') {
    const m = /^\d+/.exec(item.slice(pos + 1));
    if (pos + 1 === item.length) fail(spec, `missing a step after "/" in "${item}"`);
    if (!m) fail(spec, `step must be a number, got "${item.slice(pos + 1)}" in "${item}"`);
    step = Number(m[0]);
    if (step < 1) fail(spec, 'step must be at least 1');
    if (step > spec.max) fail(spec, `step ${m[0]} is out of range 1-${spec.max}`);
    pos += 1 + m[0].length;
  }
  if (pos !== item.length) fail(spec, `unexpected "${item.slice(pos)}" in "${item}"`);
  for (let v = lo; v <= hi; v += step) set.add(v);
}

/** Parses an expression; throws CronError naming the field. */
export function parse(expression) {
  let text = String(expression).trim();
  if (text.startsWith('@')) {
    const [word, ...rest] = text.split(/\s+/);
    const lower = word.toLowerCase();
    if (lower === '@reboot') throw new CronError('@reboot is not supported');
    if (!SHORTHANDS[lower]) {
      throw new CronError(`unknown shorthand "${word}" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`);
    }
    if (rest.length) throw new CronError(`unexpected "${rest.join(' ')}" after ${lower}`);
    text = SHORTHANDS[lower];
  }
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronError(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const sets = parts.map((part, i) => {
    const set = new Set();
    for (const item of part.split(',')) {
      if (item === '') fail(FIELDS[i], `empty item in list "${part}"`);
      parseItem(FIELDS[i], item, set);
    }
    return set;
  });
  if (sets[4].has(7)) sets[4].add(0);
  const s = {
    minutes: sets[0], hours: sets[1], days: sets[2], months: sets[3], weekdays: sets[4],
    daysStar: parts[2][0] === '*', weekdaysStar: parts[4][0] === '*',
  };
  if (s.daysStar || s.weekdaysStar) {
    let fits = false;
    for (let m = 1; m <= 12 && !fits; m += 1) {
      for (let d = 1; d <= MAX_DAYS[m] && !fits; d += 1) fits = s.months.has(m) && s.days.has(d);
    }
    if (!fits) throw new CronError('day-of-month: never matches in the chosen months');
  }
  return s;
}

// -- time zones ---------------------------------------------------------------

const MINUTE = 60000;
const DAY_MIN = 1440;
const formatters = new Map();

/** The zone's offset from UTC at instant `ms`, in milliseconds. */
export function zoneOffset(zone, ms) {
  if (!zone || zone === 'UTC' || zone === 'Etc/UTC') return 0;
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  const p = {};
  for (const part of f.formatToParts(new Date(ms))) p[part.type] = part.value;
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The instant of local wall-clock minute `local` (minutes since the
 * local epoch): its first occurrence, or the end of a gap that skips it. */
function toInstant(zone, local) {
  const wall = local * MINUTE;
  if (!zone || zone === 'UTC') return wall;
  const before = wall - zoneOffset(zone, wall - DAY_MIN * MINUTE);
  const after = wall - zoneOffset(zone, wall + DAY_MIN * MINUTE);
  const fits = [before, after].filter((t) => t + zoneOffset(zone, t) === wall);
  if (fits.length) return Math.min(...fits);
  // A gap: the transition lies between the two guesses.
  let lo = Math.min(before, after);
  let hi = Math.max(before, after);
  const loOffset = zoneOffset(zone, lo);
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
    if (zoneOffset(zone, mid) === loOffset) lo = mid;
    else hi = mid;
  }
  return hi;
}

// -- searching ----------------------------------------------------------------

function firstAtLeast(set, from, max) {
  for (let v = from; v <= max; v += 1) if (set.has(v)) return v;
  return -1;
}

function dayMatches(s, day, weekday) {
  const d = s.days.has(day);
  const w = s.weekdays.has(weekday);
  return s.daysStar || s.weekdaysStar ? d && w : d || w;
}

/** The first matching local minute in [from, limit), or null. */
function search(s, from, limit) {
  let m = from;
  while (m < limit) {
    const day = Math.floor(m / DAY_MIN);
    const date = new Date(day * DAY_MIN * MINUTE);
    const month = date.getUTCMonth() + 1;
    if (!s.months.has(month)) {
      m = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / MINUTE;
      continue;
    }
    if (!dayMatches(s, date.getUTCDate(), date.getUTCDay())) {
      m = (day + 1) * DAY_MIN;
      continue;
    }
    const ofDay = m - day * DAY_MIN;
    const hour = Math.floor(ofDay / 60);
    const h = firstAtLeast(s.hours, hour, 23);
    if (h < 0) {
      m = (day + 1) * DAY_MIN;
      continue;
    }
    const mi = firstAtLeast(s.minutes, h === hour ? ofDay % 60 : 0, 59);
    if (mi < 0) {
      m = day * DAY_MIN + (h + 1) * 60;
      continue;
    }
    const found = day * DAY_MIN + h * 60 + mi;
    return found < limit ? found : null;
  }
  return null;
}

/** The first run strictly after `afterMs` (Unix ms), or null. */
export function nextAfter(schedule, afterMs, zone = 'UTC') {
  const s = typeof schedule === 'string' ? parse(schedule) : schedule;
  let from = Math.floor((afterMs + zoneOffset(zone, afterMs)) / MINUTE) + 1;
  const limit = from + 50 * 366 * DAY_MIN;
  for (let found = search(s, from, limit); found !== null; found = search(s, from, limit)) {
    const ms = Math.ceil(toInstant(zone, found) / MINUTE) * MINUTE;
    if (ms > afterMs) return ms;
    from = found + 1; // a repeated local time, already past
  }
  return null;
}

/** The next `count` runs after `afterMs`, as Unix ms. */
export function nextRuns(expression, count = 5, afterMs = Date.now(), zone = 'UTC') {
  const s = parse(expression);
  const out = [];
  let after = afterMs;
  while (out.length < count) {
    const next = nextAfter(s, after, zone);
    if (next === null) break;
    out.push(next);
    after = next;
  }
  return out;
}

/** The browser's IANA time zone. */
export function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
