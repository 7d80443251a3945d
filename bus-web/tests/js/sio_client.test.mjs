// Unit tests of the demo page's own Socket.IO client (static/sio.js): its
// packet codec against the Socket.IO v5 protocol document's examples.
//
// Run with: node --test sio_client.test.mjs (no npm packages needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePacket, encodePacket, PacketType } from '../../static/sio.js';

test('packets encode as the protocol document shows them', () => {
  assert.equal(encodePacket({ type: PacketType.CONNECT, nsp: '/' }), '0');
  assert.equal(encodePacket({ type: PacketType.CONNECT, nsp: '/admin', data: { token: '123' } }), '0/admin,{"token":"123"}');
  assert.equal(encodePacket({ type: PacketType.DISCONNECT, nsp: '/admin' }), '1/admin,');
  assert.equal(encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['foo'] }), '2["foo"]');
  assert.equal(encodePacket({ type: PacketType.EVENT, nsp: '/admin', data: ['bar'] }), '2/admin,["bar"]');
  assert.equal(encodePacket({ type: PacketType.EVENT, nsp: '/', id: 12, data: ['foo'] }), '212["foo"]');
  assert.equal(encodePacket({ type: PacketType.ACK, nsp: '/admin', id: 13, data: ['bar'] }), '3/admin,13["bar"]');
});

test('packets decode as the protocol document shows them', () => {
  assert.deepEqual(decodePacket('0{"sid":"oSO0OpakMV_3jnilAAAA"}'), {
    type: PacketType.CONNECT,
    nsp: '/',
    data: { sid: 'oSO0OpakMV_3jnilAAAA' },
  });
  assert.deepEqual(decodePacket('4{"message":"Not authorized"}'), {
    type: PacketType.CONNECT_ERROR,
    nsp: '/',
    data: { message: 'Not authorized' },
  });
  assert.deepEqual(decodePacket('1/admin,'), { type: PacketType.DISCONNECT, nsp: '/admin' });
  assert.deepEqual(decodePacket('1/admin'), { type: PacketType.DISCONNECT, nsp: '/admin' });
  assert.deepEqual(decodePacket('2/chat,["message",{"room":"a"}]'), {
    type: PacketType.EVENT,
    nsp: '/chat',
    data: ['message', { room: 'a' }],
  });
  assert.deepEqual(decodePacket('3/admin,13["bar"]'), { type: PacketType.ACK, nsp: '/admin', id: 13, data: ['bar'] });
  assert.deepEqual(decodePacket('212["foo"]'), { type: PacketType.EVENT, nsp: '/', id: 12, data: ['foo'] });
});

test('what the client cannot read is refused with an error, never a crash', () => {
  for (const bad of ['', '9', 'x', '2[', '2/chat,{oops', '51-["a",{"_placeholder":true,"num":0}]']) {
    assert.throws(() => decodePacket(bad), Error, `decoding ${JSON.stringify(bad)} should throw`);
  }
});

test('an encoded packet decodes back to itself', () => {
  const packets = [
    { type: PacketType.EVENT, nsp: '/chat', id: 7, data: ['typing', { room: 'r', typing: true }] },
    { type: PacketType.ACK, nsp: '/', id: 0, data: [{ ok: true }] },
    { type: PacketType.CONNECT, nsp: '/chat', data: { session: 'abc' } },
  ];
  for (const packet of packets) {
    assert.deepEqual(decodePacket(encodePacket(packet)), packet);
  }
});
