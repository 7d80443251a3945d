// Two headless Chromium pages chat through bus-server's demo page.
//
// Usage: node browser_chat.mjs <server-url> [screenshot-dir]
//
// Alice and Bob pick nicknames (a taken one is refused), Alice creates a room
// and Bob joins it from the room list, both see each other online, each sees
// the other typing, they exchange messages, and Alice sees Bob leave. Every
// wait is bounded; the whole run is capped at RUN_TIMEOUT_MS. Exits 0 when
// every check passed, 1 otherwise, printing what failed.

import { chromium } from 'playwright-core';
import path from 'node:path';

const RUN_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 15_000;

const [url, screenshotDir] = process.argv.slice(2);
if (!url) {
  console.error('usage: node browser_chat.mjs <server-url> [screenshot-dir]');
  process.exit(2);
}

const watchdog = setTimeout(() => {
  console.error(`browser chat: gave up after ${RUN_TIMEOUT_MS} ms`);
  process.exit(1);
}, RUN_TIMEOUT_MS);

const pageErrors = [];

/** Waits until the element's text contains `text`. */
async function waitForText(page, who, selector, text) {
  try {
    await page.waitForFunction(
      ([sel, want]) => (document.querySelector(sel)?.textContent ?? '').includes(want),
      [selector, text],
      { timeout: STEP_TIMEOUT_MS },
    );
  } catch {
    const seen = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`${who}: expected ${selector} to contain ${JSON.stringify(text)}, it shows ${JSON.stringify(seen)}`);
  }
}

/** Waits until the element's text no longer contains `text`. */
async function waitForNoText(page, who, selector, text) {
  try {
    await page.waitForFunction(
      ([sel, unwanted]) => !(document.querySelector(sel)?.textContent ?? '').includes(unwanted),
      [selector, text],
      { timeout: STEP_TIMEOUT_MS },
    );
  } catch {
    const seen = await page.locator(selector).first().textContent().catch(() => '(missing)');
    throw new Error(`${who}: expected ${selector} to stop showing ${JSON.stringify(text)}, it shows ${JSON.stringify(seen)}`);
  }
}

async function openPage(browser, who) {
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

async function pickNickname(page, who, nickname) {
  await page.fill('#nickname', nickname);
  await page.press('#nickname', 'Enter');
}

async function main() {
  const browser = await chromium.launch({
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
  try {
    const alice = await openPage(browser, 'alice');
    const bob = await openPage(browser, 'bob');

    // Nicknames: Alice gets hers, Bob is refused "alice" and then gets his.
    await pickNickname(alice, 'alice', 'alice');
    await alice.waitForSelector('#chat:not([hidden])');
    await waitForText(alice, 'alice', '#me', 'alice');
    await pickNickname(bob, 'bob', 'Alice');
    await waitForText(bob, 'bob', '#nickname-error', 'taken');
    await pickNickname(bob, 'bob', 'bob');
    await bob.waitForSelector('#chat:not([hidden])');

    // Alice creates a room; Bob sees it in the room list and joins it there.
    await alice.fill('#room-name', 'lobby');
    await alice.press('#room-name', 'Enter');
    await waitForText(alice, 'alice', '#room-title', '# lobby');
    await bob.click('#room-list button[data-action="join"][data-room="lobby"]');
    await waitForText(bob, 'bob', '#room-title', '# lobby');

    // Presence: each sees both in the room.
    await waitForText(alice, 'alice', '#member-list', 'bob');
    await waitForText(bob, 'bob', '#member-list', 'alice');
    await waitForText(alice, 'alice', '#messages', 'bob joined');

    // Typing: Bob sees Alice typing, then her message; the indicator clears.
    await alice.click('#message');
    await alice.keyboard.type('hello bo', { delay: 20 });
    await waitForText(bob, 'bob', '#typing', 'alice is typing');
    if (screenshotDir) {
      await bob.screenshot({ path: path.join(screenshotDir, 'chat-typing.png') });
    }
    await alice.keyboard.type('b!');
    await alice.press('#message', 'Enter');
    await waitForText(bob, 'bob', '#messages', 'hello bob!');
    await waitForText(alice, 'alice', '#messages', 'hello bob!');
    await waitForNoText(bob, 'bob', '#typing', 'alice is typing');

    // And the other way round.
    await bob.click('#message');
    await bob.keyboard.type('hi alice, ', { delay: 20 });
    await waitForText(alice, 'alice', '#typing', 'bob is typing');
    await bob.keyboard.type('how are you?');
    await bob.press('#message', 'Enter');
    await waitForText(alice, 'alice', '#messages', 'hi alice, how are you?');
    await waitForNoText(alice, 'alice', '#typing', 'bob is typing');

    // A message is not sent twice and is attributed to its author.
    const aliceMessages = await alice.locator('#messages li.message:not(.notice)').allTextContents();
    const expected = ['youhello bob!', 'bobhi alice, how are you?'];
    const stripped = aliceMessages.map((text) => text.replace(/\d{1,2}:\d{2}(\s?[AP]M)?$/, '').trim());
    if (JSON.stringify(stripped) !== JSON.stringify(expected)) {
      throw new Error(`alice: expected messages ${JSON.stringify(expected)}, got ${JSON.stringify(stripped)}`);
    }

    if (screenshotDir) {
      await alice.screenshot({ path: path.join(screenshotDir, 'chat-alice.png') });
      await bob.screenshot({ path: path.join(screenshotDir, 'chat-bob.png') });
    }

    // Bob leaves: Alice sees it and he is no longer listed.
    await bob.click('#leave-room');
    await waitForText(bob, 'bob', '#room-title', 'No room yet');
    await waitForText(alice, 'alice', '#messages', 'bob left');
    await waitForNoText(alice, 'alice', '#member-list', 'bob');

    if (pageErrors.length > 0) {
      throw new Error(`errors in the pages: ${pageErrors.join('; ')}`);
    }
    console.log('browser chat: all checks passed');
  } finally {
    await browser.close().catch(() => {});
  }
}

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (error) => {
    console.error(`browser chat: ${error.message}`);
    process.exit(1);
  },
);
