import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { StoredReading } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { seriesColor } from '../lib/palette';
import { useApp } from '../session';
import { CsvButton } from './CsvButton';

const CLASSES = ['motorbike', 'car', 'bus', 'truck'] as const;

/** Latest count per vehicle class and ward (stacked), from the traffic counters' newest readings. */
export function VehicleMix({ readings }: { readings: StoredReading[] }) {
  const { t, num } = useI18n();
  const { wardName } = useApp();
  const rows = readings
    .map((r) => {
      const row: Record<string, number | string> = { ward: wardName(r.ward) };
      for (const c of CLASSES) {
        let sum = 0;
        for (let lane = 1; lane <= 4; lane++) sum += r.values[`lane${lane}_${c}`] ?? 0;
        row[c] = sum;
      }
      return row;
    })
    .sort((a, b) => String(a.ward).localeCompare(String(b.ward), 'vi'));
  const total = (c: string) => rows.reduce((s, r) => s + Number(r[c] ?? 0), 0);
  const all = CLASSES.reduce((s, c) => s + total(c), 0);
  // The export covers the counting interval these bars show (newest reading back one interval).
  const newest = Math.max(0, ...readings.map((r) => r.ts));
  const interval = Math.max(60, ...readings.map((r) => r.values.interval ?? 60)) * 1000;
  const csvQuery = {
    kind: 'traffic_counter',
    fields: CLASSES.flatMap((c) => [1, 2, 3, 4].map((l) => `lane${l}_${c}`)).join(','),
    from: newest - interval,
    to: newest,
    devices: readings.map((r) => r.device).join(','),
  };
  return (
    <figure className="chart">
      <figcaption className="chart-head">
        <span className="chart-title">{t('traffic.mix')}</span>
        {newest > 0 && <CsvButton query={csvQuery} title={t('traffic.mix')} />}
      </figcaption>
      <p className="small">{CLASSES.map((c) => `${t(`traffic.${c}`)} ${all ? num((100 * total(c)) / all, 0) : 0}%`).join(' · ')}</p>
      <div style={{ width: '100%', height: 320 }}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 40, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="var(--grid)" />
            <XAxis dataKey="ward" angle={-35} textAnchor="end" interval={0} tick={{ fontSize: 12 }} stroke="var(--muted)" />
            <YAxis tick={{ fontSize: 12 }} stroke="var(--muted)" tickFormatter={(v: number) => num(v, 0)} />
            <Tooltip formatter={(v) => num(Number(v), 0)} />
            <Legend verticalAlign="top" />
            {CLASSES.map((c, i) => (
              <Bar key={c} dataKey={c} name={t(`traffic.${c}`)} stackId="mix" fill={seriesColor(i)} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
