// Emits both ways on one transport mode (argv[3]: `polling`, `websocket`,
// or `upgrade`), reports the transport in use, and for `upgrade` waits for
// the polling-to-WebSocket upgrade and checks events still flow after it.
//
// Server contract (socketio_interop.rs): `/` echoes `message` as
// `message-back` with the same arguments, and on `please-emit` emits
// `pushed` with ("from-server", 42, {"nested": [true]}).

import { run, open, next, until, same, check, transportOptions } from './lib.mjs';

run('basic', 15_000, async (url, mode, obs) => {
  const socket = open(url, '/', transportOptions(mode));
  // The transport the Engine.IO connection opened with, and any upgrade,
  // are recorded as they happen (an upgrade can finish before `connect`).
  socket.io.once('open', () => {
    const engine = socket.io.engine;
    obs.transportAtConnect = engine.transport.name;
    engine.once('upgrade', (transport) => {
      obs.upgradedTo = transport.name;
    });
  });
  await next(socket, 'connect', 'connect to /');

  if (mode === 'upgrade') {
    check(obs.transportAtConnect === 'polling', `an upgrading client starts on polling (got ${obs.transportAtConnect})`);
    await until(() => obs.upgradedTo !== undefined, 'polling to websocket upgrade');
    same(obs.upgradedTo, 'websocket', 'upgraded transport');
  } else {
    check(obs.upgradedTo === undefined, `no upgrade with transports [${mode}] (got ${obs.upgradedTo})`);
  }

  const echoed = next(socket, 'message-back', 'echo of message');
  socket.emit('message', 'hello', 1, { a: [true, null, 2.5] });
  obs.messageBack = await echoed;
  same(obs.messageBack, ['hello', 1, { a: [true, null, 2.5] }], 'message-back arguments');

  const pushed = next(socket, 'pushed', 'server emit');
  socket.emit('please-emit');
  obs.pushed = await pushed;
  same(obs.pushed, ['from-server', 42, { nested: [true] }], 'pushed arguments');

  // Unicode and characters that need escaping survive both directions.
  const tricky = 'é ✓ 𝄞 "quoted" \\ \u001e sep';
  const echoed2 = next(socket, 'message-back', 'echo of a tricky string');
  socket.emit('message', tricky);
  obs.trickyBack = await echoed2;
  same(obs.trickyBack, [tricky], 'tricky string round trip');

  obs.transportAtEnd = socket.io.engine.transport.name;
  const want = mode === 'polling' ? 'polling' : 'websocket';
  check(obs.transportAtEnd === want, `transport at the end is ${want} (got ${obs.transportAtEnd})`);
  check(socket.connected, 'still connected at the end');
  socket.disconnect();
});
