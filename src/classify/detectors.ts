import { decodeJwt, decodeProtectedHeader } from 'jose';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Validated content detectors. Each finds candidates with a regular
 * expression and keeps only those that pass a validator (checksum, structure,
 * decoding), so a random 16-digit number is not a card and a random
 * `eyJ…` string is not a JWT. Detectors return counts, never the matches:
 * nothing that leaves this module can carry the text.
 */
export interface Detector {
  /** Stable id used in rule files (`tags:` / `disabled:`). */
  id: string;
  /** Default tag `CLASS:kind`. */
  tag: string;
  /** Number of validated findings in `text`. */
  count(text: string, opts: DetectorOptions): number;
  /**
   * Every finding contains an ASCII digit, spans at most DIGIT_MATCH_MAX characters and its
   * validator reads at most DIGIT_CONTEXT characters around it: the detector may then be run on
   * the digitSpans of a text instead of the text, with the same findings.
   */
  digitBound?: true;
}

/** Longest finding of a digit-bound detector (IBAN: 4 + 30 × 2). */
export const DIGIT_MATCH_MAX = 64;
/** Widest context a digit-bound validator reads on either side of a finding (icd10: 40). */
const DIGIT_CONTEXT = 40;
/** Room kept around every digit: a finding and its context fit, with a character to spare for `\b`. */
const DIGIT_MARGIN = DIGIT_MATCH_MAX + DIGIT_CONTEXT + 1;
const DIGIT_CHARS = '0123456789';
/** Text read before the share of digit parts is judged. */
const DENSE_PROBE = 1 << 12;

/**
 * The parts of `t` near an ASCII digit, as [start, end): each digit with DIGIT_MARGIN characters on
 * either side, overlapping parts merged; undefined once they cover more than `maxShare` of the
 * text read so far (then the caller scans the whole text: numbers every few lines leave nothing
 * to skip, and finding them all would cost a step per DIGIT_MARGIN characters). A digit-bound
 * detector finds the same things in these parts as in the whole text (a finding lies within DIGIT_MATCH_MAX of its digit, so no
 * part edge cuts one, and a part's edge is at least DIGIT_MARGIN from any digit, so none can start
 * there): prose with few numbers is then scanned by five regexes over a few parts instead of five
 * times in full. Digits are found with one indexOf (memchr) per digit character — 40× faster than
 * a /[0-9]/ scan of prose here — and by jumping: after a digit at p the next search starts at
 * p + DIGIT_MARGIN and the part stays open over any digit skipped, so dense digits cost one step
 * per DIGIT_MARGIN characters.
 */
export function digitSpans(t: string, maxShare = 1): Array<[number, number]> | undefined {
  const len = t.length;
  const next: number[] = [];
  for (let d = 0; d < 10; d++) next.push(t.indexOf(DIGIT_CHARS[d]!));
  /** The first digit at or after `from`, or -1. */
  const digitFrom = (from: number): number => {
    let best = -1;
    for (let d = 0; d < 10; d++) {
      let at = next[d]!;
      if (at !== -1 && at < from) next[d] = at = t.indexOf(DIGIT_CHARS[d]!, from);
      if (at !== -1 && (best === -1 || at < best)) best = at;
    }
    return best;
  };
  const out: Array<[number, number]> = [];
  let covered = 0;
  let p = digitFrom(0);
  while (p !== -1) {
    const start = Math.max(0, p - DIGIT_MARGIN);
    // Covers the digit found and any skipped before the next search position.
    let end = Math.min(len, p + 2 * DIGIT_MARGIN);
    for (;;) {
      // Past the digit just found (near the text's end, end - DIGIT_MARGIN can be before it).
      const q = digitFrom(Math.max(p + 1, end - DIGIT_MARGIN));
      p = q;
      if (q === -1 || q - DIGIT_MARGIN >= end) break;
      end = Math.min(len, q + 2 * DIGIT_MARGIN);
    }
    out.push([start, end]);
    covered += end - start;
    // Judged on the text read so far (from DENSE_PROBE on), so digit-dense text gives up early.
    if (covered > maxShare * Math.max(end, Math.min(len, DENSE_PROBE))) return undefined;
  }
  return out;
}

export interface DetectorOptions {
  entropyThreshold: number;
  entropyMinLength: number;
}

