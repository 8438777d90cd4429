import { chromium, type Browser } from 'playwright-core';
import { requireBinary } from './process';

/**
 * Debian's Chromium, headless, never a downloaded browser. The background-networking flags keep it from
 * reaching for Google's hosts, which a closed network refuses many times at every start.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireBinary('/usr/bin/chromium', 'chromium');
  return chromium.launch({
    executablePath,
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
