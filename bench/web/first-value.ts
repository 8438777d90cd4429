import type { Page } from 'playwright-core';
import type { MockServer } from '../../dashboard/web/test/mock-server';

/** Where the overview shows the marker: the noise value of An Mỹ's card. */
export const OVERVIEW_VALUE = 'article[data-ward="an-my"] [data-testid="noise-value"]';
const DEVICE = 'an-my-noise-1';
/** The marker reading's value as the page writes it (vi-VN). */
const SHOWN = '88,8';

/**
 * Pushes a marker reading on the mock's live feed every 100 ms until the returned stop is called: the moment the
 * page can show a live value is what counts, whenever it subscribes.
 */
export function pushMarker(server: MockServer): () => void {
  const device = server.city.devices.find((d) => d.id === DEVICE)!;
  const timer = setInterval(
    () =>
      server.push({
        type: 'readings',
        readings: [
          {
            kind: 'noise_meter',
            device: device.id,
            gateway: device.gateway,
            ward: device.ward,
            ts: Date.now(),
            seq: 1,
            values: { laeq: 88.8 },
          },
        ],
      }),
    100,
  );
  return () => clearInterval(timer);
}

/**
 * Watches the page, from before its own scripts run, for the first frame showing the marker in `selector`: each
 * animation frame (which starts before the frame's style, layout and paint) looks for it, and once it is there the
 * task queued behind that frame records performance.now(), the frame's main-thread work done (the compositor shows it
 * a few ms later: first-contentful-paint, a presentation time, came 5–30 ms after it in trials). Call before page.goto. Measured
 * in the page: a poll run by the test starts only once goto returns, and its checks reach the page between the page's
 * own long tasks; in trials it read the app's value about 100 ms after the frame showing it, the bare page's 10–20 ms.
 */
export async function watchMarker(page: Page, selector: string): Promise<void> {
  await page.addInitScript(`(() => {
    const sel = ${JSON.stringify(selector)};
    const shown = ${JSON.stringify(SHOWN)};
    const frame = () => {
      const el = document.querySelector(sel);
      if (!el || el.textContent !== shown) return void requestAnimationFrame(frame);
      const after = new MessageChannel();
      after.port1.onmessage = () => { window.__markerPaintedAt = performance.now(); };
      after.port2.postMessage(0);
    };
    requestAnimationFrame(frame);
  })()`);
}

/** The page's performance.now() once the first frame showing the marker was painted (watchMarker, before goto). */
export async function markerShownAt(page: Page, describeFailure?: (err: Error) => Promise<Error>): Promise<number> {
  const handle = await page
    .waitForFunction(() => (window as unknown as { __markerPaintedAt?: number }).__markerPaintedAt ?? null, undefined, {
      polling: 50,
      timeout: 30_000,
    })
    .catch(async (err: Error) => {
      throw describeFailure ? await describeFailure(err) : err;
    });
  return (await handle.jsonValue()) as number;
}

/**
 * The same moment as a poll from the test sees it (each animation frame, from when goto returned): the way this
 * bench measured until 2026-12-08, kept beside markerShownAt so the history stays comparable.
 */
export async function markerPolledAt(page: Page, selector: string): Promise<number> {
  const handle = await page.waitForFunction(
    ({ sel, shown }) => {
      const el = document.querySelector(sel);
      return el && el.textContent === shown ? performance.now() : null;
    },
    { sel: selector, shown: SHOWN },
    { polling: 'raf', timeout: 30_000 },
  );
  return (await handle.jsonValue()) as number;
}
