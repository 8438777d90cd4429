import { randomUUID } from 'node:crypto';
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import { connectionInfo } from './connection-info';

type Authenticate = (
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
  done: (error: AuthenticateError | null, success: boolean | null) => void,
) => void;
type PreConnect = (client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void) => void;

const IDENTIFIER_REJECTED = 2;

/**
 * Zero-length Client Identifiers ([MQTT-3.1.3-6], [MQTT-3.1.3-8]). With Clean Session 1 the server assigns a
 * unique id: `{username}:{uuid}` (or the certificate's CN), which belongs to that identity under our clientId
 * rules, and since no one else can hold it, it can take over no session. With Clean Session 0 there is no session
 * to name: CONNACK 0x02.
 */
export function zeroLengthClientIds(onRefused: (client: Client) => void): {
  preConnect: PreConnect;
  authenticate(inner: Authenticate): Authenticate;
} {
  const refused = new WeakSet<Client>();
  return {
    preConnect(client, packet, callback) {
      if (packet.clientId === '') {
        if (packet.clean) {
          const owner = packet.username || connectionInfo(client).verifiedCertCN || 'anonymous';
          packet.clientId = `${owner}:${randomUUID()}`;
        } else {
          refused.add(client);
        }
      }
      callback(null, true);
    },
    authenticate: (inner) => (client, username, password, done) => {
      if (!refused.has(client)) return inner(client, username, password, done);
      onRefused(client);
      const err = new Error('connection refused: zero-length client id without a clean session') as AuthenticateError;
      err.returnCode = IDENTIFIER_REJECTED;
      Object.assign(err, { alreadyReported: true });
      done(err, false);
    },
  };
}
