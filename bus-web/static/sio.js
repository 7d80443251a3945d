// sio.js: a small Socket.IO v5 client over an Engine.IO v4 WebSocket.
//
// Written for the bus demo page so that it works offline (no CDN, no
// third-party code). It speaks enough of the protocols for a chat:
//
// - Engine.IO v4 over WebSocket, or over HTTP long-polling when WebSocket
//   fails (or when asked with `transports: ['polling']`): the open handshake,
//   the server's pings answered with pongs, a ping timeout that drops a
//   silent connection, message and close packets. No upgrade from polling to
//   WebSocket: a connection keeps the transport it started with.
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

/** Engine.IO's separator between packets of a long-polling payload. */
const PAYLOAD_SEPARATOR = '\x1e';

/**
 * Engine.IO over one WebSocket. Calls `events.frame(text)` for each text
 * frame and `events.close(reason)` once when the connection is gone.
 */
class WebSocketTransport {
  constructor(url, events) {
    this.name = 'websocket';
    this._events = events;
    const wsUrl = new URL(url);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    wsUrl.searchParams.set('transport', 'websocket');
    this._ws = new WebSocket(wsUrl.toString());
    this._ws.onmessage = (message) => {
      if (typeof message.data === 'string') {
        this._events.frame(message.data);
      } // binary frames carry attachments, which this client does not support
    };
    this._ws.onclose = () => this._gone('transport close');
    this._ws.onerror = () => this._gone('transport error');
  }

  /** Sends Engine.IO packets (their text). */
  send(packets) {
    if (this._ws.readyState === WebSocket.OPEN) {
      for (const packet of packets) {
        this._ws.send(packet);
      }
    }
  }

  /** Closes the connection without reporting it. */
  close() {
    this._detach();
    try {
      this._ws.close();
    } catch {
      // already closing
    }
  }

  _gone(reason) {
    this._detach();
    this._events.close(reason);
  }

  _detach() {
    this._ws.onmessage = null;
    this._ws.onclose = null;
    this._ws.onerror = null;
  }
}

/**
 * Engine.IO over HTTP long-polling: one GET waiting for the server's packets
 * at a time, and one POST at a time carrying ours (the ones queued meanwhile
 * go together in the next). Same events as WebSocketTransport.
 */
class PollingTransport {
  constructor(url, events) {
    this.name = 'polling';
    this._events = events;
    this._url = new URL(url);
    this._url.searchParams.set('transport', 'polling');
    this._sid = null;
    this._closed = false;
    this._queue = [];
    this._writing = false;
    this._abort = new AbortController();
    this._poll();
  }

  _request(method, body) {
    const url = new URL(this._url);
    if (this._sid) {
      url.searchParams.set('sid', this._sid);
    }
    url.searchParams.set('t', Date.now().toString(36) + Math.random().toString(36).slice(2, 6));
    return fetch(url, {
      method,
      body,
      cache: 'no-store',
      credentials: 'same-origin',
      headers: body === undefined ? undefined : { 'content-type': 'text/plain;charset=UTF-8' },
      signal: this._abort.signal,
    });
  }

  async _poll() {
    while (!this._closed) {
      let text;
      try {
        const response = await this._request('GET');
        if (!response.ok) {
          throw new Error(`poll answered ${response.status}`);
        }
        text = await response.text();
      } catch {
        this._gone('transport error');
        return;
      }
      for (const packet of text.split(PAYLOAD_SEPARATOR)) {
        if (this._closed) {
          return;
        }
        if (packet.charAt(0) === EIO_OPEN && this._sid === null) {
          try {
            this._sid = JSON.parse(packet.slice(1)).sid;
          } catch {
            this._gone('parse error');
            return;
          }
        }
        if (packet.charAt(0) === 'b') {
          continue; // base64 binary: not supported by this client
        }
        this._events.frame(packet);
        if (packet === EIO_CLOSE) {
          this._gone('transport close');
          return;
        }
      }
    }
  }

  /** Sends Engine.IO packets (their text), batched into one POST. */
  send(packets) {
    if (this._closed || this._sid === null) {
      return;
    }
    this._queue.push(...packets);
    if (!this._writing) {
      this._flush();
    }
  }

  async _flush() {
    this._writing = true;
    while (this._queue.length > 0 && !this._closed) {
      const body = this._queue.splice(0).join(PAYLOAD_SEPARATOR);
      try {
        const response = await this._request('POST', body);
        if (!response.ok) {
          throw new Error(`post answered ${response.status}`);
        }
      } catch {
        this._gone('transport error');
        break;
      }
    }
    this._writing = false;
  }

