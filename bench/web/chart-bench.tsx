/**
 * Chart render bench page. `?mode=app` renders the dashboard's TrendChart (recharts) for a history query
 * answered by the mock server; `?mode=peer` draws the same series as plain SVG polylines (the floor any
 * chart library is compared with). Both fetch the same JSON first; only rendering is timed.
 */
import { createRoot } from 'react-dom/client';
import { I18nProvider } from '../../dashboard/web/src/i18n/i18n';
import { TrendChart } from '../../dashboard/web/src/components/TrendChart';
import type { Series } from '@tamky/protocol';

declare global {
  interface Window {
    benchResult?: { ms: number; series: number; points: number };
  }
}

const params = new URLSearchParams(location.search);
const query = JSON.parse(params.get('q') ?? '{}') as { kind: string; fields: string[]; from: number; to: number; windowMs: number };
const expected = Number(params.get('series'));
const root = document.getElementById('root')!;

// bench/web/profile-chart.ts profiles only the render: from the data's arrival to the lines on screen.
const profiling = params.has('profile');

function done(start: number, series: number, points: number) {
  if (profiling) console.profileEnd('render');
  window.benchResult = { ms: performance.now() - start, series, points };
}

async function peer() {
  const qs = new URLSearchParams({
    ...query,
    fields: query.fields.join(','),
    from: String(query.from),
    to: String(query.to),
    windowMs: String(query.windowMs),
  } as Record<string, string>);
  const { series } = (await (await fetch(`/api/history?${qs}`)).json()) as { series: Series[] };
  const start = performance.now();
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '1600');
  svg.setAttribute('height', '420');
  let max = 0;
  for (const s of series) for (const [, v] of s.points) max = Math.max(max, v);
  for (const s of series) {
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', '#1f77b4');
    line.setAttribute(
      'points',
      s.points.map(([t, v]) => `${((t - query.from) / (query.to - query.from)) * 1600},${420 - (v / max) * 400}`).join(' '),
    );
    svg.appendChild(line);
  }
  root.appendChild(svg);
  requestAnimationFrame(() =>
    done(
      start,
      series.length,
      series.reduce((n, s) => n + s.points.length, 0),
    ),
  );
}

function app() {
  // The fetch happens inside TrendChart; time from the moment its data arrived (first fetch resolved)
  // to all lines drawn, so network and JSON parsing are excluded like in the peer.
  const origFetch = window.fetch.bind(window);
  let start = 0;
  window.fetch = async (...args) => {
    const res = await origFetch(...args);
    const body = await res.clone().text();
    start = performance.now();
    if (profiling) console.profile('render');
    return new Response(body, { status: res.status, headers: res.headers });
  };
  const observer = new MutationObserver(() => {
    const lines = root.querySelectorAll('.chart-line').length;
    if (start && lines >= expected) {
      observer.disconnect();
      requestAnimationFrame(() => done(start, lines, 0));
    }
  });
  observer.observe(root, { childList: true, subtree: true });
  createRoot(root).render(
    <I18nProvider>
      <TrendChart title="bench" query={query} label={(s) => `${s.device}.${s.field}`} unit="" spanMs={query.to - query.from} height={420} />
    </I18nProvider>,
  );
}

if (params.get('mode') === 'peer') void peer();
else app();
