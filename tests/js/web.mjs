// End-to-end checks of the website in headless Chromium (Debian's, driven by playwright-core),
// with every request to anything but localhost blocked. Prints one JSON line per step; asks the
// Rust test to restart the server with {"restart": true}; ends with {"done": ...} or
// {"failed": reason} (exit status 1).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const base = args.base;
const expect = JSON.parse(args.expect);
const shots = args.shots;
mkdirSync(shots, { recursive: true });

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// JSON with sorted keys, to compare values whatever order their keys came in.
const canon = (v) => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x));
let browser;
async function fail(reason) {
  print({ failed: reason });
  await browser?.close().catch(() => {});
  // Exit once the reason is flushed to the pipe.
  process.stdout.write('', () => process.exit(1));
}
process.on('unhandledRejection', (e) => fail(String(e?.stack ?? e)));

async function graphql(query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${args.key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) await fail(`mutation failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}
const award = (telegramId, delta) =>
  graphql('mutation($t: String!, $d: Int!) { awardXp(user: {telegramId: $t}, delta: $d) { xp } }', { t: telegramId, d: delta });

browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

// Requests leaving localhost are blocked and remembered; page errors and console errors
// (CSP violations among them) fail the run.
const blocked = [];
const problems = [];
async function context(options) {
  const ctx = await browser.newContext(options);
  await ctx.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  return ctx;
}
const watched = new WeakSet();
async function open(ctx, path) {
  const page = await ctx.newPage();
  watched.add(page);
  page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`.slice(0, 300)));
  page.on('console', (m) => {
    // Refused websocket connections while the server restarts are expected.
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) {
      problems.push(`${path}: console: ${m.text()}`.slice(0, 300));
    }
  });
  await page.goto(base + path);
  return page;
}
async function shoot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  await page.screenshot({ path: join(shots, `${name}.jpg`), type: 'jpeg', quality: 70 });
}
const live = (page) => page.waitForSelector('#status[data-state="live"]', { timeout: 15000 });

const desktop = await context({ viewport: { width: 1280, height: 800 } });
const phone = await context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

// 1. The leaderboard shows the database's users in order, with positions, badges and XP.
const board = await open(desktop, '/');
await board.waitForSelector('tbody tr[data-user]');
await live(board);
const rows = await board.$$eval('tbody tr', (trs) =>
  trs.map((tr) => ({
    position: Number(tr.querySelector('.pos').textContent),
    name: tr.children[1].textContent,
    rank: tr.children[2].textContent,
    xp: Number(tr.querySelector('.xp').textContent.replaceAll(',', '')),
  })),
);
if (canon(rows) !== canon(expect.board)) await fail(`leaderboard: ${JSON.stringify(rows)}`);
const badgeColour = await board.$eval('tbody tr .badge', (b) => getComputedStyle(b).borderTopColor);
if (badgeColour !== expect.firstBadgeColour) await fail(`badge colour ${badgeColour}`);
await shoot(board, 'leaderboard-desktop');
const boardPhone = await open(phone, '/');
await boardPhone.waitForSelector('tbody tr[data-user]');
await shoot(boardPhone, 'leaderboard-phone');
// Tabs work from the keyboard.
await board.focus('#tab-ALL_TIME');
await board.keyboard.press('ArrowRight');
await board.waitForSelector('#tab-SEASON[aria-selected="true"]');
await board.keyboard.press('ArrowLeft');
await board.waitForSelector('#tab-ALL_TIME[aria-selected="true"]');
await board.waitForFunction((n) => document.querySelectorAll('tbody tr[data-user]').length === n, rows.length);
print({ step: 'leaderboard', rows: rows.length });

// 2. A mutation over HTTP reaches the live feed and moves the leaderboard within 2 seconds.
const feed = await open(desktop, '/feed');
await feed.waitForSelector('#feed');
await live(feed);
await award(expect.mover.telegramId, expect.mover.delta);
const sent = Date.now();
const moved = `${expect.mover.name} +${expect.mover.delta.toLocaleString('en')} XP`;
await feed.waitForFunction(
  (text) => [...document.querySelectorAll('#feed li[data-type="XP_CHANGE"]')].some((li) => li.querySelector('.what').textContent.includes(text)),
  moved,
  { timeout: 2000 },
).catch(() => fail('the XP change did not reach the live feed within 2 s'));
const feedMs = Date.now() - sent;
await board.waitForFunction(
  (name) => document.querySelector('tbody tr td:nth-child(2)')?.textContent === name,
  expect.mover.name,
  { timeout: Math.max(1, 2000 - (Date.now() - sent)) },
).catch(() => fail('the leaderboard did not move within 2 s'));
const boardMs = Date.now() - sent;
print({ step: 'live', feedMs, boardMs });
await shoot(feed, 'feed-desktop');
const feedPhone = await open(phone, '/feed');
await feedPhone.waitForSelector('#feed li');
await shoot(feedPhone, 'feed-phone');
// The filters narrow the stream.
await feed.selectOption('#f-platform', 'DISCORD');
await feed.waitForFunction(() => ![...document.querySelectorAll('#feed li.event')].some((li) => !li.querySelector('.p-discord')));
await feed.selectOption('#f-platform', '');

