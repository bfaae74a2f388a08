import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { requireTool } from '../helpers/privileges.js';
import { ABI_LAYOUT, AR_ABI_VERSION, OP_STRUCT } from '../../src/native/abi.js';
import { addonPath, loadAddon, nativeLayout } from '../../src/native/addon.js';

/**
 * The TypeScript mirror (src/native/abi.ts) against the sizes and offsets the
 * addon computed with offsetof when it was compiled (native/src/abi_layout.cc):
 * a drift between agentrail_abi.h and abi.ts fails here.
 */
test('ABI layout: src/native/abi.ts equals Sensor.layout() of the addon', (t) => {
  if (!requireTool(t, existsSync(addonPath), `the native addon (${addonPath}; npm run build:native)`)) return;
  const native = nativeLayout();
  assert.deepEqual(Object.keys(native).sort(), Object.keys(ABI_LAYOUT).sort(), 'same set of structs');
  for (const [name, layout] of Object.entries(ABI_LAYOUT)) {
    const n = native[name]!;
    assert.equal(n.size, layout.size, `sizeof(struct ${name})`);
    assert.deepEqual(n.fields, layout.fields, `field offsets of struct ${name}`);
  }
  assert.equal(loadAddon().abiVersion, AR_ABI_VERSION, 'AR_ABI_VERSION');
});

test('ABI layout: every record struct starts with the 32-byte header and is 8-byte sized', (t) => {
  if (!requireTool(t, existsSync(addonPath), `the native addon (${addonPath}; npm run build:native)`)) return;
  const native = nativeLayout();
  assert.equal(native.ar_hdr!.size, 32);
  for (const [name, l] of Object.entries(native)) {
    // Records only: ar_hdr itself, configs and map keys (ar_enf_*) are not ring-buffer records.
    if (!Object.values(OP_STRUCT).includes(name)) continue;
    assert.equal(l.fields.hdr, 0, `${name}.hdr at 0`);
    assert.equal(l.size % 8, 0, `${name} size multiple of 8`);
  }
});
