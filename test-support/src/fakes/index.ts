export * from './http';
export * from './zalo';
export * from './esms';
export * from './smtp';