function countValid(re: RegExp, text: string, ok: (m: RegExpExecArray) => boolean): number {
  let n = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (ok(m)) n++;
    if (m[0].length === 0) re.lastIndex++;
  }
  return n;
}

// --- validators (exported for tests) ----------------------------------------

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the major schemes (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
export function panPrefixValid(d: string): boolean {
  const n2 = Number(d.slice(0, 2));
  const n4 = Number(d.slice(0, 4));
  const n3 = Number(d.slice(0, 3));
  if (d[0] === '4') return d.length === 13 || d.length === 16 || d.length === 19;
  if ((n2 >= 51 && n2 <= 55) || (n4 >= 2221 && n4 <= 2720)) return d.length === 16;
  if (n2 === 34 || n2 === 37) return d.length === 15;
  if (n4 === 6011 || n2 === 65 || (n3 >= 644 && n3 <= 649)) return d.length >= 16;
  if (n4 >= 3528 && n4 <= 3589) return d.length >= 16;
  if (n2 === 36 || n2 === 38 || (n3 >= 300 && n3 <= 305)) return d.length >= 14;
  if (n2 === 62) return d.length >= 16;
  if (n2 === 50 || (n2 >= 56 && n2 <= 69)) return d.length >= 12;
  return false;
}

const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22,
  DK: 18, DO: 28, EE: 20, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21,
  HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27,
  MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24,
  RS: 22, SA: 24, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VG: 24, XK: 20,
};

/** ISO 13616: country length and mod-97 == 1 over the rearranged number. */
export function ibanValid(raw: string): boolean {
  const s = raw.replace(/ /g, '').toUpperCase();
  const want = IBAN_LENGTHS[s.slice(0, 2)];
  if (want === undefined ? s.length < 15 || s.length > 34 : s.length !== want) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of r) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? String(c - 55) : ch;
    for (const dch of v) rem = (rem * 10 + (dch.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/** SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000; known advertising numbers excluded. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const all = `${area}${group}${serial}`;
  if (all === '078051120' || all === '219099999' || all === '123456789') return false;
  return true;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  const freq = new Map<string, number>();
  for (const ch of s) freq.set(ch, (freq.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of freq.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function jwtValid(tok: string): boolean {
  // Compact JWS only: exactly three parts, header and payload non-empty — what decodeJwt requires.
  // Checked first because most credentials (API keys) are not JWTs, and the decoders would throw.
  const d1 = tok.indexOf('.');
  const d2 = d1 > 0 ? tok.indexOf('.', d1 + 1) : -1;
  if (d2 <= d1 + 1 || tok.includes('.', d2 + 1)) return false;
  try {
    const h = decodeProtectedHeader(tok);
    if (typeof h.alg !== 'string') return false;
    const p = decodeJwt(tok);
    return typeof p === 'object' && p !== null;
  } catch {
    return false;
  }
}

// --- detectors -----------------------------------------------------------------

const HEALTH_TERMS = [
  'diagnosis', 'diagnosed', 'diabetes', 'diabetic', 'cancer', 'oncology', 'chemotherapy', 'tumor', 'tumour', 'hiv',
  'aids', 'hepatitis', 'asthma', 'hypertension', 'depression', 'schizophrenia', 'bipolar', 'dementia', 'alzheimer',
  'pregnancy', 'pregnant', 'prescription', 'prescribed', 'medication', 'insulin', 'antidepressant', 'psychiatric',
  'patient', 'medical record', 'blood pressure', 'cholesterol', 'stroke', 'seizure', 'epilepsy', 'tuberculosis',
  'covid-19', 'allergy', 'allergic', 'surgery', 'radiology', 'mri scan', 'biopsy', 'opioid', 'rehab', 'therapy session',
];
const healthRe = new RegExp(`\\b(?:${HEALTH_TERMS.map((t) => t.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')).join('|')})\\b`, 'gi');

const TOKEN_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-') TOKEN_CHAR[ch.charCodeAt(0)] = 1;
const isToken = (t: string, k: number): boolean => {
  const c = t.charCodeAt(k);
  return c < 128 && TOKEN_CHAR[c] === 1;
};

/**
 * Every maximal run of token characters at least `min` long, as [start, end). A skip scan: a run
 * of `min` must cover the character `min - 1` ahead, so where that one is not a token character
 * nothing before it needs reading, and where it is, the run is checked backwards from it. Prose
 * (short words) is read about once per `min` characters instead of every character; the worst
 * case stays linear (each character read at most twice).
 */
export function* tokenRuns(t: string, min: number): Generator<[number, number]> {
  const len = t.length;
  if (min < 1) min = 1;
  // Invariant: t[k - 1] is not a token character (or k = 0), so a run found at k starts there.
  let k = 0;
  while (k + min <= len) {
    const probe = k + min - 1;
    if (!isToken(t, probe)) {
      k = probe + 1;
      continue;
    }
    let j = probe - 1;
    while (j >= k && isToken(t, j)) j--;
    if (j >= k) {
      k = j + 1;
      continue;
    }
    let end = probe + 1;
    while (end < len && isToken(t, end)) end++;
    yield [k, end];
    k = end + 1;
  }
}

const EMAIL_LOCAL = /[A-Za-z0-9._%+-]{1,64}$/;
const EMAIL_DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])/;
// One leading character class lets the regex engine skip ahead quickly.
const PHONE_CANDIDATE = /[+(\d][\d\s().-]{5,20}\d/g;

/** Patterns of known secrets, checked first; the entropy detector ignores what they matched. */
const SECRET_PATTERNS: RegExp[] = [
  /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g,
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/[A-Z0-9]+\/[A-Z0-9]+\/[A-Za-z0-9]+/g,
  /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}/g,
  /\bsk-ant-[a-z]+\d*-[A-Za-z0-9_-]{20,}/g,
  /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|\bsk-[A-Za-z0-9]{32,}/g,
  /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
];
const KNOWN_SECRET = SECRET_PATTERNS.map((re) => new RegExp(re.source));

