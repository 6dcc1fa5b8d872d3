// The TTFD Unified website: leaderboard, profiles and the live feed, through the public
// GraphQL API alone (no key: what an anonymous visitor may see). Plain ES module, no build.

const API = new URL('/graphql', location.href).href;
const WS = API.replace(/^http/, 'ws') + '/ws';
const PAGE = 25;

// ---------- DOM ----------

/** An element with attributes (`on*` are listeners, `style` an object of properties). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'style') for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const number = (n) => new Intl.NumberFormat('en').format(n);
const time = (iso) => new Date(iso).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
const clock = (iso) => new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const titleCase = (s) => s.charAt(0) + s.slice(1).toLowerCase().replaceAll('_', ' ');

function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min`;
}

/** A rank badge: the rank's name on a tint of its tier colour (text keeps full contrast). */
function badge(rank) {
  return h('span', { class: 'badge', style: { '--c': rank.color } }, h('span', { class: 'dot', 'aria-hidden': 'true' }), rank.name);
}

// ---------- status and errors ----------

const statusEl = () => document.getElementById('status');
const bannerEl = () => document.getElementById('banner');

function setStatus(state) {
  const el = statusEl();
  el.dataset.state = state;
  el.textContent = { live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline', connecting: 'Connecting…' }[state];
}

function showBanner(message) {
  const el = bannerEl();
  el.textContent = message;
  el.hidden = false;
}

function hideBanner() {
  bannerEl().hidden = true;
}

class Unreachable extends Error {}

/** One GraphQL request over HTTP. Throws `Unreachable` when the API cannot be reached. */
async function api(query, variables = {}) {
  let res;
  try {
    res = await fetch(API, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new Unreachable('network');
  }
  if (res.status >= 500 || res.status === 429) throw new Unreachable(`HTTP ${res.status}`);
  const body = await res.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  return body.data;
}

/**
 * Loads a page's data, retrying every 2 s with a clear message while the API is unreachable.
 * Resolves with the data, or never when `alive()` turns false (the visitor left the page).
 */
async function load(query, variables, alive) {
  for (;;) {
    try {
      const data = await api(query, variables);
      hideBanner();
      return data;
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      setStatus('offline');
      showBanner('The TTFD API cannot be reached. Retrying…');
      await new Promise((r) => setTimeout(r, 2000));
      if (!alive()) return new Promise(() => {});
    }
  }
}

// ---------- live events ----------

/**
 * A subscription to `events` that survives server restarts: on a lost connection it opens a
 * new one and resumes after the last event it delivered, so nothing is missed or repeated.
 */
function follow(filter, after, onEvent, { onResume } = {}) {
  let cursor = after;
  let client = null;
  let stopped = false;
  let retry = null;
  let delay = 500;
  let connectedOnce = false;
  const query = `subscription($f: EventFilter, $a: String) { events(filter: $f, after: $a) {
    cursor type sourcePlatform userId data createdAt user { id displayName } } }`;

  function reconnect() {
    if (stopped || retry) return;
    setStatus('reconnecting');
    retry = setTimeout(() => {
      retry = null;
      client?.dispose();
      start();
    }, delay);
    delay = Math.min(delay * 2, 5000);
  }

  function start() {
    client = graphqlWs.createClient({
      url: WS,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          delay = 500;
          setStatus('live');
          hideBanner();
          if (connectedOnce) onResume?.();
          connectedOnce = true;
        },
        closed: () => reconnect(),
      },
    });
    client.subscribe(
      { query, variables: { f: filter, a: cursor } },
      {
        next: ({ data }) => {
          if (!data?.events) return;
          cursor = data.events.cursor;
          onEvent(data.events);
        },
        error: () => reconnect(),
        complete: () => reconnect(),
      },
    );
  }

  start();
  return () => {
    stopped = true;
    clearTimeout(retry);
    client?.dispose();
  };
}

/**
 * Calls `fn` soon after a call, then at most once every `ms` while calls keep coming: a busy
 * community's XP changes cost each open page one reload a second, not one per change.
 */
function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, Math.max(100, last + ms - Date.now()));
  };
}

// ---------- what events say ----------

