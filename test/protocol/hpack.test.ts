import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HpackDecoder, HpackError } from '../../src/protocol/http2/hpack.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const REQ = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const REQ_SIZES = [57, 110, 164];
const D1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const D2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES = [
  [[':status', '302'], ['cache-control', 'private'], ['date', D1], ['location', LOC]],
  [[':status', '307'], ['cache-control', 'private'], ['date', D1], ['location', LOC]],
  [[':status', '200'], ['cache-control', 'private'], ['date', D2], ['location', LOC], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
];
const RES_SIZES = [222, 222, 215];

test('RFC 7541 C.2 single representations', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')), [['custom-key', 'custom-header']]);
  assert.equal(d.tableSize, 55);
  assert.deepEqual(new HpackDecoder().decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [[':path', '/sample/path']]);
  const d3 = new HpackDecoder();
  assert.deepEqual(d3.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [['password', 'secret']]);
  assert.equal(d3.tableSize, 0);
  assert.deepEqual(new HpackDecoder().decode(hex('82')), [[':method', 'GET']]);
});

for (const [name, blocks] of [
  ['C.3 requests without Huffman', ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65']],
  ['C.4 requests with Huffman', ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf']],
] as const) {
  test(`RFC 7541 ${name}`, () => {
    const d = new HpackDecoder();
    blocks.forEach((b, i) => {
      assert.deepEqual(d.decode(hex(b)), REQ[i]);
      assert.equal(d.tableSize, REQ_SIZES[i]);
    });
  });
}

for (const [name, blocks] of [
  ['C.5 responses without Huffman', [
    '4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    '4803 3330 37c1 c0bf',
    '88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
  ]],
  ['C.6 responses with Huffman', [
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '4883 640e ffc1 c0bf',
    '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ]],
] as const) {
  test(`RFC 7541 ${name} (256-byte table, eviction)`, () => {
    const d = new HpackDecoder(256);
    blocks.forEach((b, i) => {
      assert.deepEqual(d.decode(hex(b)), RES[i]);
      assert.equal(d.tableSize, RES_SIZES[i]);
    });
    assert.deepEqual(d.tableEntries.map((e) => e[0]), ['set-cookie', 'content-encoding', 'date']);
  });
}

test('malformed blocks raise HpackError, never anything else', () => {
  const d = new HpackDecoder();
  assert.throws(() => d.decode(hex('80')), HpackError); // index 0
  assert.throws(() => d.decode(hex('ff ff ff ff ff 0f')), HpackError); // index overflow / out of range
  assert.throws(() => d.decode(hex('41 8c f1')), HpackError); // string truncated
  assert.throws(() => d.decode(hex('3f e1 ff 03')), HpackError); // size update above the limit
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const dec = new HpackDecoder(4096, 64 * 1024);
      try {
        dec.decode(Buffer.from(bytes));
      } catch (e) {
        assert.ok(e instanceof HpackError);
      }
      assert.ok(dec.tableSize <= 4096);
    }),
    { numRuns: 3000 },
  );
});

test('a header the caller wipes after use stays intact in the dynamic table for later blocks', () => {
  // RFC 7541 C.3.1 then C.3.2: the second block indexes ":authority: www.example.com" from the table.
  const d = new HpackDecoder();
  const first = d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
  for (const h of first) h[1] = ''; // what redact/wipe.ts does to an exchange's headers
  assert.deepEqual(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')), REQ[1]);
});
