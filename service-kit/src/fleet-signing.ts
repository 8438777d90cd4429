import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson, signedConfigPayload, type PushedConfig, type ReleaseArtifact, type SignedConfig } from '@tamky/protocol';

/**
 * The one implementation of fleet signatures (ed25519, node:crypto): the centre signs pushed configurations and
 * releases, a gateway verifies them with the public key it was installed with. Keys are PEM (PKCS#8 / SPKI).
 */

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function fleetPrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the fleet signing key must be ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

export function fleetPublicKey(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the fleet public key must be ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

/** A new fleet key pair as PEM (deploy/scripts and tests). */
export function generateFleetKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const signText = (text: string, key: KeyObject) => sign(null, Buffer.from(text, 'utf8'), key).toString('base64');
const verifyText = (text: string, signature: string, key: KeyObject) => {
  try {
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
};

/** The SHA-256 a pushed configuration is versioned with. */
export const pushedConfigHash = (config: PushedConfig): string => sha256Hex(canonicalJson(config));

export function signConfig(
  args: { gateway: string; version: number; config: PushedConfig; issuedAt: number },
  key: KeyObject,
): SignedConfig {
  const doc = { type: 'gateway_config' as const, ...args, hash: pushedConfigHash(args.config) };
  return { ...doc, signature: signText(signedConfigPayload(doc), key) };
}

/** Why a signed config cannot be trusted, or undefined when its signature and hash hold. */
export function configSignatureProblem(doc: SignedConfig, key: KeyObject): string | undefined {
  if (!verifyText(signedConfigPayload(doc), doc.signature, key)) return 'the signature does not verify with the fleet public key';
  if (pushedConfigHash(doc.config) !== doc.hash) return 'the hash does not match the configuration';
  return undefined;
}

export const signRelease = (release: ReleaseArtifact, key: KeyObject): string => signText(canonicalJson(release), key);
export const releaseSignatureValid = (release: ReleaseArtifact, signature: string, key: KeyObject): boolean =>
  verifyText(canonicalJson(release), signature, key);
