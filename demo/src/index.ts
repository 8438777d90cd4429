export * from './compose';
export * from './simulated-gateways';
export * from './credentials';
export * from './simulated-lorawan';
export * from './backfill';
