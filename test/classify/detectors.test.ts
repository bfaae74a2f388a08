import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { Classifier } from '../../src/classify/classifier.js';
import { DETECTORS, digitSpans, DIGIT_MATCH_MAX, ibanValid, jwtValid, luhnValid, shannonEntropy, ssnValid, tokenRuns } from '../../src/classify/detectors.js';
import fc from 'fast-check';

const cls = new Classifier();
const tags = (s: string) => [...cls.text(s)].sort();
const has = (s: string, tag: string) => assert.ok(cls.text(s).has(tag), `expected ${tag}`);
const hasNot = (s: string, tag: string) => assert.ok(!cls.text(s).has(tag), `unexpected ${tag}`);
const det = (id: string) => DETECTORS.find((d) => d.id === id)!;
const O = { entropyThreshold: 4.3, entropyMinLength: 24 };

test('email: valid addresses, malformed ones rejected', () => {
  has('contact alice.smith+tag@example.co.uk today', 'PII:email');
  hasNot('alice@localhost', 'PII:email');
  assert.equal(det('email').count('a..b@example.com .x@example.com', O), 0);
});

test('phone: valid numbering plans only (libphonenumber)', () => {
  has('call +44 20 7946 0958', 'PII:phone');
  has('call (415) 555-2671', 'PII:phone');
  hasNot('call +1 123 456 7890', 'PII:phone'); // area code cannot start with 1
  hasNot('version 1.2.3 build 20240101', 'PII:phone');
});

test('card numbers: Luhn + issuer prefix', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  has('card 4111 1111 1111 1111 exp 12/29', 'PCI:pan');
  has('amex 378282246310005', 'PCI:pan');
  has('mc 5555-5555-5555-4444', 'PCI:pan');
  hasNot('card 4111 1111 1111 1112', 'PCI:pan'); // bad check digit
  hasNot('order 1234567812345670', 'PCI:pan'); // Luhn-valid, no issuer
});

test('IBAN: country length and mod-97', () => {
  assert.equal(ibanValid('GB82WEST12345698765432'), true);
  assert.equal(ibanValid('GB82WEST12345698765433'), false);
  has('pay to DE89 3704 0044 0532 0130 00 please', 'PII:iban');
  hasNot('pay to GB82 WEST 1234 5698 7654 33', 'PII:iban');
  hasNot('DE89370400440532013', 'PII:iban'); // DE is 22 long
});

test('US SSN: area, group and serial rules', () => {
  has('ssn 536-22-1234', 'PII:ssn');
  for (const bad of ['000-12-3456', '666-12-3456', '912-34-5678', '536-00-1234', '536-22-0000', '078-05-1120']) hasNot(`ssn ${bad}`, 'PII:ssn');
  assert.equal(ssnValid('536', '22', '1234'), true);
});

