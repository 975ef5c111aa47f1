import { DomainError } from '../common/domain-error';

/** Longest email address accepted (RFC 5321 path limit). */
export const EMAIL_MAX_LENGTH = 254;

/** local@domain.tld, no spaces, no control characters; deliberately simple (RFC 5322 allows much more). */
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/u;

/**
 * The stored form of an email (trimmed, lower case) after checking its shape and, when
 * ALLOWED_EMAIL_DOMAINS is set, its domain (exact domain or a subdomain of one listed).
 * @throws DomainError 400 `INVALID_EMAIL` (bad shape, too long, or domain not allowed)
 */
export function normalizeEmail(raw: string, allowedDomains: readonly string[]): string {
  const email = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (email.length === 0 || email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email)) {
    throw DomainError.badRequest('INVALID_EMAIL', 'Invalid email address');
  }
  if (allowedDomains.length > 0) {
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (!allowedDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) {
      throw DomainError.badRequest('INVALID_EMAIL', 'Email domain not allowed');
    }
  }
  return email;
}
