// Huddle admin dashboard. Plain modern JavaScript, no build step: served by `huddle serve` from
// the binary at /admin. Signs in with Rocket.Chat's POST /api/v1/login, then calls the backend
// API /v1/{appId}/... with the admin's session headers (X-User-Id, X-Auth-Token), so every change
// goes through the same services as the REST API. User data only ever reaches the page as text
// nodes (never as HTML), and the page's CSP forbids inline script.

const APP_ID = document.querySelector('meta[name="huddle-app-id"]').content;
const SESSION_KEY = 'huddle-admin-session';
const main = document.getElementById('main');

// ---------- small DOM helper: h('tag', {attrs, onclick}, ...children)
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'value' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let idCounter = 0;
const nextId = (p) => `${p}-${++idCounter}`;

/** A labelled input; returns [label element, input element]. */
function field(labelText, attrs = {}) {
  const id = nextId('f');
  const input = h('input', { type: 'text', id, name: attrs.name || id, ...attrs });
  return [h('label', { for: id }, labelText, input), input];
}

function checkbox(labelText, attrs = {}) {
  const id = nextId('c');
  const input = h('input', { type: 'checkbox', id, ...attrs });
  return [h('label', { class: 'check', for: id }, input, h('span', {}, labelText)), input];
}

function select(labelText, options, current, attrs = {}) {
  const id = nextId('s');
  const el = h('select', { id, ...attrs },
    options.map(([value, text]) => h('option', { value, selected: value === String(current) }, text)));
  const label = labelText ? h('label', { for: id }, labelText, el) : null;
  return [label, el];
}

const statusEl = () => h('p', { role: 'status', 'aria-live': 'polite' });
const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '');

/** Runs `work`, showing "Saving…", then "Saved" or "Error: …" in `status`. Changes made in quick
 *  succession are sent one after another, and "Saved" shows only once the last one is confirmed. */
function saver(status) {
  let chain = Promise.resolve();
  let pending = 0;
  return (work, okText = 'Saved') => {
    pending++;
    status.className = '';
    status.textContent = 'Saving…';
    chain = chain.then(async () => {
      try {
        const result = await work();
        if (--pending === 0) status.textContent = okText;
        return result;
      } catch (e) {
        pending--;
        status.className = 'error';
        status.textContent = `Error: ${e.message}`;
      }
    });
    return chain;
  };
}

