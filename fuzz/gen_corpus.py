#!/usr/bin/env python3
"""Regenerates the seed corpora under corpus/<target>/ (deterministic).

Seeds: the examples and test-suite frames of the Socket.IO v5 and Engine.IO
v4 protocol documents, their truncations and byte-level mutations, and
hand-written hostile inputs (deep nesting, huge numbers, bad UTF-8).
File names are the SHA-1 of the content, as libFuzzer names them.
Run from the fuzz/ directory: python3 gen_corpus.py
"""
import hashlib
import os
import random
import shutil

rng = random.Random(5)
SEP = b"\xff"

def ph(n):
    return '{"_placeholder":true,"num":%d}' % n

SIO_VALID = [
    "0", '0{"token":"123"}', "0/admin,", '0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}', "0/custom",
    '0/custom,{"token":"abc"}', '4{"message":"Not authorized"}', '4/random,{"message":"Invalid namespace"}',
    '4{"message":"not allowed","data":{"code":4}}', '4"legacy error"',
    '2["foo"]', '2/admin,["bar"]', '212["foo"]', '3/admin,13["bar"]', '2["message",1,"2",{"3":[true]}]',
    '2456["message-with-ack",1,"2",{"3":[false]}]', '3456[1,"2",{"3":[false]}]',
    '51-["baz",%s]' % ph(0), '52-/admin,["baz",%s,%s]' % (ph(0), ph(1)), '61-15["bar",%s]' % ph(0),
    '52-789["message-with-ack",%s,%s]' % (ph(0), ph(1)), '62-789[%s,%s]' % (ph(0), ph(1)),
    "1", "1/admin,", "1/custom", '2[1,2]', '2["a\\"b\\u00e9",{"b":1,"a":2.50}]', '2 [ "x" , 1 ]',
    '3/a,0[]', '50-["no binary"]', '2/ns/with/slashes,["é",null,true,-1.5e10]',
]
SIO_INVALID = [
    "", "abc", "7", "9[]", "é", "4abc", "2{}", '2abc["message-with-ack",1,"2",{"3":[false]}]', "2", "2[]", "2[null]",
    '2["disconnect"]', '2["connect"]', '2["newListener",1]', "0[1]", "1{}", "4", "31", '3["a"]', '5["a"]', '5x-["a"]',
    '5-["a"]', '599999999999999999999999-["a"]', '51025-["a"]', '299999999999999999999999["a"]', '2["a"',
    '2["a"] x', '2["a"]["b"]', "0/", "0,", "2/,", '2/a["b"]', "2\x00", '2["\\ud800"]', '2["\\x"]', '2[1e999]',
    "2" + "[" * 300 + "]" * 300, '2["a",' + "[" * 127 + "]" * 127 + "]", '0{' + '"a":{' * 200 + "}" * 201,
    '2["' + "a" * 3000 + '"]', "2" + "9" * 500 + '["a"]', '2["a",' + ",".join(["1"] * 500) + "]",
    '2["a",' + '"\\\\' * 50 + '"]', '2[","]', '2["]"]', '2["\\"",1]',
]

SEQS = [
    ['52-["message",%s,%s]' % (ph(0), ph(1)), b"b\x01\x02\x03", b"b\x04\x05\x06"],
    ['62-789[%s,%s]' % (ph(0), ph(1)), b"b\x01\x02\x03", b"b\x04\x05\x06", '2["after"]'],
    ['51-["a",%s]' % ph(1), b"b\x01"],
    ['51-["a",%s]' % ph(0), '2["text too early"]'],
    [b"b\x01\x02"],
    ['50-["a",%s]' % ph(0)],
    ['50-["a"]', '2["b"]', '31[1]'],
    ['53-/x,7["a",{"k":[%s,{"z":%s}]},%s]' % (ph(2), ph(0), ph(1)), b"b", b"b\x00", b"b\xff\xfe"],
    ['51-["a",{"_placeholder":true,"num":"0"}]', b"bx"],
    ['51-["a",{"_placeholder":false,"num":9}]', b"bx"],
    ['51-["a",{"_placeholder":true,"num":-1}]', b"bx"],
    ['51-["a",{"_placeholder":true,"num":0.5}]', b"bx"],
    ['51-["a",{"_placeholder":true}]', b"bx"],
    ["0", '0/custom,{"token":"abc"}', '2["x"]', "1/custom", "1"],
]

EIO_TEXT = [
    "0", '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    "1", "1junk", "2", "2probe", "3", "3probe", "4", "4hello", "4é€", '42["message",1]', "5", "6", "7", "", "b", "bAQIDBA==",
    "x", "0{}", "0{bad", '0{"sid":1}', "4\x00\x1e", "2" + "p" * 2000,
]
EIO_PAYLOAD = [
    "4hello\x1ebAQIDBA==", "4hello", "2\x1e2\x1e2", "1", "6", "\x1e", "", "4a\x1e\x1e4b", "b!!!", "bAQIDBA", "b",
    "2probe\x1e3probe\x1e5", '0{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":1}', "4\x1e",
    '40\x1e42["message","hi"]\x1e451-["m",%s]\x1ebAQID' % ph(0), "x\x1e4ok", "4" + "é" * 500,
]

def to_bytes(x):
    return x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass")

def mutate(b):
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:
            b.insert(rng.randrange(len(b) + 1), rng.choice(b'0123456789[]{}",-/\\:_ '))
        elif op == 2 and b:
            del b[rng.randrange(len(b))]
        else:
            i = rng.randrange(len(b) + 1)
            b[i:i] = b[: rng.randrange(len(b) + 1)][:8]
    return bytes(b)

def expand(seeds, n_mut, max_trunc=24):
    out = set()
    for s in seeds:
        b = to_bytes(s)
        out.add(b)
        for i in range(0, min(len(b), max_trunc)):
            out.add(b[:i])
        for _ in range(n_mut):
            out.add(mutate(b))
    out.update(bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) for _ in range(10))
    return out

def seq_bytes(seq):
    return SEP.join(to_bytes(f) for f in seq)

corpora = {
    "socketio_decode": expand(SIO_VALID, 4) | {to_bytes(s) for s in SIO_INVALID},
    "socketio_reassemble": {seq_bytes(s) for s in SEQS} | {mutate(seq_bytes(s)) for s in SEQS for _ in range(4)}
        | {seq_bytes(SEQS[0])[:i] for i in range(0, 120, 7)},
    "engineio_decode_text": expand(EIO_TEXT, 2, 8),
    "engineio_decode_binary": {b"", b"\x00", b"\x01\x02\x03\x04", b"4hello", b"\xff" * 64, bytes(range(256))},
    "engineio_decode_payload": expand(EIO_PAYLOAD, 3, 12) | {b"\xff\xfe", b"4\xc3", b"4ok\x1e\x80"},
}

here = os.path.dirname(os.path.abspath(__file__))
for target, inputs in corpora.items():
    d = os.path.join(here, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for b in sorted(inputs):
        with open(os.path.join(d, hashlib.sha1(b).hexdigest()), "wb") as f:
            f.write(b)
    print(target, len(inputs))
