import type { DeviceHealth } from '../api/types';
import { useI18n } from '../i18n/i18n';

/** A LoRaWAN device's radio side (from the LoRaWAN connector's health report): signal, spreading factor, gateways, battery, last join. */
export function RadioHealth({ radio, now }: { radio: NonNullable<DeviceHealth['radio']>; now: number }) {
  const { t, num, ago } = useI18n();
  const parts = [
    radio.rssi !== null && radio.snr !== null ? t('lorawan.signal', { rssi: num(radio.rssi, 0), snr: num(radio.snr, 1) }) : null,
    radio.spreadingFactor !== null ? `SF${radio.spreadingFactor}` : null,
    t('lorawan.gateways', { n: num(radio.gateways, 0) }),
    radio.batteryPct !== null ? t('lorawan.battery', { pct: num(radio.batteryPct, 0) }) : null,
    radio.lastJoinTs !== null ? t('lorawan.joined', { ago: ago(radio.lastJoinTs, now) }) : null,
  ].filter((p): p is string => p !== null);
  return (
    <span className="small" data-testid="radio-health">
      {' '}
      {t('lorawan.radio')}: {parts.join(' · ')}
    </span>
  );
}
