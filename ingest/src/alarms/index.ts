export { createAlarmDetector, type AlarmDetector, type AlarmDetectorOptions, type AlarmDetectorLimits } from './detector';
export type { ReadingObserver } from '../observers';
export {
  alarmRuleSchema,
  ruleSetSchema,
  parseRuleSet,
  parseRulesMessage,
  type AlarmRule,
  type AlarmRuleInput,
  type RuleSet,
} from '@tamky/protocol';
export { loadRules } from './rules';
export { sunElevationDeg } from './sun';
export { formatNumber } from '@tamky/protocol';
export { followRules, type RulesFollower } from './rules-follower';
export { startAlarmDetection, type AlarmDetectionOptions } from './start';