test('cloud and SaaS keys', () => {
  has('AKIAIOSFODNN7EXAMPLE', 'secret:aws_access_key');
  hasNot('AKIAIOSFODNN7EXAMPL1', 'secret:aws_access_key'); // 1 is not base32
  has('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'secret:aws_secret_key');
  hasNot('sha1 = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'secret:aws_secret_key'); // no context word
  has(`token ghp_${'aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6'}`, 'secret:github_token');
  hasNot('ghp_short', 'secret:github_token');
  has('xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'secret:slack_token');
  has('sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'secret:stripe_key');
  hasNot('pk_live_4eC39HqLyjWDarjtT1zdp7dc', 'secret:stripe_key'); // publishable
  has('OPENAI_API_KEY=sk-proj-Xq9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', 'secret:api_key');
  has('sk-ant-api03-Xq9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0aXq9LmT2vR7wK', 'secret:api_key');
  hasNot('the sk-learn library', 'secret:api_key');
  // Every alternative of each pattern (the literal prefilters must let each through).
  has('ASIAIOSFODNN7EXAMPLE', 'secret:aws_access_key');
  has('ACCAIOSFODNN7EXAMPLE', 'secret:aws_access_key');
  has(`github_pat_${'11AB2CD3E0aB3dE6gH9jK2_mN5pQ8sT1vW4yZ7bC0eF3hJ6kL9nP2rS5uV8xY1aD4gJ7mQ0tW3zC6fI9lO'}`, 'secret:github_token');
  has('hook https://hooks.slack.com/services/T0000AAAA/B0000BBBB/AbCdEfGhIjKlMnOpQrStUvWx', 'secret:slack_token');
  has('rk_test_4eC39HqLyjWDarjtT1zdp7dc', 'secret:stripe_key');
  has('key sk-svcacct-Xq9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0a', 'secret:api_key');
  has('key sk-Xq9LmT2vR7wK4pN8sB3yH6dF1gJ5cZ0aB7nM3qW8', 'secret:api_key');
});

test('JWT: header must decode', async () => {
  const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('k'.repeat(32)));
  has(`Authorization: Bearer ${jwt}`, 'secret:jwt');
  hasNot('eyJub3Rqc29uIHRv.eyJzdWIiOiIxIn0.c2ln', 'secret:jwt');
});

test('PEM private keys, not public ones', () => {
  has('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----', 'secret:private_key');
  has('-----BEGIN RSA PRIVATE KEY-----', 'secret:private_key');
  hasNot('-----BEGIN PUBLIC KEY-----', 'secret:private_key');
});

test('high-entropy tokens: random mixed tokens yes; hex digests, words, low entropy no', () => {
  const tok = randomBytes(30).toString('base64url');
  assert.ok(shannonEntropy(tok) > 4.3);
  // Random tokens almost always mix cases and digits; build one that surely does.
  has(`session=${tok}Aa1`, 'secret:high_entropy');
  hasNot(`digest ${randomBytes(32).toString('hex')}`, 'secret:high_entropy');
  hasNot('internationalization_and_localization_module', 'secret:high_entropy');
  hasNot('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaA1', 'secret:high_entropy');
  // Known secrets are tagged by their own detector, not as anonymous entropy.
  assert.deepEqual(tags('AKIAIOSFODNN7EXAMPLE'), ['secret:aws_access_key']);
});

test('health terms and ICD-10 codes', () => {
  has('the patient was diagnosed with type 2 diabetes', 'PHI:health_term');
  has('ICD-10 E11.9', 'PHI:diagnosis');
  has('dx: J45 asthma', 'PHI:diagnosis');
  hasNot('take vitamin B12 daily', 'PHI:diagnosis');
  hasNot('refactor the build script', 'PHI:health_term');
});

test('clean text carries no tags', () => {
  assert.deepEqual(tags('Please summarize the quarterly report in three bullet points.'), []);
});

test('text longer than one scan window is scanned in full: a secret past 1 MiB, or across a window boundary, is found', async () => {
  const { Classifier, DEFAULT_SCAN_CAP } = await import('../../src/classify/classifier.js');
  const cls = new Classifier();
  const filler = 'lorem ipsum dolor sit amet '.repeat(Math.ceil((DEFAULT_SCAN_CAP * 1.5) / 27));
  assert.deepEqual([...cls.text(filler + ' contact: victim@example.com ')], ['PII:email']);
  // Straddling the first window's end.
  const cut = DEFAULT_SCAN_CAP - 8;
  const straddle = 'x '.repeat(cut / 2) + 'victim@example.com ' + 'y '.repeat(1000);
  assert.ok(cls.text(straddle).has('PII:email'));
  // The digit-bound detectors (scanned over the parts near digits) across the same boundary, and past it.
  const card = 'x '.repeat(cut / 2) + '4111 1111 1111 1111 ' + 'y '.repeat(1000);
  assert.ok(cls.text(card).has('PCI:pan'));
  assert.ok(cls.text(filler + ' ssn 536-22-1234 ' + filler).has('PII:ssn'));
});

test('past the full-scan limit the tail is tagged unscanned:tail and counted, never silently skipped', async () => {
  const { Classifier, UNSCANNED_TAG } = await import('../../src/classify/classifier.js');
  const { drops } = await import('../../src/observability/metrics.js');
  const before = (await drops.get()).values.find((v) => v.labels.reason === 'unscanned_tail')?.value ?? 0;
  const cls = new Classifier(undefined, 1024, 4096);
  const tags = cls.text('a '.repeat(4000) + 'victim@example.com');
  assert.ok(tags.has(UNSCANNED_TAG));
  assert.ok(!tags.has('PII:email'), 'the email sits past the limit: not scanned, and said so');
  const after = (await drops.get()).values.find((v) => v.labels.reason === 'unscanned_tail')?.value ?? 0;
  assert.equal(after, before + 1);
});

test('token runs by skip scan = every maximal token run of at least min characters, by a plain scan (random texts, dense and sparse)', () => {
  const TOKEN = /[A-Za-z0-9+/_=-]/;
  const plain = (t: string, min: number) => {
    const out: [number, number][] = [];
    let start = -1;
    for (let k = 0; k <= t.length; k++) {
      if (k < t.length && TOKEN.test(t[k]!)) {
        if (start < 0) start = k;
        continue;
      }
      if (start >= 0 && k - start >= min) out.push([start, k]);
      start = -1;
    }
    return out;
  };
  const alphabets = ['aB3+/_=-', 'ab cd\nef', 'a é😀 Z9.', 'abcdefghij ', ' '];
  let runs = 0;
  for (let i = 0; i < 3000; i++) {
    const alpha = alphabets[i % alphabets.length]!;
    const bytes = randomBytes(1 + (i % 300));
    // Dense stretches (long tokens) and sparse ones (words), as prose with an embedded key.
    const t = [...bytes].map((b, k) => ((k >> 5) % 3 === 0 ? 'aB3+/_=-'[b % 8]! : [...alpha][b % [...alpha].length]!)).join('');
    for (const min of [1, 2, 5, 24, 40]) {
      const want = plain(t, min);
      runs += want.length;
      assert.deepEqual([...tokenRuns(t, min)], want, `min ${min}: ${JSON.stringify(t)}`);
    }
  }
  assert.ok(runs > 1000, `the texts had runs to find: ${runs}`);
});

test('digit-bound detectors find exactly the same in the parts near digits as in the whole text (random texts, findings near part edges)', () => {
  const bound = DETECTORS.filter((d) => d.digitBound);
  assert.deepEqual(bound.map((d) => d.id).sort(), ['iban', 'icd10', 'pan', 'phone', 'ssn']);
  // Findings (valid and near-valid), clinical context words and fillers of every length around the margins.
  const piece = fc.oneof(
    fc.constantFrom('4111 1111 1111 1111', '4111111111111111', '4111 1111 1111 1112', '+44 20 7946 0958', '(415) 555-2671', '536-22-1234', '000-12-3456',
      'GB82WEST12345698765432', 'GB82 WEST 1234 5698 7654 32', 'E11.9', 'E11', 'B12', 'diagnosis', 'patient', 'ICD-10', '2024', '7', ' ', '.', '-', '\n'),
    fc.integer({ min: 0, max: 260 }).map((n) => 'word '.repeat(Math.ceil(n / 5)).slice(0, n)),
    fc.integer({ min: 0, max: 260 }).map((n) => 'x'.repeat(n)),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 24 }), (parts) => {
      const t = parts.join('');
      const spans = digitSpans(t)!;
      for (const d of bound) {
        const whole = d.count(t, O);
        const inParts = spans.reduce((n, [a, b]) => n + d.count(t.slice(a, b), O), 0);
        assert.equal(inParts, whole, `${d.id} on ${JSON.stringify(t)}`);
      }
      // Every digit lies in a part, and every part edge is a text edge or far from any digit.
      for (let i = 0; i < t.length; i++) if (t[i]! >= '0' && t[i]! <= '9') assert.ok(spans.some(([a, b]) => a <= i && i < b), `digit at ${i} covered`);
      for (const [a, b] of spans)
        for (const edge of [a, b]) {
          if (edge === 0 || edge === t.length) continue;
          const near = t.slice(Math.max(0, edge - DIGIT_MATCH_MAX - 1), edge + DIGIT_MATCH_MAX + 1);
          assert.ok(!/[0-9]/.test(near), `no digit within ${DIGIT_MATCH_MAX + 1} of edge ${edge}`);
        }
    }),
    { numRuns: 1500 },
  );
  // Digit-dense text gives up on parts (the whole text is scanned), prose without digits has none.
  assert.equal(digitSpans('12 apples and 34 pears, '.repeat(10_000), 0.5), undefined);
  assert.deepEqual(digitSpans('no numbers here. '.repeat(10_000), 0.5), []);
});

