/** Downloads through the api client (session attached), e.g. CSV exports and import result files. */
import { apiRaw, type QueryValue } from '../../../api/http';

/** Fetch `path` and save the answer as a file named after its content-disposition, else `fallbackName`. */
export async function downloadFile(path: string, query: Record<string, QueryValue> | undefined, fallbackName: string): Promise<void> {
  const res = await apiRaw(path, { query });
  const blob = await res.blob();
  const disposition = res.headers.get('content-disposition') ?? '';
  const match = /filename="?([^";]+)"?/i.exec(disposition);
  const name = match?.[1] ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Fetch a CSV through the api and answer its text. */
export async function fetchText(path: string): Promise<string> {
  const res = await apiRaw(path);
  return res.text();
}
