// Binary payloads both ways on one transport mode (argv[3]).
//
// Server contract (socketio_interop.rs), namespace `/`:
// - `message` is echoed as `message-back` with the same arguments, binary
//   attachments included, and the server records what it received;
// - `message-with-ack` is acknowledged with its own arguments (a BINARY_ACK
//   when they hold binary);
// - `send-binary` makes the server emit `binary` with
//   (<bytes 0..=255>, "between", {"inner": <bytes [0, 1, 2, 255]>});
// - `ask-binary` makes the server `emit_with_ack("question-binary", ...)` and
//   emit `answer-seen` with the answer it decoded (JSON, so a binary answer
//   shows as its placeholder).

import { run, connect, next, ask, bytes, same, check, transportOptions } from './lib.mjs';

const ALL_BYTES = [...Array(256).keys()];

run('binary', 15_000, async (url, mode, obs) => {
  const socket = await connect(url, '/', transportOptions(mode));
  obs.transport = socket.io.engine.transport.name;

  // Client -> server -> client: a Buffer at top level and a Uint8Array nested.
  const echoed = next(socket, 'message-back', 'binary echo');
  socket.emit('message', Buffer.from([1, 2, 3]), { label: 'x', nested: new Uint8Array([4, 5]) }, 'text');
  const [first, second, third] = await echoed;
  obs.echo = [bytes(first, 'echo arg 0'), { label: second.label, nested: bytes(second.nested, 'echo arg 1.nested') }, third];
  same(obs.echo, [[1, 2, 3], { label: 'x', nested: [4, 5] }, 'text'], 'binary echo');

  // An ArrayBuffer argument, acknowledged with a binary ack.
  const ab = new Uint8Array([9, 8, 7, 0, 255]).buffer;
  const answer = await ask(socket, 'message-with-ack', ab);
  check(answer.length === 1, `binary ack has one argument (got ${answer.length})`);
  obs.binaryAck = bytes(answer[0], 'binary ack');
  same(obs.binaryAck, [9, 8, 7, 0, 255], 'binary ack bytes');

  // Server -> client: two attachments around a string.
  const pushed = next(socket, 'binary', 'server binary emit');
  socket.emit('send-binary');
  const [big, between, obj] = await pushed;
  obs.fromServer = { big: bytes(big, 'server arg 0'), between, inner: bytes(obj && obj.inner, 'server arg 2.inner') };
  same(obs.fromServer.big, ALL_BYTES, 'all 256 byte values');
  same(obs.fromServer.between, 'between', 'string between attachments');
  same(obs.fromServer.inner, [0, 1, 2, 255], 'nested attachment');
  obs.fromServer.big = `${obs.fromServer.big.length} bytes`;

  // A 200 kB binary payload (base64 in a polling payload) comes back intact.
  const bigBinary = Buffer.alloc(200_000, 0).map((_, i) => (i * 7) & 0xff);
  const bigEchoed = next(socket, 'message-back', 'echo of 200 kB of binary');
  socket.emit('message', bigBinary);
  const [bigBack] = await bigEchoed;
  const bigBackBytes = Buffer.from(bytes(bigBack, 'big binary echo'));
  obs.bigBinaryLength = bigBackBytes.length;
  check(bigBackBytes.equals(bigBinary), `200 kB of binary round trip (got ${bigBackBytes.length} bytes)`);

  // The client answers a server emit_with_ack with binary (a BINARY_ACK from
  // the client). Server code decodes the answer as JSON, so it reports the
  // placeholder the attachment stands for.
  socket.on('question-binary', (_q, callback) => callback(Buffer.from([7, 7, 7])));
  const seen = next(socket, 'answer-seen', 'server seeing the binary ack');
  socket.emit('ask-binary');
  [obs.binaryAnswerSeen] = await seen;
  same(obs.binaryAnswerSeen, { _placeholder: true, num: 0 }, 'binary ack as the server decoded it');

  check(socket.connected, 'still connected');
  socket.disconnect();
});
