import { hash, randomBytes } from 'node:crypto';

/** Every virtual key starts with this, so it is recognisable in configs and secret scanners. */
export const VIRTUAL_KEY_PREFIX = 'tg-';
/** Characters of the key kept in clear as `prefix`, for lists ("tg-AbC1234"). */
export const VIRTUAL_KEY_DISPLAY_LENGTH = 10;

/** A new virtual key secret: "tg-" + 43 base64url characters (256 random bits). */
export function generateVirtualKeySecret(): string {
  return VIRTUAL_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * SHA-256 (hex) of a key secret: what is stored and looked up. A fast unsalted hash is right
 * here because the secret has 256 random bits; nothing can be guessed from the hash.
 */
export function hashVirtualKeySecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** True when the string has the shape of a virtual key (cheap check before any lookup). */
export function looksLikeVirtualKey(secret: string): boolean {
  return secret.startsWith(VIRTUAL_KEY_PREFIX) && secret.length === VIRTUAL_KEY_PREFIX.length + 43;
}

/** A freshly generated secret with what is stored of it. */
export interface MintedSecret {
  /** the secret itself: shown once, stored only sealed (SecretBoxService) */
  secret: string;
  /** its first VIRTUAL_KEY_DISPLAY_LENGTH characters, kept in clear for lists */
  prefix: string;
  /** SHA-256 hex, the lookup key */
  secretHash: string;
}

/** Generates a new secret with its display prefix and lookup hash. */
export function mintVirtualKeySecret(): MintedSecret {
  const secret = generateVirtualKeySecret();
  return { secret, prefix: secret.slice(0, VIRTUAL_KEY_DISPLAY_LENGTH), secretHash: hashVirtualKeySecret(secret) };
}
