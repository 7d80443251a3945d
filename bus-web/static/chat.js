// chat.js: the bus demo chat page.
//
// Talks to the `/chat` namespace of bus-server through sio.js. The protocol:
//
//   client -> server                          reply (acknowledgement)
//   nickname(name)                            {ok, nickname} | {ok: false, error}
//   join(room)                                {ok, room, members} | {ok: false, error}
//   leave(room)                               {ok, room} | {ok: false, error}
//   message({room, text})                     {ok} | {ok: false, error}
//   typing({room, typing})                    (none)
//
//   server -> client
//   rooms([{name, members}])                  every room and how many are in it
//   presence({room, members, joined?, left?}) who is in a room, after a change
//   message({room, from, text, at})           a message to a room (sender included)
//   typing({room, nickname, typing})          someone started or stopped typing

import { io } from './sio.js';

/** How long after the last keystroke "typing" is switched off, in ms. */
const TYPING_IDLE_MS = 1500;
/** How long a remote "typing" is shown without news, in ms. */
const TYPING_EXPIRY_MS = 5000;
/** Messages kept per room in the page. */
const HISTORY_LIMIT = 200;

const $ = (id) => document.getElementById(id);

const ui = {
  status: $('status'),
  me: $('me'),
  welcome: $('welcome'),
  nicknameForm: $('nickname-form'),
  nickname: $('nickname'),
  nicknameError: $('nickname-error'),
  chat: $('chat'),
  roomList: $('room-list'),
  roomForm: $('room-form'),
  roomName: $('room-name'),
  roomError: $('room-error'),
  roomTitle: $('room-title'),
  leaveRoom: $('leave-room'),
  messages: $('messages'),
  emptyHint: $('empty-hint'),
  typing: $('typing'),
  messageForm: $('message-form'),
  message: $('message'),
  send: $('send'),
  memberList: $('member-list'),
};

const state = {
  /** @type {string | null} */
  nickname: null,
  /** @type {Array<{name: string, members: number}>} */
  rooms: [],
  /**
   * Rooms this page has joined.
   * @type {Map<string, {items: Array<object>, members: string[], typing: Map<string, number>, unread: number}>}
   */
  joined: new Map(),
  /** @type {string | null} */
  active: null,
  /** Whether this page told the active room that it is typing. */
  typingSent: false,
  typingTimer: 0,
};

/**
 * A secret kept for the life of this tab: after a reconnection it lets the
 * server hand our nickname over from the connection it has not yet noticed
 * is gone. Never shown or sent anywhere else.
 */
function sessionSecret() {
  const fresh = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  try {
    let secret = sessionStorage.getItem('bus-chat-session');
    if (!secret) {
      secret = fresh();
      sessionStorage.setItem('bus-chat-session', secret);
    }
    return secret;
  } catch {
    return fresh(); // storage disabled: the secret lives as long as the page
  }
}

/** `?transport=polling` or `?transport=websocket` forces one transport. */
function chosenTransports() {
  const forced = new URLSearchParams(location.search).get('transport');
  return forced === 'polling' || forced === 'websocket' ? [forced] : ['websocket', 'polling'];
}

const socket = io({ namespace: '/chat', auth: { session: sessionSecret() }, transports: chosenTransports() });

// ---- connection status ------------------------------------------------------

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

socket.on('connect', async () => {
  setStatus('online', `connected (${socket.transport})`);
  // After a reconnection the server has forgotten this socket: say who we are
  // again and rejoin the rooms we were in.
  if (state.nickname) {
    const reply = await request('nickname', state.nickname);
    if (!reply.ok) {
      showWelcome(reply.error);
      return;
    }
    for (const room of state.joined.keys()) {
      const joined = await request('join', room);
      if (joined.ok) {
        roomState(room).members = joined.members;
      }
    }
    render();
  }
});

socket.on('disconnect', () => setStatus('offline', 'disconnected'));
socket.on('reconnect_attempt', (attempt, delay) =>
  setStatus('reconnecting', `reconnecting (attempt ${attempt}, in ${(delay / 1000).toFixed(1)} s)…`));
socket.on('connect_error', (error) => setStatus('offline', `cannot connect: ${error.message}`));

/** Emits an event and waits for its acknowledgement, never throwing. */
async function request(event, ...args) {
  try {
    const reply = await socket.emitWithAck(event, ...args);
    return reply && typeof reply === 'object' ? reply : { ok: false, error: 'the server sent no reply' };
  } catch (error) {
    return { ok: false, error: error.message };
  }
}

