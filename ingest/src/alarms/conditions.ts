import type { MessageVar } from './messages';
import type { Severity } from '@tamky/protocol';

/** What one evaluation of a rule for one source says. Neither breach nor clear = inside the hysteresis band. */
export interface Observation {
  ts: number;
  breach: boolean;
  clear: boolean;
  value: number | null;
  limit: number | null;
  severity?: Severity;
  /** Extra placeholders for the message (e.g. failed lamp numbers); numbers are written the reader's way. */
  vars?: Record<string, MessageVar>;
}

export type Transition =
  | { state: 'raised'; since: number; repeat: boolean; obs: Observation }
  | { state: 'cleared'; since: number; obs: Observation; reconcile: boolean };

interface ConditionState {
  phase: 'unknown' | 'ok' | 'active';
  pendingSince?: number;
  clearPendingSince?: number;
  activeSince?: number;
  lastPublishedTs?: number;
  lastSeverity?: Severity;
}

/**
 * The per-(rule, source) state machine: a breach must hold `forMs` before raising, the clearing condition
 * must hold `clearForMs` before clearing, and an active condition repeats at most every `repeatMs` (sooner
 * when its severity changes). After a restart the phase is unknown: the first healthy observation emits one
 * reconciling 'cleared' (the dashboard ignores it unless an alarm was left open), the first sustained breach
 * raises again (the dashboard folds it into the open alarm).
 */
export class ConditionTracker {
  private readonly states = new Map<string, ConditionState>();

  constructor(private readonly maxConditions = 200_000) {}

  get size(): number {
    return this.states.size;
  }

  observe(key: string, obs: Observation, timing: { forMs: number; clearForMs: number; repeatMs: number }): Transition | undefined {
    let st = this.states.get(key);
    if (!st) {
      if (this.states.size >= this.maxConditions) return undefined;
      st = { phase: 'unknown' };
      this.states.set(key, st);
    }
    if (obs.breach) {
      st.clearPendingSince = undefined;
      if (st.phase === 'active') {
        const severityChanged = obs.severity !== undefined && obs.severity !== st.lastSeverity;
        if (severityChanged || obs.ts - (st.lastPublishedTs ?? 0) >= timing.repeatMs) {
          st.lastPublishedTs = obs.ts;
          st.lastSeverity = obs.severity;
          return { state: 'raised', since: st.activeSince ?? obs.ts, repeat: true, obs };
        }
        return undefined;
      }
      st.pendingSince ??= obs.ts;
      if (obs.ts - st.pendingSince >= timing.forMs) {
        st.phase = 'active';
        st.activeSince = st.pendingSince;
        st.pendingSince = undefined;
        st.lastPublishedTs = obs.ts;
        st.lastSeverity = obs.severity;
        return { state: 'raised', since: st.activeSince, repeat: false, obs };
      }
      return undefined;
    }
    st.pendingSince = undefined;
    if (!obs.clear) {
      st.clearPendingSince = undefined;
      return undefined;
    }
    if (st.phase === 'active') {
      st.clearPendingSince ??= obs.ts;
      if (obs.ts - st.clearPendingSince >= timing.clearForMs) {
        const since = st.clearPendingSince;
        st.phase = 'ok';
        st.clearPendingSince = undefined;
        st.activeSince = undefined;
        return { state: 'cleared', since, obs, reconcile: false };
      }
      return undefined;
    }
    if (st.phase === 'unknown') {
      st.phase = 'ok';
      return { state: 'cleared', since: obs.ts, obs, reconcile: true };
    }
    return undefined;
  }

  /** Forget conditions of rules that no longer exist. */
  retainRules(ruleIds: Set<string>): void {
    for (const key of this.states.keys()) if (!ruleIds.has(key.slice(0, key.indexOf('|')))) this.states.delete(key);
  }
}