function summary(e) {
  const d = e.data ?? {};
  const signed = (n) => (n > 0 ? `+${number(n)}` : number(n));
  switch (e.type) {
    case 'XP_CHANGE': return `${signed(d.delta)} XP (now ${number(d.xp)})`;
    case 'COINS_CHANGE': return `${signed(d.delta)} coins (now ${number(d.coins)})`;
    case 'RANK_UP': return `reached ${d.rankName}`;
    case 'RANK_DOWN': return `dropped to ${d.rankName}`;
    case 'ACHIEVEMENT_UNLOCK': return `unlocked “${d.name}”`;
    case 'GAME_PLAYED': return `${d.won ? 'won' : 'played'} a game of ${d.gameType}`;
    case 'VOICE_TIME': return `${duration(d.seconds ?? 0)} in voice`;
    case 'MESSAGE_SENT': return d.xp ? `sent a message (+${d.xp} XP)` : 'sent a message';
    case 'DAILY_CLAIMED': return `claimed the daily reward (streak ${d.streak})`;
    case 'ACCOUNT_LINKED': return `linked ${titleCase(String(d.platform ?? '').toUpperCase())}`;
    case 'ACCOUNTS_MERGED': return 'merged two accounts';
    case 'SEASON_STARTED': return `season “${d.season}” started`;
    case 'IMPORTED': return `imported from ${d.source}`;
    default: return titleCase(e.type);
  }
}

function eventItem(e, fresh) {
  const who = e.user ? h('a', { href: `/u/${e.user.id}`, 'data-link': true }, e.user.displayName) : 'A former account';
  return h(
    'li',
    { class: fresh ? 'event fresh' : 'event', 'data-type': e.type },
    h('time', { datetime: e.createdAt }, clock(e.createdAt)),
    h('span', { class: `platform p-${e.sourcePlatform.toLowerCase()}` }, titleCase(e.sourcePlatform)),
    h('span', { class: 'what' }, who, ' ', summary(e)),
  );
}

// ---------- pages ----------

const LEADERBOARD = `query($s: LeaderboardScope, $a: String) {
  leaderboard(first: ${PAGE}, scope: $s, after: $a) {
    nodes { position xp user { id displayName rank { name tier color } } }
    pageInfo { hasNextPage endCursor } } }`;

function leaderboardPage(main, alive) {
  let scope = 'ALL_TIME';
  const pages = [null]; // the `after` of each page seen, to go back
  const tabs = [
    ['ALL_TIME', 'All time'],
    ['SEASON', 'This season'],
  ].map(([value, label]) =>
    h('button', { role: 'tab', id: `tab-${value}`, 'aria-controls': 'board', 'data-scope': value, onclick: () => choose(value) }, label),
  );
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Leaderboard', class: 'tabs', onkeydown: arrows }, tabs);
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'board' },
    h('caption', { class: 'sr-only' }, 'Players by XP, best first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, '#'), h('th', { scope: 'col' }, 'Player'), h('th', { scope: 'col' }, 'Rank'), h('th', { scope: 'col', class: 'num' }, 'XP'))),
    body,
  );
  const prev = h('button', { onclick: () => { pages.pop(); refresh(); } }, '← Previous');
  const next = h('button', {}, 'Next →');
  const position = h('span', { class: 'page-no', 'aria-live': 'polite' });
  main.replaceChildren(
    h('h1', {}, 'Leaderboard'),
    tablist,
    h('section', { id: 'board', role: 'tabpanel', class: 'card' }, table, h('div', { class: 'pager' }, prev, position, next)),
  );

  function arrows(e) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = tabs.findIndex((t) => t.dataset.scope === scope);
    const tab = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    tab.focus();
    choose(tab.dataset.scope);
  }

  function choose(value) {
    scope = value;
    pages.length = 1;
    refresh();
  }

  async function refresh() {
    for (const t of tabs) {
      const on = t.dataset.scope === scope;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
    }
    document.getElementById('board').setAttribute('aria-labelledby', `tab-${scope}`);
    const data = await load(LEADERBOARD, { s: scope, a: pages.at(-1) }, alive);
    const board = data.leaderboard;
    body.replaceChildren(
      ...board.nodes.map((n) =>
        h(
          'tr',
          { 'data-user': n.user.id },
          h('td', { class: 'num pos' }, n.position),
          h('td', {}, h('a', { href: `/u/${n.user.id}`, 'data-link': true }, n.user.displayName)),
          h('td', {}, badge(n.user.rank)),
          h('td', { class: 'num xp' }, number(n.xp)),
        ),
      ),
    );
    if (!board.nodes.length) body.replaceChildren(h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'Nobody has scored yet.')));
    prev.disabled = pages.length === 1;
    next.disabled = !board.pageInfo.hasNextPage;
    next.onclick = () => { pages.push(board.pageInfo.endCursor); refresh(); };
    position.textContent = `Page ${pages.length}`;
  }

  refresh();
  // Any XP change may move the board: reload the page shown.
  return follow({ types: ['XP_CHANGE'] }, null, throttle(refresh, 1000), { onResume: refresh });
}

