import type { MessageKey } from '../i18n/dict';
import { useI18n } from '../i18n/i18n';

/**
 * A gateway's "kind: detail" report of a device's last failure: the kind (timeout, CRC, exception…) in the
 * page's language, the device's or driver's own words after it, verbatim and marked as English.
 */
export function DeviceError({ error }: { error: string }) {
  const { t } = useI18n();
  const m = /^([a-z_]+): ?([\s\S]*)$/.exec(error);
  const key = m ? (`deviceError.${m[1]}` as MessageKey) : undefined;
  const kind = key ? t(key) : undefined;
  if (!m || !kind || kind === key)
    return (
      <>
        {t('gateways.lastError', { error: '' })}
        <span lang="en">{error}</span>
      </>
    );
  return (
    <>
      {t('gateways.lastError', { error: kind })}
      {m[2] ? (
        <>
          {' '}
          (<span lang="en">{m[2]}</span>)
        </>
      ) : null}
    </>
  );
}
