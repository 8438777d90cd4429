import { useCallback, useState } from 'react';
import type { Series } from '../api/types';
import { RangePicker } from '../components/RangePicker';
import { TrendChart } from '../components/TrendChart';
import { VehicleMix } from '../components/VehicleMix';
import { WardSelect } from '../components/WardSelect';
import { useI18n } from '../i18n/i18n';
import { rangeQuery, RANGES, type RangeKey } from '../lib/ranges';
import { useNow } from '../live/useLive';
import { useLatestReadings } from '../live/useReadings';
import { useApp } from '../session';

const lanes = [1, 2, 3, 4];
const COUNT_FIELDS = lanes.flatMap((l) => ['motorbike', 'car', 'bus', 'truck'].map((c) => `lane${l}_${c}`));
const SPEED_FIELDS = lanes.map((l) => `lane${l}_speed`);
const OCC_FIELDS = lanes.map((l) => `lane${l}_occupancy`);

export default function TrafficView() {
  const { t } = useI18n();
  const { wardName } = useApp();
  const [range, setRange] = useState<RangeKey>('24h');
  const [ward, setWard] = useState('');
  const now = useNow(60_000);
  const q = rangeQuery(range, now);
  const latest = useLatestReadings(['traffic_counter']);
  const label = useCallback((s: Series) => wardName(s.ward), [wardName]);
  const base = { kind: 'traffic_counter', from: q.from, to: q.to, windowMs: q.windowMs, ward: ward || undefined };
  const spanMs = RANGES[range].spanMs;
  return (
    <>
      <h1>{t('traffic.title')}</h1>
      <div className="toolbar">
        <WardSelect value={ward} onChange={setWard} />
        <RangePicker value={range} onChange={setRange} />
      </div>
      <div className="chart-grid">
        <TrendChart
          title={t('traffic.flow')}
          query={{ ...base, fields: COUNT_FIELDS, aggregate: 'mean' }}
          reduce="sum"
          label={label}
          unit=""
          spanMs={spanMs}
        />
        <TrendChart
          title={t('traffic.speed')}
          query={{ ...base, fields: SPEED_FIELDS, aggregate: 'mean' }}
          reduce="mean"
          label={label}
          unit="km/h"
          spanMs={spanMs}
        />
        <TrendChart
          title={t('traffic.occupancy')}
          query={{ ...base, fields: OCC_FIELDS, aggregate: 'mean' }}
          reduce="mean"
          label={label}
          unit="%"
          spanMs={spanMs}
        />
        <VehicleMix readings={[...latest.byKey.values()].filter((r) => !ward || r.ward === ward)} />
      </div>
    </>
  );
}
