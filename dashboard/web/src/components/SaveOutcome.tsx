import type { FieldIssue } from '../api/client';
import { useI18n } from '../i18n/i18n';

/** What saving a versioned admin document (registry, recipients) came to. */
export type SaveOutcomeValue = { kind: 'ok' | 'error' | 'conflict'; text: string; issues?: FieldIssue[] };

/**
 * The announced result of a save: the server's field issues listed, and on a 409 (someone saved a newer
 * version meanwhile) a button to reload that version instead of overwriting it.
 */
export function SaveOutcome({ outcome, testId, onReload }: { outcome: SaveOutcomeValue | null; testId: string; onReload: () => void }) {
  const { t } = useI18n();
  return (
    <div aria-live="polite" data-testid={testId}>
      {outcome && (
        <div
          className={outcome.kind === 'ok' ? undefined : 'error'}
          role={outcome.kind === 'ok' ? 'status' : 'alert'}
          data-kind={outcome.kind}
        >
          <p>{outcome.text}</p>
          {outcome.issues && outcome.issues.length > 0 && (
            <ul>
              {outcome.issues.map((i) => (
                <li key={`${i.path}:${i.message}`}>
                  <code>{i.path}</code>: {i.message}
                </li>
              ))}
            </ul>
          )}
          {outcome.kind === 'conflict' && (
            <button type="button" className="btn" onClick={onReload}>
              {t('rules.reload')}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
