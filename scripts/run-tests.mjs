#!/usr/bin/env node
// Runs every compiled test file under node's test runner. Node 20's --test has
// no glob support, so the file list is built here. Filters: argv substrings.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = (process.env.AGENTRAIL_DIST ?? 'dist') + '/test';
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(root);
const filters = process.argv.slice(2);
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (chosen.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const concurrency = process.env.AGENTRAIL_TEST_CONCURRENCY ?? '1';
// A hung test fails after 10 minutes instead of eating CI's whole budget.
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=600000', '--test-reporter=spec', ...chosen], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