// ---- nickname -----------------------------------------------------------------

function showWelcome(error) {
  state.nickname = null;
  ui.chat.hidden = true;
  ui.me.hidden = true;
  ui.welcome.hidden = false;
  ui.nicknameError.textContent = error || '';
  ui.nickname.focus();
}

ui.nicknameForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = ui.nickname.value.trim();
  if (!name) {
    ui.nicknameError.textContent = 'type a nickname first';
    return;
  }
  ui.nicknameError.textContent = '';
  const reply = await request('nickname', name);
  if (!reply.ok) {
    ui.nicknameError.textContent = reply.error;
    return;
  }
  state.nickname = reply.nickname;
  ui.me.textContent = `you are ${state.nickname}`;
  ui.me.hidden = false;
  ui.welcome.hidden = true;
  ui.chat.hidden = false;
  render();
  ui.roomName.focus();
});

// ---- rooms --------------------------------------------------------------------

function roomState(room) {
  let entry = state.joined.get(room);
  if (!entry) {
    entry = { items: [], members: [], typing: new Map(), unread: 0 };
    state.joined.set(room, entry);
  }
  return entry;
}

async function joinRoom(room) {
  ui.roomError.textContent = '';
  if (state.joined.has(room)) {
    activate(room);
    return;
  }
  const reply = await request('join', room);
  if (!reply.ok) {
    ui.roomError.textContent = reply.error;
    return;
  }
  roomState(reply.room).members = reply.members;
  pushItem(reply.room, { kind: 'notice', text: `you joined #${reply.room}` });
  activate(reply.room);
}

async function leaveRoom(room) {
  stopTyping();
  const reply = await request('leave', room);
  if (!reply.ok) {
    ui.roomError.textContent = reply.error;
    return;
  }
  state.joined.delete(room);
  if (state.active === room) {
    state.active = state.joined.keys().next().value ?? null;
  }
  render();
}

function activate(room) {
  if (state.active !== room) {
    stopTyping();
  }
  state.active = room;
  roomState(room).unread = 0;
  render();
  ui.message.focus();
}

ui.roomForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.roomName.value.trim();
  if (room) {
    ui.roomName.value = '';
    joinRoom(room);
  }
});

ui.leaveRoom.addEventListener('click', () => {
  if (state.active) {
    leaveRoom(state.active);
  }
});

socket.on('rooms', (rooms) => {
  if (Array.isArray(rooms)) {
    state.rooms = rooms;
    renderRooms();
  }
});

socket.on('presence', (update) => {
  const entry = state.joined.get(update?.room);
  if (!entry) {
    return;
  }
  entry.members = Array.isArray(update.members) ? update.members : [];
  if (update.joined && update.joined !== state.nickname) {
    pushItem(update.room, { kind: 'notice', text: `${update.joined} joined` });
  }
  if (update.left) {
    entry.typing.delete(update.left);
    pushItem(update.room, { kind: 'notice', text: `${update.left} left` });
  }
  render();
});

// ---- messages -----------------------------------------------------------------

function pushItem(room, item) {
  const entry = roomState(room);
  entry.items.push(item);
  if (entry.items.length > HISTORY_LIMIT) {
    entry.items.splice(0, entry.items.length - HISTORY_LIMIT);
  }
  if (room !== state.active && item.kind === 'message') {
    entry.unread += 1;
  }
}

socket.on('message', (message) => {
  if (!message || !state.joined.has(message.room)) {
    return;
  }
  roomState(message.room).typing.delete(message.from);
  pushItem(message.room, { kind: 'message', from: message.from, text: message.text, at: message.at });
  render();
});

ui.messageForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = ui.message.value.trim();
  const room = state.active;
  if (!text || !room) {
    return;
  }
  stopTyping();
  ui.message.value = '';
  const reply = await request('message', { room, text });
  if (!reply.ok) {
    pushItem(room, { kind: 'notice', text: `not sent: ${reply.error}` });
    render();
  }
});

// ---- typing indicator -----------------------------------------------------------

function stopTyping() {
  clearTimeout(state.typingTimer);
  if (state.typingSent && state.active) {
    socket.emit('typing', { room: state.active, typing: false });
  }
  state.typingSent = false;
}

