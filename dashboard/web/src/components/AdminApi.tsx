import { ROLES as ALL_ROLES } from '@tamky/protocol/names';
import type { Account, Role, RulesAnswer } from '../api/types';

/** An account as GET /api/users answers it (never a password hash). */
export type AdminUser = Account;
export type RuleSetView = RulesAnswer;

export const MIN_PASSWORD_LENGTH = 12;
export const ROLES: readonly Role[] = ALL_ROLES;
