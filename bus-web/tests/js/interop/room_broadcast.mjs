// A server broadcast to a room reaches exactly its members.
//
// Three node clients connect to `/`: `a` and `b` join `room-a` (acked), `c`
// joins nothing. `a` asks the server to broadcast `news` to `room-a`; the
// server does `ns.to("room-a").emit("news", text)`. a and b must get it
// exactly once, c never. The in-process members are checked by the Rust side.
//
// Server contract (socketio_interop.rs), namespace `/`:
// - `join` (room) joins the room and acks `true`;
// - `broadcast` ({room, text}) emits `news` (text) to every member of room
//   (the sender included, if a member) and acks `true`.

import { run, connect, record, until, ask, same, sleep, transportOptions } from './lib.mjs';

run('room_broadcast', 15_000, async (url, mode, obs) => {
  const opts = transportOptions(mode);
  const [a, b, c] = await Promise.all([connect(url, '/', opts), connect(url, '/', opts), connect(url, '/', opts)]);
  const seen = { a: record(a, 'news'), b: record(b, 'news'), c: record(c, 'news') };
  obs.ids = { a: a.id, b: b.id, c: c.id };

  same(await ask(a, 'join', 'room-a'), [true], 'a joins room-a');
  same(await ask(b, 'join', 'room-a'), [true], 'b joins room-a');
  same(await ask(c, 'join', 'room-c'), [true], 'c joins another room');

  same(await ask(a, 'broadcast', { room: 'room-a', text: 'hello room-a' }), [true], 'broadcast acknowledged');
  await until(() => seen.a.length > 0 && seen.b.length > 0, 'a and b receive the room broadcast');
  // Leave time for a duplicate or a stray delivery to c to show up.
  await sleep(300);
  obs.received = { a: seen.a, b: seen.b, c: seen.c };
  same(seen.a, [['hello room-a']], 'a (member, sender) got news exactly once');
  same(seen.b, [['hello room-a']], 'b (member) got news exactly once');
  same(seen.c, [], 'c (not a member) got nothing');
  for (const s of [a, b, c]) s.disconnect();
});
