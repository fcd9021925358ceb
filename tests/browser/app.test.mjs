// The browser app end to end: the real nod-server, real headless Chromium
// (Debian's, driven by playwright-core) and test agents on real
// WebSockets. Every scenario runs at desktop size and at phone size, each
// size against its own server on a fresh data directory; screenshots of
// the main screens go to NOD_SCREENSHOTS_DIR (CTest: build/screenshots).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  ADMIN_PASSWORD, startServer, appClient, closedPort, TestAgent, launchBrowser, withPage, eventually,
} from './harness.mjs';

const SHOTS = process.env.NOD_SCREENSHOTS_DIR || join(tmpdir(), 'nod-screenshots');
mkdirSync(SHOTS, { recursive: true });

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844, mobile: true },
];

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

// Each scenario gets a minute at most; every wait inside has its own 10 s limit.
const it = (name, fn) => test(name, { timeout: 60000 }, fn);
const byId = (page, testid, attr, id) => page.locator(`[data-testid="${testid}"][${attr}="${id}"]`);

for (const vp of VIEWPORTS) {
  describe(`${vp.name} ${vp.width}×${vp.height}`, () => {
    let server;
    let api;
    const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${vp.name}-${name}.png`) });

    before(async () => {
      server = await startServer({
        // A failing webhook gives up within a second.
        NOD_WEBHOOK_BACKOFF: '100ms',
        NOD_WEBHOOK_BACKOFF_FACTOR: '2',
        NOD_WEBHOOK_TIMEOUT: '2s',
        // Its webhook points at a closed port on 127.0.0.1.
        NOD_WEBHOOK_ALLOWED_HOSTS: 'loopback',
      });
      api = await appClient(server.base);
    });
    after(async () => {
      if (!server) return;
      const code = await server.stop();
      assert.equal(code, 0, `nod-server did not exit cleanly:\n${server.output()}`);
    });

    const createAgent = (name, extra = {}) => api('POST', '/api/agents', { name, ...extra });
    const connect = (agent) => TestAgent.connect(server.base, agent.agent_id, agent.secret);
    /** An event sent over REST, as the quickstart's curl does (API.md A2). */
    const postEvent = (agentId, secret, event) => fetch(`${server.base}/api/agent/events`, {
      method: 'POST',
      headers: { 'X-Nod-Agent-Id': agentId, 'X-Nod-Secret': secret, 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
    });

    /** Opens the app and signs in as admin through the form. */
    async function signIn(page) {
      await page.goto(`${server.base}/`);
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('agent-list').waitFor({ state: 'attached' });
    }

    /** Same-document navigation: the app and its live socket stay. */
    const go = (page, hash) => page.evaluate((h) => { location.hash = h; }, hash);

    /** Opens an agent's page from the agent list, as a person would. */
    async function openAgent(page, id) {
      await go(page, '#/agents');
      await byId(page, 'agent-row', 'data-agent-id', id).click();
      await page.getByTestId('composer').or(page.getByTestId('approval-only')).waitFor();
    }

    const agentStatus = (page, text) => page.getByTestId('agent-status').filter({ hasText: new RegExp(`^${text}$`) });

    /** Whether anything on the page (text, markup, form values) contains `s`. */
    const pageContains = (page, s) => page.evaluate((needle) => document.documentElement.outerHTML.includes(needle)
      || document.body.innerText.includes(needle)
      || [...document.querySelectorAll('input, textarea')].some((i) => i.value.includes(needle)), s);

    it('sign in: a wrong password says so, the right one opens the app, sign out closes it', async () => {
      await withPage(browser, vp, async (page) => {
        await page.goto(`${server.base}/`);
        await page.getByTestId('login-form').waitFor();
        await shot(page, '1-signin');
        await page.getByTestId('login-username').fill('admin');
        await page.getByTestId('login-password').fill('not-the-password');
        await page.getByTestId('login-submit').click();
        await page.getByTestId('login-error').filter({ hasText: 'Wrong username or password.' }).waitFor();
        assert.equal(await page.getByTestId('login-password').inputValue(), '', 'the wrong password is cleared');

        await page.getByTestId('login-password').fill(ADMIN_PASSWORD);
        await page.getByTestId('login-submit').click();
        await page.getByTestId('agent-list').waitFor({ state: 'attached' });
        assert.equal(await page.getByTestId('username').textContent(), 'admin');
        await page.getByTestId('login-form').waitFor({ state: 'detached' });

        // The session survives a reload (HttpOnly cookie), and signing out ends it.
        await page.reload();
        await page.getByTestId('sign-out').click();
        await page.getByTestId('login-form').waitFor();
        await page.reload();
        await page.getByTestId('login-form').waitFor();
      });
    });

    it('create an agent: its secret is shown once, with a quickstart that works', async () => {
      await withPage(browser, vp, async (page) => {
        await signIn(page);
        await page.getByTestId('create-agent').click();
        await page.getByTestId('agent-name-input').fill('Release bot');
        await page.getByTestId('agent-description-input').fill('Builds, tests and ships releases.');
        await page.getByTestId('create-agent-submit').click();

        const dialog = page.getByTestId('secret-dialog');
        await dialog.waitFor();
        const agentId = await dialog.getByTestId('secret-agent-id').inputValue();
        const secret = await dialog.getByTestId('secret-value').inputValue();
        assert.match(agentId, /^agt_[0-9a-f]{16}$/);
        assert.match(secret, /^nod_[0-9a-f]{40}$/);
        assert.match(await dialog.getByTestId('secret-webhook').inputValue(), /^whsec_/);
        const curl = await dialog.getByTestId('secret-curl').textContent();
        assert.ok(curl.includes(`${server.base}/api/agent/events`), `the quickstart names this server: ${curl}`);
        assert.ok(curl.includes(agentId) && curl.includes(secret), curl);
        await dialog.getByTestId('secret-value-copy').waitFor();
        await dialog.getByTestId('secret-curl-copy').waitFor();
        await shot(page, 'secret');

        await dialog.getByTestId('secret-done').click();
        await dialog.waitFor({ state: 'detached' });
        assert.equal(await pageContains(page, secret), false, 'the secret is still on the page');

        // The quickstart as pasted into a terminal: its message shows in the chat.
        const res = await postEvent(agentId, secret, { type: 'message', text: 'Hello from my agent!' });
        assert.equal(res.status, 200, await res.text());
        await page.getByTestId('message-text').filter({ hasText: 'Hello from my agent!' }).waitFor();

        // Nowhere again: not after a reload, not in the agent's settings.
        await page.reload();
        await page.getByTestId('message-text').filter({ hasText: 'Hello from my agent!' }).waitFor();
        await page.getByTestId('tab-settings').click();
        await page.getByTestId('settings-agent-id').waitFor();
        await eventually(async () => (await page.getByTestId('webhook-secret').inputValue()).startsWith('whsec_'), { what: 'the webhook secret' });
        assert.equal(await page.getByTestId('settings-agent-id').inputValue(), agentId);
        assert.equal(await pageContains(page, secret), false, 'the secret is shown again');
      });
    });

    it('settings: rotating asks first, shows the new secret once and ends the old one; delete removes the agent', async () => {
      const created = await createAgent('Rotating agent');
      const hello = { type: 'message', text: 'still here' };
      await withPage(browser, vp, async (page) => {
        await signIn(page);
        await openAgent(page, created.agent_id);
        await page.getByTestId('tab-settings').click();
        await eventually(async () => (await page.getByTestId('webhook-secret').inputValue()).startsWith('whsec_'), { what: 'the webhook secret' });
        const webhookBefore = await page.getByTestId('webhook-secret').inputValue();

        // Cancel changes nothing.
        await page.getByTestId('rotate-webhook-secret').click();
        await page.getByTestId('confirm-no').click();
        await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
        assert.equal(await page.getByTestId('webhook-secret').inputValue(), webhookBefore);

        await page.getByTestId('rotate-webhook-secret').click();
        await page.getByTestId('confirm-yes').click();
        await eventually(async () => {
          const now = await page.getByTestId('webhook-secret').inputValue();
          return now.startsWith('whsec_') && now !== webhookBefore;
        }, { what: 'a new webhook secret' });

        await page.getByTestId('rotate-secret').click();
        await page.getByTestId('confirm-yes').click();
        const dialog = page.getByTestId('secret-dialog');
        await dialog.waitFor();
        const secret = await dialog.getByTestId('secret-value').inputValue();
        assert.match(secret, /^nod_[0-9a-f]{40}$/);
        assert.notEqual(secret, created.secret);
        await dialog.getByTestId('secret-done').click();
        await dialog.waitFor({ state: 'detached' });
        assert.equal((await postEvent(created.agent_id, created.secret, hello)).status, 401, 'the old secret still works');
        assert.equal((await postEvent(created.agent_id, secret, hello)).status, 200, 'the new secret does not work');

        await page.getByTestId('delete-agent').click();
        await page.getByTestId('confirm-yes').click();
        await page.getByTestId('agent-list').waitFor({ state: 'attached' });
        await byId(page, 'agent-row', 'data-agent-id', created.agent_id).waitFor({ state: 'detached' });
        assert.equal((await postEvent(created.agent_id, secret, hello)).status, 401, 'a deleted agent is still accepted');
      });
    });

    it('a test agent: messages, decisions and status appear live; answers and replies reach it', async () => {
      const created = await createAgent('Deploy agent', { description: 'Deploys to staging and production.' });
      await withPage(browser, vp, async (page) => {
        await signIn(page);
        await openAgent(page, created.id);
        await agentStatus(page, 'Offline').waitFor();
        await page.evaluate(() => { window.__sameDocument = true; });

        const agent = await connect(created);
        try {
          // Online follows the socket, at once.
          await agentStatus(page, 'Online').waitFor();
          if (vp.name === 'desktop') await byId(page, 'agent-row', 'data-agent-id', created.id).and(page.locator('[data-online="true"]')).waitFor();

          const { conversation_id } = await agent.send({
            type: 'message', text: 'Build **1.4.2** passed all 312 tests.\n\n- changelog ready\n- artifacts signed',
          });
          const first = page.getByTestId('message-text').filter({ hasText: 'Build 1.4.2 passed all 312 tests.' });
          await first.waitFor();
          assert.equal(await first.locator('strong').textContent(), '1.4.2', 'markdown is rendered');

          await agent.send({ type: 'processing_start', conversation_id, status_text: 'Checking the release notes' });
          await page.getByTestId('processing-indicator').filter({ hasText: 'Thinking… Checking the release notes' }).waitFor();

          const ask = (d) => agent.send({ type: 'decision', conversation_id, ...d }).then((r) => r.decision_id);
          const approval = await ask({ kind: 'approval', title: 'Deploy 1.4.2 to production?', description: 'All checks are green.' });
          const choice = await ask({ kind: 'choice', title: 'Which region first?', options: ['eu-west', 'us-east', 'ap-south'] });
          const question = await ask({ kind: 'question', title: 'Anything to add to the release notes?' });
          const permission = await ask({
            kind: 'permission', title: 'Run `kubectl rollout restart deploy/api`?',
            always_allow_options: [{ pattern: 'kubectl rollout *', label: 'kubectl rollout' }],
          });
          const card = (id) => byId(page, 'decision-card', 'data-decision-id', id);
          for (const [id, kind] of [[approval, 'approval'], [choice, 'choice'], [question, 'question'], [permission, 'permission']]) {
            await card(id).and(page.locator(`[data-kind="${kind}"][data-status="pending"]`)).waitFor();
          }
          await card(choice).getByTestId('decision-option').filter({ hasText: 'us-east' }).waitFor();
          await card(permission).getByTestId('decision-always').filter({ hasText: 'Always allow: kubectl rollout' }).waitFor();
          await card(permission).scrollIntoViewIfNeeded();
          await shot(page, '3-chat');

          // Approving sends decision_resolved to this agent's socket.
          await card(approval).getByTestId('decision-approve').click();
          const approved = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === approval);
          assert.equal(approved.status, 'approved');
          assert.equal(approved.conversation_id, conversation_id);
          assert.match(approved.event_id, /^evt_/);
          await card(approval).getByTestId('decision-resolution').filter({ hasText: 'Approved' }).waitFor();

          await card(choice).getByTestId('decision-option').filter({ hasText: 'us-east' }).click();
          const chosen = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === choice);
          assert.deepEqual([chosen.status, chosen.note], ['responded', 'us-east']);

          await card(question).getByTestId('decision-answer').fill('Mention the faster cold start.');
          await card(question).getByTestId('decision-answer').press('Enter');
          const answered = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === question);
          assert.deepEqual([answered.status, answered.note], ['responded', 'Mention the faster cold start.']);

          await card(permission).getByTestId('decision-always').click();
          const allowed = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === permission);
          assert.deepEqual([allowed.status, allowed.always_allow, allowed.always_allow_pattern], ['approved', true, 'kubectl rollout *']);
          await card(permission).getByTestId('decision-resolution').filter({ hasText: 'always: kubectl rollout *' }).waitFor();

          // A reply typed in the composer (Enter sends) reaches the agent as user_message.
          const input = page.getByTestId('composer-input');
          await input.fill('Ship it, and post the notes in #releases.');
          await input.press('Enter');
          const reply = await agent.next((f) => f.type === 'user_message');
          assert.equal(reply.text, 'Ship it, and post the notes in #releases.');
          assert.equal(reply.conversation_id, conversation_id);
          assert.equal(reply.sender_name, 'admin');
          await page.locator('[data-testid="message"][data-role="user"]').filter({ hasText: 'Ship it, and post the notes' }).waitFor();
          assert.equal(await input.inputValue(), '', 'the composer is cleared');

          // An image attached in the composer reaches the agent as image_url(s),
          // which it can fetch with its own credentials.
          const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
          await page.getByTestId('composer-image').setInputFiles({ name: 'chart.png', mimeType: 'image/png', buffer: png });
          await page.getByTestId('attachment-chip').filter({ hasText: 'chart.png' }).waitFor();
          await input.fill('This chart');
          await input.press('Enter');
          const pictured = await agent.next((f) => f.type === 'user_message' && f.image_url);
          assert.equal(pictured.text, 'This chart');
          assert.deepEqual(pictured.image_urls, [pictured.image_url]);
          const fetched = await fetch(new URL(new URL(pictured.image_url, server.base).pathname, server.base),
            { headers: { 'X-Nod-Agent-Id': created.agent_id, 'X-Nod-Secret': created.secret } });
          assert.equal(fetched.status, 200);
          assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), png);
          await page.locator('[data-testid="message"][data-role="user"]').filter({ hasText: 'This chart' })
            .getByTestId('message-image').waitFor();
          await page.getByTestId('attachment-chip').waitFor({ state: 'hidden' });
        } finally {
          await agent.close();
        }
        // Offline follows the socket too, and a gone agent is no longer thinking.
        await agentStatus(page, 'Offline').waitFor();
        await page.getByTestId('processing-indicator').waitFor({ state: 'hidden' });
        assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
      });
      // The server keeps an offline agent "processing" until it says stop
      // (or 30 s pass): say it, so later screens do not show it thinking.
      const res = await postEvent(created.agent_id, created.secret, { type: 'processing_stop' });
      assert.equal(res.status, 200);
    });

    it('the requests inbox: decisions arrive live and are answered there', async () => {
      const created = await createAgent('Support triage', { type: 'approval_only' });
      const agent = await connect(created);
      try {
        await withPage(browser, vp, async (page) => {
          await signIn(page);
          await page.getByTestId('nav-requests').click();
          await page.getByTestId('inbox-list').waitFor();

          const ask = (d) => agent.send({ type: 'decision', ...d }).then((r) => r.decision_id);
          const refund = await ask({ kind: 'approval', title: 'Refund order #10432 (€89)?', description: 'The parcel was lost in transit.' });
          const tone = await ask({ kind: 'choice', title: 'Reply tone for ticket #771?', options: ['Formal', 'Friendly'] });
          const question = await ask({ kind: 'question', title: 'Which plan does ACME Corp have?', expires_in: 3600 });
          const card = (id) => byId(page, 'decision-card', 'data-decision-id', id);
          for (const id of [refund, tone, question]) await card(id).waitFor();
          await card(question).getByTestId('decision-expiry').filter({ hasText: /^Expires in/ }).waitFor();
          await page.getByTestId('requests-badge').filter({ hasText: /^[1-9]/ }).waitFor();
          await shot(page, '4-requests');

          await card(refund).getByTestId('decision-note').fill('Refund and send a voucher.');
          await card(refund).getByTestId('decision-reject').click();
          const rejected = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === refund);
          assert.deepEqual([rejected.status, rejected.note], ['rejected', 'Refund and send a voucher.']);
          await card(refund).getByTestId('decision-resolution').filter({ hasText: 'Rejected' }).waitFor();

          await card(tone).getByTestId('decision-dismiss').click();
          const dismissed = await agent.next((f) => f.type === 'decision_resolved' && f.decision_id === tone);
          assert.equal(dismissed.status, 'dismissed');
          await card(tone).getByTestId('decision-resolution').filter({ hasText: 'Dismissed' }).waitFor();
        });
      } finally {
        await agent.close();
      }
    });

    it('an event task: created in the Tasks UI, its trigger URL wakes the agent with task_trigger', async () => {
      const created = await createAgent('Invoice agent');
      const agent = await connect(created);
      try {
        await withPage(browser, vp, async (page) => {
          await signIn(page);
          await page.getByTestId('nav-tasks').click();
          await page.getByTestId('create-task').click();
          const dialog = page.getByTestId('task-dialog');
          await dialog.getByTestId('task-agent').selectOption(created.id);
          await dialog.getByTestId('task-name').fill('New invoice');
          await dialog.getByTestId('task-prompt').fill('File the invoice in the payload and tell me the total.');
          await dialog.getByTestId('task-kind-event').check();
          await dialog.getByTestId('task-submit').click();
          await dialog.waitFor({ state: 'detached' });

          const row = page.getByTestId('task-row').filter({ hasText: 'New invoice' });
          const url = await row.getByTestId('trigger-url').inputValue();
          assert.match(url, new RegExp(`^${server.base.replace(/\./g, '\\.')}/webhook/trg_[0-9a-f]{32,}$`));
          assert.ok((await row.getByTestId('trigger-curl').textContent()).includes(url));
          await shot(page, '5-tasks');

          // Called like curl would: a JSON POST without credentials.
          const res = await fetch(url, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ invoice: 'INV-2041', total: 1280.5 }),
          });
          assert.equal(res.status, 202);
          const accepted = await res.json();
          assert.equal(accepted.status, 'accepted');
          const trigger = await agent.next((f) => f.type === 'task_trigger');
          assert.equal(trigger.task_name, 'New invoice');
          assert.equal(trigger.run_id, accepted.run_id);
          assert.deepEqual(trigger.payload, { invoice: 'INV-2041', total: 1280.5 });

          // The run shows under the task, with its payload.
          await row.getByTestId('task-runs-toggle').click();
          const run = byId(page, 'run-row', 'data-run-id', accepted.run_id);
          await run.getByTestId('run-payload').filter({ hasText: 'INV-2041' }).waitFor();
        });
      } finally {
        await agent.close();
      }
    });

    it('a failing webhook: every attempt shows on the Deliveries view', async () => {
      const created = await createAgent('Webhook agent', { webhook_url: `http://127.0.0.1:${await closedPort()}/nod` });
      await withPage(browser, vp, async (page) => {
        await signIn(page);
        await openAgent(page, created.id);
        await page.getByTestId('composer-input').fill('Are you there?');
        await page.getByTestId('composer-input').press('Enter');
        await page.locator('[data-testid="message"][data-role="user"]').waitFor();

        if (vp.name === 'desktop') {
          // The agent list counts what has not reached the agent.
          await byId(page, 'agent-row', 'data-agent-id', created.id).getByTestId('agent-undelivered').waitFor();
        }
        await page.getByTestId('tab-deliveries').click();
        const row = page.locator('[data-testid="delivery-row"][data-state="pending"]');
        await row.waitFor();
        await eventually(async () => (await row.locator('[data-testid="delivery-attempt"].failed').count()) === 3,
          { what: 'three failed attempts' });
        assert.equal(await row.locator('.delivery-type').textContent(), 'user_message');
        const attempts = await row.getByTestId('delivery-attempt').allInnerTexts();
        for (const a of attempts) assert.match(a, /Webhook/);
        assert.match(attempts.join('\n'), /retry 0/);
        assert.match(attempts.join('\n'), /retry 2/);
        await row.getByTestId('delivery-state').filter({ hasText: 'Pending' }).waitFor();
        await shot(page, '6-deliveries');
      });
    });

    it('an event pushed to an agent that acks shows as sent until its ack', async () => {
      const created = await createAgent('Acking agent');
      const agent = await TestAgent.connect(server.base, created.agent_id, created.secret, { acks: true });
      try {
        await withPage(browser, vp, async (page) => {
          await signIn(page);
          await openAgent(page, created.id);
          await page.getByTestId('composer-input').fill('Ack this when done');
          await page.getByTestId('composer-input').press('Enter');
          const event = await agent.next((f) => f.type === 'user_message');
          await page.getByTestId('tab-deliveries').click();
          const row = byId(page, 'delivery-row', 'data-event-id', event.event_id);
          await row.and(page.locator('[data-state="sent"]')).filter({ hasText: "waiting for the agent's ack" }).waitFor();
          assert.equal(await row.getByTestId('delivery-state').textContent(), 'Sent');
          agent.ws.send(JSON.stringify({ type: 'ack', seq: event.seq }));
          // The app hears the change live.
          await row.and(page.locator('[data-state="delivered"]')).filter({ hasText: 'Delivered over WebSocket' }).waitFor();
        });
      } finally {
        await agent.close();
      }
    });

    it("an agent's <script> is shown as text and never runs", async () => {
      const created = await createAgent('Untrusted agent');
      const evil = '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> [link](javascript:window.__pwned=3)';
      // One message before the page opens (REST history), one while it is open (live).
      const res = await postEvent(created.agent_id, created.secret, { type: 'message', text: `history: ${evil}` });
      assert.equal(res.status, 200);
      const agent = await connect(created);
      try {
        await withPage(browser, vp, async (page) => {
          await signIn(page);
          await openAgent(page, created.id);
          await page.getByTestId('message-text').filter({ hasText: 'history: <script>window.__pwned = 1</script>' }).waitFor();
          await agent.send({ type: 'message', text: `live: ${evil}` });
          await page.getByTestId('message-text').filter({ hasText: 'live: <script>window.__pwned = 1</script>' }).waitFor();
          const list = page.getByTestId('message-list');
          assert.equal(await list.locator('script, img, iframe, [onerror]').count(), 0, 'agent text became markup');
          assert.equal(await list.locator('a[href^="javascript:"]').count(), 0, 'a javascript: link');
          assert.equal(await page.evaluate(() => window.__pwned), undefined, 'the agent\'s script ran');
        });
      } finally {
        await agent.close();
      }
    });

    it('the agent list: each agent with its state and pending requests', async () => {
      const created = await createAgent('Research agent');
      const agent = await connect(created);
      try {
        await agent.send({ type: 'processing_start', status_text: 'Summarising 12 papers' });
        await agent.send({ type: 'decision', kind: 'approval', title: 'Email the summary to the team?' });
        await withPage(browser, vp, async (page) => {
          await signIn(page);
          const row = byId(page, 'agent-row', 'data-agent-id', created.id);
          await row.getByTestId('agent-thinking').filter({ hasText: 'Thinking… Summarising 12 papers' }).waitFor();
          await row.getByTestId('agent-pending').filter({ hasText: /^1$/ }).waitFor();
          await row.and(page.locator('[data-online="true"]')).waitFor();
          await shot(page, '2-agents');
          await agent.send({ type: 'processing_stop' });
          await row.getByTestId('agent-thinking').waitFor({ state: 'detached' });
          await row.filter({ hasText: 'Online' }).waitFor();
        });
      } finally {
        await agent.close();
      }
    });
  });
}