/**
 * Literal prefilters: a pattern can match only where one of these occurs. Chosen so that `indexOf`
 * stays a memchr on a character rare in prose ('_', '-', 'J', ':'), not a search for a common first
 * letter: `indexOf('sk-')` costs as much as the pattern. A window without them skips the regex.
 */
const anyOf = (t: string, lits: readonly string[]): boolean => lits.some((l) => t.includes(l));
const GATE = {
  aws: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
  github: ['_'], // ghp_…, github_pat_…
  slack: ['xox', ':'], // xox?-…, https://hooks.slack.com/…
  stripe: ['_'], // sk_live_…, rk_test_…
  dashKey: ['-'], // sk-ant-…, sk-proj-…, sk-…
  jwt: ['J'], // eyJ….eyJ…
  pem: ['-----BEGIN '],
} as const;

export const DETECTORS: Detector[] = [
  {
    id: 'email',
    tag: 'PII:email',
    // Anchored at each '@' (indexOf is far cheaper than a regex tried at every offset).
    count: (t) => {
      let n = 0;
      for (let at = t.indexOf('@'); at >= 0; at = t.indexOf('@', at + 1)) {
        const local = EMAIL_LOCAL.exec(t.slice(Math.max(0, at - 64), at))?.[0];
        if (!local || local.startsWith('.') || local.endsWith('.') || local.includes('..')) continue;
        if (EMAIL_DOMAIN.test(t.slice(at + 1, at + 256))) n++;
      }
      return n;
    },
  },
  {
    id: 'phone',
    digitBound: true,
    tag: 'PII:phone',
    // Cheap candidates (digit runs shaped like numbers) first; libphonenumber then
    // validates each against the numbering plans (international numbers need
    // their +CC, national ones are read as US).
    count: (t) => {
      let n = 0;
      PHONE_CANDIDATE.lastIndex = 0;
      for (let m = PHONE_CANDIDATE.exec(t); m; m = PHONE_CANDIDATE.exec(t)) {
        let digits = 0;
        for (let k = 0; k < m[0].length; k++) if (m[0].charCodeAt(k) >= 48 && m[0].charCodeAt(k) <= 57) digits++;
        if (digits < 7 || digits > 15) continue;
        try {
          if (parsePhoneNumberFromString(m[0].trim(), 'US')?.isValid()) n++;
        } catch {
          /* not a number */
        }
      }
      return n;
    },
  },
  {
    id: 'pan',
    digitBound: true,
    tag: 'PCI:pan',
    count: (t) =>
      countValid(/\b\d(?:[ -]?\d){11,18}\b/g, t, (m) => {
        const d = m[0].replace(/[ -]/g, '');
        return d.length >= 13 && d.length <= 19 && panPrefixValid(d) && luhnValid(d);
      }),
  },
  {
    id: 'iban',
    digitBound: true,
    tag: 'PII:iban',
    count: (t) => countValid(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, t, (m) => ibanValid(m[0])),
  },
  {
    id: 'ssn',
    digitBound: true,
    tag: 'PII:ssn',
    count: (t) => countValid(/\b(\d{3})[- ](\d{2})[- ](\d{4})\b/g, t, (m) => ssnValid(m[1]!, m[2]!, m[3]!)),
  },
  { id: 'aws_access_key', tag: 'secret:aws_access_key', count: (t) => (anyOf(t, GATE.aws) ? countValid(SECRET_PATTERNS[0]!, t, () => true) : 0) },
  {
    id: 'aws_secret_key',
    tag: 'secret:aws_secret_key',
    // 40 base64 characters only count next to the word that names them: alone they are any hash.
    count: (t) =>
      countValid(/(?:aws_?secret_?(?:access_?)?key|secretaccesskey)["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, t, (m) =>
        shannonEntropy(m[1]!) > 4.0,
      ),
  },
  { id: 'github_token', tag: 'secret:github_token', count: (t) => (anyOf(t, GATE.github) ? countValid(SECRET_PATTERNS[1]!, t, () => true) : 0) },
  { id: 'slack_token', tag: 'secret:slack_token', count: (t) => (anyOf(t, GATE.slack) ? countValid(SECRET_PATTERNS[2]!, t, () => true) : 0) },
  { id: 'stripe_key', tag: 'secret:stripe_key', count: (t) => (anyOf(t, GATE.stripe) ? countValid(SECRET_PATTERNS[3]!, t, () => true) : 0) },
  { id: 'anthropic_key', tag: 'secret:api_key', count: (t) => (anyOf(t, GATE.dashKey) ? countValid(SECRET_PATTERNS[4]!, t, () => true) : 0) },
  {
    id: 'openai_key',
    tag: 'secret:api_key',
    count: (t) => (anyOf(t, GATE.dashKey) ? countValid(SECRET_PATTERNS[5]!, t, (m) => !m[0].startsWith('sk-ant-') && shannonEntropy(m[0]) > 3.5) : 0),
  },
  { id: 'jwt', tag: 'secret:jwt', count: (t) => (anyOf(t, GATE.jwt) ? countValid(SECRET_PATTERNS[6]!, t, (m) => jwtValid(m[0])) : 0) },
  {
    id: 'private_key',
    tag: 'secret:private_key',
    count: (t) => (anyOf(t, GATE.pem) ? countValid(/-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g, t, () => true) : 0),
  },
  {
    id: 'high_entropy',
    tag: 'secret:high_entropy',
    count: (t, o) => {
      let n = 0;
      for (const [start, end] of tokenRuns(t, o.entropyMinLength)) {
        const s = t.slice(start, end);
        // Tokens mix classes; paths, words and hex digests mostly do not.
        if (/[0-9]/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s) && !KNOWN_SECRET.some((re) => re.test(s)) && shannonEntropy(s) >= o.entropyThreshold) n++;
      }
      return n;
    },
  },
  { id: 'health_term', tag: 'PHI:health_term', count: (t) => countValid(healthRe, t, () => true) },
  {
    id: 'icd10',
    digitBound: true,
    tag: 'PHI:diagnosis',
    // ICD-10-CM: letter (not U), two digits/alnum, optional dot + up to 4. Without
    // a dot a code needs a clinical keyword nearby: "B12" alone is not a diagnosis.
    count: (t) =>
      countValid(/\b([A-TV-Z][0-9][0-9AB])(\.[0-9A-TV-Z]{1,4})?\b/g, t, (m) => {
        const ctx = t.slice(Math.max(0, m.index - 40), m.index + m[0].length + 40);
        const clinical = /\b(?:icd(?:-?10)?|diagnos\w*|dx|condition|patient)\b/i.test(ctx);
        return m[2] !== undefined ? clinical || /^[A-Z]\d\d\.\d/.test(m[0]) : clinical;
      }),
  },
];
