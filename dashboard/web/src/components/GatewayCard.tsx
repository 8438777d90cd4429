import { DeviceError } from './DeviceError';
import type { Alarm, GatewayInfo } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { atLeast } from '../lib/roles';
import { useApp } from '../session';
import { GatewayAlarms, GatewayClock } from './GatewayClock';
import { GatewayCommands } from './GatewayCommands';
import { Link } from './Link';
import { RadioHealth } from './RadioHealth';

const STATE_ICON = { online: '●', offline: '✕', unknown: '?' } as const;

export function GatewayCard({ gateway, now, alarms = [] }: { gateway: GatewayInfo; now: number; alarms?: readonly Alarm[] }) {
  const { t, ago, dateTime, duration, num } = useI18n();
  const { session, wardName, deviceName } = useApp();
  const h = gateway.health;
  return (
    <article className={`gateway gw-${gateway.state}`} aria-labelledby={`gw-${gateway.id}`} data-gateway={gateway.id}>
      <header className="gateway-head">
        <h2 id={`gw-${gateway.id}`}>{gateway.name}</h2>
        <span className={`gw-state gw-state-${gateway.state}`} data-testid="gw-state">
          <span aria-hidden="true">{STATE_ICON[gateway.state]} </span>
          {t(`state.${gateway.state}`)}
        </span>
      </header>
      <p className="muted">{wardName(gateway.ward)}</p>
      <GatewayAlarms alarms={alarms} />
      <dl className="kv">
        <div>
          <dt>{t('gateways.lastSeen')}</dt>
          <dd>
            {gateway.lastSeen ? (
              <time dateTime={new Date(gateway.lastSeen).toISOString()} title={dateTime(gateway.lastSeen)}>
                {ago(gateway.lastSeen, now)}
              </time>
            ) : (
              '—'
            )}
          </dd>
        </div>
        {h && (
          <>
            <div className={h.outbox.depth > 0 ? 'warn' : ''}>
              <dt>{t('gateways.outbox')}</dt>
              <dd data-testid="outbox">{t('gateways.outboxValue', { n: num(h.outbox.depth, 0) })}</dd>
            </div>
            {h.outbox.notDurable > 0 && (
              // Readings lost on the box (its disk full or failing): the technician has to go there.
              <div className="warn" data-testid="not-durable">
                <dt>{t('gateways.notDurable')}</dt>
                <dd className="error-text">{t('gateways.notDurableValue', { n: num(h.outbox.notDurable, 0) })}</dd>
              </div>
            )}
            <GatewayClock gateway={gateway} now={now} />
            <div>
              <dt>{t('gateways.version')}</dt>
              <dd data-testid="software-version">{h.version}</dd>
            </div>
            <div>
              <dt>{t('gateways.configHash')}</dt>
              <dd>
                <code>{h.configHash.slice(0, 12)}</code>
              </dd>
            </div>
            <div>
              <dt>{t('gateways.configVersion')}</dt>
              <dd data-testid="config-version">
                {h.fleet?.configVersion ? `v${num(h.fleet.configVersion, 0)}` : t('gateways.configLocal')}
              </dd>
            </div>
            {h.fleet?.rollback && (
              // A refused or rolled-back config or release: the centre's push did not take on this box.
              <div className="warn" data-testid="rollback">
                <dt>{t('gateways.rollback')}</dt>
                <dd>
                  {h.fleet.rollback.kind === 'config'
                    ? t('gateways.rollbackConfig', {
                        rejected: h.fleet.rollback.rejected,
                        // A config version, or the gateway's own file when no pushed one ever took.
                        running: h.fleet.rollback.running === 'file' ? t('gateways.configLocal') : `v${h.fleet.rollback.running}`,
                      })
                    : t('gateways.rollbackSoftware', { rejected: h.fleet.rollback.rejected, running: h.fleet.rollback.running })}{' '}
                  (
                  <time dateTime={new Date(h.fleet.rollback.ts).toISOString()} title={dateTime(h.fleet.rollback.ts)}>
                    {ago(h.fleet.rollback.ts, now)}
                  </time>
                  ){' '}
                  <span className="small" data-testid="rollback-reason" lang="en">
                    {h.fleet.rollback.reason}
                  </span>
                </dd>
              </div>
            )}
            <div>
              <dt>{t('gateways.uptime')}</dt>
              <dd>{duration(h.uptimeS * 1000)}</dd>
            </div>
          </>
        )}
      </dl>
      {!h && <p className="muted">{t('gateways.noHealth')}</p>}
      {h && h.devices.length > 0 && (
        // Open when something is wrong: a technician should not have to dig for the failing device.
        <details className="gw-devices" open={h.devices.some((d) => d.lastError) || undefined}>
          <summary>
            {t('gateways.devices')} ({h.devices.length})
          </summary>
          <ul>
            {h.devices.map((d) => (
              <li key={d.device} className={d.lastError ? 'warn' : ''}>
                <Link href={`/devices/${encodeURIComponent(d.device)}`}>{deviceName(d.device)}</Link>
                <span className="small">
                  {' '}
                  {t('gateways.poll', { ok: num(d.ok, 0), timeouts: num(d.timeouts, 0), crc: num(d.crcErrors, 0) })}
                </span>
                {d.radio && <RadioHealth radio={d.radio} now={now} />}
                {d.lastError && (
                  <span className="small error-text">
                    {' '}
                    <span aria-hidden="true">▲ </span>
                    <DeviceError error={d.lastError} /> {d.lastErrorTs ? `(${ago(d.lastErrorTs, now)})` : ''}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </details>
      )}
      {atLeast(session.user.role, 'technician') && <GatewayCommands gateway={gateway} />}
    </article>
  );
}
