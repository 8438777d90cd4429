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

/** The page's performance.now() at the first frame showing the marker in `selector`. */
export async function markerShownAt(page: Page, selector: string, describeFailure?: (err: Error) => Promise<Error>): Promise<number> {
  const handle = await page
    .waitForFunction(
      ({ sel, shown }) => {
        const el = document.querySelector(sel);
        return el && el.textContent === shown ? performance.now() : null;
      },
      { sel: selector, shown: SHOWN },
      { polling: 'raf', timeout: 30_000 },
    )
    .catch(async (err: Error) => {
      throw describeFailure ? await describeFailure(err) : err;
    });
  return (await handle.jsonValue()) as number;
}
