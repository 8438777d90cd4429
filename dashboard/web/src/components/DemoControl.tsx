import { useState } from 'react';
import { api } from '../api/client';
import type { DemoControl as DemoState } from '../api/types';
import { useApi } from '../api/useApi';
import type { MessageKey } from '../i18n/dict';
import { useI18n } from '../i18n/i18n';

/**
 * Fault injection into the simulated city: shown only when the server runs the demo (GET /api/demo
 * exists); each button runs the same scenario as `npm start -- --scenario …`.
 */
export function DemoControl() {
  const { t, dateTime } = useI18n();
  const state = useApi<DemoState>('/api/demo');
  const [busy, setBusy] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  if (!state.data) return null;
  const inject = async (scenario: string) => {
    setBusy(scenario);
    setFailed(null);
    try {
      await api.post(`/api/demo/scenarios/${scenario}`);
      state.reload();
    } catch (err) {
      setFailed(t('app.error', { message: (err as Error).message }));
    } finally {
      setBusy(null);
    }
  };
  const name = (s: string) => t(`demo.scenario.${s}` as MessageKey);
  return (
    <section aria-labelledby="demo-title" className="panel" data-testid="demo-control">
      <h2 id="demo-title">{t('demo.title')}</h2>
      <p className="muted">{t('demo.explain')}</p>
      <div className="button-row">
        {state.data.scenarios.map((s) => (
          <button
            key={s}
            type="button"
            className="btn"
            disabled={busy !== null || !state.data!.ready}
            onClick={() => void inject(s)}
            data-scenario={s}
          >
            {name(s)}
          </button>
        ))}
      </div>
      {failed && (
        <p className="error" role="alert">
          {failed}
        </p>
      )}
      {state.data.injected.length > 0 && (
        <ol className="trail" data-testid="demo-injected">
          {state.data.injected.map((i) => (
            <li key={i.at}>
              <time dateTime={new Date(i.at).toISOString()}>{dateTime(i.at)}</time> · <strong>{i.by}</strong> · {name(i.scenario)}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
