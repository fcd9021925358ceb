import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, nextRuns, nextAfter, zoneOffset, CronError } from '../../web/js/cron.js';

const at = (iso) => Date.parse(iso);
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const runs = (expr, from, n = 5, zone = 'UTC') => nextRuns(expr, n, at(from), zone).map(iso);

test('every 15 minutes, strictly after the start', () => {
  assert.deepEqual(runs('*/15 * * * *', '2026-01-01T10:00:00Z'),
    ['2026-01-01T10:15:00Z', '2026-01-01T10:30:00Z', '2026-01-01T10:45:00Z', '2026-01-01T11:00:00Z', '2026-01-01T11:15:00Z']);
  assert.deepEqual(runs('*/15 * * * *', '2026-01-01T10:00:30Z', 1), ['2026-01-01T10:15:00Z']);
});

test('lists, ranges, steps and names', () => {
  assert.deepEqual(runs('0 9 * * MON-FRI', '2026-03-06T12:00:00Z', 3), // a Friday
    ['2026-03-09T09:00:00Z', '2026-03-10T09:00:00Z', '2026-03-11T09:00:00Z']);
  assert.deepEqual(runs('5/20 8,20 * * *', '2026-03-06T00:00:00Z', 4),
    ['2026-03-06T08:05:00Z', '2026-03-06T08:25:00Z', '2026-03-06T08:45:00Z', '2026-03-06T20:05:00Z']);
  assert.deepEqual(runs('10-30/10 0 1 jan,Jul *', '2026-02-01T00:00:00Z', 4),
    ['2026-07-01T00:10:00Z', '2026-07-01T00:20:00Z', '2026-07-01T00:30:00Z', '2027-01-01T00:10:00Z']);
  assert.deepEqual(runs('0 0 * * 7', '2026-03-06T00:00:00Z', 1), ['2026-03-08T00:00:00Z']); // Sunday
});

test('both day fields restricted: either matches (Vixie)', () => {
  // the 13th and every Friday
  assert.deepEqual(runs('0 0 13 * 5', '2026-03-01T00:00:00Z', 4),
    ['2026-03-06T00:00:00Z', '2026-03-13T00:00:00Z', '2026-03-20T00:00:00Z', '2026-03-27T00:00:00Z']);
  // one starts with '*': both must match
  assert.deepEqual(runs('0 0 13 * *', '2026-03-01T00:00:00Z', 2), ['2026-03-13T00:00:00Z', '2026-04-13T00:00:00Z']);
  assert.deepEqual(runs('0 0 */10 * 1', '2026-03-01T00:00:00Z', 2), ['2026-05-11T00:00:00Z', '2026-06-01T00:00:00Z']);
});

test('shorthands', () => {
  assert.deepEqual(runs('@daily', '2026-03-06T12:00:00Z', 2), ['2026-03-07T00:00:00Z', '2026-03-08T00:00:00Z']);
  assert.deepEqual(runs('@hourly', '2026-03-06T12:00:00Z', 1), ['2026-03-06T13:00:00Z']);
  assert.deepEqual(runs('@weekly', '2026-03-06T12:00:00Z', 1), ['2026-03-08T00:00:00Z']);
  assert.deepEqual(runs('@MONTHLY', '2026-03-06T12:00:00Z', 1), ['2026-04-01T00:00:00Z']);
  assert.deepEqual(runs('@yearly', '2026-03-06T12:00:00Z', 1), ['2027-01-01T00:00:00Z']);
  assert.deepEqual(runs('@annually', '2026-03-06T12:00:00Z', 1), ['2027-01-01T00:00:00Z']);
});

test('leap days', () => {
  assert.deepEqual(runs('0 12 29 2 *', '2026-01-01T00:00:00Z', 2), ['2028-02-29T12:00:00Z', '2032-02-29T12:00:00Z']);
});

test('errors name the field, like the server', () => {
  const cases = {
    '61 * * * *': 'minute: 61 is out of range 0-59',
    '* 24 * * *': 'hour: 24 is out of range 0-23',
    '* * 0 * *': 'day-of-month: 0 is out of range 1-31',
    '* * * 13 *': 'month: 13 is out of range 1-12',
    '* * * * 8': 'day-of-week: 8 is out of range 0-7',
    '* * * FOO *': 'month: unknown name "FOO"',
    '* * * * *,': 'day-of-week: empty item in list "*,"',
    '5-1 * * * *': 'minute: range "5-1" is reversed (start after end)',
    '*/0 * * * *': 'minute: step must be at least 1',
    '*/ * * * *': 'minute: missing a step after "/" in "*/"',
    '1x * * * *': 'minute: unexpected "x" in "1x"',
    'MON * * * *': 'minute: expected a number, got "MON"',
    '0 0 30 2 *': 'day-of-month: never matches in the chosen months',
    '* * * *': 'expected 5 fields (minute hour day-of-month month day-of-week), got 4',
    '@reboot': '@reboot is not supported',
    '@daily x': 'unexpected "x" after @daily',
  };
  for (const [expr, message] of Object.entries(cases)) {
    assert.throws(() => parse(expr), (e) => e instanceof CronError && e.message === message, expr);
  }
  assert.throws(() => parse('@often'), /unknown shorthand "@often"/);
});

test('time zones: offsets, DST gaps and overlaps', () => {
  assert.equal(zoneOffset('Europe/Berlin', at('2026-01-15T12:00:00Z')), 3600000);
  assert.equal(zoneOffset('Europe/Berlin', at('2026-07-15T12:00:00Z')), 7200000);
  assert.equal(zoneOffset('UTC', at('2026-07-15T12:00:00Z')), 0);
  assert.deepEqual(runs('0 9 * * *', '2026-03-27T12:00:00Z', 3, 'Europe/Berlin'),
    ['2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z', '2026-03-30T07:00:00Z']);
  // 02:30 does not exist on 2026-03-29 in Berlin: it fires when the gap ends (03:00 CEST)
  assert.deepEqual(runs('30 2 * * *', '2026-03-28T12:00:00Z', 2, 'Europe/Berlin'),
    ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z']);
  // 02:30 happens twice on 2026-10-25: first occurrence only (CEST, 00:30Z)
  assert.deepEqual(runs('30 2 * * *', '2026-10-24T12:00:00Z', 2, 'Europe/Berlin'),
    ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z']);
  assert.deepEqual(runs('0 12 * * *', '2026-06-01T00:00:00Z', 1, 'America/New_York'), ['2026-06-01T16:00:00Z']);
});

test('nextAfter returns null for nothing and accepts a parsed schedule', () => {
  const s = parse('0 0 1 1 *');
  assert.equal(iso(nextAfter(s, at('2026-05-05T00:00:00Z'))), '2027-01-01T00:00:00Z');
});
