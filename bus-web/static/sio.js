// sio.js: a small Socket.IO v5 client over an Engine.IO v4 WebSocket.
//
// Written for the bus demo page so that it works offline (no CDN, no
// third-party code). It speaks enough of the protocols for a chat:
//
// - Engine.IO v4 over WebSocket: the open handshake, the server's pings
//   answered with pongs, a ping timeout that drops a silent connection,
//   message and close packets.
// - Socket.IO v5: CONNECT with an auth payload, CONNECT_ERROR, DISCONNECT,
//   EVENT and ACK in both directions (text payloads; binary is not supported).
// - Reconnection with exponential backoff and jitter, and a buffer of the
//   events emitted while disconnected.
//
// Usage:
//
//   import { io } from './sio.js';
//   const socket = io({ namespace: '/chat', auth: { token: 'x' } });
//   socket.on('connect', () => socket.emit('hello', 'world', (reply) => {}));

/** Engine.IO v4 packet types, as the first character of a text frame. */
const EIO_OPEN = '0';
const EIO_CLOSE = '1';
const EIO_PING = '2';
const EIO_PONG = '3';
const EIO_MESSAGE = '4';
const EIO_NOOP = '6';

/** Socket.IO v5 packet types. */
export const PacketType = Object.freeze({
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
});

/** Event names that belong to the socket itself and cannot be emitted. */
const RESERVED_EVENTS = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'reconnect_attempt',
  'newListener',
  'removeListener',
]);

/**
 * Encodes a Socket.IO packet into the text carried by an Engine.IO message.
 *
 * @param {{type: number, nsp?: string, id?: number, data?: unknown}} packet
 * @returns {string}
 */
export function encodePacket(packet) {
  let out = String(packet.type);
  if (packet.nsp && packet.nsp !== '/') {
    out += packet.nsp + ',';
  }
  if (packet.id !== undefined) {
    out += String(packet.id);
  }
  if (packet.data !== undefined) {
    out += JSON.stringify(packet.data);
  }
  return out;
}

/**
 * Decodes the text of an Engine.IO message into a Socket.IO packet.
 *
 * @param {string} text
 * @returns {{type: number, nsp: string, id?: number, data?: unknown}}
 * @throws {Error} when the text is not a valid text packet
 */
export function decodePacket(text) {
  const type = Number(text.charAt(0));
  if (!Number.isInteger(type) || type < 0 || type > 6 || text.length === 0) {
    throw new Error(`unknown packet type in ${JSON.stringify(text.slice(0, 16))}`);
  }
  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    throw new Error('binary packets are not supported by this client');
  }
  let i = 1;
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? text.length : comma + 1;
  }
  let id;
  const digits = /^\d+/.exec(text.slice(i));
  if (digits) {
    id = Number(digits[0]);
    i += digits[0].length;
  }
  const packet = { type, nsp };
  if (id !== undefined) {
    packet.id = id;
  }
  if (i < text.length) {
    packet.data = JSON.parse(text.slice(i));
  }
  return packet;
}

/**
 * A Socket.IO socket on one namespace, over its own Engine.IO connection.
 *
 * Events: `connect`, `connect_error` (an `Error`, with `.data` when the server
 * sent some), `disconnect` (a reason such as `transport close`,
 * `ping timeout`, `io server disconnect`, `io client disconnect`) and
 * `reconnect_attempt` (attempt number, delay in ms), plus whatever the server
 * emits.
 */
export class Socket {
  /**
   * @param {string | undefined} url base URL of the server; defaults to the page's origin
   * @param {object} [options]
   * @param {string} [options.namespace='/'] the Socket.IO namespace
   * @param {string} [options.path='/socket.io/'] the Engine.IO endpoint
   * @param {object | (() => object)} [options.auth] the CONNECT payload
   * @param {boolean} [options.reconnection=true]
   * @param {number} [options.reconnectionDelay=500] first delay, in ms
   * @param {number} [options.reconnectionDelayMax=5000] largest delay, in ms
   * @param {number} [options.randomizationFactor=0.5] jitter, 0 to 1
   * @param {number} [options.timeout=10000] connect timeout, in ms
   * @param {number} [options.ackTimeout=10000] default `emitWithAck` timeout, in ms
   */
  constructor(url, options = {}) {
    this.nsp = options.namespace || '/';
    this.path = options.path || '/socket.io/';
    this.auth = options.auth || {};
    this.reconnection = options.reconnection !== false;
    this.reconnectionDelay = options.reconnectionDelay ?? 500;
    this.reconnectionDelayMax = options.reconnectionDelayMax ?? 5000;
    this.randomizationFactor = options.randomizationFactor ?? 0.5;
    this.connectTimeout = options.timeout ?? 10000;
    this.ackTimeout = options.ackTimeout ?? 10000;
    this.base = url || globalThis.location?.href;

    /** @type {string | undefined} the session id the server gave this socket */
    this.id = undefined;
    /** true between `connect` and `disconnect` */
    this.connected = false;

    this._listeners = new Map();
    this._acks = new Map();
    this._nextAckId = 0;
    this._sendBuffer = [];
    this._ws = null;
    this._attempts = 0;
    this._pingTimer = null;
    this._connectTimer = null;
    this._reconnectTimer = null;
    this._pingInterval = 25000;
    this._pingTimeout = 20000;
    this._closedByUser = false;

    this.connect();
  }

