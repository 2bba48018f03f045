// The web console's build: Preact components bundled by Vite into dist/console-web, served by
// the API at /console (api/routes/console.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: fileURLToPath(new URL('../dist/console-web', import.meta.url)), emptyOutDir: true, sourcemap: true, target: 'es2022' },
  logLevel: 'warn',
});
