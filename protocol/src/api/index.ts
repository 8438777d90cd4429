// The dashboard API's request and answer schemas: the route table declares them, the OpenAPI document is
// generated from them and the web app's types are inferred from them.
export * from './names';
export * from './common';
export * from './auth';
export * from './readings';
export * from './gateways';
export * from './alarms';
export * from './admin';
export * from './recipients';
export * from './tokens';
export * from './live';
export * from './demo';
export * from './fleet';
