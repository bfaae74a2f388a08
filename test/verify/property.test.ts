/** Property tests: for random trees and cut points, proofs verify and altered proofs fail. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { consistencyProof, inclusionProof, leafHash, subtreeRoot, verifyConsistency, verifyInclusion, CompactTree } from '../../src/verify/merkle.js';
import { MerkleFrontier } from '../../src/seal/merkle.js';

const treeArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 130 });

test('inclusion: every proof verifies; flipped bits, wrong index, wrong size fail; node:crypto and noble roots agree', () => {
  fc.assert(
    fc.property(treeArb, fc.nat(), fc.nat(), fc.nat(255), (data, a, b, bit) => {
      // Distinct leaves (index prefix): identical leaves would make a wrong index legitimately verify.
      const leaves = data.map((d, j) => leafHash(Uint8Array.from([j >> 8, j & 255, ...d])));
      const n = 1 + (a % leaves.length);
      const i = b % n;
      const root = subtreeRoot(leaves, 0, n);
      const t = new CompactTree();
      const nt = new MerkleFrontier();
      for (let j = 0; j < n; j++) {
        t.append(leaves[j]!);
        nt.append(Buffer.from(leaves[j]!));
      }
      assert.deepEqual(t.root(), root);
      assert.deepEqual(new Uint8Array(nt.root()), root);
      const proof = inclusionProof(leaves, i, n);
      assert.ok(verifyInclusion(i, n, leaves[i]!, proof, root));
      if (proof.length > 0) {
        const k = bit % proof.length;
        const bad = proof.map((p, j) => (j === k ? Uint8Array.from(p, (x, q) => (q === bit % 32 ? x ^ (1 << (bit % 8)) : x)) : p));
        assert.equal(verifyInclusion(i, n, leaves[i]!, bad, root), false);
        assert.equal(verifyInclusion(i, n, leaves[i]!, proof.slice(1), root), false);
      }
      if (n > 1) assert.equal(verifyInclusion((i + 1) % n, n, leaves[i]!, proof, root), false, 'wrong index');
      assert.equal(verifyInclusion(i, n * 2, leaves[i]!, proof, root), false, "size * 2");
    }),
    { numRuns: 300 },
  );
});

test('consistency: every proof verifies; altered proofs and roots fail', () => {
  fc.assert(
    fc.property(treeArb, fc.nat(), fc.nat(), fc.nat(255), (data, a, b, bit) => {
      // Distinct leaves (index prefix): identical leaves would make a wrong index legitimately verify.
      const leaves = data.map((d, j) => leafHash(Uint8Array.from([j >> 8, j & 255, ...d])));
      const n = 1 + (a % leaves.length);
      const m = 1 + (b % n);
      const r1 = subtreeRoot(leaves, 0, m);
      const r2 = subtreeRoot(leaves, 0, n);
      const proof = consistencyProof(leaves, m, n);
      assert.ok(verifyConsistency(m, n, proof, r1, r2));
      if (m < n) {
        const k = bit % proof.length;
        const bad = proof.map((p, j) => (j === k ? Uint8Array.from(p, (x, q) => (q === 0 ? x ^ (1 + (bit % 255)) : x)) : p));
        assert.equal(verifyConsistency(m, n, bad, r1, r2), false);
        assert.equal(verifyConsistency(m, n, proof, r2, r1), false);
        assert.equal(verifyConsistency(m, n, proof.slice(0, -1), r1, r2), false);
      }
    }),
    { numRuns: 300 },
  );
});
