import type { Severity } from '../api/types';

export const SEVERITY_ICON: Record<Severity, string> = { critical: '✖', major: '▲', minor: '◆', warning: 'ⓘ' };
export const SEVERITY_RANK: Record<Severity, number> = { critical: 0, major: 1, minor: 2, warning: 3 };
