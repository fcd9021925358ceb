// The notification screenshot of docs/notifications.md: headful Chromium
// under Xvfb (its own notification popups, no desktop needed), a push
// delivered through the DevTools protocol, the service worker's own push
// handler showing it, the screen captured with xwd.
//   apt-get install xvfb x11-apps imagemagick
//   Xvfb :99 -screen 0 1280x800x24 & DISPLAY=:99 \
//     NOD_SERVER_BINARY=build/app/nod-server node scripts/screenshot_notification.mjs
// writes docs/screenshots/notification-desktop.png.

import { ADMIN_PASSWORD, startServer } from '../tests/browser/harness.mjs';
import { createRequire } from 'node:module';
const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
import { execFileSync } from 'node:child_process';
const server = await startServer();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: false,
  args: ['--no-sandbox', '--disable-gpu', '--disable-features=NativeNotifications,SystemNotifications', '--window-size=900,700', '--window-position=0,0'] });
const context = await browser.newContext({ viewport: { width: 880, height: 560 } });
await context.grantPermissions(['notifications'], { origin: server.base });
await context.request.post(`${server.base}/api/auth/login`, { data: { username: 'admin', password: ADMIN_PASSWORD } });
const page = await context.newPage();
await page.goto(server.base + '/#/requests');
await page.evaluate(() => navigator.serviceWorker.ready);
const worker = context.serviceWorkers().at(-1);
// The push as a push service delivers it: the worker's own push handler shows it.
const cdp = await context.newCDPSession(page);
const regs = [];
cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations));
await cdp.send('ServiceWorker.enable');
await new Promise((r) => setTimeout(r, 500));
await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.base, registrationId: regs.find((r) => !r.isDeleted).registrationId,
  data: JSON.stringify({ type: 'decision', agent_name: 'deploy-bot', title: 'deploy-bot asks: Deploy v2 to production?',
    body: 'All checks green on main (4f2c9e1).', decision_id: 'dec_01a24d39c5330000', decision_kind: 'approval',
    url: '/#/decisions/dec_01a24d39c5330000', tag: 'dec_01a24d39c5330000', actions: true }) });
await new Promise((r) => setTimeout(r, 2500));
execFileSync('sh', ['-c', `xwd -root -silent -display ${process.env.DISPLAY} | convert xwd:- -crop 380x160+900+640 docs/screenshots/notification-desktop.png`]);
await browser.close(); await server.stop();
