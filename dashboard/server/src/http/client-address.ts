import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** "::ffff:10.0.0.1" → "10.0.0.1": a dual-stack socket reports IPv4 peers in that form. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** A BlockList of addresses and CIDR blocks ("10.0.0.1", "172.18.0.0/16", "fd00::/8"); throws on a malformed entry. */
export function addressList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : isIP(address) === 4 ? 'ipv4' : undefined;
    if (!type) throw new Error(`"${entry}" is not an IP address or CIDR block`);
    if (bits === undefined) list.addAddress(address, type);
    else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (type === 'ipv4' ? 32 : 128)) throw new Error(`"${entry}" has a bad prefix length`);
      list.addSubnet(address, prefix, type);
    }
  }
  return list;
}

export function validAddressOrBlock(entry: string): boolean {
  try {
    addressList([entry]);
    return true;
  } catch {
    return false;
  }
}

export function listHas(list: BlockList, address: string): boolean {
  const a = plainAddress(address);
  const v = isIP(a);
  return v !== 0 && list.check(a, v === 6 ? 'ipv6' : 'ipv4');
}

/**
 * X-Forwarded-For is believed only when it was added by a configured proxy: walking from the socket's
 * peer towards the client, each hop is trusted only while the address that handed it over is a proxy.
 * Express (`trust proxy` = `trusts`) and the WebSocket upgrade use this one rule.
 */
export function createProxyTrust(trustedProxies: readonly string[]) {
  const proxies = addressList(trustedProxies);
  const trusts = (address: string) => trustedProxies.length > 0 && listHas(proxies, address);
  return {
    trusts,
    /** The client's address as req.ip computes it, for requests Express does not see (WebSocket upgrades). */
    clientAddress(req: IncomingMessage): string {
      const chain = [req.socket.remoteAddress ?? 'unknown'];
      const header = req.headers['x-forwarded-for'];
      const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      chain.push(...forwarded.reverse());
      let i = 0;
      while (i < chain.length - 1 && trusts(chain[i]!)) i++;
      return chain[i]!;
    },
  };
}
