// Automatic reconnection after the server drops the transport.
//
// The client connects with reconnection on (short delays), asks the server
// to close its Engine.IO session (`drop-transport`), sees `disconnect` with a
// transport reason, reconnects by itself, and can emit again.
//
// Server contract (socketio_interop.rs), namespace `/`: `drop-transport`
// closes the Engine.IO session the socket lives on (not a Socket.IO
// namespace disconnect, which would not be retried); `message-with-ack` is
// acknowledged with its own arguments.

import { run, connect, next, same, check, transportOptions } from './lib.mjs';

run('reconnect', 20_000, async (url, mode, obs) => {
  const socket = await connect(url, '/', {
    ...transportOptions(mode),
    reconnection: true,
    reconnectionAttempts: 20,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    randomizationFactor: 0,
  });
  obs.firstId = socket.id;
  obs.firstTransport = socket.io.engine.transport.name;
  same(await socket.timeout(3_000).emitWithAck('message-with-ack', 'before'), 'before', 'ack before the drop');

  const disconnected = next(socket, 'disconnect', 'disconnect after the server dropped the transport');
  const reconnected = next(socket.io, 'reconnect', 'automatic reconnection', 10_000);
  socket.emit('drop-transport');
  [obs.disconnectReason] = await disconnected;
  check(
    ['transport close', 'transport error', 'ping timeout'].includes(obs.disconnectReason),
    `disconnect reason is a transport one the client retries (got ${obs.disconnectReason})`,
  );
  [obs.reconnectAttempts] = await reconnected;
  if (!socket.connected) await next(socket, 'connect', 'socket connect after reconnection');
  obs.secondId = socket.id;
  check(obs.secondId && obs.secondId !== obs.firstId, `a new socket id after reconnection (${obs.firstId} -> ${obs.secondId})`);
  same(await socket.timeout(3_000).emitWithAck('message-with-ack', 'after'), 'after', 'ack after reconnection');
  socket.io.reconnection(false);
  socket.disconnect();
});
