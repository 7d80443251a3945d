// Shared helpers of the browser tests: launching Debian's Chromium through
// playwright-core, opening the demo page, and bounded waits on its text.

import { chromium } from 'playwright-core';

/** The longest one step waits. */
export const STEP_TIMEOUT_MS = 15_000;

/** Errors thrown inside the pages; a test fails when any were seen. */
export const pageErrors = [];

/**
 * Exits the process with a failure after `ms`, whatever is still pending.
 *
 * @returns {NodeJS.Timeout} clear it once the run is over
 */
export function watchdog(name, ms) {
  return setTimeout(() => {
    console.error(`${name}: gave up after ${ms} ms`);
    process.exit(1);
  }, ms);
}

/** Launches headless Chromium with the flags this closed network needs. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Waits until the element's text contains `text`. */
export async function waitForText(page, who, selector, text, timeout = STEP_TIMEOUT_MS) {
  try {
    await page.waitForFunction(
      ([sel, want]) => (document.querySelector(sel)?.textContent ?? '').includes(want),
      [selector, text],
      { timeout },
    );
  } catch {
    const seen = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`${who}: expected ${selector} to contain ${JSON.stringify(text)}, it shows ${JSON.stringify(seen)}`);
  }
}

/** Waits until the element's text no longer contains `text`. */
export async function waitForNoText(page, who, selector, text, timeout = STEP_TIMEOUT_MS) {
  try {
    await page.waitForFunction(
      ([sel, unwanted]) => !(document.querySelector(sel)?.textContent ?? '').includes(unwanted),
      [selector, text],
      { timeout },
    );
  } catch {
    const seen = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`${who}: expected ${selector} to stop showing ${JSON.stringify(text)}, it shows ${JSON.stringify(seen)}`);
  }
}

/** Opens the demo page in a fresh browser context and waits until it is connected. */
export async function openPage(browser, url, who) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      console.error(`[${who} console.${message.type()}] ${message.text()}`);
    }
  });
  await page.goto(url, { waitUntil: 'load' });
  await waitForText(page, who, '#status', 'connected');
  return page;
}

/** Types a nickname into the welcome form and submits it. */
export async function pickNickname(page, nickname) {
  await page.fill('#nickname', nickname);
  await page.press('#nickname', 'Enter');
}

/** Fails when any page threw. */
export function assertNoPageErrors() {
  if (pageErrors.length > 0) {
    throw new Error(`errors in the pages: ${pageErrors.join('; ')}`);
  }
}
