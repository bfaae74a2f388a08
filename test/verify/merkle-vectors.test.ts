/**
 * Published RFC 6962 test vectors from transparency-dev/merkle (proof/verify_test.go, the
 * successor of certificate-transparency-go's merkle tests): roots of the first 1..8 leaves,
 * inclusion and consistency proofs, and the corruption probes that must fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../src/verify/bytes.js';
import {
  CompactTree,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  rootFromInclusionProof,
  subtreeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/verify/merkle.js';
import { MerkleFrontier, leafHash as nodeLeafHash } from '../../src/seal/merkle.js';

const dh = (h: string) => hexToBytes(h);
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(dh);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(dh);
// {leaf (1-based), size, proof}
const INCLUSION: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [2, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
  [6, 7, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
];
const SOME_HASH = dh('abacaba000000000000000000000000000000000000000000060061e00123456');
const EMPTY_TREE_HASH = dh('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
const leafHashes = LEAVES.map(leafHash);
const flip = (b: Uint8Array, mask: number) => {
  const c = b.slice();
  c[0]! ^= mask;
  return c;
};

test('empty tree hash and roots of the first 1..8 leaves (noble, node:crypto, frontier and recursive)', () => {
  assert.equal(bytesToHex(EMPTY_ROOT), bytesToHex(EMPTY_TREE_HASH));
  const t = new CompactTree();
  const nt = new MerkleFrontier();
  for (let i = 0; i < 8; i++) {
    t.append(leafHashes[i]!);
    nt.append(nodeLeafHash(LEAVES[i]!));
    assert.equal(bytesToHex(t.root()), bytesToHex(ROOTS[i]!), `noble frontier root of ${i + 1}`);
    assert.equal(nt.root().toString('hex'), bytesToHex(ROOTS[i]!), `node:crypto root of ${i + 1}`);
    assert.equal(bytesToHex(subtreeRoot(leafHashes, 0, i + 1)), bytesToHex(ROOTS[i]!), `recursive root of ${i + 1}`);
  }
});

test('inclusion proofs: generated paths equal the published ones and verify', () => {
  for (const [leaf, size, proof] of INCLUSION) {
    const got = inclusionProof(leafHashes, leaf - 1, size).map(bytesToHex);
    assert.deepEqual(got, proof, `path for leaf ${leaf} of ${size}`);
    const p = proof.map(dh);
    assert.equal(bytesToHex(rootFromInclusionProof(leaf - 1, size, leafHashes[leaf - 1]!, p)!), bytesToHex(ROOTS[size - 1]!));
    assert.ok(verifyInclusion(leaf - 1, size, leafHashes[leaf - 1]!, p, ROOTS[size - 1]!));
  }
});

test('inclusion proofs: corrupted probes fail (published negative cases)', () => {
  for (const [leaf, size, proofHex] of INCLUSION.slice(1)) {
    const idx = leaf - 1;
    const proof = proofHex.map(dh);
    const root = ROOTS[size - 1]!;
    const lh = leafHashes[idx]!;
    const probes: [string, number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
      ['leafIndex - 1', idx - 1, size, root, proof, lh],
      ['leafIndex + 1', idx + 1, size, root, proof, lh],
      ['leafIndex ^ 2', idx ^ 2, size, root, proof, lh],
      ['treeSize * 2', idx, size * 2, root, proof, lh],
      ['treeSize / 2', idx, Math.floor(size / 2), root, proof, lh],
      ['wrong leaf', idx, size, root, proof, utf8ToBytes('WrongLeaf')],
      ['empty root', idx, size, EMPTY_TREE_HASH, proof, lh],
      ['random root', idx, size, SOME_HASH, proof, lh],
      ['trailing garbage', idx, size, root, [...proof, new Uint8Array(0)], lh],
      ['trailing root', idx, size, root, [...proof, root], lh],
      ['preceding garbage', idx, size, root, [new Uint8Array(0), ...proof], lh],
      ['preceding root', idx, size, root, [root, ...proof], lh],
    ];
    proof.forEach((_, i) => probes.push([`modified proof[${i}] bit 3`, idx, size, root, proof.map((p, j) => (j === i ? flip(p, 8) : p)), lh]));
    if (proof.length > 0) probes.push(['removed component', idx, size, root, proof.slice(0, -1), lh]);
    if (proof.length > 1) probes.push(['inserted component', idx, size, root, [proof[0]!, SOME_HASH, ...proof.slice(1)], lh]);
    for (const [desc, i, s, r, p, l] of probes) assert.equal(verifyInclusion(i, s, l, p, r), false, `leaf ${leaf}/${size}: ${desc} must fail`);
  }
  // Single entry and degenerate sizes (TestVerifyInclusionSingleEntry / TestVerifyInclusion).
  const h = leafHash(utf8ToBytes('data'));
  assert.ok(verifyInclusion(0, 1, h, [], h));
  assert.equal(verifyInclusion(0, 1, new Uint8Array(0), [], h), false);
  assert.equal(verifyInclusion(0, 1, h, [], new Uint8Array(0)), false);
  for (const [i, s] of [[0, 0], [0, 1], [1, 0], [2, 1]] as const) {
    assert.equal(verifyInclusion(i, s, SOME_HASH, [], new Uint8Array(0)), false);
    assert.equal(verifyInclusion(i, s, new Uint8Array(0), [], EMPTY_TREE_HASH), false);
    assert.equal(verifyInclusion(i, s, SOME_HASH, [], EMPTY_TREE_HASH), false);
  }
});

test('consistency proofs: generated proofs equal the published ones, verify, and corrupted probes fail', () => {
  for (const [m, n, proofHex] of CONSISTENCY) {
    assert.deepEqual(consistencyProof(leafHashes, m, n).map(bytesToHex), proofHex, `proof ${m}→${n}`);
    const proof = proofHex.map(dh);
    const r1 = ROOTS[m - 1]!;
    const r2 = ROOTS[n - 1]!;
    assert.ok(verifyConsistency(m, n, proof, r1, r2), `${m}→${n} verifies`);
    if (proof.length === 0) continue;
    const wrong = utf8ToBytes('WrongRoot');
    const probes: [string, number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
      ['size1 - 1', m - 1, n, r1, r2, proof],
      ['size1 + 1', m + 1, n, r1, r2, proof],
      ['size1 ^ 2', m ^ 2, n, r1, r2, proof],
      ['size2 * 2', m, n * 2, r1, r2, proof],
      ['size2 / 2', m, Math.floor(n / 2), r1, r2, proof],
      ['wrong root1', m, n, wrong, r2, proof],
      ['wrong root2', m, n, r1, wrong, proof],
      ['swapped roots', m, n, r2, r1, proof],
      ['empty proof', m, n, r1, r2, []],
      ['trailing garbage', m, n, r1, r2, [...proof, new Uint8Array(0)]],
      ['trailing root1', m, n, r1, r2, [...proof, r1]],
      ['trailing root2', m, n, r1, r2, [...proof, r2]],
      ['preceding garbage', m, n, r1, r2, [new Uint8Array(0), ...proof]],
      ['preceding root1', m, n, r1, r2, [r1, ...proof]],
      ['preceding root2', m, n, r1, r2, [r2, ...proof]],
      ['preceding proof[0]', m, n, r1, r2, [proof[0]!, ...proof]],
      ['truncated proof', m, n, r1, r2, proof.slice(0, -1)],
    ];
    proof.forEach((_, i) => probes.push([`modified proof[${i}] bit 4`, m, n, r1, r2, proof.map((p, j) => (j === i ? flip(p, 16) : p))]));
    for (const [desc, a, b, x, y, p] of probes) assert.equal(verifyConsistency(a, b, p, x, y), false, `${m}→${n}: ${desc} must fail`);
  }
});

test('consistency edge cases (TestVerifyConsistency table)', () => {
  const root1 = utf8ToBytes("don't care 1");
  const root2 = utf8ToBytes("don't care 2");
  const cases: [number, number, Uint8Array, Uint8Array, Uint8Array[], boolean][] = [
    [0, 0, root1, root2, [], true],
    [1, 1, root1, root2, [], true],
    [0, 0, root1, root1, [], false],
    [0, 1, root1, root2, [], false],
    [1, 1, root2, root2, [], false],
    [1, 0, root1, root2, [], true],
    [2, 1, root1, root2, [], true],
    [1, 2, root1, root2, [], true],
    [0, 0, EMPTY_TREE_HASH, root2, [], true],
    [1, 1, EMPTY_TREE_HASH, root2, [], true],
    [0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], true],
    [0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], true],
    [1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], true],
  ];
  for (const [m, n, a, b, p, wantErr] of cases) assert.equal(verifyConsistency(m, n, p, a, b), !wantErr, `${m}→${n} wantErr=${wantErr}`);
});
