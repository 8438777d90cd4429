import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Series } from '../api/types';
import { useApi } from '../api/useApi';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { CsvButton } from './CsvButton';

/** Energy used per cabinet over the range: last minus first of each cabinet's kWh meter. */
export function EnergyBars({ from, to, windowMs, ward }: { from: number; to: number; windowMs: number; ward?: string }) {
  const { t, num } = useI18n();
  const { deviceName, wardName } = useApp();
  const query = { kind: 'street_light', fields: 'energy', from, to, windowMs, aggregate: 'last', ward };
  const { data, error } = useApi<{ series: Series[] }>('/api/history', query);
  const rows = (data?.series ?? [])
    .map((s) => {
      const first = s.points[0]?.[1];
      const last = s.points[s.points.length - 1]?.[1];
      return {
        name: ward ? deviceName(s.device) : wardName(s.ward),
        kWh: first !== undefined && last !== undefined ? Math.max(0, last - first) : 0,
      };
    })
    .sort((a, b) => b.kWh - a.kWh);
  return (
    <figure className="chart">
      <figcaption className="chart-head">
        <span className="chart-title">
          {t('lighting.energy')} <span className="muted">(kWh)</span>
        </span>
        <CsvButton query={query} title={t('lighting.energy')} />
      </figcaption>
      {error && <p className="error">{t('app.error', { message: error })}</p>}
      <div style={{ width: '100%', height: Math.max(200, rows.length * 26 + 40) }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
            <XAxis type="number" tick={{ fontSize: 12 }} stroke="var(--muted)" tickFormatter={(v: number) => num(v, 1)} />
            <YAxis type="category" dataKey="name" width={ward ? 170 : 110} tick={{ fontSize: 12 }} stroke="var(--muted)" />
            <Tooltip formatter={(v) => `${num(Number(v), 2)} kWh`} />
            <Bar
              dataKey="kWh"
              fill="#b7791f"
              isAnimationActive={false}
              label={{ position: 'right', fontSize: 12, formatter: (v: unknown) => num(Number(v), 1) }}
            />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
