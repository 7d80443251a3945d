// The server drives the heartbeat: with a short pingInterval the client
// receives a ping every interval, answers it, and stays connected through
// several intervals of silence (socket.io-client closes with "ping timeout"
// when no ping arrives within pingInterval + pingTimeout).
//
// Server contract (socketio_interop.rs): pingInterval 300 ms, pingTimeout
// 1000 ms (generous, for loaded machines: a server that never pings still
// loses the client after 1.3 s, inside the 2 s idle period); `message-with-ack`
// is acknowledged with its own arguments.

import { run, connect, same, check, sleep, transportOptions } from './lib.mjs';

run('heartbeat', 15_000, async (url, mode, obs) => {
  const socket = await connect(url, '/', transportOptions(mode));
  const engine = socket.io.engine;
  obs.transport = engine.transport.name;
  obs.pingInterval = engine._pingInterval;
  obs.pingTimeout = engine._pingTimeout;
  same([obs.pingInterval, obs.pingTimeout], [300, 1000], 'heartbeat settings from the handshake');

  const disconnects = [];
  socket.on('disconnect', (reason) => disconnects.push(reason));
  let pings = 0;
  engine.on('ping', () => {
    pings += 1;
  });

  await sleep(2_000);
  obs.pings = pings;
  obs.disconnects = [...disconnects];
  same(disconnects, [], 'no disconnect while idle');
  // 2 s at one ping per 300 ms is about 6; allow for a loaded machine.
  check(pings >= 3, `the server pinged at least 3 times in 2 s (got ${pings})`);
  same(await socket.timeout(3_000).emitWithAck('message-with-ack', 'awake'), 'awake', 'ack after idling');
  socket.disconnect();
});
