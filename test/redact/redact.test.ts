import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Classifier } from '../../src/classify/classifier.js';
import { contentHash, contentHashParts } from '../../src/redact/hash.js';
import { setDeploymentKey } from '../../src/redact/keyed-hash.js';
import { paramSchema } from '../../src/redact/param-schema.js';
import { countTextTokens, tokenCount } from '../../src/redact/tokens.js';
import { fileUri, httpResourceUri } from '../../src/redact/uri.js';
import { wipeAll } from '../../src/redact/wipe.js';
import { llmExchange } from '../event/scenario.js';

const cls = new Classifier();

test('content hashes are SHA-256 of the exact UTF-8 text from 64 bytes up, HMAC under the deployment key below', () => {
  const key = randomBytes(32);
  setDeploymentKey(key);
  const t = 'héllo — output of a model that runs a little longer than one line';
  assert.ok(Buffer.byteLength(t) >= 64);
  assert.equal(contentHash(t), `sha256:${createHash('sha256').update(Buffer.from(t, 'utf8')).digest('hex')}`);
  const s = 'héllo — output';
  assert.equal(contentHash(s), `hmac-sha256:${createHmac('sha256', key).update('content\0').update(Buffer.from(s, 'utf8')).digest('hex')}`);
  // 62 characters but 64 UTF-8 bytes: the threshold counts bytes, as sha256sum would see them.
  const multi = 'é'.repeat(2) + 'a'.repeat(60);
  assert.equal(Buffer.byteLength(multi), 64);
  assert.match(contentHash(multi), /^sha256:/);
  assert.equal(contentHashParts(['a'.repeat(40), '\n', 'b'.repeat(22)]), contentHash(`${'a'.repeat(40)}\n${'b'.repeat(22)}`), '63 bytes in parts: keyed like the whole');
  assert.equal(contentHashParts(['a'.repeat(40), '\n', 'b'.repeat(23)]), contentHash(`${'a'.repeat(40)}\n${'b'.repeat(23)}`));
});

test('parameter schemas keep types and structure, never values; sensitive leaves are tagged', () => {
  const s = paramSchema({ path: '/home/a/.ssh/id_rsa', n: 3, ratio: 0.5, ok: true, tags: ['x', 'y'], nested: { to: 'bob@example.com', none: null }, url: 'https://x.example/a?b=c' }, cls);
  assert.deepEqual(s, {
    type: 'object',
    properties: {
      path: { type: 'string', format: 'path', 'x-sensitivity': ['secret:ssh'] },
      n: { type: 'integer' },
      ratio: { type: 'number' },
      ok: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' } },
      nested: { type: 'object', properties: { to: { type: 'string', 'x-sensitivity': ['PII:email'] }, none: { type: 'null' } } },
      url: { type: 'string', format: 'uri' },
    },
  });
  const keyed = paramSchema({ 'carol@example.com': 1 }, cls) as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(keyed.properties).map((k) => k.startsWith('~key:')), [true]);
  assert.ok(!JSON.stringify(keyed).includes('carol'));
  assert.deepEqual(paramSchema([1, 'a', 2]), { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'string' }] } });
});

test('token counts: API usage first, gpt-tokenizer otherwise', () => {
  assert.deepEqual(tokenCount(17, ['ignored']), { count: 17, source: 'api' });
  const r = tokenCount(undefined, ['Hello world, this is a test.']);
  assert.equal(r.source, 'gpt-tokenizer:o200k_base');
  assert.ok(r.count >= 5 && r.count <= 10, `count ${r.count}`);
  assert.ok(countTextTokens(['<|endoftext|> is text here']) > 0);
});

test('resource URIs drop query values and user info; detected segments are hashed (keyed); cloud objects get their scheme', async () => {
  const { setDeploymentKey } = await import('../../src/redact/keyed-hash.js');
  const key = Buffer.alloc(32, 7);
  setDeploymentKey(key, 'test');
  const { createHmac } = await import('node:crypto');
  const seg = createHmac('sha256', key).update('segment').update('\0').update('dave@example.com').digest('hex').slice(0, 16);
  assert.deepEqual(httpResourceUri('https', 'user:pw@API.example.com', '/v1/users/dave@example.com/orders?token=abc&limit=5', cls), {
    uri: `https://api.example.com/v1/users/~h:${seg}/orders?token=&limit=`,
    type: 'url',
  });
  assert.equal(httpResourceUri('https', 'my-bucket.s3.eu-west-1.amazonaws.com', '/a/b.csv?X-Amz-Signature=zz', cls).uri, 's3://my-bucket/a/b.csv');
  assert.equal(httpResourceUri('https', 'storage.googleapis.com', '/bkt/obj.txt', cls).uri, 'gs://bkt/obj.txt');
  assert.equal(httpResourceUri('https', 'acct.blob.core.windows.net', '/c/o', cls).uri, 'azblob://acct/c/o');
  assert.equal(fileUri('/etc/hosts', cls), 'file:///etc/hosts');
  assert.equal(fileUri('data/x.csv', cls), 'file:data/x.csv');
});

test('wipeAll zero-fills payload buffers and drops plaintext references', () => {
  const x = llmExchange(1, 0, 1, { inputTexts: [{ role: 'user', text: 'secret prompt' }], outputText: 'secret out', toolsRequested: [{ name: 't', arguments: { a: 1 } }], toolResults: [{ text: 'r' }] }, [['authorization', 'Bearer zzz']]);
  const reqBody = x.request!.body;
  const resBody = x.response!.body;
  assert.ok(reqBody.some((b) => b !== 0));
  wipeAll(x);
  assert.ok(reqBody.every((b) => b === 0) && resBody.every((b) => b === 0));
  assert.equal(x.llm!.outputText, '');
  assert.deepEqual(x.llm!.inputTexts, []);
  assert.equal(x.llm!.toolsRequested[0]!.arguments, undefined);
  assert.equal(x.request!.headers[0]![1], '');
});