// 3. A profile shows the right rank and progress.
const profile = await open(desktop, `/u/${expect.profile.id}`);
await profile.waitForSelector('.progress');
const shown = await profile.evaluate(() => ({
  name: document.querySelector('h1').firstChild.textContent,
  rank: document.querySelector('.hero .badge').textContent,
  percent: document.querySelector('[role="progressbar"]').getAttribute('aria-valuenow'),
  label: document.querySelector('.progress-label').textContent,
  stats: Object.fromEntries([...document.querySelectorAll('.stat')].map((s) => [s.querySelector('dt').textContent, s.querySelector('dd').textContent])),
  platforms: [...document.querySelectorAll('.chips li')].map((l) => l.textContent),
}));
for (const [k, v] of Object.entries(expect.profile.shows)) {
  if (canon(shown[k]) !== canon(v)) await fail(`profile ${k}: ${JSON.stringify(shown[k])}, expected ${JSON.stringify(v)}`);
}
await shoot(profile, 'profile-desktop');
const profilePhone = await open(phone, `/u/${expect.profile.id}`);
await profilePhone.waitForSelector('.progress');
await shoot(profilePhone, 'profile-phone');
print({ step: 'profile', shown });

// 4. GraphiQL runs a query, and a subscription, offline.
const graphiql = await open(desktop, '/graphql');
await graphiql.waitForSelector('.graphiql-execute-button', { timeout: 20000 });
async function run(query) {
  await graphiql.evaluate((q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q), query);
  // GraphiQL parses the edited document after a short pause, as when someone types.
  await new Promise((r) => setTimeout(r, 600));
  await graphiql.click('.graphiql-execute-button');
}
const response = () => graphiql.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '');
await run('{ ranks { name } }');
await graphiql.waitForFunction(() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '').includes('Rank S II'));
await shoot(graphiql, 'graphiql-desktop');
await run('subscription { events(filter: {types: [XP_CHANGE]}) { type data } }');
await new Promise((r) => setTimeout(r, 500));
await award(expect.mover.telegramId, 1);
await graphiql.waitForFunction(() => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '').includes('XP_CHANGE'), null, { timeout: 10000 })
  .catch(async () => fail(`GraphiQL subscription got nothing: ${await response()}`));
const graphiqlPhone = await open(phone, '/graphql');
await graphiqlPhone.waitForSelector('.graphiql-execute-button', { timeout: 20000 });
await shoot(graphiqlPhone, 'graphiql-phone');
print({ step: 'graphiql' });

// 5. An unreachable API gets a clear message, which goes once it answers again.
const cut = await open(desktop, '/');
await cut.waitForSelector('tbody tr[data-user]');
await cut.route('**/graphql', (route) => route.abort());
await cut.click('#tab-SEASON');
await cut.waitForSelector('#banner:not([hidden])', { timeout: 5000 });
const banner = await cut.textContent('#banner');
if (!/cannot be reached/.test(banner)) await fail(`banner: ${banner}`);
await cut.unroute('**/graphql');
await cut.waitForSelector('#banner[hidden]', { state: 'attached', timeout: 10000 });
print({ step: 'unreachable', banner });

// 6. After a server restart the live parts reconnect and resume.
print({ restart: true });
await feed.waitForSelector('#status:not([data-state="live"])', { timeout: 15000 });
await live(feed);
await award(expect.mover.telegramId, 2);
await feed.waitForFunction(
  () => [...document.querySelectorAll('#feed li[data-type="XP_CHANGE"]')].some((li) => li.textContent.includes('+2 XP')),
  null,
  { timeout: 10000 },
).catch(() => fail('the feed did not resume after the restart'));
print({ step: 'reconnected' });

await browser.close();
if (problems.length) await fail(`page problems: ${problems.join(' | ')}`);
print({ done: true, blocked });
