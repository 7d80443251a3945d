// Acknowledgements both ways, with timeouts on both sides.
//
// Server contract (socketio_interop.rs), namespace `/`:
// - `message-with-ack` is acknowledged with its own arguments;
// - `no-ack` is received and never acknowledged;
// - `ask` (n) makes the server `emit_with_ack("question", {n}, 3 s)` and
//   emit `answer-seen` with the client's answer (or `ack-failed` with the error);
// - `ask-unanswered` makes the server `emit_with_ack("question-unanswered", 300 ms)`,
//   which this client never answers, and emit `ack-failed` with the error text.

import { run, connect, next, ask, same, check, transportOptions } from './lib.mjs';

run('acks', 15_000, async (url, mode, obs) => {
  const socket = await connect(url, '/', transportOptions(mode));

  // Client -> server with emitWithAck and a timeout.
  obs.withAck = await socket.timeout(3_000).emitWithAck('message-with-ack', { hello: 'world' });
  same(obs.withAck, { hello: 'world' }, 'emitWithAck answer');

  // Every argument of the answer comes back.
  obs.withAckArgs = await ask(socket, 'message-with-ack', 'a', 1, { x: null }, [2, 3]);
  same(obs.withAckArgs, ['a', 1, { x: null }, [2, 3]], 'ack arguments');

  // Many acks in flight at once: each answer reaches its own callback.
  const many = await Promise.all(
    Array.from({ length: 30 }, (_, i) => socket.timeout(5_000).emitWithAck('message-with-ack', `n${i}`)),
  );
  obs.concurrentAcksMatched = many.every((answer, i) => answer === `n${i}`);
  check(obs.concurrentAcksMatched, `30 concurrent acks each answered with their own value (got ${many})`);

  // An ack with no arguments still arrives.
  obs.emptyAck = await ask(socket, 'message-with-ack');
  same(obs.emptyAck, [], 'ack of an event without arguments');

  // The client's timeout fires when the server never answers, and the
  // socket stays usable.
  const started = Date.now();
  try {
    await socket.timeout(400).emitWithAck('no-ack', 'ignored');
    throw new Error('emitWithAck("no-ack") resolved, but the server never acknowledges it');
  } catch (err) {
    obs.clientTimeout = err.message;
    obs.clientTimeoutAfterMs = Date.now() - started;
  }
  same(obs.clientTimeout, 'operation has timed out', 'client ack timeout error');
  check(obs.clientTimeoutAfterMs >= 350, `timeout fired after ${obs.clientTimeoutAfterMs} ms, not before 400 ms`);
  check(socket.connected, 'still connected after an ack timeout');

  // Server -> client: the server's emit_with_ack answered by a client callback.
  socket.on('question', (q, callback) => {
    obs.question = q;
    callback({ answer: q.n * 2 });
  });
  const seen = next(socket, 'answer-seen', 'server seeing the client ack');
  const failedEarly = next(socket, 'ack-failed', 'unexpected', 10_000).then((args) => {
    throw new Error(`server ack failed: ${JSON.stringify(args)}`);
  });
  socket.emit('ask', 21);
  obs.answerSeen = await Promise.race([seen, failedEarly]);
  failedEarly.catch(() => {});
  same(obs.question, { n: 21 }, 'question the server asked');
  same(obs.answerSeen, [{ answer: 42 }], 'answer the server received');

  // Server -> client ack that the client never answers: the server times out.
  socket.on('question-unanswered', () => {
    obs.unansweredQuestionReceived = true;
  });
  const failed = next(socket, 'ack-failed', 'server ack timeout');
  socket.emit('ask-unanswered');
  obs.serverAckFailure = await failed;
  check(obs.unansweredQuestionReceived === true, 'the unanswered question reached the client');
  check(/time/i.test(String(obs.serverAckFailure[0])), `server reports a timeout (got ${JSON.stringify(obs.serverAckFailure)})`);

  // Still usable afterwards.
  obs.finalAck = await socket.timeout(3_000).emitWithAck('message-with-ack', 'done');
  same(obs.finalAck, 'done', 'ack after the timeouts');
  socket.disconnect();
});