  /** Closes the session without reporting it (tells the server, best effort). */
  close() {
    if (this._closed) {
      return;
    }
    if (this._sid !== null) {
      const url = new URL(this._url);
      url.searchParams.set('sid', this._sid);
      fetch(url, { method: 'POST', body: EIO_CLOSE, credentials: 'same-origin' }).catch(() => {});
    }
    this._closed = true;
    this._abort.abort();
  }

  _gone(reason) {
    if (!this._closed) {
      this._closed = true;
      this._abort.abort();
      this._events.close(reason);
    }
  }
}

const TRANSPORTS = { websocket: WebSocketTransport, polling: PollingTransport };

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
   * @param {string[]} [options.transports=['websocket', 'polling']] transports
   *   to try, in order: the next one is used when a connection attempt fails
   *   before the server's handshake
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
    this.transports = (options.transports || ['websocket', 'polling']).filter((name) => name in TRANSPORTS);
    if (this.transports.length === 0) {
      throw new Error('no usable transport: use "websocket" and/or "polling"');
    }
    /** The transport of the current connection (`websocket` or `polling`). */
    this.transport = undefined;

    /** @type {string | undefined} the session id the server gave this socket */
    this.id = undefined;
    /** true between `connect` and `disconnect` */
    this.connected = false;

    this._listeners = new Map();
    this._acks = new Map();
    this._nextAckId = 0;
    this._sendBuffer = [];
    this._transport = null;
    this._transportIndex = 0;
    this._handshaken = false;
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
    if (this._transport) {
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
    if (this._transport && this.connected) {
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
    url.searchParams.set('EIO', '4');
    return url.toString();
  }

  _open() {
    const name = this.transports[this._transportIndex % this.transports.length];
    this._handshaken = false;
    let transport;
    const events = {
      frame: (text) => {
        if (this._transport === transport) {
          this._onFrame(text);
        }
      },
      close: (reason) => {
        if (this._transport === transport) {
          this._onTransportClose(reason);
        }
      },
    };
    try {
      transport = new TRANSPORTS[name](this._url(), events);
    } catch (error) {
      this._dispatch('connect_error', [error instanceof Error ? error : new Error(String(error))]);
      this._scheduleReconnect();
      return;
    }
    this._transport = transport;
    this.transport = name;
    this._connectTimer = setTimeout(() => {
      if (this._transport === transport && !this.connected) {
        this._dispatch('connect_error', [new Error('timeout')]);
        this._teardown('connect timeout');
      }
    }, this.connectTimeout);
  }

  _onTransportClose(reason) {
    if (!this._handshaken) {
      // Never got the server's handshake: try the next transport right away
      // when there is one, as if this attempt had not happened.
      this._dispatch('connect_error', [new Error(`${this.transport} ${reason}`)]);
      this._transportIndex += 1;
      if (this._transportIndex % this.transports.length !== 0) {
        this._teardown(reason, true, 0);
        return;
      }
    }
    this._teardown(reason);
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
        this._handshaken = true;
        this._transportIndex %= this.transports.length;
        this._pingInterval = Number(handshake.pingInterval) || this._pingInterval;
        this._pingTimeout = Number(handshake.pingTimeout) || this._pingTimeout;
        this._armPingTimer();
        const auth = typeof this.auth === 'function' ? this.auth() : this.auth;
        this._sendPacket({ type: PacketType.CONNECT, nsp: this.nsp, data: auth });
        break;
      }
      case EIO_PING:
        this._armPingTimer();
        this._transport.send([EIO_PONG + rest]);
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
    if (this._transport) {
      this._transport.send([EIO_MESSAGE + encodePacket(packet)]);
    }
  }

  _armPingTimer() {
    clearTimeout(this._pingTimer);
    this._pingTimer = setTimeout(() => {
      this._teardown('ping timeout');
    }, this._pingInterval + this._pingTimeout);
  }

  _teardown(reason, notify = true, delay = undefined) {
    const transport = this._transport;
    this._transport = null;
    clearTimeout(this._pingTimer);
    clearTimeout(this._connectTimer);
    if (transport) {
      transport.close();
    }
    const wasConnected = this.connected;
    this.connected = false;
    this.id = undefined;
    if (wasConnected && notify) {
      this._dispatch('disconnect', [reason]);
    }
    this._scheduleReconnect(delay);
  }

  _scheduleReconnect(immediate = undefined) {
    if (this._closedByUser || !this.reconnection || this._reconnectTimer) {
      return;
    }
    let delay = immediate;
    if (delay === undefined) {
      const attempt = ++this._attempts;
      delay = Math.min(this.reconnectionDelayMax, this.reconnectionDelay * 2 ** (attempt - 1));
      const jitter = delay * this.randomizationFactor * (Math.random() * 2 - 1);
      delay = Math.max(0, Math.round(Math.min(this.reconnectionDelayMax, delay + jitter)));
      this._dispatch('reconnect_attempt', [attempt, delay]);
    }
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (!this._closedByUser && !this._transport) {
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
