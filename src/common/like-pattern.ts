/**
 * Escapes LIKE/ILIKE wildcards (`%`, `_`) and the escape character itself, so user input matches
 * literally (PostgreSQL's default escape character is the backslash). Also right for Prisma's
 * `contains`/`startsWith`, which pass the text into a LIKE pattern without escaping it.
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
