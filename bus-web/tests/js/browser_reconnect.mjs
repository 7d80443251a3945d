// A demo page survives a server restart: it reconnects on its own, picks its
// nickname again and rejoins its rooms, and the new server knows it.
//
// Usage: node browser_reconnect.mjs <server-url>
//
// Carol joins room "comeback", then this script prints READY on its own line
// and waits: the caller (tests/browser_chat.rs) kills the server and starts a
// new one on the same port. Carol's page must show the outage, reconnect,
// and be back in "comeback" with her nickname; Dave, a new page, must find
// her in that room on the new server and exchange messages with her. Exits 0
// when every check passed, 1 otherwise, printing what failed.

import {
  assertNoPageErrors,
  launch,
  openPage,
  pickNickname,
  waitForText,
  watchdog,
} from './browser.mjs';

const RUN_TIMEOUT_MS = 120_000;
/** How long the page may take to notice the outage and to come back. */
const OUTAGE_TIMEOUT_MS = 30_000;

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node browser_reconnect.mjs <server-url>');
  process.exit(2);
}

const timer = watchdog('browser reconnect', RUN_TIMEOUT_MS);

async function main() {
  const browser = await launch();
  try {
    const carol = await openPage(browser, url, 'carol');
    await pickNickname(carol, 'carol');
    await carol.waitForSelector('#chat:not([hidden])');
    await carol.fill('#room-name', 'comeback');
    await carol.press('#room-name', 'Enter');
    await waitForText(carol, 'carol', '#room-title', '# comeback');
    await waitForText(carol, 'carol', '#member-list', 'carol');

    console.log('READY');

    // The server goes away: the page says so, then comes back by itself.
    await carol.waitForFunction(() => document.querySelector('#status')?.dataset.state !== 'online', null, {
      timeout: OUTAGE_TIMEOUT_MS,
    });
    await carol.waitForFunction(() => document.querySelector('#status')?.dataset.state === 'online', null, {
      timeout: OUTAGE_TIMEOUT_MS,
    });
    await waitForText(carol, 'carol', '#room-title', '# comeback');
    await waitForText(carol, 'carol', '#me', 'carol');
    if (!(await carol.isHidden('#welcome'))) {
      throw new Error('carol: the nickname form came back after the reconnection');
    }

    // The new server knows carol is in "comeback": dave finds her there.
    const dave = await openPage(browser, url, 'dave');
    await pickNickname(dave, 'dave');
    await dave.waitForSelector('#chat:not([hidden])');
    await dave.click('#room-list button[data-action="join"][data-room="comeback"]');
    await waitForText(dave, 'dave', '#member-list', 'carol');
    await waitForText(carol, 'carol', '#member-list', 'dave');
    await dave.fill('#message', 'welcome back');
    await dave.press('#message', 'Enter');
    await waitForText(carol, 'carol', '#messages', 'welcome back');
    await carol.fill('#message', 'thanks');
    await carol.press('#message', 'Enter');
    await waitForText(dave, 'dave', '#messages', 'thanks');

    assertNoPageErrors();
    console.log('browser reconnect: all checks passed');
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
    console.error(`browser reconnect: ${error.message}`);
    process.exit(1);
  },
);
