import { useId, useState, type FormEvent } from 'react';
import { sendCommand, waitForAnswer } from '../api/commands';
import { commandsOutcomeText } from '../lib/command-text';
import { useI18n } from '../i18n/i18n';
import { useApp } from '../session';
import { ConfirmDialog } from './ConfirmDialog';

/** Switch or dim a group of lamps on one cabinet: write_register lampN_level, after a confirmation. */
export function LightingControl() {
  const i18n = useI18n();
  const { t } = i18n;
  const { city } = useApp();
  const id = useId();
  const cabinets = city.devices.filter((d) => d.kind === 'street_light');
  const [cabinetId, setCabinetId] = useState(cabinets[0]?.id ?? '');
  const [group, setGroup] = useState('all');
  const [level, setLevel] = useState(100);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const cabinet = cabinets.find((c) => c.id === cabinetId);
  const lamps = cabinet?.lamps ?? 1;
  const targets = group === 'all' ? Array.from({ length: lamps }, (_, i) => i + 1) : [Number(group)];
  const groupName = group === 'all' ? t('lighting.allLamps') : t('lighting.lamp', { n: group });

  const send = async () => {
    if (!cabinet) return;
    setBusy(true);
    try {
      const ids = [];
      for (const n of targets)
        ids.push(
          (await sendCommand(cabinet.gateway, { type: 'write_register', device: cabinet.id, field: `lamp${n}_level`, value: level })).id,
        );
      setStatus(t('lighting.sent', { n: ids.length }));
      setStatus(commandsOutcomeText(i18n, await Promise.all(ids.map((i) => waitForAnswer(i)))));
    } catch (err) {
      setStatus(t('gateways.commandFailed', { error: (err as Error).message }));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setConfirming(true);
  };
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{t('lighting.command')}</h2>
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor={`${id}-cab`}>
          {t('lighting.cabinet')}
          <select id={`${id}-cab`} value={cabinetId} onChange={(e) => (setCabinetId(e.target.value), setGroup('all'))}>
            {cabinets.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-group`}>
          {t('lighting.group')}
          <select id={`${id}-group`} value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="all">{t('lighting.allLamps')}</option>
            {Array.from({ length: lamps }, (_, i) => (
              <option key={i + 1} value={i + 1}>
                {t('lighting.lamp', { n: i + 1 })}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-level`}>
          {t('lighting.level')}
          <input
            id={`${id}-level`}
            type="number"
            min={0}
            max={100}
            step={5}
            value={level}
            onChange={(e) => setLevel(Math.max(0, Math.min(100, Number(e.target.value))))}
          />
        </label>
        <div className="button-row">
          <button type="button" className="btn" onClick={() => setLevel(0)}>
            {t('lighting.off')}
          </button>
          <button type="button" className="btn" onClick={() => setLevel(50)}>
            {t('lighting.dim')} 50%
          </button>
          <button type="button" className="btn" onClick={() => setLevel(100)}>
            {t('lighting.on')}
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !cabinet} data-testid="lighting-apply">
            {t('lighting.apply')}
          </button>
        </div>
      </form>
      <p className="command-status" role="status">
        {status}
      </p>
      <ConfirmDialog
        open={confirming}
        busy={busy}
        title={t('lighting.confirm', { group: groupName, cabinet: cabinet?.name ?? '', level })}
        onCancel={() => setConfirming(false)}
        onConfirm={() => void send()}
      />
    </section>
  );
}
