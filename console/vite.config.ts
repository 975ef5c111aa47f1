/**
 * The console's build (Vite 8; rolldown compiles TSX with oxc, no React plugin needed).
 * `vite build --config console/vite.config.ts` writes dist/console (served by the api at /console,
 * src/console/console-static.ts); `vite --config console/vite.config.ts` is the dev server, which
 * proxies the API routes to TOLLGATE_API_URL (default http://127.0.0.1:3000).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const api = process.env.TOLLGATE_API_URL ?? 'http://127.0.0.1:3000';
/** Path prefixes of the REST API the console calls (everything but /console itself). */
const apiPrefixes = ['/auth', '/user', '/admin', '/api', '/v1', '/docs', '/healthz', '/readyz', '/metrics'];

export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      // Mantine marks its modules "use client" (a React Server Components hint, meaningless here)
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(apiPrefixes.map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
