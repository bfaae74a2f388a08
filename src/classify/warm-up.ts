import type { Classifier } from './classifier.js';
import { classifyPrompt } from './prompt-class.js';

/**
 * Text that reaches every content detector and every prompt-class cue list. V8 compiles a regular
 * expression on its first use and again to native code on the next (tier-up); for the classifier's
 * Unicode-aware cue patterns that is ~40 ms, which would otherwise be paid in the middle of the
 * first model call an agent makes after the sensor starts (bench/agent-session.ts).
 */
const SAMPLE =
  'Please summarize and translate this, then explain why: write a function, analyze the data, run the tool. ' +
  'card 4111 1111 1111 1111, call (415) 555-2671, patient diagnosis E11.9, ssn 536-22-1234, GB82WEST12345698765432, ' +
  'x@example.com, aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, ghp_0123456789abcdefghijABCDEFGHIJ012345, ' +
  'sk-proj-abcdefghijklmnopqrstuvwxyz123456, eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln, -----BEGIN PRIVATE KEY----- ' +
  'Q2xhc3NpZmllcldhcm1VcFRva2VuMTIzNDU2Nzg5MA?\n\n```\ncode\n```';

let warmed = false;

/** Compile (and tier up) the classifier's regular expressions once per process, at start. */
export function warmUpClassifier(cls: Classifier): void {
  if (warmed) return;
  warmed = true;
  // V8 compiles a pattern separately for one-byte (Latin-1) and two-byte subjects: both, twice.
  for (const text of [SAMPLE, `${SAMPLE} 总结 翻訳 ¿qué?`, SAMPLE.split('\n')[0]!])
    for (let i = 0; i < 2; i++) {
      cls.text(text);
      classifyPrompt({ instruction: text });
    }
}
