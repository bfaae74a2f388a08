#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in dist/.
import '../dist/src/cli/entry.js';
