import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import { useApi } from '../api/useApi';
import { type RuleSetView } from '../components/AdminApi';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { useI18n } from '../i18n/i18n';
import { formatStructured, parseStructured, type TextFormat } from '../lib/structured-text';
import { issueText } from '../lib/field-issues';

type Outcome = { kind: 'ok' | 'error' | 'conflict'; text: string };

/**
 * The alarm rule set as JSON or YAML text (parse errors say line and column): validate on the server, save as
 * a new version (409 when someone saved meanwhile).
 */
export default function AdminRulesView() {
  const { t, dateTime } = useI18n();
  const current = useApi<RuleSetView>('/api/rules');
  const [text, setText] = useState('');
  const [base, setBase] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [confirming, setConfirming] = useState<unknown[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [format, setFormat] = useState<TextFormat>('json');

  // The editor starts from the loaded version; a reload (after a conflict) replaces the text.
  useEffect(() => {
    if (!current.data) return;
    setText(formatStructured(current.data.rules, format));
    setBase(current.data.version);
    // the format switch converts the text itself (below), so only a new version resets it
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current.data]);

  /** Switching format converts what is in the editor (unsaved edits included) when it parses. */
  const switchFormat = (next: TextFormat) => {
    if (next === format) return;
    const parsed = parseStructured(text, format);
    if (!parsed.ok) {
      setOutcome({
        kind: 'error',
        text: t('structured.parseError', {
          format: format.toUpperCase(),
          line: parsed.line ?? '?',
          col: parsed.col ?? '?',
          message: parsed.message,
        }),
      });
      return;
    }
    setText(formatStructured(parsed.value, next));
    setFormat(next);
    setOutcome(null);
  };

  const parse = (): unknown[] | null => {
    const parsed = parseStructured(text, format);
    if (!parsed.ok) {
      setOutcome({
        kind: 'error',
        text: t('structured.parseError', {
          format: format.toUpperCase(),
          line: parsed.line ?? '?',
          col: parsed.col ?? '?',
          message: parsed.message,
        }),
      });
      return null;
    }
    if (!Array.isArray(parsed.value)) {
      setOutcome({ kind: 'error', text: format === 'json' ? t('rules.notArray') : t('rules.notList') });
      return null;
    }
    return parsed.value;
  };

  const failure = (err: unknown): Outcome => {
    if (err instanceof ApiError && err.status === 409) return { kind: 'conflict', text: t('rules.conflict', { message: err.message }) };
    if (err instanceof ApiError && err.issues.some((i) => i.code))
      return { kind: 'error', text: t('rules.invalid', { message: err.issues.map((i) => issueText(t, i)).join('; ') }) };
    if (err instanceof ApiError && (err.code === 'invalid_rules' || err.status === 400))
      return { kind: 'error', text: t('rules.invalid', { message: err.message }) };
    return { kind: 'error', text: t('app.error', { message: (err as Error).message }) };
  };

  const validate = async () => {
    const rules = parse();
    if (!rules) return;
    setBusy(true);
    try {
      const res = await api.post<{ ok: boolean; count: number }>('/api/rules/validate', { rules });
      setOutcome({ kind: 'ok', text: t('rules.valid', { n: res.count }) });
    } catch (err) {
      setOutcome(failure(err));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    const rules = confirming;
    setConfirming(null);
    if (!rules) return;
    setBusy(true);
    try {
      const res = await api.put<RuleSetView>('/api/rules', { baseVersion: base ?? 0, rules });
      setBase(res.version);
      setOutcome({ kind: 'ok', text: t('rules.saved', { version: res.version }) });
      current.set(() => res);
    } catch (err) {
      setOutcome(failure(err));
    } finally {
      setBusy(false);
    }
  };

  const data = current.data;
  return (
    <>
      <h1>{t('rules.title')}</h1>
      {current.error && (
        <p className="error" role="alert">
          {t('app.error', { message: current.error })}
        </p>
      )}
      {data && (
        <p className="summary" data-testid="rules-version">
          {data.version === 0
            ? t('rules.never')
            : `${t('rules.version', { version: data.version })} — ${t('rules.updated', { user: data.updatedBy ?? '—', time: data.updatedAt ? dateTime(data.updatedAt) : '—' })}`}
        </p>
      )}
      <section className="panel">
        <fieldset className="checks" data-testid="rules-format">
          <legend>{t('structured.format')}</legend>
          {(['json', 'yaml'] as const).map((f) => (
            <label key={f}>
              <input type="radio" name="rules-format" value={f} checked={format === f} onChange={() => switchFormat(f)} />
              {f.toUpperCase()}
            </label>
          ))}
        </fieldset>
        <label htmlFor="rules-text" style={{ display: 'block', fontWeight: 600, margin: '0.5rem 0' }}>
          {format === 'json' ? t('rules.editor') : t('rules.editorYaml')}
        </label>
        <textarea
          id="rules-text"
          spellCheck={false}
          rows={20}
          style={{ width: '100%', fontFamily: 'monospace', boxSizing: 'border-box' }}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="rules-outcome"
        />
        <div className="button-row" style={{ marginTop: '0.75rem' }}>
          <button type="button" className="btn" onClick={() => void validate()} disabled={busy || !data}>
            {t('rules.validate')}
          </button>
          <button type="button" className="btn btn-primary" onClick={() => setConfirming(parse())} disabled={busy || !data}>
            {t('rules.save')}
          </button>
          {outcome?.kind === 'conflict' && (
            <button type="button" className="btn" onClick={() => (setOutcome(null), current.reload())}>
              {t('rules.reload')}
            </button>
          )}
        </div>
        <div id="rules-outcome" aria-live="polite" data-testid="rules-outcome">
          {outcome && (
            <p
              className={outcome.kind === 'ok' ? undefined : 'error'}
              role={outcome.kind === 'ok' ? 'status' : 'alert'}
              data-kind={outcome.kind}
            >
              {outcome.text}
            </p>
          )}
        </div>
      </section>
      <ConfirmDialog
        open={confirming !== null}
        title={t('rules.confirmSave', { n: confirming?.length ?? 0 })}
        busy={busy}
        onConfirm={() => void save()}
        onCancel={() => setConfirming(null)}
      />
    </>
  );
}
