import type { Aedes, AuthenticateError, Client } from 'aedes';
import type { Logger } from 'pino';
import type { Limits } from '../config';
import { connectionInfo, isLoopback } from '../connection-info';
import type { CredentialStore } from '../credentials';
import { clientIdBelongsTo, identityFor, setIdentity, type Identity } from '../identity';
import { Semaphore } from '../limits/semaphore';
import { createLogLimiter } from '../log-limiter';
import { TokenBucket } from '@tamky/service-kit';
import type { BrokerMetrics, RefusalReason } from '../metrics';
import { checkWillAtConnect } from '../wills';

// CONNACK return codes (MQTT 3.1.1 §3.2.2.3)
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * scrypt runs on libuv's 4 threads: more concurrent verifications would only crowd out other I/O. A fleet
 * reconnecting after an outage waits in a bounded line (each wait ~ a few ms); beyond it, CONNACK 3 tells
 * the gateway to back off rather than letting a CONNECT flood queue up unbounded work.
 */
const verifications = () => new Semaphore(4, 1000);

export interface AuthenticateDeps {
  broker: () => Aedes;
  profile: 'development' | 'production';
  store: CredentialStore;
  limits: Limits;
  metrics: BrokerMetrics;
  log: Logger;
  /** `secretHash`: the credential entry's hash the client proved it knows (absent for a TLS client certificate). */
  onAuthenticated(client: Client, identity: Identity, auth: { secretHash?: string; secretExpiresAt?: Date }): void;
}

type Done = (error: AuthenticateError | null, success: boolean | null) => void;

export function createAuthenticate(deps: AuthenticateDeps) {
  const { store, limits, metrics, log } = deps;
  const connectBuckets = new Map<string, TokenBucket>();
  const connectRate = limits.connectsPerSecondPerAddress;
  // Idle buckets are full again after capacity/rate seconds; forget them so the map stays small.
  const sweep = setInterval(() => connectBuckets.clear(), Math.max(10_000, (2 * 1000 * 2) / connectRate));
  sweep.unref();
  const verifying = verifications();
  const limitLog = createLogLimiter();

  const refuse = (client: Client, done: Done, returnCode: number, reason: RefusalReason, username: string | undefined) => {
    metrics.refusals.inc({ reason });
    const { remoteAddress, transport } = connectionInfo(client);
    limitLog(`${reason}|${remoteAddress}`, (suppressed) =>
      log.warn(
        { reason, username, clientId: client.id, remoteAddress, transport, ...(suppressed ? { suppressedSinceLast: suppressed } : {}) },
        'connection refused',
      ),
    );
    const err = new Error(`connection refused: ${reason}`) as AuthenticateError;
    err.returnCode = returnCode as AuthenticateError['returnCode'];
    Object.assign(err, { alreadyReported: true });
    done(err, false);
  };

  const accept = (
    client: Client,
    identity: Identity,
    done: Done,
    username: string | undefined,
    auth: { secretHash?: string; secretExpiresAt?: Date } = {},
  ) => {
    if (!clientIdBelongsTo(client.id, identity)) return refuse(client, done, IDENTIFIER_REJECTED, 'client-id-mismatch', username);
    // MQTT 3.1.1 has no way to refuse only the will; refusing the CONNECT tells the client at once, where
    // storing a will that could never fire would fail silently much later.
    if (checkWillAtConnect(client, identity)) return refuse(client, done, NOT_AUTHORIZED, 'will-not-allowed', username);
    setIdentity(client, identity);
    deps.onAuthenticated(client, identity, auth);
    done(null, true);
  };

  function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: Done): void {
    const info = connectionInfo(client);
    if (deps.broker().connectedClients >= limits.maxConnections)
      return refuse(client, done, SERVER_UNAVAILABLE, 'max-connections', username);

    let bucket = connectBuckets.get(info.remoteAddress);
    if (!bucket) connectBuckets.set(info.remoteAddress, (bucket = new TokenBucket(connectRate, connectRate * 2)));
    if (!bucket.take()) return refuse(client, done, SERVER_UNAVAILABLE, 'connect-rate', username);

    // A verified client certificate identifies a gateway by its CN; a username, if given, must agree.
    if (info.verifiedCertCN !== undefined) {
      const entry = store.lookup(info.verifiedCertCN);
      if (!entry || entry.kind !== 'gateway') return refuse(client, done, NOT_AUTHORIZED, 'unknown-gateway', info.verifiedCertCN);
      if (username !== undefined && username !== entry.id) return refuse(client, done, NOT_AUTHORIZED, 'tls-cert-mismatch', username);
      if (store.isDisabled(entry.id)) return refuse(client, done, NOT_AUTHORIZED, 'disabled', entry.id);
      return accept(client, identityFor(entry), done, entry.id);
    }

    if (username === undefined || username === '') {
      if (deps.profile === 'development' && isLoopback(info.remoteAddress)) return accept(client, { kind: 'anonymous' }, done, username);
      return refuse(client, done, NOT_AUTHORIZED, 'anonymous-not-allowed', username);
    }
    verifying
      .acquire()
      .then((admitted) => {
        if (!admitted) return refuse(client, done, SERVER_UNAVAILABLE, 'auth-busy', username);
        return verifyAndAnswer(client, username, password, done).finally(() => verifying.release());
      })
      .catch((err: unknown) => log.error({ err }, 'authentication failed unexpectedly'));
  }

  function verifyAndAnswer(client: Client, username: string, password: Buffer | undefined, done: Done): Promise<void> {
    return store
      .verify(username, password ? password.toString('utf8') : '')
      .then((verdict) => {
        if (verdict.ok) {
          const { secretHash, secretExpiresAt } = verdict.entry;
          return accept(client, identityFor(verdict.entry), done, username, {
            secretHash,
            ...(secretExpiresAt ? { secretExpiresAt } : {}),
          });
        }
        const reason: RefusalReason = verdict.reason;
        refuse(
          client,
          done,
          verdict.reason === 'disabled' || verdict.reason === 'secret-expired' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD,
          reason,
          username,
        );
      })
      .catch((err: unknown) => {
        log.error({ err, username }, 'credential check failed');
        refuse(client, done, SERVER_UNAVAILABLE, 'auth-busy', username);
      });
  }

  return { authenticate, close: () => clearInterval(sweep) };
}
