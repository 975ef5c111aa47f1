import { randomBytes } from 'node:crypto';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/**
 * A new DID-style public user id (`did` in the API, e.g. "z8iZpM…"): "z" + base58 of 20 random
 * bytes. Public, stable, and not guessable from other users' ids.
 */
export function generateDid(): string {
  return `z${base58(randomBytes(20))}`;
}
