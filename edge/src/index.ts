export {
  gatewayConfigSchema,
  gatewayMqttSchema,
  gatewayOutboxSchema,
  type GatewayConfig,
  type BusConfig,
  type DeviceConfig,
} from './config';
export { startGateway, configHash, VERSION, type Gateway, type GatewayOptions } from './gateway';
export { loadProfile, profileLoader, DEFAULT_PROFILES_DIR, ProfileError } from './profile/load';
export { profileSchema, type Profile } from './profile/schema';
export { planReads, deviceBlocks, decodeRead } from './profile/plan';
export { Outbox } from './outbox/outbox';
export { Sds011Parser, encodeSds011Frame } from './drivers/sds011';
export { LineParser } from './drivers/line-protocol';
export { openRtuLink } from './drivers/modbus-rtu';
export { openTcpLink } from './drivers/modbus-tcp';
export type { ModbusLink } from './drivers/types';
export { MAX_BATCH_BYTES, Forwarder, type ForwarderOptions } from './outbox/forwarder';
export { MqttUplink, type UplinkHandlers } from './uplink/mqtt-uplink';
