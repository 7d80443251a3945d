// Emits both ways on one transport mode (argv[3]: `polling`, `websocket`,
// or `upgrade`), reports the transport in use, and for `upgrade` waits for
// the polling-to-WebSocket upgrade and checks events still flow after it.
//
// Server contract (socketio_interop.rs): `/` echoes `message` as
// `message-back` with the same arguments, and on `please-emit` emits
// `pushed` with ("from-server", 42, {"nested": [true]}).

import { run, open, next, until, same, check, sleep, transportOptions } from './lib.mjs';

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
  const early = [];
  socket.on('message-back', (kind, i) => {
    if (kind === 'early') early.push(i);
  });
  await next(socket, 'connect', 'connect to /');

  // Traffic in flight while the transport may be upgrading: 100 events sent
  // in small groups from the moment of connecting; every echo must arrive
  // once and in order.
  const EARLY = 100;
  for (let i = 0; i < EARLY; i++) {
    socket.emit('message', 'early', i);
    if (i % 10 === 9) await sleep(5);
  }

  if (mode === 'upgrade') {
    check(obs.transportAtConnect === 'polling', `an upgrading client starts on polling (got ${obs.transportAtConnect})`);
    await until(() => obs.upgradedTo !== undefined, 'polling to websocket upgrade');
    same(obs.upgradedTo, 'websocket', 'upgraded transport');
  } else {
    check(obs.upgradedTo === undefined, `no upgrade with transports [${mode}] (got ${obs.upgradedTo})`);
  }

  await until(() => early.length >= EARLY, `all ${EARLY} echoes of the events sent while connecting`);
  obs.earlyInOrder = early.length === EARLY && early.every((value, i) => value === i);
  check(obs.earlyInOrder, `early echoes arrive once each, in order (got ${early.length}: ${early.slice(0, 12)}...)`);

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

  // A burst: every event arrives once and in order (the server and the
  // client both batch several packets into one write).
  const BURST = 200;
  const burst = [];
  const onBurst = (kind, i) => {
    if (kind === 'burst') burst.push(i);
  };
  socket.on('message-back', onBurst);
  for (let i = 0; i < BURST; i++) socket.emit('message', 'burst', i);
  await until(() => burst.length >= BURST, `all ${BURST} burst echoes`);
  socket.off('message-back', onBurst);
  obs.burstInOrder = burst.every((value, i) => value === i) && burst.length === BURST;
  check(obs.burstInOrder, `burst echoes arrive once each, in order (got ${burst.length}: ${burst.slice(0, 10)}...)`);

  // Four 300 kB messages in one burst: 1.2 MB in all, more than the 1 MB
  // maxPayload of one HTTP request, so a polling client must split its
  // writes by the maxPayload the handshake announced.
  const LARGE = 4;
  const large = (i) => `${i}:`.padEnd(300_000, String.fromCharCode(97 + i));
  const largeBack = [];
  const onLarge = (kind, i, text) => {
    if (kind === 'large') largeBack.push([i, text]);
  };
  socket.on('message-back', onLarge);
  for (let i = 0; i < LARGE; i++) socket.emit('message', 'large', i, large(i));
  await until(() => largeBack.length >= LARGE, `all ${LARGE} echoes of 300 kB messages`);
  socket.off('message-back', onLarge);
  obs.largeBack = largeBack.map(([i, text]) => [i, text.length]);
  check(
    largeBack.every(([i, text], n) => i === n && text === large(n)),
    `300 kB messages come back intact and in order (got ${JSON.stringify(obs.largeBack)})`,
  );

  obs.transportAtEnd = socket.io.engine.transport.name;
  const want = mode === 'polling' ? 'polling' : 'websocket';
  check(obs.transportAtEnd === want, `transport at the end is ${want} (got ${obs.transportAtEnd})`);
  check(socket.connected, 'still connected at the end');
  socket.disconnect();
});
