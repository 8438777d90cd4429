export { startConnector, VERSION, type Connector, type ConnectorOptions } from './connector';
export { connectorConfigSchema, type ConnectorConfig, type ConnectorConfigInput } from './config';
export { profileSchema, profilesFileSchema, ProfileSet, DEFAULT_CODECS_DIR, type Profile } from './profiles';
export { Codec, CodecError } from './codecs/sandbox';
export * from './chirpstack/events';
