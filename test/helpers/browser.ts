/**
 * Debian's Chromium, driven headless through playwright-core (driver only; the browser is the apt
 * package, .ci/apt-packages.txt). `openPage` records every request and console message so a test
 * can assert that a page made no network request and the CSP refused nothing.
 */
import type { TestContext } from 'node:test';
import { accessSync, constants } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireTool } from './privileges.js';

export const CHROMIUM = process.env.AGENTRAIL_CHROMIUM ?? '/usr/bin/chromium';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function requireChromium(t: TestContext): boolean {
  return requireTool(t, executable(CHROMIUM), `Chromium at ${CHROMIUM} (apt: chromium)`);
}

export interface OpenedPage {
  page: Page;
  /** Every request the page made, page URL included. */
  requests: string[];
  /** Console messages of type error/warning (a CSP refusal shows here). */
  console: string[];
}

/** Opens a local file in a fresh headless Chromium; closed by t.after. */
export async function openFile(t: TestContext, file: string): Promise<OpenedPage> {
  // Root in a container: Chromium's sandbox needs user namespaces it may not have.
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  const consoleLines: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(m.text());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, requests, console: consoleLines };
}

/** Waits for the report's in-page verification (src/investigate/page-verify.ts) to finish; returns its state and text. */
export async function browserVerdict(page: Page): Promise<{ state: string | null; text: string }> {
  await page.waitForFunction(`document.getElementById('browser-verify')?.getAttribute('data-state') !== 'pending'`, null, { timeout: 60_000 });
  const el = page.locator('#browser-verify');
  return { state: await el.getAttribute('data-state'), text: (await el.textContent()) ?? '' };
}
