export * from './wait';
export * from './process';
export * from './peers';
export * from './browser';
