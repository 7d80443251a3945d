// Node socket.io 4.8 server speaking the bus bench protocol.
//
// Socket.IO v5 at /socket.io/, namespace /bench. A socket whose handshake
// auth is not {"emitter":true} joins room "bench". On event "publish" with
// one argument, the server emits "deliver" with that argument to room
// "bench" (a plain broadcast, no ack).
//
// Usage: node server.js [PORT]   (or PORT=... node server.js); binds 127.0.0.1.
// Install once with `npm ci` in this folder; side-by-side does it when needed.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || process.env.PORT || 3000);
const host = process.env.BIND || "127.0.0.1";

const httpServer = http.createServer();
const io = new Server(httpServer, {
  // Same limits as a default socketioxide server; no compression.
  perMessageDeflate: false,
  httpCompression: false,
});

io.of("/bench").on("connection", (socket) => {
  const auth = socket.handshake.auth || {};
  if (auth.emitter !== true) {
    socket.join("bench");
  }
  socket.on("publish", (payload) => {
    socket.to("bench").emit("deliver", payload);
  });
});

httpServer.listen(port, host, () => {
  process.stderr.write(`node socket.io bench server listening on ${host}:${port}\n`);
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
