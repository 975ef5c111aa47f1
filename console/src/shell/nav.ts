import { adminNav } from '../screens/admin';

/** One entry of the navigation: label and path under /console. */
export interface NavEntry {
  label: string;
  path: string;
}

/** Screens of every user. */
export const userNav: NavEntry[] = [
  { label: 'My usage', path: '/usage' },
  { label: 'Call log', path: '/calls' },
  { label: 'Credits', path: '/credits' },
  { label: 'My keys', path: '/keys' },
];

/** A path of adminNav as a router path (they are written under /console; the router's basename is /console). */
function routerPath(path: string): string {
  const stripped = path.startsWith('/console/') ? path.slice('/console'.length) : path;
  return stripped.startsWith('/') ? stripped : `/${stripped}`;
}

/** The admin entries the role may see (none for members). */
export function adminNavFor(role: string | undefined): NavEntry[] {
  if (!role) return [];
  return adminNav.filter((e) => (e.roles as string[]).includes(role)).map((e) => ({ label: e.label, path: routerPath(e.path) }));
}
