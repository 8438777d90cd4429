import { useState, type FormEvent } from 'react';
import { isValidName } from '@tamky/protocol/ids';
import { CHANNELS } from '@tamky/protocol/names';
import type { Recipient } from '../api/types';
import { FormButtons } from './FormButtons';
import { useI18n } from '../i18n/i18n';

/** A recipient as the policy schema defines it (config/notify/policy.yaml; phones saved as 84…). */
export type { Recipient };
/** The channels in the order a chain is shown and built. */
export const CHANNEL_ORDER = CHANNELS;

type Field = 'id' | 'name' | 'phone' | 'zaloUserId' | 'email' | 'webhookUrl' | 'channels';

/** Add or edit one recipient; server messages arrive in `errors` by field and show under that field. */
export function RecipientForm({
  initial,
  channels,
  takenIds,
  errors,
  busy,
  onSubmit,
  onCancel,
}: {
  initial: Recipient | null;
  channels: Recipient['channels'];
  takenIds: string[];
  errors: Record<string, string>;
  busy: boolean;
  onSubmit(r: Recipient): void;
  onCancel(): void;
}) {
  const { t } = useI18n();
  const [r, setR] = useState<Recipient>(
    initial ?? {
      id: '',
      name: '',
      phone: '',
      zaloUserId: '',
      email: '',
      channels: channels.includes('zalo') && channels.includes('sms') ? ['zalo', 'sms'] : channels.slice(0, 1),
    },
  );
  const [local, setLocal] = useState<Partial<Record<Field, string>>>({});
  const problem = (f: Field) => local[f] ?? errors[f];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const p: Partial<Record<Field, string>> = {};
    if (!isValidName(r.id)) p.id = t('recipients.idHint');
    else if (!initial && takenIds.includes(r.id)) p.id = t('recipients.idTaken');
    if (!r.name.trim()) p.name = t('recipients.needName');
    if (r.channels.length === 0) p.channels = t('recipients.needChannel');
    if (r.channels.some((c) => c === 'zalo' || c === 'sms' || c === 'smpp') && !r.phone?.trim()) p.phone = t('recipients.needPhone');
    if (r.channels.includes('email') && !r.email?.trim()) p.email = t('recipients.needEmail');
    if (r.channels.includes('webhook') && !r.webhookUrl?.trim()) p.webhookUrl = t('recipients.needWebhook');
    setLocal(p);
    if (Object.keys(p).length) return;
    const { locale, ...rest } = r;
    onSubmit(locale ? { ...rest, locale } : rest);
  };

  const text = (
    f: Exclude<Field, 'channels'>,
    label: string,
    opts: { type?: string; hint?: string; disabled?: boolean; inputMode?: 'tel' | 'email' | 'numeric' } = {},
  ) => (
    <div className="form-field">
      <label htmlFor={`rcp-${f}`}>{label}</label>
      <input
        id={`rcp-${f}`}
        type={opts.type ?? 'text'}
        inputMode={opts.inputMode}
        value={r[f] ?? ''}
        disabled={opts.disabled}
        onChange={(e) => setR({ ...r, [f]: e.target.value })}
        aria-invalid={problem(f) ? true : undefined}
        aria-describedby={[opts.hint ? `rcp-${f}-hint` : '', problem(f) ? `rcp-${f}-error` : ''].filter(Boolean).join(' ') || undefined}
      />
      {opts.hint && (
        <span id={`rcp-${f}-hint`} className="muted small">
          {opts.hint}
        </span>
      )}
      {problem(f) && (
        <p id={`rcp-${f}-error`} className="field-error" data-testid={`rcp-${f}-error`}>
          {problem(f)}
        </p>
      )}
    </div>
  );

  const toggle = (c: string, on: boolean) =>
    setR({ ...r, channels: on ? CHANNEL_ORDER.filter((x) => x === c || r.channels.includes(x)) : r.channels.filter((x) => x !== c) });

  return (
    <form onSubmit={submit} noValidate className="form-grid" data-testid="recipient-form" aria-labelledby="recipient-form-title">
      <h3 id="recipient-form-title" className="form-wide">
        {initial ? t('recipients.editTitle', { name: initial.name }) : t('recipients.addTitle')}
      </h3>
      {text('id', t('recipients.id'), { disabled: initial !== null, hint: t('recipients.idHint') })}
      {text('name', t('recipients.name'))}
      {text('phone', t('recipients.phone'), { type: 'tel', inputMode: 'tel', hint: t('recipients.phoneHint') })}
      {text('zaloUserId', t('recipients.zalo'), { hint: t('recipients.zaloHint') })}
      {text('email', t('recipients.email'), { type: 'email', inputMode: 'email' })}
      {(channels.includes('webhook') || r.webhookUrl) && text('webhookUrl', t('recipients.webhookUrl'), { type: 'url' })}
      <div className="form-field">
        <label htmlFor="rcp-locale">{t('recipients.locale')}</label>
        <select
          id="rcp-locale"
          value={r.locale ?? ''}
          onChange={(e) => setR({ ...r, locale: (e.target.value || undefined) as Recipient['locale'] })}
        >
          <option value="">{t('recipients.localeDefault')}</option>
          <option value="vi">Tiếng Việt</option>
          <option value="en">English</option>
        </select>
      </div>
      <div className="form-field">
        <fieldset className="checks" aria-describedby={problem('channels') ? 'rcp-channels-error' : 'rcp-channels-hint'}>
          <legend>{t('recipients.channels')}</legend>
          {CHANNEL_ORDER.filter((c) => channels.includes(c) || r.channels.includes(c)).map((c) => (
            <label key={c}>
              <input type="checkbox" checked={r.channels.includes(c)} onChange={(e) => toggle(c, e.target.checked)} />
              {t(`channel.${c}`)}
            </label>
          ))}
        </fieldset>
        <span id="rcp-channels-hint" className="muted small">
          {t('recipients.channelsHint')}
        </span>
        {problem('channels') && (
          <p id="rcp-channels-error" className="field-error" data-testid="rcp-channels-error">
            {problem('channels')}
          </p>
        )}
      </div>
      <FormButtons saveLabel={t('recipients.save')} busy={busy} onCancel={onCancel} />
    </form>
  );
}
