#!/usr/bin/env node
// Bundles the in-page verifier of `investigate --html` (src/investigate/page-verify.ts and the
// browser-safe src/verify library) into one IIFE that the report inlines; esbuild because the page
// must be self-contained (no module loading, no network) and tsc does not bundle.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.env.AGENTRAIL_DIST ?? join(root, 'dist');
await build({
  entryPoints: [join(root, 'src', 'investigate', 'page-verify.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  outfile: join(outDir, 'report', 'page-verify.js'),
  logLevel: 'warning',
});
