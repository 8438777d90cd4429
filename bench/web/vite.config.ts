import { defineConfig } from 'vite';

// Builds the bench pages (not shipped): chart rendering (TrendChart vs plain SVG) and a hello-world React app.
export default defineConfig({
  root: __dirname,
  esbuild: { jsx: 'automatic' },
  logLevel: 'warn',
  build: {
    outDir: process.env.BENCH_OUT ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    manifest: true,
    rollupOptions: { input: ['index.html', 'hello.html'] },
  },
});