// ---------- session and API
class ApiError extends Error {
  constructor(status, code, reason) {
    super(reason ? `${reason}${code ? ` (${code})` : ''}` : `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_KEY)); } catch { return null; }
}

async function request(method, url, body, auth = session()) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) { headers['X-User-Id'] = auth.userId; headers['X-Auth-Token'] = auth.token; }
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server could not be reached');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(res.status, data?.errorCode || data?.errorType || '',
      data?.reason || data?.error || data?.message || '');
  }
  return data;
}

/** The backend API of this app. A 401 means the session ended: back to the sign-in form. */
async function api(method, path, body) {
  try {
    return await request(method, `/v1/${encodeURIComponent(APP_ID)}${path}`, body);
  } catch (e) {
    if (e.status === 401) { forget(); route(); }
    throw e;
  }
}

const enc = encodeURIComponent;

function forget() {
  sessionStorage.removeItem(SESSION_KEY);
}

async function signOut() {
  const s = session();
  forget();
  if (s) await request('POST', '/api/v1/logout', {}, s).catch(() => {});
  location.hash = '#/settings';
  route();
}

// ---------- pages
function signInPage() {
  const [userLabel, user] = field('Username', { autocomplete: 'username', required: true });
  const [passLabel, pass] = field('Password', { type: 'password', autocomplete: 'current-password', required: true });
  const alert = h('p', { role: 'alert', class: 'error' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin-form' }, userLabel, passLabel, button, alert);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    alert.textContent = '';
    button.disabled = true;
    try {
      const res = await request('POST', '/api/v1/login', { user: user.value, password: pass.value }, null);
      const auth = { userId: res.data.userId, token: res.data.authToken, username: res.data.me?.username || user.value };
      // The server decides: the backend API refuses a session without the admin role (403).
      try {
        await request('GET', `/v1/${enc(APP_ID)}/settings`, undefined, auth);
      } catch (e) {
        await request('POST', '/api/v1/logout', {}, auth).catch(() => {});
        throw e.status === 403 ? new Error('This account is not a Huddle administrator.') : e;
      }
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(auth));
      pass.value = '';
      route();
    } catch (e) {
      alert.textContent = e.status === 401 ? 'Sign-in failed: wrong username or password.' : `Sign-in failed: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h('section', { class: 'signin' }, h('h1', {}, 'Sign in to Huddle admin'),
    h('p', { class: 'hint' }, 'Use a Huddle account with the admin role.'), form);
}

async function settingsPage() {
  const s = await api('GET', '/settings');
  const status = statusEl();
  const save = saver(status);
  const guests = h('p', { class: 'hint' });
  const showGuests = (v) => {
    guests.textContent = v.guestsAllowed
      ? 'Guests may join conversations with asGuest (unless a conversation turns guest access off).'
      : 'Guest access (asGuest) is off for the whole app while either box is ticked.';
  };
  showGuests(s);
  const toggle = (labelText, key, checkedMeansValue) => {
    const [label, input] = checkbox(labelText, { checked: s[key] === checkedMeansValue });
    input.addEventListener('change', () => save(async () => {
      const value = input.checked ? checkedMeansValue : !checkedMeansValue;
      const now = await api('PUT', '/settings', { [key]: value });
      showGuests(now);
    }));
    return label;
  };
  return [
    h('h1', {}, 'Settings'),
    h('section', { 'aria-labelledby': 'security-heading' },
      h('h2', { id: 'security-heading' }, 'Security settings'),
      h('p', { class: 'hint' }, 'Changes apply at once to every live session.'),
      toggle('Disallow user synchronization via the browser', 'browserUserSync', false),
      toggle('Disallow conversation synchronization via the browser', 'browserConversationSync', false),
      toggle('Identity verification: require signed sessions (user token or signature)', 'identityVerification', true),
      guests,
      status),
    h('section', {}, h('h2', {}, 'App'), h('dl', {}, h('dt', {}, 'App id'), h('dd', { class: 'mono' }, APP_ID))),
  ];
}

const PAGE = 20;

async function usersPage(params) {
  const after = params.get('after');
  const list = await api('GET', `/users?limit=${PAGE}${after ? `&startingAfter=${enc(after)}` : ''}`);
  const rows = list.data.map((u) => h('tr', {},
    h('td', {}, h('a', { href: `#/users/${enc(u.id)}` }, u.id)),
    h('td', {}, u.name), h('td', {}, (u.email || []).join(', ')), h('td', {}, u.role), h('td', {}, fmtTime(u.createdAt))));
  const pager = h('p', { class: 'row' },
    after ? h('a', { href: '#/users' }, 'First page') : null,
    list.data.length === PAGE ? h('a', { href: `#/users?after=${enc(list.data[list.data.length - 1].id)}` }, 'Next page') : null);
  return [
    h('h1', {}, 'Users'),
    h('section', {}, h('h2', {}, after ? 'Users (continued)' : 'All users'),
      list.data.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Id', 'Name', 'Email', 'Role', 'Created'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
        : h('p', {}, 'No users yet.'),
      pager),
    userForm(null),
  ];
}

/** Create or update a user through the TalkJS-style upsert (PUT /users/{id}). */
function userForm(user) {
  const [idLabel, id] = field('User id', { required: true, value: user?.id || '', readonly: user ? true : undefined });
  const [nameLabel, name] = field('Name', { required: true, value: user?.name || '' });
  const [emailLabel, email] = field('Email', { type: 'email', value: (user?.email || [])[0] || '' });
  const [roleLabel, role] = field('Role', { value: user?.role && user.role !== 'default' ? user.role : '' });
  const status = statusEl();
  const save = saver(status);
  const form = h('form', {}, h('div', { class: 'row' }, idLabel, nameLabel, emailLabel, roleLabel),
    h('p', {}, h('button', { type: 'submit' }, user ? 'Save user' : 'Create or update user')), status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save(async () => {
      await api('PUT', `/users/${enc(id.value.trim())}`, {
        name: name.value, email: email.value ? [email.value] : null, role: role.value || null,
      });
      if (!user) setTimeout(() => { location.hash = `#/users/${enc(id.value.trim())}`; }, 0);
    });
  });
  return h('section', {}, h('h2', {}, user ? 'Edit user' : 'Create or update a user'), form);
}

async function userPage(uid) {
  const u = await api('GET', `/users/${enc(uid)}`);
  const convs = await api('GET', `/users/${enc(uid)}/conversations?limit=30`);
  return [
    h('p', {}, h('a', { href: '#/users' }, '← Users')),
    h('h1', {}, `User ${u.name}`),
    h('section', {}, h('dl', {},
      h('dt', {}, 'Id'), h('dd', { class: 'mono' }, u.id),
      h('dt', {}, 'Email'), h('dd', {}, (u.email || []).join(', ')),
      h('dt', {}, 'Role'), h('dd', {}, u.role),
      h('dt', {}, 'Created'), h('dd', {}, fmtTime(u.createdAt)),
      h('dt', {}, 'Conversations'), h('dd', {}, convs.data.length
        ? convs.data.map((c, i) => [i ? ', ' : '', h('a', { href: `#/conversations/${enc(c.id)}` }, c.subject || c.id)])
        : 'none'))),
    userForm(u),
  ];
}

async function conversationsPage(params) {
  const after = params.get('after');
  const list = await api('GET', `/conversations?limit=${PAGE}${after ? `&startingAfter=${enc(after)}` : ''}`);
  const rows = list.data.map((c) => h('tr', {},
    h('td', {}, h('a', { href: `#/conversations/${enc(c.id)}` }, c.id)),
    h('td', {}, c.subject || ''), h('td', {}, Object.keys(c.participants || {}).length),
    h('td', {}, c.guestAccess ? 'allowed' : 'off'), h('td', {}, c.lastMessage ? c.lastMessage.text : '')));
  const [idLabel, id] = field('Conversation id', { required: true });
  const [subjectLabel, subject] = field('Subject');
  const status = statusEl();
  const save = saver(status);
  const form = h('form', {}, h('div', { class: 'row' }, idLabel, subjectLabel, h('button', { type: 'submit' }, 'Create conversation')), status);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const cid = id.value.trim();
    save(async () => {
      await api('PUT', `/conversations/${enc(cid)}`, subject.value ? { subject: subject.value } : {});
      setTimeout(() => { location.hash = `#/conversations/${enc(cid)}`; }, 0);
    });
  });
  return [
    h('h1', {}, 'Conversations'),
    h('section', {}, h('h2', {}, 'Latest activity first'),
      list.data.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Id', 'Subject', 'Participants', 'Guests', 'Last message'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
        : h('p', {}, 'No conversations yet.'),
      h('p', { class: 'row' }, after ? h('a', { href: '#/conversations' }, 'First page') : null,
        list.data.length === PAGE ? h('a', { href: `#/conversations?after=${enc(list.data[list.data.length - 1].id)}` }, 'Next page') : null)),
    h('section', {}, h('h2', {}, 'New conversation'), form),
  ];
}

