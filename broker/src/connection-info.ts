import type { Client } from 'aedes';
import type { TLSSocket } from 'node:tls';

export type Transport = 'tcp' | 'tls' | 'ws';

export interface ConnectionInfo {
  transport: Transport;
  remoteAddress: string;
  /** CN of a client certificate the TLS listener verified against its CA. */
  verifiedCertCN?: string;
}

const infos = new WeakMap<Client, ConnectionInfo>();

export function setConnectionInfo(client: Client, info: ConnectionInfo): void {
  infos.set(client, info);
}

export function connectionInfo(client: Client): ConnectionInfo {
  return infos.get(client) ?? { transport: 'tcp', remoteAddress: 'unknown' };
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function verifiedCertCN(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return typeof cn === 'string' && cn.length > 0 ? cn : undefined;
}
