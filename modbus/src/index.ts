export * from './crc';
export * from './pdu';
export * from './frames';
export * from './values';