ui.message.addEventListener('input', () => {
  if (!state.active) {
    return;
  }
  if (ui.message.value.trim() === '') {
    stopTyping();
    return;
  }
  if (!state.typingSent) {
    state.typingSent = true;
    socket.emit('typing', { room: state.active, typing: true });
  }
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

socket.on('typing', (update) => {
  const entry = state.joined.get(update?.room);
  if (!entry || typeof update.nickname !== 'string') {
    return;
  }
  clearTimeout(entry.typing.get(update.nickname));
  if (update.typing) {
    entry.typing.set(update.nickname, setTimeout(() => {
      entry.typing.delete(update.nickname);
      renderTyping();
    }, TYPING_EXPIRY_MS));
  } else {
    entry.typing.delete(update.nickname);
  }
  renderTyping();
});

// ---- rendering ----------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) {
    node.append(child);
  }
  return node;
}

function renderRooms() {
  const names = new Map(state.rooms.map((room) => [room.name, room.members]));
  for (const room of state.joined.keys()) {
    if (!names.has(room)) {
      names.set(room, roomState(room).members.length);
    }
  }
  const items = [...names.keys()].sort().map((name) => {
    const joined = state.joined.has(name);
    const entry = state.joined.get(name);
    const open = el('button', {
      type: 'button',
      className: 'room-open',
      disabled: !joined,
      title: joined ? `show ${name}` : `join ${name} to read it`,
    }, `# ${name}`, el('span', { className: 'count' }, `${names.get(name)}`));
    open.setAttribute('aria-label', `${name}, ${names.get(name)} online${joined ? '' : ', not joined'}`);
    if (entry && entry.unread > 0) {
      open.append(el('span', { className: 'badge' }, String(entry.unread)));
    }
    open.addEventListener('click', () => activate(name));
    const action = el('button', {
      type: 'button',
      className: 'link',
      textContent: joined ? 'Leave' : 'Join',
    });
    action.setAttribute('aria-label', `${joined ? 'leave' : 'join'} ${name}`);
    action.dataset.room = name;
    action.dataset.action = joined ? 'leave' : 'join';
    action.addEventListener('click', () => (joined ? leaveRoom(name) : joinRoom(name)));
    const li = el('li', {}, open, action);
    li.dataset.room = name;
    if (name === state.active) {
      li.classList.add('active');
      open.setAttribute('aria-current', 'true');
    }
    return li;
  });
  ui.roomList.replaceChildren(...items);
}

function renderTyping() {
  const entry = state.active ? state.joined.get(state.active) : null;
  const who = entry ? [...entry.typing.keys()] : [];
  let text = '';
  if (who.length === 1) {
    text = `${who[0]} is typing…`;
  } else if (who.length === 2) {
    text = `${who[0]} and ${who[1]} are typing…`;
  } else if (who.length > 2) {
    text = 'several people are typing…';
  }
  ui.typing.textContent = text;
}

function formatTime(at) {
  const date = new Date(typeof at === 'number' ? at : Date.now());
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function renderConversation() {
  const room = state.active;
  const entry = room ? state.joined.get(room) : null;
  ui.roomTitle.textContent = room ? `# ${room}` : 'No room yet';
  ui.leaveRoom.hidden = !room;
  ui.message.disabled = !room;
  ui.send.disabled = !room;
  ui.message.placeholder = room ? `Message #${room}` : 'Join a room first';
  ui.emptyHint.hidden = Boolean(room);
  const wasAtBottom = ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 24;
  const items = (entry ? entry.items : []).map((item) => {
    if (item.kind === 'notice') {
      return el('li', { className: 'message notice' }, item.text);
    }
    const mine = item.from === state.nickname;
    const time = el('time', {}, formatTime(item.at));
    if (typeof item.at === 'number') {
      time.dateTime = new Date(item.at).toISOString();
    }
    return el('li', { className: mine ? 'message mine' : 'message' },
      el('span', { className: 'from' }, mine ? 'you' : item.from),
      el('span', { className: 'text' }, item.text),
      time);
  });
  ui.messages.replaceChildren(...items);
  if (wasAtBottom) {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }
  const members = entry ? [...entry.members].sort() : [];
  ui.memberList.replaceChildren(...members.map((name) => {
    const li = el('li', {}, name === state.nickname ? `${name} (you)` : name);
    if (name === state.nickname) {
      li.classList.add('self');
    }
    return li;
  }));
}

function render() {
  renderRooms();
  renderConversation();
  renderTyping();
}
