export {
  brokerConfigSchema,
  credentialsSchema,
  limitsSchema,
  type BrokerConfig,
  type ResolvedBrokerConfig,
  type Credentials,
  type Limits,
  type ServiceRole,
} from './config';
export { hashSecret, verifySecret } from '@tamky/service-kit';
export { startBroker, type BrokerHandle } from './broker';
export { mayPublish, maySubscribe } from './acl';
export type { Identity } from './identity';
