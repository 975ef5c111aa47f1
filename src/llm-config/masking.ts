/**
 * Masks an LLM api_key for answers with `mask=true` and the admin profile view
 * (docs/api/llm-config.md "Masking"): the first 8 characters (at most a third of the key), then
 * `****...****`, then the last 4 (keys shorter than 16 characters keep no suffix), e.g.
 * `sk-proj-abcdefghijklmnop1234` → `sk-proj-****...****1234`. An empty key stays empty.
 */
export function maskApiKey(key: string): string {
  if (key.length === 0) return '';
  const prefix = key.slice(0, Math.min(8, Math.floor(key.length / 3)));
  const suffix = key.length >= 16 ? key.slice(-4) : '';
  return `${prefix}****...****${suffix}`;
}