test('a card number or SSN deep inside digit-free prose, or beside a part edge, is tagged by the classifier', () => {
  const prose = 'the quarterly report shows revenue growth '.repeat(40_000);
  has(`${prose} card 4111 1111 1111 1111 ${prose}`, 'PCI:pan');
  has(`${prose}ssn 536-22-1234`, 'PII:ssn');
  has(`patient ${'x'.repeat(30)} E11 ${prose}`, 'PHI:diagnosis');
  hasNot(`${prose} 7 ${prose}`, 'PCI:pan');
});

test('jwtValid says yes exactly when jose decodes the header (with an alg) and the claims (random dotted strings and real tokens)', async () => {
  const { decodeJwt, decodeProtectedHeader } = await import('jose');
  // jose alone: decodeJwt throws unless the claims are an object; the header must name an alg.
  const reference = (tok: string): boolean => {
    try {
      return Boolean(decodeJwt(tok)) && typeof decodeProtectedHeader(tok).alg === 'string';
    } catch {
      return false;
    }
  };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const part = fc.oneof(fc.constantFrom('', b64({ alg: 'HS256' }), b64({ sub: 'x' }), b64({ typ: 'JWT' }), b64([1]), 'eyJ', 'sig', '!!'), fc.string({ maxLength: 12 }));
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), (parts) => {
      const tok = parts.join('.');
      assert.equal(jwtValid(tok), reference(tok), tok);
    }),
    { numRuns: 3000 },
  );
  const real = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32));
  assert.equal(jwtValid(real), true);
  assert.equal(jwtValid(`${real}.x.y`), false, 'five parts: a JWE shape, not decodable as a JWT');
});
