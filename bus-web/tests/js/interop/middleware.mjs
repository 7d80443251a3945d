// A middleware rejection reaches the client as `connect_error` with the
// middleware's message and data; the right credentials get in; an unknown
// namespace is refused with "Invalid namespace".
//
// Server contract (socketio_interop.rs): namespace `/private` has a
// middleware that rejects any auth whose `token` is not "let-me-in" with
// message "not authorized" and data {"code": 401, "reason": "bad token"}.

import { run, open, next, same, check, sleep, transportOptions } from './lib.mjs';

run('middleware', 15_000, async (url, mode, obs) => {
  const opts = transportOptions(mode);

  const rejected = open(url, '/private', { ...opts, auth: { token: 'wrong' } });
  const connected = [];
  rejected.on('connect', () => connected.push(rejected.id));
  const [err] = await next(rejected, 'connect_error', 'rejected connect');
  obs.rejection = { message: err.message, data: err.data };
  same(obs.rejection, { message: 'not authorized', data: { code: 401, reason: 'bad token' } }, 'connect_error');
  await sleep(200);
  check(connected.length === 0 && !rejected.connected, 'the rejected socket never connects');
  rejected.disconnect();

  const allowed = open(url, '/private', { ...opts, auth: { token: 'let-me-in' } });
  const allowedAuth = next(allowed, 'auth', 'auth echo on /private');
  await next(allowed, 'connect', 'connect to /private with the right token');
  [obs.allowedAuth] = await allowedAuth;
  same(obs.allowedAuth, { token: 'let-me-in' }, 'auth seen by /private');
  allowed.disconnect();

  const unknown = open(url, '/no-such-namespace', opts);
  const [err2] = await next(unknown, 'connect_error', 'unknown namespace');
  obs.unknownNamespace = err2.message;
  same(obs.unknownNamespace, 'Invalid namespace', 'connect_error for an unknown namespace');
  unknown.disconnect();
});
