import { useI18n } from '../i18n/i18n';
import { isStale } from '../lib/freshness';

export { isStale };

/**
 * Says honestly that a panel's data stopped (see isStale: a multiple of the devices' own expected interval).
 * Renders nothing while data is fresh.
 */
export function StaleBadge({
  lastDataAt,
  expectedMs,
  now,
  big = false,
  small = false,
  testId = 'stale',
}: {
  lastDataAt: number | null | undefined;
  expectedMs: number;
  now: number;
  big?: boolean;
  small?: boolean;
  testId?: string;
}) {
  const { t, duration } = useI18n();
  if (!isStale(lastDataAt, expectedMs, now)) return null;
  const age = lastDataAt ? now - lastDataAt : null;
  return (
    <p className={`stale-badge${big ? ' stale-big' : ''}${small ? ' stale-tile' : ''}`} role="status" data-testid={testId}>
      <span aria-hidden="true">⚠ </span>
      {age === null ? t('live.staleNever') : t('live.stale', { age: duration(age) })}
    </p>
  );
}
