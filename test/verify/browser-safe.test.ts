/** src/verify must run in a browser: only @noble imports and relative imports (node-reader.ts excepted). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';

test('src/verify imports nothing from node: or the sensor', () => {
  const dir = join(repoRoot, 'src', 'verify');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'node-reader.ts');
  assert.ok(files.length >= 6, 'verify library files found');
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8');
    const specs = [...src.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    for (const s of specs) {
      assert.ok(s.startsWith('@noble/hashes/') || s.startsWith('@noble/curves/') || /^\.\/[a-z-]+\.js$/.test(s), `${f} imports ${s}`);
    }
    assert.ok(!/\bprocess\.|\bBuffer\b|require\(/.test(src.replace(/\/\*[\s\S]*?\*\/|\/\/.*/g, '')), `${f} uses a Node global`);
  }
});
