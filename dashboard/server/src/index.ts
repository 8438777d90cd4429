export { dashboardConfigSchema, ROLES, type DashboardConfig, type ResolvedDashboardConfig, type Role, type UserSeed } from './config';
export type { DashboardModule, ModuleContext, LiveChannel, AlarmCounts } from './module';
export { startDashboard, type DashboardHandle, type DashboardOptions } from './server';
export { hashPassword, verifyPassword } from './passwords';
export { migrate, openStateDb } from './state-db';
export { topicMatches } from './mqtt/topic-match';
export { actorOf } from './auth/guard';
export { HttpError } from './http/errors';
export type { RouteSpec } from './http/route-table';
