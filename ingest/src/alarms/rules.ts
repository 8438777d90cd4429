import { ruleSetSchema, type AlarmRule } from '@tamky/protocol';
import { loadConfigFile } from '@tamky/service-kit';

/** Loads and validates a rules file (schema: protocol/src/rules.ts); errors name the file, the field and the problem. */
export function loadRules(file: string): AlarmRule[] {
  return loadConfigFile(file, ruleSetSchema).rules;
}
