// Drives the /dashboard page in headless Chromium (playwright-core over Debian's
// /usr/bin/chromium, no downloaded browser). Run by tests/tests/dashboard_page.rs, which
// ingests events when this script prints `ready`.
//
// Env: SERVER_URL, NOTEBOOK_ID, TEACHER_USERNAME, TEACHER_PASSWORD, SCREENSHOT, CHROMIUM.
// Prints one JSON line per phase: {"phase":"ready",…} then {"phase":"done",…}. Exits non-zero
// on any console error, failed request or page error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const server = env('SERVER_URL');
const notebookId = env('NOTEBOOK_ID');
const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
// A fresh profile per run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: { width: 1400, height: 1500 },
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Which operations the page ran, over HTTP and on its websocket.
  const operations = new Set();
  const record = (text) => {
    for (const match of String(text).matchAll(/(?:query|mutation|subscription)\s+(\w+)/g)) operations.add(match[1]);
  };
  page.on('request', (request) => record(request.postData() ?? ''));
  page.on('websocket', (socket) => socket.on('framesent', (frame) => record(frame.payload)));
  page.on('requestfailed', (request) => {
    // A CSV download aborted by the browser is not a failure; nothing else should fail.
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });

  await page.goto(`${server}/dashboard?notebook=${encodeURIComponent(notebookId)}&window=10080`);
  await page.getByLabel('Username').fill(env('TEACHER_USERNAME'));
  await page.getByLabel('Password').fill(env('TEACHER_PASSWORD'));
  await page.getByRole('button', { name: 'Log in' }).click();

  const total = page.locator('#total-executions');
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('#total-executions')?.textContent ?? ''), null, {
    timeout: 20_000,
  });
  const before = Number(await total.textContent());
  const notebookName = await page.locator('#notebook option:checked').textContent();
  // Survives only if the page is not reloaded.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  say({ phase: 'ready', executions: before, notebook: notebookName });

  await page.waitForFunction(
    (old) => {
      const text = document.querySelector('#total-executions')?.textContent ?? '';
      return /^\d+$/.test(text) && Number(text) !== old;
    },
    before,
    { timeout: 30_000 },
  );
  const after = Number(await total.textContent());
  const sameDocument = await page.evaluate(() => window.__sameDocument === true);
  const url = page.url();
  const connected = await page.locator('#connected-count').textContent();
  const tocRows = await page.locator('#toc li').count();
  const canvases = await page.locator('canvas').evaluateAll((all) => all.map((c) => c.width > 0 && c.height > 0));
  const status = await page.locator('#status').textContent();

  // Push the whole notebook to every connected student, then write to the connected one,
  // with the keyboard only.
  await page.locator('#push-cell').focus();
  await page.keyboard.press('Tab'); // the hint
  await page.keyboard.type('from the browser test');
  await page.locator('#push button[type="submit"]').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (document.querySelector('#push-result')?.textContent ?? '').startsWith('Pushed'), null, {
    timeout: 10_000,
  });
  const pushResult = await page.locator('#push-result').textContent();
  await page.locator('#chat-text').fill('hello from the page');
  await page.locator('#chat-text').press('Enter');
  await page.locator('#chat-log li.mine').waitFor({ timeout: 10_000 });
  await page.locator('#large-text').check();
  const largeUrl = page.url();
  await page.locator('#large-text').uncheck();
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  say({ phase: 'done', before, after, sameDocument, url, largeUrl, connected: Number(connected), tocRows, canvases, status, pushResult, operations: [...operations].sort(), problems });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
