import { z } from 'zod';
import { ID_PATTERN } from './ids';

/**
 * Fleet management: configuration pushed from the centre and software releases, both signed by the centre's
 * fleet key (ed25519) and verified by the gateway against the public key it was installed with. The broker ACL
 * already lets only the dashboard publish on a gateway's `config` and `release` topics; the signature keeps a
 * compromised broker or a misrouted message from reconfiguring a gateway.
 *
 * What is signed is `canonicalJson` of the document without its `signature` field (keys sorted at every level),
 * so the signer and the verifier agree byte for byte whatever order a JSON encoder wrote the keys in.
 */

const id = z.string().regex(ID_PATTERN);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');
/** Base64 of a 64-byte ed25519 signature. */
const signature = z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'a base64 ed25519 signature');

/**
 * One device as the centre configures it: from the registry, its id and poll interval. A device the gateway's own
 * file already wires (bus, profile, unit id) needs nothing else; a device new to the gateway must bring its wiring.
 */
export const pushedDeviceSchema = z.object({
  id,
  pollIntervalMs: z.number().int().min(100).max(86_400_000),
  enabled: z.boolean().optional(),
  profile: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  bus: id.optional(),
  unitId: z.number().int().min(0).max(255).optional(),
});
export type PushedDevice = z.infer<typeof pushedDeviceSchema>;

/** The part of a gateway's configuration the centre owns. Devices of the gateway's file not listed are disabled. */
export const pushedConfigSchema = z.object({ devices: z.array(pushedDeviceSchema) });
export type PushedConfig = z.infer<typeof pushedConfigSchema>;

/** Retained on `city/v1/gw/{id}/config`. Versions only go up; `hash` is the SHA-256 of canonicalJson(config). */
export const signedConfigSchema = z.object({
  type: z.literal('gateway_config'),
  gateway: id,
  version: z.number().int().positive(),
  hash: sha256Hex,
  issuedAt: z.number().int(),
  config: pushedConfigSchema,
  signature,
});
export type SignedConfig = z.infer<typeof signedConfigSchema>;

export const RELEASE_VERSION_PATTERN = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** What the release's signature covers (made when the release is built, independent of any gateway). */
export const releaseArtifactSchema = z.object({
  name: z.literal('tamky-gateway'),
  version: z.string().regex(RELEASE_VERSION_PATTERN, 'a semantic version'),
  /** The tarball's file name; it unpacks to `tamky-gateway-{version}/`. */
  file: z.string().regex(/^[A-Za-z0-9._-]+\.tgz$/),
  sha256: sha256Hex,
  size: z.number().int().positive(),
});
export type ReleaseArtifact = z.infer<typeof releaseArtifactSchema>;

/** Retained on `city/v1/gw/{id}/release`: run this release, fetched from `url` (HTTPS, served by the dashboard). */
export const releaseAnnouncementSchema = z.object({
  type: z.literal('gateway_release'),
  gateway: id,
  url: z.string().regex(/^https:\/\//, 'must be an https:// URL'),
  release: releaseArtifactSchema,
  /** ed25519 over canonicalJson(release). */
  signature,
  /** The new version must report healthy within this long, or it is rolled back. */
  deadlineMs: z.number().int().min(1000).max(3_600_000),
});
export type ReleaseAnnouncement = z.infer<typeof releaseAnnouncementSchema>;

/** A configuration or release the gateway refused or rolled back, and why; the newest one is reported in health. */
export const fleetRollbackSchema = z.object({
  kind: z.enum(['config', 'software']),
  /** The config version or software version that was refused or rolled back. */
  rejected: z.string(),
  /** What the gateway runs instead. */
  running: z.string(),
  reason: z.string(),
  ts: z.number().int(),
});
export type FleetRollback = z.infer<typeof fleetRollbackSchema>;

/** In the gateway's health: the pushed configuration it runs (null before the first push) and the last rollback. */
export const gatewayFleetHealthSchema = z.object({
  configVersion: z.number().int().positive().nullable(),
  configHash: sha256Hex.nullable(),
  rollback: fleetRollbackSchema.nullable(),
});
export type GatewayFleetHealth = z.infer<typeof gatewayFleetHealthSchema>;

/** JSON with object keys sorted at every level: the exact bytes a fleet signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bytes a signed config's signature covers. */
export const signedConfigPayload = (doc: Omit<SignedConfig, 'signature'> | SignedConfig): string => {
  const { signature: _omit, ...rest } = doc as SignedConfig;
  return canonicalJson(rest);
};
