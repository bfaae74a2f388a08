#!/usr/bin/env -S node --max-semi-space-size=4
// --max-semi-space-size=4: V8's young generation grows to 2 x 16 MiB under load by default; the
// sensor's batches do not need it (bench/footprint: median RSS under load 153 vs 185 MiB; bench/pipeline: events/s
// unchanged within noise). Heap sizes cannot be changed after start, hence the shebang.
// Thin launcher: the CLI is compiled TypeScript in dist/.
import '../dist/src/cli/entry.js';
