// Drives the web console of a running `deskpipe serve` in Debian's headless Chromium, as a person would:
// sign in with the admin token, start a sync of TENANT, watch the progress bar reach 100 % and the state
// "succeeded" (fed by the SSE stream), search, and save a full-page screenshot. Exits 1 with one clear
// line on the first failure.
//
// env: SERVER_URL (http://127.0.0.1:PORT), ADMIN_TOKEN, EMULATOR_URL (the Freshdesk emulator, started with
//      --api-key any), TENANT (default "acme"), SCREENSHOT (default console.png), QUERY (default "password"),
//      CHROMIUM (default /usr/bin/chromium), TIMEOUT_SECONDS (default 120)
import puppeteer from 'puppeteer-core';

// Every failure goes through fail(): one line on stderr, exit status 1, the browser closed on the way out.
class Failure extends Error {}
function fail(message) {
  throw new Failure(message);
}
const log = (message) => console.log(`console_test: ${message}`);
function env(name, fallback) {
  const value = process.env[name] || fallback;
  if (value === undefined) fail(`${name} is not set`);
  return value;
}

let browser;
try {
  await main();
  log('ok');
} catch (error) {
  console.error(`console_test: FAILED: ${error instanceof Failure ? error.message : error.stack}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
}

async function main() {
  const server = env('SERVER_URL').replace(/\/$/, '');
  const adminToken = env('ADMIN_TOKEN');
  const emulator = env('EMULATOR_URL');
  const tenant = env('TENANT', 'acme');
  const screenshot = env('SCREENSHOT', 'console.png');
  const query = env('QUERY', 'password');
  const timeoutMs = Number(env('TIMEOUT_SECONDS', '120')) * 1000;

  // 1. The tenant, pointed at the emulator (through the API: the page has no tenant form).
  const put = await fetch(`${server}/api/tenants/${tenant}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ platform: 'freshdesk', base_url: emulator, api_key: 'any', mode: 'hybrid',
                           schedule_seconds: 0 }),
  }).catch((error) => fail(`PUT /api/tenants/${tenant}: ${error.message}`));
  if (!put.ok) fail(`PUT /api/tenants/${tenant} answered ${put.status}: ${await put.text()}`);
  log(`tenant ${tenant} registered (${put.status})`);

  // 2. The browser. Chromium's sandbox needs an unprivileged user; as root (CI) it must be turned off.
  // headless: true is Chromium's new headless mode (--headless=new): the real browser without a window.
  const args = ['--disable-gpu', '--disable-dev-shm-usage'];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  browser = await puppeteer.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium'), headless: true, args,
                                     defaultViewport: { width: 1200, height: 900 } })
    .catch((error) => fail(`could not launch Chromium: ${error.message}`));
  const page = await browser.newPage();
  page.setDefaultTimeout(timeoutMs);
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => { if (message.type() === 'error') log(`browser console: ${message.text()}`); });
  // The token may appear in a URL only as the event stream's access_token (EventSource cannot send headers).
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.url().includes(adminToken) && url.pathname !== '/api/ingest/events') {
      problems.push(`the token was sent in a URL: ${url.pathname}`);
    }
  });
  const errorLine = () => page.$eval('#error', (node) => node.textContent);

  // 3. Sign in.
  const response = await page.goto(`${server}/`, { waitUntil: 'load' });
  if (!response || !response.ok()) fail(`GET / answered ${response && response.status()}`);
  await page.waitForSelector('#token', { visible: true });
  await page.type('#token', adminToken);
  await page.click('#sign-in');
  const card = `[data-tenant="${tenant}"]`;
  await page.waitForSelector(`${card} .start:not([disabled])`, { visible: true, timeout: 15000 })
    .catch(async () => fail(`no tenant card for ${tenant} after signing in (page says: "${await errorLine()}")`));
  log(`signed in as ${await page.$eval('#whoami', (node) => node.textContent)}`);

  // 4. Start a sync and follow the card until the job ends, logging each change of what it shows.
  await page.click(`${card} .start`);
  const read = () => page.$eval(card, (node) => ({
    state: node.querySelector('.state').textContent,
    value: node.querySelector('.progress-bar').getAttribute('aria-valuenow'),
    text: [...node.querySelectorAll('.progress-bar .label, .counts, .eta')].map((n) => n.textContent).join(' | '),
  }));
  const deadline = Date.now() + timeoutMs;
  const seen = new Set();
  let shown = '', now;
  for (;;) {
    now = await read();
    const error = await errorLine();
    if (error) fail(`the page shows an error: ${error}`);
    if (`${now.state} ${now.text}` !== shown) log(`  ${now.state}: ${now.text}`);
    shown = `${now.state} ${now.text}`;
    if (now.state === 'running' && now.value !== null) seen.add(now.value);
    if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(now.state)) break;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs / 1000} s; the job shows "${shown}"`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (now.state !== 'succeeded') {
    fail(`the job ended ${now.state}: ${await page.$eval(`${card} .last-error`, (node) => node.textContent)}`);
  }
  if (now.value !== '100') fail(`the job succeeded but the bar reads ${now.value} %`);
  log(`job succeeded; the bar showed ${seen.size} distinct values while running`);
  await page.waitForSelector(`${card} .jobs tbody tr[data-task-id] .state[data-state="succeeded"]`, { timeout: 10000 })
    .catch(() => fail('the recent jobs table does not list the succeeded job'));

  // 5. Search.
  await page.select('#search-tenant', tenant);
  await page.type('#search-q', query);
  await page.click('#search-go');
  await page.waitForSelector('#search-results .hit', { timeout: 30000 }).catch(async () =>
    fail(`no .hit for "${query}" (${await page.$eval('#search-status', (n) => n.textContent)} ${await errorLine()})`));
  const hits = await page.$$eval('#search-results .hit', (nodes) => nodes.map((node) => ({
    title: node.querySelector('.hit-title').textContent, href: node.querySelector('a.hit-title')?.href,
  })));
  log(`search "${query}": ${hits.length} hits; first: ${hits[0].title} -> ${hits[0].href ?? '(no link)'}`);

  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot: ${screenshot}`);
  if (problems.length) fail(problems.join('; '));
}
