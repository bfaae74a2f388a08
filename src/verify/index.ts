/**
 * agentrail verifier library: browser-safe (only @noble/hashes and @noble/curves), imports nothing
 * from the sensor. Node file reading lives in ./node-reader.ts, outside this entry point.
 */
export * from './bytes.js';
export * from './jcs.js';
export * from './merkle.js';
export * from './note.js';
export * from './keyring.js';
export * from './reasons.js';
export * from './log-verifier.js';
export * from './proof.js';