const ACCESS = [['ReadWrite', 'ReadWrite'], ['Read', 'Read'], ['None', 'None']];
const NOTIFY = [['true', 'All messages'], ['MentionsOnly', 'Mentions only'], ['false', 'Off']];
const notifyValue = (v) => (v === 'true' ? true : v === 'false' ? false : v);

async function conversationPage(cid) {
  const c = await api('GET', `/conversations/${enc(cid)}`);
  const parts = await api('GET', `/conversations/${enc(cid)}/participants`);

  const guestStatus = statusEl();
  const saveGuest = saver(guestStatus);
  const [guestLabel, guest] = checkbox('Allow guests in this conversation (asGuest)', { checked: c.guestAccess });
  guest.addEventListener('change', () => saveGuest(() => api('PUT', `/conversations/${enc(cid)}`, { guestAccess: guest.checked })));

  const pStatus = statusEl();
  const saveP = saver(pStatus);
  const rows = parts.data.map((p) => {
    const [, access] = select(null, ACCESS, p.access, { 'aria-label': `Access of ${p.id}` });
    const [, notify] = select(null, NOTIFY, String(p.notify), { 'aria-label': `Notify of ${p.id}` });
    access.addEventListener('change', () => saveP(() => api('PATCH', `/conversations/${enc(cid)}/participants/${enc(p.id)}`, { access: access.value })));
    notify.addEventListener('change', () => saveP(() => api('PATCH', `/conversations/${enc(cid)}/participants/${enc(p.id)}`, { notify: notifyValue(notify.value) })));
    const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${p.id}` }, 'Remove');
    remove.addEventListener('click', () => saveP(async () => {
      await api('DELETE', `/conversations/${enc(cid)}/participants/${enc(p.id)}`);
      row.remove();
    }, 'Removed'));
    const row = h('tr', {}, h('td', {}, h('a', { href: `#/users/${enc(p.id)}` }, p.id)), h('td', {}, p.name),
      h('td', {}, access), h('td', {}, notify), h('td', {}, fmtTime(p.joinedAt)), h('td', {}, remove));
    return row;
  });

  const [uidLabel, uid] = field('User id', { required: true });
  const [accessLabel, access] = select('Access', ACCESS.slice(0, 2), 'ReadWrite');
  const [notifyLabel, notify] = select('Notify', NOTIFY, 'true');
  const addStatus = statusEl();
  const saveAdd = saver(addStatus);
  const add = h('form', {}, h('div', { class: 'row' }, uidLabel, accessLabel, notifyLabel, h('button', { type: 'submit' }, 'Add participant')), addStatus);
  add.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveAdd(async () => {
      await api('PUT', `/conversations/${enc(cid)}/participants/${enc(uid.value.trim())}`, { access: access.value, notify: notifyValue(notify.value) });
      setTimeout(route, 0);
    }, 'Added');
  });

  return [
    h('p', {}, h('a', { href: '#/conversations' }, '← Conversations')),
    h('h1', {}, `Conversation ${c.subject || c.id}`),
    h('section', {}, h('dl', {}, h('dt', {}, 'Id'), h('dd', { class: 'mono' }, c.id),
      h('dt', {}, 'Subject'), h('dd', {}, c.subject || ''), h('dt', {}, 'Created'), h('dd', {}, fmtTime(c.createdAt)))),
    h('section', { 'aria-labelledby': 'guest-heading' }, h('h2', { id: 'guest-heading' }, 'Guest access'),
      h('p', { class: 'hint' }, 'Guests also need browser synchronization allowed in Security settings.'), guestLabel, guestStatus),
    h('section', { 'aria-labelledby': 'participants-heading' }, h('h2', { id: 'participants-heading' }, 'Participants'),
      rows.length ? h('table', {}, h('thead', {}, h('tr', {}, ['User', 'Name', 'Access', 'Notify', 'Joined', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
        : h('p', {}, 'No participants.'),
      pStatus),
    h('section', {}, h('h2', {}, 'Add a participant'), add),
  ];
}

const EVENTS = ['message.sent', 'message.updated', 'message.deleted', 'user.created', 'user.updated',
  'conversation.deleted', 'participant.joined', 'participant.updated', 'participant.left', 'guestAccess.changed',
  'notification.triggered', 'message.read'];

async function webhooksPage() {
  const list = await api('GET', '/webhooks');
  const status = statusEl();
  const save = saver(status);
  const rows = list.data.map((w) => {
    const del = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete endpoint ${w.url}` }, 'Delete');
    del.addEventListener('click', () => save(async () => { await api('DELETE', `/webhooks/${enc(w.id)}`); setTimeout(route, 0); }, 'Deleted'));
    return h('tr', {}, h('td', {}, h('a', { href: `#/webhooks/${enc(w.id)}` }, w.url)),
      h('td', {}, w.events.length ? w.events.join(', ') : 'all events'), h('td', {}, w.enabled ? 'on' : 'off'), h('td', {}, del));
  });
  const [urlLabel, url] = field('Endpoint URL', { type: 'url', required: true, placeholder: 'https://example.com/huddle-webhook' });
  const boxes = EVENTS.map((e) => checkbox(e, { value: e }));
  const form = h('form', {}, urlLabel,
    h('fieldset', {}, h('legend', {}, 'Events (none ticked: all events)'), boxes.map(([l]) => l)),
    h('button', { type: 'submit' }, 'Add endpoint'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save(async () => {
      await api('POST', '/webhooks', { url: url.value, events: boxes.filter(([, b]) => b.checked).map(([, b]) => b.value) });
      setTimeout(route, 0);
    }, 'Added');
  });
  return [
    h('h1', {}, 'Webhooks'),
    h('section', {}, h('h2', {}, 'Endpoints'),
      rows.length ? h('table', {}, h('thead', {}, h('tr', {}, ['URL (delivery log)', 'Events', 'Enabled', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
        : h('p', {}, 'No endpoints yet.'), status),
    h('section', {}, h('h2', {}, 'Add an endpoint'), form),
  ];
}

async function deliveriesPage(wid) {
  const list = await api('GET', `/webhooks/${enc(wid)}/deliveries`);
  const status = statusEl();
  const save = saver(status);
  const rows = list.data.map((d) => {
    const again = h('button', { type: 'button', class: 'secondary', 'aria-label': `Redeliver ${d.type} ${d.id}` }, 'Redeliver');
    again.addEventListener('click', () => save(async () => { await api('POST', `/webhooks/${enc(wid)}/deliveries/${enc(d.id)}/redeliver`); setTimeout(route, 0); }, 'Queued for redelivery'));
    return h('tr', {}, h('td', {}, d.type), h('td', {}, fmtTime(d.createdAt)), h('td', {}, d.attempts),
      h('td', {}, d.deliveredAt ? `delivered ${fmtTime(d.deliveredAt)}` : 'pending'), h('td', {}, d.lastError || ''), h('td', {}, again));
  });
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', () => route());
  return [
    h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('h1', {}, 'Delivery log'),
    h('section', {}, h('p', { class: 'row' }, refresh),
      rows.length ? h('table', {}, h('thead', {}, h('tr', {}, ['Event', 'Created', 'Attempts', 'State', 'Last error', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
        : h('p', {}, 'No deliveries yet.'), status),
  ];
}

async function keysPage() {
  const status = statusEl();
  const save = saver(status);
  const shown = h('div', { 'aria-live': 'polite' });
  const table = h('div');
  const showSecret = (key, verb) => {
    shown.replaceChildren(h('div', { class: 'secret' },
      h('p', {}, `${verb}. Copy the secret now; it will not be shown again.`),
      h('p', {}, h('code', { 'data-testid': 'new-secret' }, key.secret))));
  };
  // Only the table is redrawn after a change: re-rendering the page would drop a shown secret.
  async function refreshTable() {
    const list = await api('GET', '/keys');
    const rows = list.data.map((k) => {
      const live = !k.revokedAt;
      const rotate = h('button', { type: 'button', class: 'secondary', 'aria-label': `Rotate key ${k.id}` }, 'Rotate');
      const revoke = h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke key ${k.id}` }, 'Revoke');
      rotate.addEventListener('click', () => save(async () => {
        const key = await api('POST', `/keys/${enc(k.id)}/rotate`);
        await refreshTable();
        showSecret(key, `Key rotated: ${k.id} is revoked, ${key.id} replaces it`);
      }, 'Rotated'));
      revoke.addEventListener('click', () => save(async () => {
        await api('DELETE', `/keys/${enc(k.id)}`);
        await refreshTable();
      }, 'Revoked'));
      return h('tr', { 'data-key-id': k.id }, h('td', { class: 'mono' }, k.id), h('td', { class: 'mono' }, `…${k.lastChars}`),
        h('td', {}, fmtTime(k.createdAt)), h('td', {}, live ? 'live' : `revoked ${fmtTime(k.revokedAt)}`),
        h('td', {}, live ? [rotate, ' ', revoke] : ''));
    });
    table.replaceChildren(rows.length
      ? h('table', {}, h('thead', {}, h('tr', {}, ['Id', 'Ends with', 'Created', 'State', ''].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows))
      : h('p', {}, 'No secret keys.'));
  }
  await refreshTable();
  const create = h('button', { type: 'button' }, 'Create secret key');
  create.addEventListener('click', () => save(async () => {
    const key = await api('POST', '/keys');
    await refreshTable();
    showSecret(key, `Key ${key.id} created`);
  }, 'Created'));
  return [
    h('h1', {}, 'Secret keys'),
    h('section', {}, h('p', { class: 'hint' }, 'Backends use a secret key; rotating makes a new key and revokes the old one at once.'),
      table, h('p', {}, create), shown, status),
  ];
}

// ---------- routing
const ROUTES = [
  [/^\/settings$/, settingsPage, 'settings'],
  [/^\/users$/, usersPage, 'users'],
  [/^\/users\/(.+)$/, userPage, 'users'],
  [/^\/conversations$/, conversationsPage, 'conversations'],
  [/^\/conversations\/(.+)$/, conversationPage, 'conversations'],
  [/^\/webhooks$/, webhooksPage, 'webhooks'],
  [/^\/webhooks\/(.+)$/, deliveriesPage, 'webhooks'],
  [/^\/keys$/, keysPage, 'keys'],
];

let renderSeq = 0;

async function route() {
  const seq = ++renderSeq;
  const s = session();
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!s) {
    nav.hidden = true;
    who.replaceChildren();
    main.replaceChildren(signInPage());
    main.querySelector('input')?.focus();
    return;
  }
  nav.hidden = false;
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', signOut);
  who.replaceChildren(h('span', {}, `Signed in as ${s.username}`), out);

  const raw = location.hash.replace(/^#/, '') || '/settings';
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  const found = ROUTES.find(([re]) => re.test(path));
  for (const a of nav.querySelectorAll('a')) {
    if (found && a.getAttribute('href') === `#/${found[2]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!found) {
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/settings' }, 'Go to Settings')));
    return;
  }
  const [re, page] = found;
  const arg = path.match(re)[1];
  try {
    const content = await page(arg !== undefined ? decodeURIComponent(arg) : params);
    if (seq !== renderSeq) return; // a newer navigation won
    main.replaceChildren(...[content].flat());
  } catch (e) {
    if (seq !== renderSeq || !session()) return;
    main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { role: 'alert', class: 'error' }, `Error: ${e.message}`));
  }
}

window.addEventListener('hashchange', () => { route(); main.focus(); });
route();
