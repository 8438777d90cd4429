import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { addressList, listHas, plainAddress } from '../../http/client-address';

/** Where webhooks may go (`providers.webhook` in the notify policy). */
export interface WebhookTargetPolicy {
  /** Host names allowed ("hooks.example.vn", "*.example.vn"); empty: any host that resolves to a public address. */
  allowHosts: string[];
  /** Plain http:// (a receiver on a trusted LAN); https only otherwise. */
  allowHttp: boolean;
  /** Private, loopback or link-local blocks a receiver may sit in ("10.20.0.5/32"); none otherwise. */
  allowNetworks: string[];
}

/**
 * Never reachable by a webhook unless `allowNetworks` lists them: loopback, private, carrier-grade NAT,
 * link-local (cloud metadata at 169.254.169.254), documentation, multicast and reserved blocks, and IPv6
 * forms that embed or translate to IPv4 (mapped, NAT64, 6to4, Teredo).
 */
const NOT_PUBLIC = addressList([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
]);

/** A refused target; `detail` is for the server log and the admin's editor, never for the notification row. */
export class WebhookTargetError extends Error {
  readonly code = 'EWEBHOOKTARGET';
}

export type Resolve = (hostname: string) => Promise<Array<{ address: string; family: number }>>;
const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

const hostAllowed = (host: string, allowHosts: string[]) =>
  allowHosts.length === 0 ||
  allowHosts.some((a) => (a.startsWith('*.') ? host.endsWith(a.slice(1)) && host.length > a.length - 1 : host === a.toLowerCase()));

export function createWebhookTargets(policy: WebhookTargetPolicy, resolve: Resolve = systemResolve) {
  const allowedNetworks = addressList(policy.allowNetworks);
  const addressAllowed = (address: string) => !listHas(NOT_PUBLIC, address) || listHas(allowedNetworks, address);

  /** What can be told from the URL alone (scheme, host allow-list, an IP literal's range): a problem, or null. */
  const checkUrl = (raw: string): string | null => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return 'not a URL';
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp))
      return policy.allowHttp ? 'must be an http(s) URL' : 'must be an https URL';
    if (url.username || url.password) return 'must not carry credentials (use providers.webhook.secret)';
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (!hostAllowed(host, policy.allowHosts)) return `host ${host} is not in providers.webhook.allowHosts`;
    if (isIP(host) && !addressAllowed(host)) return `${host} is not a public address (allow it in providers.webhook.allowNetworks)`;
    return null;
  };

  /**
   * The lookup the connection itself uses: every address the name resolves to must be allowed, and the
   * socket connects to those very addresses, so a name that resolves differently a second time (DNS
   * rebinding) cannot slip a private target past the check.
   */
  const lookup: LookupFunction = (hostname, options, callback) => {
    resolve(hostname).then(
      (found) => {
        const addresses = found.map((a) => ({ address: plainAddress(a.address), family: isIP(plainAddress(a.address)) }));
        const refused = addresses.find((a) => !addressAllowed(a.address));
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: 'ENOTFOUND' }), '', 0);
        if (refused) return callback(new WebhookTargetError(`${hostname} resolves to ${refused.address}, not a public address`), '', 0);
        if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  return { checkUrl, lookup };
}
