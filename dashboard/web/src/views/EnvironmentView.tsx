import { useCallback, useId, useState } from 'react';
import type { Series } from '../api/types';
import { useLimits } from '../api/useLimits';
import { RangePicker } from '../components/RangePicker';
import { TrendChart, type LimitLine } from '../components/TrendChart';
import { WardSelect } from '../components/WardSelect';
import { useI18n } from '../i18n/i18n';
import { fieldLabel, fieldUnit } from '../lib/fields';
import { airLimitLines, noiseLimitLines } from '../lib/limits';
import { rangeQuery, RANGES, type RangeKey } from '../lib/ranges';
import { useNow } from '../live/useLive';
import { useApp } from '../session';
import { useLocation } from '../lib/router';

const METRICS = [
  { kind: 'air_station', field: 'pm25' },
  { kind: 'air_station', field: 'pm10' },
  { kind: 'air_station', field: 'no2' },
  { kind: 'air_station', field: 'so2' },
  { kind: 'air_station', field: 'o3' },
  { kind: 'air_station', field: 'co' },
  { kind: 'air_station', field: 'temperature' },
  { kind: 'air_station', field: 'humidity' },
  { kind: 'noise_meter', field: 'laeq' },
  { kind: 'water_level', field: 'level' },
] as const;

export default function EnvironmentView() {
  const { t, lang } = useI18n();
  const { city, wardName } = useApp();
  const id = useId();
  const [metricIndex, setMetricIndex] = useState(0);
  const [range, setRange] = useState<RangeKey>('24h');
  // The map drills down here with ?ward=…
  const { search } = useLocation();
  const [ward, setWard] = useState(() => search.get('ward') ?? '');
  const now = useNow(60_000);
  const limitsFile = useLimits();
  const metric = METRICS[metricIndex] ?? METRICS[0];
  const q = rangeQuery(range, now);
  const label = useCallback(
    (s: Series) => (ward ? (city.devices.find((d) => d.id === s.device)?.name ?? s.device) : wardName(s.ward)),
    [ward, city, wardName],
  );

  let limits: LimitLine[] = [];
  if (metric.kind === 'air_station') limits = airLimitLines(limitsFile, metric.field);
  else if (metric.kind === 'noise_meter')
    limits = noiseLimitLines(
      limitsFile,
      { special: t('ward.zone.special'), normal: t('ward.zone.normal') },
      lang === 'vi' ? { day: 'ngày', night: 'đêm' } : { day: 'day', night: 'night' },
    );
  else if (metric.kind === 'water_level' && ward) {
    const station = city.devices.find((d) => d.kind === 'water_level' && d.ward === ward);
    limits = (station?.alarmLevels ?? []).map((value, i) => ({ value, label: t('ward.waterStage', { n: i + 1 }) }));
  }
  const title = `${fieldLabel(metric.kind, metric.field, lang)} · ${ward ? wardName(ward) : t('chart.wardComparison')}`;
  return (
    <>
      <h1>{t('env.title')}</h1>
      <div className="toolbar">
        <label htmlFor={`${id}-metric`}>
          {t('chart.metric')}
          <select id={`${id}-metric`} value={metricIndex} onChange={(e) => setMetricIndex(Number(e.target.value))} data-testid="metric">
            {METRICS.map((m, i) => (
              <option key={`${m.kind}.${m.field}`} value={i}>
                {fieldLabel(m.kind, m.field, lang)}
              </option>
            ))}
          </select>
        </label>
        <WardSelect value={ward} onChange={setWard} />
        <RangePicker value={range} onChange={setRange} />
      </div>
      <TrendChart
        title={title}
        query={{
          kind: metric.kind,
          fields: [metric.field],
          from: q.from,
          to: q.to,
          windowMs: q.windowMs,
          aggregate: 'mean',
          ward: ward || undefined,
        }}
        label={label}
        unit={fieldUnit(metric.kind, metric.field)}
        limits={limits}
        spanMs={RANGES[range].spanMs}
        height={420}
      />
    </>
  );
}
