// Renders the app's icons (web/icons/*.png) from web/favicon.svg in headless
// Chromium: `node scripts/make_icons.mjs` (needs tests/browser's npm
// packages). The maskable icon keeps the mark inside the middle 80 %, on a
// full-bleed background, as Android crops it to any shape.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(`${root}tests/browser/package.json`);
const { chromium } = require('playwright-core');
const svg = readFileSync(`${root}web/favicon.svg`, 'utf8');
const mark = svg.replace(/<rect[^>]*\/>/, ''); // the letter alone, for the maskable icon

const icons = [
  { file: 'icon-180.png', size: 180, maskable: false },
  { file: 'icon-192.png', size: 192, maskable: false },
  { file: 'icon-512.png', size: 512, maskable: false },
  { file: 'icon-maskable-512.png', size: 512, maskable: true },
];

const browser = await chromium.launch({ executablePath: process.env.NOD_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
for (const { file, size, maskable } of icons) {
  await page.setViewportSize({ width: size, height: size });
  const body = maskable
    ? `<div style="width:${size}px;height:${size}px;background:#2f5bd3;display:flex;align-items:center;justify-content:center">
         <div style="width:${size * 0.8}px;height:${size * 0.8}px">${mark.replace('<svg ', '<svg width="100%" height="100%" ')}</div></div>`
    : svg.replace('<svg ', `<svg width="${size}" height="${size}" `);
  await page.setContent(`<html><body style="margin:0;background:transparent">${body}</body></html>`);
  await page.screenshot({ path: `${root}web/icons/${file}`, omitBackground: true });
}
await browser.close();
