// The email channel (issue #19) against the real nod-server and a local
// SMTP server (tests/support/smtp_sink.py on Debian's python3-aiosmtpd):
// STARTTLS and AUTH PLAIN required, the message carries the link to the
// card; a refused recipient shows as the channel's last error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { appClient, eventually, startServer } from './harness.mjs';

const SINK = fileURLToPath(new URL('../support/smtp_sink.py', import.meta.url));
let sink;
let server;
let api;
const mails = [];

before(async () => {
  sink = spawn('/usr/bin/python3', ['-u', SINK], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smtp sink did not start: ${out}`)), 20000);
    sink.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      for (;;) {
        const nl = out.indexOf('\n');
        if (nl < 0) break;
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const m = /^listening (\d+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]); } else if (line.startsWith('{')) mails.push(JSON.parse(line));
      }
    });
    sink.on('exit', (code) => reject(new Error(`smtp sink exited with ${code}`)));
  });
  server = await startServer({
    NOD_SMTP_HOST: '127.0.0.1', NOD_SMTP_PORT: port, NOD_SMTP_TLS: 'starttls', NOD_SMTP_TLS_VERIFY: 'false',
    NOD_SMTP_USER: 'nod', NOD_SMTP_PASSWORD: 'smtp-pw', NOD_SMTP_FROM: 'Nod <nod@example.com>',
    NOD_PUBLIC_URL: 'https://nod.example.com',
  });
  api = await appClient(server.base);
});
after(async () => {
  await server?.stop();
  sink?.stdin.end();
  sink?.kill();
});

const body = (mail) => Buffer.from(mail.data.split('\r\n\r\n')[1].replace(/\r\n/g, ''), 'base64').toString('utf8');
const header = (mail, name) => new RegExp(`^${name}: (.*)$`, 'mi').exec(mail.data)?.[1];

test('a new request arrives by email over STARTTLS with AUTH, linking to the card', async () => {
  await api('PATCH', '/api/notifications', { channels: { email: { to: 'alice@example.com' } } });
  assert.deepEqual(await api('POST', '/api/notifications/email/test'), { channel: 'email', ok: true, error: null });
  const test = await eventually(() => mails[0], { what: 'the test email' });
  assert.equal(test.tls, true);
  assert.equal(test.auth, true);
  assert.equal(test.from, 'nod@example.com');
  assert.deepEqual(test.to, ['alice@example.com']);

  const a = await api('POST', '/api/agents', { name: 'büro-bot' });
  const res = await fetch(`${server.base}/api/agent/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Nod-Agent-Id': a.id, 'X-Nod-Secret': a.secret },
    body: JSON.stringify({ type: 'decision', kind: 'approval', title: 'Überweisung freigeben?', description: '1.200 € an Lieferant' }),
  });
  const { decision_id } = await res.json();
  const mail = await eventually(() => mails.find((m) => m.data.includes('=?UTF-8?B?')), { what: 'the request email' });
  assert.equal(header(mail, 'From'), 'Nod <nod@example.com>');
  assert.equal(header(mail, 'To'), 'alice@example.com');
  const subject = header(mail, 'Subject');
  assert.equal(Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(subject)[1], 'base64').toString('utf8'), '[Nod] büro-bot asks: Überweisung freigeben?');
  const text = body(mail);
  assert.match(text, /1\.200 € an Lieferant/);
  assert.ok(text.includes(`https://nod.example.com/#/decisions/${decision_id}`), text);
  assert.ok(header(mail, 'Message-ID').endsWith('@nod-server>'));
});

test('a refused recipient is the channel’s last error', async () => {
  await api('PATCH', '/api/notifications', { channels: { email: { to: 'nobody@example.com' } } });
  const r = await api('POST', '/api/notifications/email/test');
  assert.equal(r.ok, false);
  assert.match(r.error, /SMTP 550 after RCPT TO: 5\.1\.1 no such user here/);
  const s = await api('GET', '/api/notifications');
  assert.match(s.channel_status.email.last_error, /550/);
});
