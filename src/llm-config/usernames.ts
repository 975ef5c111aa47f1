import { DomainError } from '../common/domain-error';
import type { ExternalPlatform } from '../generated/prisma/enums';

/** The code hosts a user can be linked to (docs/api/llm-config.md "Platforms and usernames"). */
export const PLATFORMS: readonly ExternalPlatform[] = ['github', 'gitlab'];

/** GitHub: 1-39 letters, digits or single hyphens, not starting or ending with a hyphen. */
const GITHUB_USERNAME = /^[a-z\d](?:[a-z\d]|-(?=[a-z\d])){0,38}$/i;
/** GitLab: 2-255 letters, digits, `_`, `.`, `-`; starts and ends with a letter, digit or `_`; not ending in .git / .atom. */
const GITLAB_USERNAME = /^[a-z\d_][a-z\d_.-]{0,253}[a-z\d_]$/i;

/** An identity as the API names it: platform and username (lower case). */
export interface IdentityRef {
  platform: ExternalPlatform;
  username: string;
}

/**
 * Checks a platform name. @returns the platform
 * @throws DomainError 400 INVALID_PLATFORM (anything but `github` / `gitlab`, exact lower case)
 */
export function parsePlatform(value: unknown): ExternalPlatform {
  if (typeof value === 'string' && (PLATFORMS as readonly string[]).includes(value)) return value as ExternalPlatform;
  throw new DomainError(400, 'INVALID_PLATFORM', "Platform must be 'github' or 'gitlab'", {
    details: { platform: typeof value === 'string' ? value.slice(0, 64) : null },
  });
}

/**
 * Checks a username against its platform's rules and lower-cases it (both platforms treat
 * usernames case-insensitively). @returns the username in lower case
 * @throws DomainError 400 INVALID_USERNAME
 */
export function parseUsername(platform: ExternalPlatform, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    (platform === 'github'
      ? GITHUB_USERNAME.test(value)
      : GITLAB_USERNAME.test(value) && !/\.(git|atom)$/i.test(value) && !/[._-]{2}/.test(value));
  if (!ok) {
    throw new DomainError(400, 'INVALID_USERNAME', `Invalid ${platform} username`, {
      details: { platform, username: typeof value === 'string' ? value.slice(0, 64) : null },
    });
  }
  return value.toLowerCase();
}

/** Both checks. @throws DomainError 400 INVALID_PLATFORM / INVALID_USERNAME */
export function parseIdentity(platform: unknown, username: unknown): IdentityRef {
  const p = parsePlatform(platform);
  return { platform: p, username: parseUsername(p, username) };
}

/** `platform:username`, the API's user_id. */
export function userIdOf(ref: IdentityRef): string {
  return `${ref.platform}:${ref.username}`;
}
