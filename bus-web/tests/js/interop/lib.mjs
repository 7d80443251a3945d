// Shared helpers of the socket.io-client interop scripts.
//
// Every script is run by `bus-web/tests/socketio_interop.rs` as
// `node <script>.mjs <server-url> [mode]`. A script prints exactly one JSON
// line of observations on stdout and exits 0 when every check passed; on a
// failure it prints `{"ok":false,"error":...}` (plus what it observed so far),
// writes the reason to stderr and exits 1. Every wait is bounded and a
// watchdog ends the whole run, so a broken server cannot hang the test.

import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

/** How long one step (a connect, an event, an ack) may take. */
export const STEP_MS = 5_000;

const sockets = [];

/**
 * Runs `body(url, mode, obs)` under a watchdog of `runMs` and reports the
 * result. `obs` is the observation object printed as the JSON line.
 */
export function run(name, runMs, body) {
  const [url, mode] = process.argv.slice(2);
  if (!url) {
    console.error(`usage: node ${name}.mjs <server-url> [mode]`);
    process.exit(2);
  }
  const obs = { script: name, mode: mode ?? null };
  const finish = (code, error) => {
    for (const s of sockets) {
      try {
        s.io.opts.reconnection = false;
        s.io.reconnection(false);
        s.disconnect();
      } catch {
        // closing is best effort: the verdict is already decided
      }
    }
    if (error !== undefined) {
      console.error(`${name}: ${error}`);
    }
    process.stdout.write(`${JSON.stringify({ ok: code === 0, error, ...obs })}\n`, () => process.exit(code));
  };
  const watchdog = setTimeout(() => finish(1, `gave up after ${runMs} ms (a step hung)`), runMs);
  Promise.resolve()
    .then(() => body(url, mode, obs))
    .then(
      () => {
        clearTimeout(watchdog);
        finish(0);
      },
      (err) => {
        clearTimeout(watchdog);
        finish(1, err && err.stack ? err.stack : String(err));
      },
    );
}

/** Transport options for a mode: `polling`, `websocket`, or anything else (default: polling then upgrade). */
export function transportOptions(mode) {
  if (mode === 'polling') return { transports: ['polling'] };
  if (mode === 'websocket') return { transports: ['websocket'] };
  return {};
}

/**
 * Opens a socket.io-client socket on `url + nsp` (a new Manager unless
 * `opts.forceNew === false`); reconnection is off unless asked for. Resolves
 * with the socket once connected; rejects on connect_error or timeout.
 */
export async function connect(url, nsp, opts = {}) {
  const socket = open(url, nsp, opts);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect to ${nsp}: no answer within ${STEP_MS} ms`)), STEP_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(new Error(`connect to ${nsp}: connect_error ${err.message} ${JSON.stringify(err.data)}`));
    });
  });
  return socket;
}

/** Like `connect` but does not wait: listeners can be added before any packet arrives. */
export function open(url, nsp, opts = {}) {
  const socket = io(url + nsp, { forceNew: true, reconnection: false, timeout: STEP_MS, ...opts });
  sockets.push(socket);
  return socket;
}

/**
 * Resolves with the arguments of the next `event` on `emitter`, or rejects
 * after `ms` naming `what`.
 */
export function next(emitter, event, what, ms = STEP_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`${what}: no "${event}" within ${ms} ms`));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(event, handler);
  });
}

/**
 * Records every `event` on `emitter` into an array (arguments list per
 * event), so a script can check "exactly once" and "never".
 */
export function record(emitter, event) {
  const seen = [];
  emitter.on(event, (...args) => seen.push(args));
  return seen;
}

/** Waits until `cond()` holds, polling every 10 ms, or rejects after `ms`. */
export async function until(cond, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`);
    await sleep(10);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Emits with an ack and resolves with every argument of the answer (bounded). */
export function ask(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(STEP_MS).emit(event, ...args, (err, ...answer) => {
      if (err) reject(new Error(`ack of "${event}": ${err.message}`));
      else resolve(answer);
    });
  });
}

/** The bytes of a Buffer, ArrayBuffer or typed array as a plain array; throws on anything else. */
export function bytes(value, what) {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  throw new Error(`${what}: expected binary data, got ${JSON.stringify(value)}`);
}

/** Deep equality with a message naming what was compared. */
export function same(actual, expected, what) {
  assert.deepStrictEqual(actual, expected, `${what}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

/** A plain truth check with a message. */
export function check(cond, what) {
  assert.ok(cond, what);
}
