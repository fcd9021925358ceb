// @ts-check
// Checks that a webhook request came from Nod server (API.md A7): the
// Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
// `webhook-signature`) or Nod's own (`X-Nod-Timestamp`, `X-Nod-Signature`),
// HMAC-SHA256 keyed with the bytes of the agent's `whsec_` secret, over the
// raw body exactly as received, and a timestamp close to now so that a
// captured request cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';

export class WebhookVerificationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** A header from a plain object (any case), a Headers object or a Map. */
function header(headers, name) {
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value = headers[key];
      return Array.isArray(value) ? value[0] : value;
    }
  }
  return undefined;
}

function keyOf(secret) {
  const encoded = String(secret).startsWith('whsec_') ? String(secret).slice(6) : String(secret);
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('the webhook secret is empty or not base64');
  return key;
}

function sameBytes(a, b) {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies one webhook request; returns the event it carries (parsed JSON).
 * Throws WebhookVerificationError when a signature is missing or wrong, or
 * the timestamp is further than `toleranceSeconds` from now.
 * @param {Record<string, string | string[] | undefined> | Headers} headers
 * @param {string | Buffer | Uint8Array} rawBody the body exactly as received (not re-serialised JSON)
 * @param {string} secret the agent's `whsec_…` webhook secret
 * @param {{toleranceSeconds?: number, now?: number}} [options]
 */
export function verifyWebhook(headers, rawBody, secret, { toleranceSeconds = 300, now = Date.now() / 1000 } = {}) {
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody);
  const key = keyOf(secret);
  const id = header(headers, 'webhook-id');
  const standard = header(headers, 'webhook-signature');
  let timestamp;
  if (standard !== undefined) {
    timestamp = header(headers, 'webhook-timestamp');
    if (!id || !timestamp) throw new WebhookVerificationError('webhook-id and webhook-timestamp are required');
    checkTimestamp(timestamp, toleranceSeconds, now);
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
    // A space-separated list of "v1,<base64>": any one may match (key rotation).
    const ok = standard
      .split(' ')
      .filter((s) => s.startsWith('v1,'))
      .some((s) => sameBytes(Buffer.from(s.slice(3), 'base64'), expected));
    if (!ok) throw new WebhookVerificationError('webhook-signature does not match the body');
  } else {
    const signature = header(headers, 'x-nod-signature');
    timestamp = header(headers, 'x-nod-timestamp');
    if (!signature || !timestamp)
      throw new WebhookVerificationError('no signature: neither webhook-signature nor X-Nod-Signature is present');
    checkTimestamp(timestamp, toleranceSeconds, now);
    const expected = createHmac('sha256', key).update(`${timestamp}.`).update(body).digest();
    const hex = signature.startsWith('sha256=') ? signature.slice(7) : '';
    if (!/^[0-9a-fA-F]{64}$/.test(hex) || !sameBytes(Buffer.from(hex, 'hex'), expected))
      throw new WebhookVerificationError('X-Nod-Signature does not match the body');
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
}

function checkTimestamp(value, tolerance, now) {
  if (!/^\d{1,12}$/.test(value)) throw new WebhookVerificationError('the timestamp is not Unix seconds');
  if (Math.abs(now - Number(value)) > tolerance)
    throw new WebhookVerificationError(`the timestamp is more than ${tolerance} s from now (a replay?)`);
}
