// Two headless Chromium pages chat through bus-server's demo page.
//
// Usage: node browser_chat.mjs <server-url> [screenshot-dir]
//
// Alice (over WebSocket) and Bob (over long-polling) pick nicknames (a taken
// one is refused), Alice creates a room and Bob joins it from the room list,
// both see each other online, each sees the other typing, they exchange
// messages, and Alice sees Bob leave. Every wait is bounded; the whole run is
// capped at RUN_TIMEOUT_MS. Exits 0 when every check passed, 1 otherwise,
// printing what failed. With a screenshot folder, saves chat-alice.png,
// chat-bob.png and chat-typing.png there.

import path from 'node:path';
import {
  assertNoPageErrors,
  launch,
  openPage,
  pickNickname,
  waitForNoText,
  waitForText,
  watchdog,
} from './browser.mjs';

const RUN_TIMEOUT_MS = 90_000;

const [url, screenshotDir] = process.argv.slice(2);
if (!url) {
  console.error('usage: node browser_chat.mjs <server-url> [screenshot-dir]');
  process.exit(2);
}

const timer = watchdog('browser chat', RUN_TIMEOUT_MS);

async function main() {
  const browser = await launch();
  try {
    // Alice's page uses WebSocket, Bob's HTTP long-polling.
    const alice = await openPage(browser, url, 'alice');
    const bob = await openPage(browser, `${url}?transport=polling`, 'bob');
    await waitForText(alice, 'alice', '#status', 'connected (websocket)');
    await waitForText(bob, 'bob', '#status', 'connected (polling)');

    // Nicknames: Alice gets hers, Bob is refused "alice" and then gets his.
    await pickNickname(alice, 'alice');
    await alice.waitForSelector('#chat:not([hidden])');
    await waitForText(alice, 'alice', '#me', 'alice');
    await pickNickname(bob, 'Alice');
    await waitForText(bob, 'bob', '#nickname-error', 'taken');
    await pickNickname(bob, 'bob');
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

    assertNoPageErrors();
    console.log('browser chat: all checks passed');
  } finally {
    await browser.close().catch(() => {});
  }
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (error) => {
    console.error(`browser chat: ${error.message}`);
    process.exit(1);
  },
);
