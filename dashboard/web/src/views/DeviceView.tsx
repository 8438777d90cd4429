import { DeviceError } from '../components/DeviceError';
import { useCallback, useState } from 'react';
import { sendCommand, waitForAnswer } from '../api/commands';
import { commandOutcomeText, commandPendingText } from '../lib/command-text';
import type { DeviceInfo, Series } from '../api/types';
import { useApi } from '../api/useApi';
import { Link } from '../components/Link';
import { StaleBadge } from '../components/StaleBadge';
import { deviceExpectedMs } from '../lib/freshness';
import { TrendChart } from '../components/TrendChart';
import { useI18n } from '../i18n/i18n';
import { fieldLabel, fieldUnit, PRIMARY_FIELDS } from '../lib/fields';
import { rangeQuery } from '../lib/ranges';
import { useLive, useNow } from '../live/useLive';
import { useApp } from '../session';
import { RadioHealth } from '../components/RadioHealth';

export default function DeviceView({ param }: { param?: string }) {
  const i18n = useI18n();
  const { t, lang, num, dateTime, ago } = i18n;
  const { wardName } = useApp();
  const now = useNow(1000);
  const { data, error, set } = useApi<DeviceInfo>(param ? `/api/devices/${encodeURIComponent(param)}` : null);
  const [status, setStatus] = useState<string | null>(null);
  useLive(['readings'], (msg) => {
    if (msg.type !== 'readings') return;
    const r = msg.readings.find((x) => x.device === param);
    if (r) set((d) => (d && (!d.latest || d.latest.ts <= r.ts) ? { ...d, latest: r } : d));
  });
  const label = useCallback((s: Series) => fieldLabel(data?.device.kind ?? '', s.field, lang), [data?.device.kind, lang]);
  if (error)
    return (
      <p className="error" role="alert">
        {t('app.error', { message: error })}
      </p>
    );
  if (!data) return <p>{t('app.loading')}</p>;
  const { device, latest, health } = data;
  const range = rangeQuery('1h', now - (now % 60_000));
  const fields = PRIMARY_FIELDS[device.kind] ?? [];
  const readNow = async () => {
    try {
      const { id, timeoutMs } = await sendCommand(device.gateway, { type: 'read_now', device: device.id });
      setStatus(commandPendingText(i18n, timeoutMs));
      setStatus(commandOutcomeText(i18n, await waitForAnswer(id), () => device.name));
    } catch (err) {
      setStatus(t('gateways.commandFailed', { error: (err as Error).message }));
    }
  };
  return (
    <>
      <p>
        <Link href="/gateways">← {t('device.back')}</Link>
      </p>
      <h1>{t('device.title', { name: device.name })}</h1>
      <p className="muted">
        {device.id} · {wardName(device.ward)} · {device.gateway}
      </p>
      <StaleBadge lastDataAt={latest?.ts ?? null} expectedMs={deviceExpectedMs(device)} now={now} />
      <div className="button-row">
        <button type="button" className="btn btn-primary" onClick={() => void readNow()}>
          {t('gateways.readNow')}
        </button>
      </div>
      <p className="command-status" role="status">
        {status}
      </p>
      <div className="chart-grid">
        <section className="panel" aria-labelledby="latest-h">
          <h2 id="latest-h">{t('device.latest')}</h2>
          {latest ? (
            <>
              <p className="muted">
                <time dateTime={new Date(latest.ts).toISOString()}>{dateTime(latest.ts)}</time> ({ago(latest.ts, now)})
              </p>
              <div className="table-wrap" tabIndex={0} role="region" aria-label={t('device.latest')}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('device.field')}</th>
                      <th scope="col">{t('device.value')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(latest.values).map(([field, value]) => (
                      <tr key={field}>
                        <th scope="row">{fieldLabel(device.kind, field, lang)}</th>
                        <td>
                          {num(value, 2)} {fieldUnit(device.kind, field)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ) : (
            <p className="muted">{t('app.noData')}</p>
          )}
        </section>
        <section className="panel" aria-labelledby="health-h">
          <h2 id="health-h">{t('device.health')}</h2>
          {health ? (
            <>
              <p>{t('gateways.poll', { ok: num(health.ok, 0), timeouts: num(health.timeouts, 0), crc: num(health.crcErrors, 0) })}</p>
              {health.radio && (
                <p>
                  <RadioHealth radio={health.radio} now={now} />
                </p>
              )}
              {health.lastError && (
                <p className="error-text">
                  <DeviceError error={health.lastError} /> {health.lastErrorTs ? `(${ago(health.lastErrorTs, now)})` : ''}
                </p>
              )}
            </>
          ) : (
            <p className="muted">{t('gateways.noHealth')}</p>
          )}
        </section>
      </div>
      {fields.length > 0 && (
        <TrendChart
          title={t('device.recent')}
          query={{ kind: device.kind, fields, from: range.from, to: range.to, windowMs: 60_000, aggregate: 'mean', devices: [device.id] }}
          label={label}
          unit={fieldUnit(device.kind, fields[0]!)}
          spanMs={3_600_000}
        />
      )}
    </>
  );
}