const PROFILE = `query($id: ID!) {
  user(ref: {id: $id}) {
    id displayName username platforms xp coins dailyStreak gamesPlayed gamesWon winRate
    totalVoiceTime messagesSent position createdAt
    rank { name tier color } nextRank { name requiredXp }
    rankProgress { xpIntoRank xpToNextRank percent }
    achievements { unlockedAt achievement { code name description } } }
  events(last: 10, filter: {userId: $id}) {
    nodes { cursor type sourcePlatform userId data createdAt user { id displayName } } } }`;

function stat(label, value) {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
}

function profilePage(main, alive, id) {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading the profile…'));
  let recent = null;

  async function refresh() {
    let data;
    try {
      data = await load(PROFILE, { id }, alive);
    } catch {
      data = { user: null };
    }
    const u = data.user;
    if (!u) {
      main.replaceChildren(h('h1', {}, 'No such player'), h('p', {}, 'This profile does not exist, or the accounts were merged. ', h('a', { href: '/', 'data-link': true }, 'Back to the leaderboard')));
      return;
    }
    document.title = `${u.displayName} · TTFD Unified`;
    const p = u.rankProgress;
    const progress = h(
      'div',
      { class: 'progress', role: 'progressbar', 'aria-label': 'Progress to the next rank', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(p.percent)) },
      h('div', { class: 'fill', style: { width: `${Math.min(100, p.percent)}%`, '--c': u.rank.color } }),
    );
    const toNext = u.nextRank
      ? `${number(p.xpIntoRank)} XP into ${u.rank.name} · ${number(p.xpToNextRank)} XP to ${u.nextRank.name} (${Math.floor(p.percent)} %)`
      : 'Top rank reached';
    recent = h('ol', { class: 'events', reversed: true }, [...data.events.nodes].reverse().map((e) => eventItem(e, false)));
    main.replaceChildren(
      h('h1', {}, u.displayName, ' ', h('span', { class: 'handle' }, `@${u.username}`)),
      h(
        'section',
        { class: 'card hero', 'aria-label': 'Rank' },
        h('div', { class: 'hero-rank' }, badge(u.rank), h('span', { class: 'position' }, `#${number(u.position)} on the leaderboard`)),
        progress,
        h('p', { class: 'muted progress-label' }, toNext),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'stats-h' },
        h('h2', { id: 'stats-h' }, 'Stats'),
        h(
          'dl',
          { class: 'stats' },
          stat('XP', number(u.xp)),
          stat('Coins', number(u.coins)),
          stat('Daily streak', `${u.dailyStreak} ${u.dailyStreak === 1 ? 'day' : 'days'}`),
          stat('Games', `${number(u.gamesPlayed)} played, ${number(u.gamesWon)} won`),
          stat('Win rate', u.winRate === null ? '—' : `${Math.round(u.winRate * 100)} %`),
          stat('Voice', duration(u.totalVoiceTime)),
          stat('Messages', number(u.messagesSent)),
          stat('Member since', time(u.createdAt)),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'platforms-h' },
        h('h2', { id: 'platforms-h' }, 'Linked platforms'),
        h('ul', { class: 'chips' }, u.platforms.map((pl) => h('li', { class: `platform p-${pl.toLowerCase()}` }, titleCase(pl)))),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'ach-h' },
        h('h2', { id: 'ach-h' }, 'Achievements'),
        u.achievements.length
          ? h('ul', { class: 'achievements' }, u.achievements.map((a) => h('li', {}, h('strong', {}, a.achievement.name), h('span', { class: 'muted' }, ` — ${a.achievement.description} · ${time(a.unlockedAt)}`))))
          : h('p', { class: 'muted' }, 'None yet.'),
      ),
      h('section', { class: 'card', 'aria-labelledby': 'recent-h' }, h('h2', { id: 'recent-h' }, 'Recent activity'), recent.children.length ? recent : h('p', { class: 'muted' }, 'Nothing yet.')),
    );
  }

  refresh();
  return follow({ userId: id }, null, throttle(refresh, 1000), { onResume: refresh });
}