  /** Registers a listener for an event. Returns the socket. */
  on(event, listener) {
    if (!this._listeners.has(event)) {
      this._listeners.set(event, new Set());
    }
    this._listeners.get(event).add(listener);
    return this;
  }

  /** Registers a listener called at most once. Returns the socket. */
  once(event, listener) {
    const wrapped = (...args) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  /** Removes a listener, or every listener of the event when none is given. */
  off(event, listener) {
    if (listener === undefined) {
      this._listeners.delete(event);
    } else {
      this._listeners.get(event)?.delete(listener);
    }
    return this;
  }

  /**
   * Emits an event to the server. When the last argument is a function, it is
   * called with the server's acknowledgement.
   */
  emit(event, ...args) {
    if (RESERVED_EVENTS.has(event)) {
      throw new Error(`"${event}" is a reserved event name; pick another`);
    }
    const packet = { type: PacketType.EVENT, nsp: this.nsp, data: [event, ...args] };
    if (typeof args[args.length - 1] === 'function') {
      const callback = args.pop();
      packet.data = [event, ...args];
      packet.id = this._nextAckId++;
      this._acks.set(packet.id, callback);
    }
    if (this.connected) {
      this._sendPacket(packet);
    } else {
      this._sendBuffer.push(packet);
    }
    return this;
  }

  /**
   * Emits an event and resolves with the first argument of the server's
   * acknowledgement; rejects after `timeoutMs` without one.
   *
   * @returns {Promise<unknown>}
   */
  emitWithAck(event, ...args) {
    const timeoutMs = this.ackTimeout;
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(new Error(`no acknowledgement for "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.emit(event, ...args, (reply) => {
        if (!done) {
          clearTimeout(timer);
          resolve(reply);
        }
      });
    });
  }

  /** Opens the connection (done by the constructor; use after `disconnect()`). */
  connect() {
    this._closedByUser = false;
    if (this._ws) {
      return this;
    }
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._open();
    return this;
  }

  /** Closes the connection for good: no reconnection until `connect()`. */
  disconnect() {
    this._closedByUser = true;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    if (this._ws && this.connected) {
      this._sendPacket({ type: PacketType.DISCONNECT, nsp: this.nsp });
    }
    this._teardown('io client disconnect');
    return this;
  }

  _dispatch(event, args) {
    const listeners = this._listeners.get(event);
    if (!listeners) {
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`listener for "${event}" failed`, error);
      }
    }
  }

  _url() {
    const url = new URL(this.path, this.base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('EIO', '4');
    url.searchParams.set('transport', 'websocket');
    return url.toString();
  }

  _open() {
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch (error) {
      this._dispatch('connect_error', [error instanceof Error ? error : new Error(String(error))]);
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    this._connectTimer = setTimeout(() => {
      if (this._ws === ws && !this.connected) {
        this._dispatch('connect_error', [new Error('timeout')]);
        this._teardown('connect timeout');
      }
    }, this.connectTimeout);
    ws.onmessage = (message) => {
      if (this._ws === ws) {
        this._onFrame(message.data);
      }
    };
    ws.onclose = () => {
      if (this._ws === ws) {
        this._teardown('transport close');
      }
    };
    ws.onerror = () => {
      if (this._ws === ws && !this.connected) {
        this._dispatch('connect_error', [new Error('websocket error')]);
      }
    };
  }

  _onFrame(frame) {
    if (typeof frame !== 'string') {
      return; // binary attachments: not supported by this client
    }
    const kind = frame.charAt(0);
    const rest = frame.slice(1);
    switch (kind) {
      case EIO_OPEN: {
        let handshake;
        try {
          handshake = JSON.parse(rest);
        } catch {
          this._teardown('parse error');
          return;
        }
        this._pingInterval = Number(handshake.pingInterval) || this._pingInterval;
        this._pingTimeout = Number(handshake.pingTimeout) || this._pingTimeout;
        this._armPingTimer();
        const auth = typeof this.auth === 'function' ? this.auth() : this.auth;
        this._sendPacket({ type: PacketType.CONNECT, nsp: this.nsp, data: auth });
        break;
      }
      case EIO_PING:
        this._armPingTimer();
        this._ws.send(EIO_PONG + rest);
        break;
      case EIO_MESSAGE: {
        let packet;
        try {
          packet = decodePacket(rest);
        } catch (error) {
          console.warn('dropping a packet this client cannot read:', error.message);
          return;
        }
        if (packet.nsp === this.nsp) {
          this._onPacket(packet);
        }
        break;
      }
      case EIO_CLOSE:
        this._teardown('transport close');
        break;
      case EIO_NOOP:
      default:
        break;
    }
  }

  _onPacket(packet) {
    switch (packet.type) {
      case PacketType.CONNECT:
        clearTimeout(this._connectTimer);
        this.id = packet.data?.sid;
        this.connected = true;
        this._attempts = 0;
        this._dispatch('connect', []);
        for (const buffered of this._sendBuffer.splice(0)) {
          this._sendPacket(buffered);
        }
        break;
      case PacketType.CONNECT_ERROR: {
        const error = new Error(packet.data?.message ?? 'connection refused');
        error.data = packet.data?.data;
        this._dispatch('connect_error', [error]);
        // As in socket.io-client: a refusal by the server is not retried.
        this._closedByUser = true;
        this._teardown('io server disconnect', false);
        break;
      }
      case PacketType.DISCONNECT:
        this._closedByUser = true;
        this._teardown('io server disconnect');
        break;
      case PacketType.EVENT: {
        if (!Array.isArray(packet.data) || typeof packet.data[0] !== 'string') {
          return;
        }
        const [event, ...args] = packet.data;
        if (packet.id !== undefined) {
          let sent = false;
          args.push((...reply) => {
            if (!sent) {
              sent = true;
              this._sendPacket({ type: PacketType.ACK, nsp: this.nsp, id: packet.id, data: reply });
            }
          });
        }
        this._dispatch(event, args);
        break;
      }
      case PacketType.ACK: {
        const callback = this._acks.get(packet.id);
        if (callback) {
          this._acks.delete(packet.id);
          callback(...(Array.isArray(packet.data) ? packet.data : []));
        }
        break;
      }
      default:
        break;
    }
  }

  _sendPacket(packet) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) {
      this._ws.send(EIO_MESSAGE + encodePacket(packet));
    }
  }

  _armPingTimer() {
    clearTimeout(this._pingTimer);
    this._pingTimer = setTimeout(() => {
      this._teardown('ping timeout');
    }, this._pingInterval + this._pingTimeout);
  }

  _teardown(reason, notify = true) {
    const ws = this._ws;
    this._ws = null;
    clearTimeout(this._pingTimer);
    clearTimeout(this._connectTimer);
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = null;
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
    const wasConnected = this.connected;
    this.connected = false;
    this.id = undefined;
    if (wasConnected && notify) {
      this._dispatch('disconnect', [reason]);
    }
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this._closedByUser || !this.reconnection || this._reconnectTimer) {
      return;
    }
    const attempt = ++this._attempts;
    let delay = Math.min(this.reconnectionDelayMax, this.reconnectionDelay * 2 ** (attempt - 1));
    const jitter = delay * this.randomizationFactor * (Math.random() * 2 - 1);
    delay = Math.max(0, Math.round(Math.min(this.reconnectionDelayMax, delay + jitter)));
    this._dispatch('reconnect_attempt', [attempt, delay]);
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (!this._closedByUser && !this._ws) {
        this._open();
      }
    }, delay);
  }
}

/**
 * Opens a socket: `io()`, `io(options)` or `io(url, options)`.
 *
 * @returns {Socket}
 */
export function io(url, options) {
  if (typeof url === 'object' && url !== null) {
    return new Socket(undefined, url);
  }
  return new Socket(url, options || {});
}
