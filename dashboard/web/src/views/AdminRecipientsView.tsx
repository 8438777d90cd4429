import { useEffect, useState } from 'react';
import { SaveOutcome, type SaveOutcomeValue } from '../components/SaveOutcome';
import { api, ApiError, type FieldIssue } from '../api/client';
import { useApi } from '../api/useApi';
import type { DirectoryAnswer } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { RowActions } from '../components/RowActions';
import { RecipientForm, type Recipient } from '../components/RecipientForm';
import { useI18n } from '../i18n/i18n';
import { issuesFor } from '../lib/field-issues';
import { formatStructured, parseStructured, type TextFormat } from '../lib/structured-text';

type Directory = DirectoryAnswer;

type Editing = { index: number | null; recipient: Recipient | null } | null;
type Outcome = SaveOutcomeValue;

/**
 * Notification recipients (who gets SMS/Zalo/email) and escalation (on-call groups, routes) for admins:
 * each save is a new version on the server, in effect for the next alarm; a stale editor gets a conflict.
 */
export default function AdminRecipientsView() {
  const { t, dateTime } = useI18n();
  const dir = useApi<Directory>('/api/admin/recipients');
  const [editing, setEditing] = useState<Editing>(null);
  const [formKey, setFormKey] = useState(0);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [removing, setRemoving] = useState<Recipient | null>(null);
  const [busy, setBusy] = useState(false);
  const [format, setFormat] = useState<TextFormat>('yaml');
  const [escalation, setEscalation] = useState('');
  const [escalationError, setEscalationError] = useState<string | null>(null);
  const [escalationIssues, setEscalationIssues] = useState<FieldIssue[]>([]);

  const data = dir.data;
  useEffect(() => {
    if (data) setEscalation(formatStructured({ groups: data.groups, routes: data.routes }, format));
    // the text follows the loaded version and the chosen format
  }, [data, format]);

  /** Recipients who appear in an escalation step, for the table ("step 2 of flood after 10 min"). */
  const stepsOf = (id: string) => {
    // Directly, or through an on-call group they belong to (as a member or in a shift).
    const groups = new Set(
      ((data?.groups ?? []) as Array<{ id: string; members?: string[]; onCall?: Array<{ recipients: string[] }> }>)
        .filter((g) => g.members?.includes(id) || g.onCall?.some((sh) => sh.recipients.includes(id)))
        .map((g) => `group:${g.id}`),
    );
    return (data?.routes ?? []).flatMap((r) =>
      r.steps
        .map((s, i) => ({
          route: r.id,
          step: i + 1,
          afterMin: s.afterMin ?? 0,
          via: s.to.includes(id) ? null : (s.to.find((x) => groups.has(x)) ?? undefined),
        }))
        .filter((x) => x.via !== undefined),
    );
  };

  /** `editedIndex`: the recipient whose form shows its field messages; 'escalation': messages go under the escalation editor. */
  const save = async (
    next: { recipients: Recipient[]; groups?: unknown[]; routes?: unknown[] },
    editedIndex: number | null | 'escalation',
    success: string,
  ): Promise<boolean> => {
    if (!data) return false;
    setBusy(true);
    setOutcome(null);
    setFieldErrors({});
    setEscalationIssues([]);
    try {
      const res = await api.put<Directory>('/api/admin/recipients', {
        baseVersion: data.version,
        recipients: next.recipients,
        groups: next.groups ?? data.groups,
        routes: next.routes ?? data.routes,
      });
      dir.set(() => res);
      setOutcome({ kind: 'ok', text: success.replace('{version}', String(res.version)) });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.code === 'conflict')
        setOutcome({ kind: 'conflict', text: t('recipients.conflict', { message: err.message }) });
      else if (err instanceof ApiError && err.issues.length && editedIndex === 'escalation') {
        setEscalationIssues(err.issues);
        setOutcome({ kind: 'error', text: t('recipients.invalid') });
      } else if (err instanceof ApiError && err.issues.length) {
        const { fields, other } =
          editedIndex === null ? { fields: {}, other: err.issues } : issuesFor(err.issues, `recipients.${editedIndex}.`);
        setFieldErrors(fields);
        setOutcome({ kind: 'error', text: t('recipients.invalid'), issues: other });
      } else setOutcome({ kind: 'error', text: t('app.error', { message: (err as Error).message }) });
      return false;
    } finally {
      setBusy(false);
    }
  };

  const submitRecipient = async (r: Recipient) => {
    if (!data || !editing) return;
    const list = [...data.recipients];
    const index = editing.index ?? list.length;
    list[index] = r;
    if (await save({ recipients: list }, index, t('recipients.saved', { name: r.name, version: '{version}' }))) {
      setEditing(null);
      setFormKey((k) => k + 1);
    }
  };

  const remove = async () => {
    const r = removing;
    setRemoving(null);
    if (!data || !r) return;
    await save(
      { recipients: data.recipients.filter((x) => x.id !== r.id) },
      null,
      t('recipients.removed', { name: r.name, version: '{version}' }),
    );
  };

  const saveEscalation = async () => {
    const parsed = parseStructured(escalation, format);
    if (!parsed.ok) {
      setEscalationError(
        t('structured.parseError', {
          format: format.toUpperCase(),
          line: parsed.line ?? '?',
          col: parsed.col ?? '?',
          message: parsed.message,
        }),
      );
      return;
    }
    const value = parsed.value as { groups?: unknown; routes?: unknown } | null;
    if (!value || typeof value !== 'object' || !Array.isArray(value.routes)) {
      setEscalationError(t('recipients.escalationShape'));
      return;
    }
    setEscalationError(null);
    await save(
      { recipients: data!.recipients, groups: Array.isArray(value.groups) ? value.groups : [], routes: value.routes },
      'escalation',
      t('recipients.escalationSaved', { version: '{version}' }),
    );
  };

  return (
    <>
      <h1>{t('recipients.title')}</h1>
      {dir.error && (
        <p className="error" role="alert">
          {t('app.error', { message: dir.error })}
        </p>
      )}
      {data && !data.configured && <p role="status">{t('recipients.notConfigured')}</p>}
      {data && data.configured && (
        <p className="summary" data-testid="recipients-version">
          {t('rules.version', { version: data.version })} —{' '}
          {t('rules.updated', { user: data.updatedBy ?? '—', time: data.updatedAt ? dateTime(data.updatedAt) : '—' })}
        </p>
      )}
      <SaveOutcome outcome={outcome} testId="recipients-outcome" onReload={() => (setOutcome(null), setEditing(null), dir.reload())} />
      {data && data.configured && (
        <>
          <section className="panel" aria-labelledby="recipient-list-title">
            <h2 id="recipient-list-title">{t('recipients.list', { n: data.recipients.length })}</h2>
            <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="recipient-list-title">
              <table data-testid="recipients-table">
                <thead>
                  <tr>
                    <th scope="col">{t('recipients.name')}</th>
                    <th scope="col">{t('recipients.contact')}</th>
                    <th scope="col">{t('recipients.channels')}</th>
                    <th scope="col">{t('recipients.escalation')}</th>
                    <th scope="col">{t('admin.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.recipients.map((r, i) => (
                    <tr key={r.id} data-recipient={r.id}>
                      <th scope="row">
                        {r.name}
                        <br />
                        <span className="muted small">{r.id}</span>
                      </th>
                      <td>
                        {r.phone && <div>☎ {r.phone}</div>}
                        {r.zaloUserId && <div>Zalo: {r.zaloUserId}</div>}
                        {r.email && <div>{r.email}</div>}
                      </td>
                      <td>{r.channels.map((c) => t(`channel.${c as 'sms'}`)).join(' → ')}</td>
                      <td>
                        {stepsOf(r.id).map((s) => (
                          <div key={`${s.route}-${s.step}`}>
                            {t('recipients.stepOf', { route: s.route, step: s.step, min: s.afterMin })}
                            {s.via && <span className="muted small"> ({s.via})</span>}
                          </div>
                        ))}
                      </td>
                      <td>
                        <RowActions
                          edit={{ text: t('recipients.edit'), label: t('recipients.editOf', { name: r.name }) }}
                          remove={{ text: t('recipients.remove'), label: t('recipients.removeOf', { name: r.name }) }}
                          onEdit={() => (
                            setFieldErrors({}),
                            setOutcome(null),
                            setEditing({ index: i, recipient: r }),
                            setFormKey((k) => k + 1)
                          )}
                          onRemove={() => setRemoving(r)}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {!editing && (
              <button
                type="button"
                className="btn btn-primary"
                onClick={() => (
                  setFieldErrors({}),
                  setOutcome(null),
                  setEditing({ index: null, recipient: null }),
                  setFormKey((k) => k + 1)
                )}
              >
                {t('recipients.add')}
              </button>
            )}
            {editing && (
              <RecipientForm
                key={formKey}
                initial={editing.recipient}
                channels={data.channels}
                takenIds={data.recipients.map((r) => r.id)}
                errors={fieldErrors}
                busy={busy}
                onSubmit={(r) => void submitRecipient(r)}
                onCancel={() => (setEditing(null), setFieldErrors({}))}
              />
            )}
          </section>
          <section className="panel" aria-labelledby="escalation-title">
            <h2 id="escalation-title">{t('recipients.escalationTitle')}</h2>
            <p className="muted">{t('recipients.escalationNote')}</p>
            <fieldset className="checks">
              <legend>{t('structured.format')}</legend>
              {(['yaml', 'json'] as const).map((f) => (
                <label key={f}>
                  <input type="radio" name="escalation-format" checked={format === f} onChange={() => setFormat(f)} />
                  {f.toUpperCase()}
                </label>
              ))}
            </fieldset>
            <label htmlFor="escalation-text" className="field-label" style={{ display: 'block', fontWeight: 600, margin: '0.5rem 0' }}>
              {t('recipients.escalationEditor', { format: format.toUpperCase() })}
            </label>
            <textarea
              id="escalation-text"
              spellCheck={false}
              rows={16}
              style={{ width: '100%', fontFamily: 'monospace', boxSizing: 'border-box' }}
              value={escalation}
              onChange={(e) => setEscalation(e.target.value)}
              aria-invalid={escalationError || escalationIssues.length ? true : undefined}
              aria-describedby={escalationError || escalationIssues.length ? 'escalation-error' : undefined}
            />
            {(escalationError || escalationIssues.length > 0) && (
              <div id="escalation-error" className="field-error" data-testid="escalation-error">
                {escalationError}
                {escalationIssues.length > 0 && (
                  <ul>
                    {escalationIssues.map((i) => (
                      <li key={`${i.path}:${i.message}`}>
                        <code>{i.path}</code>: {i.message}
                      </li>
                    ))}
                  </ul>
                )}
              </div>
            )}
            <div className="button-row" style={{ marginTop: '0.75rem' }}>
              <button type="button" className="btn btn-primary" onClick={() => void saveEscalation()} disabled={busy}>
                {t('recipients.saveEscalation')}
              </button>
            </div>
          </section>
        </>
      )}
      <ConfirmDialog
        open={removing !== null}
        title={removing ? t('recipients.confirmRemove', { name: removing.name }) : ''}
        busy={busy}
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(null)}
      />
    </>
  );
}
