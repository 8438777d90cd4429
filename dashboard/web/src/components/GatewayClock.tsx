import type { Alarm, GatewayInfo } from '../api/types';
import { useI18n } from '../i18n/i18n';

/**
 * The gateway's clock as a technician needs it: synchronised or not (readings taken meanwhile are marked), how far
 * it is off the centre's, its last step. Older gateways report no clock: nothing is shown.
 */
export function GatewayClock({ gateway, now }: { gateway: GatewayInfo; now: number }) {
  const { t, ago, num } = useI18n();
  const clock = gateway.health?.clock;
  if (!clock) return null;
  const parts = [t(clock.synced ? 'gateways.clockSynced' : 'gateways.clockUnsynced')];
  if (gateway.clockOffsetMs !== undefined) parts.push(t('gateways.clockOffset', { s: num(gateway.clockOffsetMs / 1000, 0) }));
  if (clock.lastStepMs !== null && clock.lastStepAt !== null)
    parts.push(t('gateways.clockLastStep', { s: num(clock.lastStepMs / 1000, 0), ago: ago(clock.lastStepAt, now) }));
  return (
    <div className={clock.synced ? '' : 'warn'} data-testid="gw-clock">
      <dt>{t('gateways.clock')}</dt>
      <dd>{parts.join(' · ')}</dd>
    </div>
  );
}

/** The gateway's own open alarms (its clock, disk, outbox, silence: not its devices'), each in the reader's language. */
export function GatewayAlarms({ alarms }: { alarms: readonly Alarm[] }) {
  const { lang, t } = useI18n();
  if (alarms.length === 0) return null;
  return (
    <ul className="gw-alarms" data-testid="gw-alarms">
      {alarms.map((a) => (
        <li key={a.id} className={`sev-${a.severity}`}>
          <span aria-hidden="true">▲ </span>
          {t(`severity.${a.severity}`)}: {a.message[lang]}
        </li>
      ))}
    </ul>
  );
}
