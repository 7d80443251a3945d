// At-least-once delivery through the gateway: a client with a persistent
// client id (`auth.clientId`) that disconnects mid-stream and comes back with
// the same id receives what it missed, in order, and not what it had already
// acknowledged.
//
// Server contract (socketio_interop.rs): namespace `/feed` is at-least-once;
// its sockets join the rooms in `auth.rooms`; `publish` ({room, from, to})
// emits `item` (n) to the room for every n in from..=to, then acks `true`.
// Each `item` arrives with an ack callback; calling it acknowledges the item.

import { run, open, connect, next, until, ask, same, sleep, transportOptions } from './lib.mjs';

const AUTH = { clientId: 'device-42', rooms: ['feed'] };

/** Opens a subscriber that records and acknowledges every item. */
function subscriber(url, opts, items) {
  const socket = open(url, '/feed', { ...opts, auth: AUTH });
  socket.on('item', (n, ack) => {
    items.push(n);
    if (typeof ack === 'function') ack();
  });
  return socket;
}

run('at_least_once', 15_000, async (url, mode, obs) => {
  const opts = transportOptions(mode);
  const publisher = await connect(url, '/feed', opts);

  const before = [];
  const first = subscriber(url, opts, before);
  await next(first, 'connect', 'first subscriber connect');
  same(await ask(first, 'ping-server'), [true], 'first subscriber is set up');
  same(await ask(publisher, 'publish', { room: 'feed', from: 1, to: 3 }), [true], 'publish 1..3');
  await until(() => before.length >= 3, 'first subscriber receives 1..3');
  // Let the acks of 1..3 reach the server before leaving.
  await sleep(200);
  obs.beforeDisconnect = [...before];
  same(obs.beforeDisconnect, [1, 2, 3], 'items before the disconnect');
  first.disconnect();
  await sleep(200);

  same(await ask(publisher, 'publish', { room: 'feed', from: 4, to: 6 }), [true], 'publish 4..6 while away');
  await sleep(100);
  obs.firstAfterDisconnect = before.length - 3;

  const after = [];
  const second = subscriber(url, opts, after);
  await next(second, 'connect', 'reconnect with the same client id');
  await until(() => after.length >= 3, 'missed items 4..6 after coming back');
  // Leave time for duplicates or already acknowledged items to show up.
  await sleep(300);
  obs.afterReconnect = [...after];
  same(obs.afterReconnect, [4, 5, 6], 'items received after coming back (exactly the missed ones, in order)');

  // Live delivery continues on the new socket.
  same(await ask(publisher, 'publish', { room: 'feed', from: 7, to: 7 }), [true], 'publish 7');
  await until(() => after.includes(7), 'live item 7 after coming back');
  obs.final = [...after];
  same(obs.final, [4, 5, 6, 7], 'items on the second socket');
  for (const s of [publisher, second]) s.disconnect();
});
