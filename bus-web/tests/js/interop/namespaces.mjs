// Connects to `/` without auth and to `/custom` with auth over one Manager,
// checks the `auth` echo of each, that both share one Engine.IO connection,
// and that disconnecting `/custom` leaves `/` working.
//
// Server contract (socketio_interop.rs): every namespace emits `auth` with
// the handshake's auth on connect; `/` acknowledges `message-with-ack` with
// its own arguments.

import { io } from 'socket.io-client';
import { run, next, ask, same, check, STEP_MS, sleep } from './lib.mjs';

const CUSTOM_AUTH = { token: 'abc', n: 1, nested: { list: [1, 'two', null], flag: true } };

run('namespaces', 15_000, async (url, _mode, obs) => {
  const manager = io(url, { forceNew: true, reconnection: false, timeout: STEP_MS }).io;
  const root = manager.socket('/');
  const custom = manager.socket('/custom', { auth: CUSTOM_AUTH });
  const rootAuth = next(root, 'auth', '/ auth echo');
  const customAuth = next(custom, 'auth', '/custom auth echo');
  root.connect();
  custom.connect();
  await Promise.all([next(root, 'connect', 'connect to /'), next(custom, 'connect', 'connect to /custom')]);
  obs.rootId = root.id;
  obs.customId = custom.id;
  check(typeof root.id === 'string' && root.id.length > 0, `/ got a socket id (${root.id})`);
  check(typeof custom.id === 'string' && custom.id.length > 0, `/custom got a socket id (${custom.id})`);
  check(root.id !== custom.id, 'the two namespaces have distinct socket ids');
  obs.sharedEngine = root.io.engine === custom.io.engine;
  check(obs.sharedEngine, 'both namespaces use one Engine.IO connection');

  [obs.rootAuth] = await rootAuth;
  [obs.customAuth] = await customAuth;
  same(obs.rootAuth, {}, 'auth seen by / when the client sends none');
  same(obs.customAuth, CUSTOM_AUTH, 'auth seen by /custom');

  // Leaving /custom must not disturb /.
  custom.disconnect();
  await sleep(100);
  obs.rootAfterCustomLeft = await ask(root, 'message-with-ack', 'still', 'here');
  same(obs.rootAfterCustomLeft, ['still', 'here'], '/ after /custom disconnected');
  check(root.connected, '/ stays connected');
  root.disconnect();
});
