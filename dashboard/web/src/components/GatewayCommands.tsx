import { useState } from 'react';
import { sendCommand, waitForAnswer, type CommandBody } from '../api/commands';
import { commandOutcomeText, commandPendingText } from '../lib/command-text';
import { useApp } from '../session';
import type { GatewayInfo } from '../api/types';
import { useI18n } from '../i18n/i18n';
import { ConfirmDialog } from './ConfirmDialog';

/** Read now / reload config for one gateway, with the command's outcome shown in place. */
export function GatewayCommands({ gateway }: { gateway: GatewayInfo }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { city } = useApp();
  const deviceName = (id: string) => city.devices.find((d) => d.id === id)?.name ?? id;
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmReload, setConfirmReload] = useState(false);
  const run = async (body: CommandBody) => {
    setBusy(true);
    setConfirmReload(false);
    try {
      const { id, timeoutMs } = await sendCommand(gateway.id, body);
      setStatus(commandPendingText(i18n, timeoutMs));
      setStatus(commandOutcomeText(i18n, await waitForAnswer(id), deviceName));
    } catch (err) {
      setStatus(t('gateways.commandFailed', { error: (err as Error).message }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="gateway-commands">
      <div className="button-row">
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy}
          onClick={() => void run({ type: 'read_now' })}
          data-testid="read-now"
        >
          {t('gateways.readNow')}
        </button>
        <button type="button" className="btn" disabled={busy} onClick={() => setConfirmReload(true)}>
          {t('gateways.reload')}
        </button>
      </div>
      <p className="command-status" role="status" aria-live="polite">
        {status}
      </p>
      <ConfirmDialog
        open={confirmReload}
        title={t('gateways.confirmReload', { name: gateway.name })}
        onCancel={() => setConfirmReload(false)}
        onConfirm={() => void run({ type: 'reload_config' })}
        busy={busy}
      />
    </div>
  );
}
