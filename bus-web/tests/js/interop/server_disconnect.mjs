// A server-side `socket.disconnect()` reaches the client as
// "io server disconnect": the client does not reconnect that namespace by
// itself, and the other namespace on the same connection keeps working.
//
// Server contract (socketio_interop.rs): `kick-me` makes the server call
// `socket.disconnect()` on that socket; `message-with-ack` is acknowledged
// with its own arguments.

import { io } from 'socket.io-client';
import { run, next, ask, same, check, sleep, transportOptions, STEP_MS } from './lib.mjs';

run('server_disconnect', 15_000, async (url, mode, obs) => {
  const manager = io(url, {
    ...transportOptions(mode),
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    timeout: STEP_MS,
  }).io;
  const root = manager.socket('/');
  const custom = manager.socket('/custom');
  root.connect();
  custom.connect();
  await Promise.all([next(root, 'connect', 'connect to /'), next(custom, 'connect', 'connect to /custom')]);

  const reconnects = [];
  custom.on('connect', () => reconnects.push(custom.id));
  const kicked = next(custom, 'disconnect', '/custom disconnect after kick-me');
  custom.emit('kick-me');
  [obs.reason] = await kicked;
  same(obs.reason, 'io server disconnect', 'disconnect reason seen by the client');

  // Longer than several reconnection delays: nothing comes back by itself.
  await sleep(600);
  obs.reconnected = reconnects.length;
  check(reconnects.length === 0 && !custom.connected, `/custom stays disconnected (reconnected ${reconnects.length} times)`);
  check(root.connected, '/ stays connected');
  same(await ask(root, 'message-with-ack', 'alive'), ['alive'], '/ still answers');

  // The client may come back explicitly.
  custom.connect();
  await next(custom, 'connect', 'explicit reconnect of /custom');
  same(await ask(custom, 'message-with-ack', 'back'), ['back'], '/custom answers after coming back');
  manager.reconnection(false);
  root.disconnect();
  custom.disconnect();
});
