import { useI18n } from '../i18n/i18n';

/**
 * Says honestly that a panel's data stopped: no data for more than twice the expected interval.
 * Renders nothing while data is fresh.
 */
export function StaleBadge({ lastDataAt, expectedMs, now, big = false, small = false, testId = 'stale' }: { lastDataAt: number | null | undefined; expectedMs: number; now: number; big?: boolean; small?: boolean; testId?: string }) {
  const { t, duration } = useI18n();
  const age = lastDataAt ? now - lastDataAt : null;
  if (age !== null && age <= expectedMs * 2) return null;
  return (
    <p className={`stale-badge${big ? ' stale-big' : ''}${small ? ' stale-tile' : ''}`} role="status" data-testid={testId}>
      <span aria-hidden="true">⚠ </span>
      {age === null ? t('live.staleNever') : t('live.stale', { age: duration(age) })}
    </p>
  );
}

export function isStale(lastDataAt: number | null | undefined, expectedMs: number, now: number): boolean {
  return !lastDataAt || now - lastDataAt > expectedMs * 2;
}