const TYPES = ['XP_CHANGE', 'COINS_CHANGE', 'RANK_UP', 'RANK_DOWN', 'ACHIEVEMENT_UNLOCK', 'GAME_PLAYED', 'VOICE_TIME', 'MESSAGE_SENT', 'DAILY_CLAIMED', 'ACCOUNT_LINKED', 'ACCOUNTS_MERGED', 'SEASON_STARTED', 'IMPORTED'];
const PLATFORMS = ['TELEGRAM', 'DISCORD', 'WEBSITE'];

const RECENT = `query($f: EventFilter) { events(last: 30, filter: $f) {
  nodes { cursor type sourcePlatform userId data createdAt user { id displayName } }
  pageInfo { endCursor } } }`;

function feedPage(main, alive) {
  const select = (id, label, values) =>
    h('label', { for: id }, label, h('select', { id, onchange: restart }, h('option', { value: '' }, 'All'), values.map((v) => h('option', { value: v }, titleCase(v)))));
  const list = h('ol', { class: 'events', id: 'feed', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  main.replaceChildren(
    h('h1', {}, 'Live feed'),
    h('p', { class: 'muted' }, 'What happens on Telegram, Discord and the website, as it happens.'),
    h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() }, select('f-platform', 'Platform', PLATFORMS), select('f-type', 'Event', TYPES)),
    h('section', { class: 'card' }, list),
  );
  let stop = () => {};

  async function restart() {
    stop();
    const platform = document.getElementById('f-platform').value;
    const type = document.getElementById('f-type').value;
    const filter = { platforms: platform ? [platform] : null, types: type ? [type] : null };
    const data = await load(RECENT, { f: filter }, alive);
    list.replaceChildren(...[...data.events.nodes].reverse().map((e) => eventItem(e, false)));
    if (!list.children.length) list.append(h('li', { class: 'empty' }, 'Waiting for the first event…'));
    stop = follow(filter, data.events.pageInfo.endCursor, (e) => {
      list.querySelector('.empty')?.remove();
      list.prepend(eventItem(e, true));
      while (list.children.length > 200) list.lastElementChild.remove();
    });
  }

  restart();
  return () => stop();
}

// ---------- routing ----------

let leave = () => {};

function route() {
  leave();
  let alive = true;
  const stillHere = () => alive;
  const main = document.getElementById('main');
  const path = location.pathname;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  let stop;
  const profile = path.match(/^\/u\/([0-9a-fA-F-]{36})$/);
  if (path === '/') {
    document.title = 'Leaderboard · TTFD Unified';
    stop = leaderboardPage(main, stillHere);
  } else if (path === '/feed') {
    document.title = 'Live feed · TTFD Unified';
    stop = feedPage(main, stillHere);
  } else if (profile) {
    stop = profilePage(main, stillHere, profile[1].toLowerCase());
  } else {
    document.title = 'Not found · TTFD Unified';
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to the leaderboard')));
    stop = () => {};
  }
  leave = () => {
    alive = false;
    stop();
  };
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  if (a.getAttribute('href') !== location.pathname) history.pushState(null, '', a.getAttribute('href'));
  route();
  document.getElementById('main').focus();
});
window.addEventListener('popstate', route);
setStatus('connecting');
route();
