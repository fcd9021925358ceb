import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, nextRuns, nextAfter, zoneOffset, CronError } from '../../web/js/cron.js';

// The cases the server's evaluator is tested on too (tests/protocol/cron_test.cpp).
const CASES = JSON.parse(readFileSync(new URL('../fixtures/cron_cases.json', import.meta.url), 'utf8'));
const shared = (cases) => cases.filter((c) => c.only !== 'server');

const at = (iso) => Date.parse(iso);
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

test('the shared cases are there', () => {
  assert.ok(shared(CASES.errors).length > 50);
  assert.ok(shared(CASES.runs).length > 100);
});

test('shared cases: firings, strictly after the start, in time zones', () => {
  for (const c of shared(CASES.runs)) {
    const got = nextRuns(c.expr, c.runs.length, at(c.after), c.zone || 'UTC').map(iso);
    assert.deepEqual(got, c.runs, `${c.expr} in ${c.zone || 'UTC'} after ${c.after}`);
  }
});

test('shared cases: errors name the field, like the server', () => {
  for (const c of shared(CASES.errors)) {
    assert.throws(() => parse(c.expr), (e) => e instanceof CronError && e.message === c.error, JSON.stringify(c.expr));
  }
});

test('time zone offsets', () => {
  assert.equal(zoneOffset('Europe/Berlin', at('2026-01-15T12:00:00Z')), 3600000);
  assert.equal(zoneOffset('Europe/Berlin', at('2026-07-15T12:00:00Z')), 7200000);
  assert.equal(zoneOffset('UTC', at('2026-07-15T12:00:00Z')), 0);
});

test('nextAfter returns null for nothing and accepts a parsed schedule', () => {
  const s = parse('0 0 1 1 *');
  assert.equal(iso(nextAfter(s, at('2026-05-05T00:00:00Z'))), '2027-01-01T00:00:00Z');
});
