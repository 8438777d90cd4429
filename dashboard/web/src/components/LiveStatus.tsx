import { useI18n } from '../i18n/i18n';
import { useFeedState, useNow } from '../live/useLive';

/** Connection state of the live feed, as text and icon (never colour alone). */
export function LiveStatus() {
  const { t } = useI18n();
  const feed = useFeedState();
  const now = useNow(1000);
  let text: string;
  let icon: string;
  // The countdown changes every second: shown, but not announced each second by screen readers.
  let announce: string | null = null;
  if (feed.status === 'open') {
    text = t('live.connected');
    icon = '●';
  } else if (feed.status === 'connecting') {
    text = t('live.connecting');
    icon = '◌';
  } else {
    text = t('live.disconnected', { s: Math.max(0, Math.ceil(((feed.retryAt ?? now) - now) / 1000)) });
    announce = t('live.lost');
    icon = '✕';
  }
  return (
    <span className={`live-status live-${feed.status}`} role="status" data-testid="live-status">
      <span aria-hidden="true">{icon} </span>
      {announce ? (
        <>
          <span aria-hidden="true">{text}</span>
          <span className="sr-only">{announce}</span>
        </>
      ) : (
        text
      )}
    </span>
  );
}
