import { chromium, type Browser } from 'playwright-core';
import { requireBinary } from './process';

/**
 * Debian's Chromium, headless, never a downloaded browser. The background-networking flags keep it from
 * reaching for Google's hosts, which a closed network refuses many times at every start.
 */
/** `extraArgs`: more Chromium switches, e.g. `--disable-webgl` to see a page without WebGL. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
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
      ...extraArgs,
    ],
  });
}
