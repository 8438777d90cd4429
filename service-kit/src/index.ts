export * from './config';
export * from './log';
export * from './metrics';
export * from './shutdown';
export * from './backoff';
export * from './limits';
export * from './secrets';
export * from './token-bucket';
export { installedVersion, requirePinnedVersion } from './pinned-dependency';
