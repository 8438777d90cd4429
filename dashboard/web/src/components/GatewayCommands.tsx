import { useState } from 'react';
import { sendCommand, waitForResult, type CommandBody } from '../api/commands';
import type { GatewayInfo } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { ConfirmDialog } from './ConfirmDialog';

/** Read now / reload config for one gateway, with the command's outcome shown in place. */
export function GatewayCommands({ gateway }: { gateway: GatewayInfo }) {
  const { t } = useI18n();
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmReload, setConfirmReload] = useState(false);
  const run = async (body: CommandBody) => {
    setBusy(true);
    setConfirmReload(false);
    try {
      const { id } = await sendCommand(gateway.id, body);
      setStatus(t('gateways.commandSent', { id }));
      const result = await waitForResult(id);
      if (result) setStatus(result.ok ? t('gateways.commandOk') : t('gateways.commandFailed', { error: result.error ?? '?' }));
    } catch (err) {
      setStatus(t('gateways.commandFailed', { error: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="gateway-commands">
      <div className="button-row">
        <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void run({ type: 'read_now' })} data-testid="read-now">
          {t('gateways.readNow')}
        </button>
        <button type="button" className="btn" disabled={busy} onClick={() => setConfirmReload(true)}>
          {t('gateways.reload')}
        </button>
      </div>
      <p className="command-status" role="status" aria-live="polite">
        {status}
      </p>
      <ConfirmDialog open={confirmReload} title={t('gateways.confirmReload', { name: gateway.name })} onCancel={() => setConfirmReload(false)} onConfirm={() => void run({ type: 'reload_config' })} busy={busy} />
    </div>
  );
}
