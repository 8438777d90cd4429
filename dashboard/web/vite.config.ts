import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// No React plugin: esbuild's automatic JSX runtime is all this app needs (no fast refresh in dev).
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // bench/web reads the manifest to size each view's chunks.
    manifest: true,
    // MapLibre's minified build alone is about a megabyte (its own chunk, loaded only with a map).
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      // Two entries: the operations app, and the residents' page (/public, /public/embed), small on its own.
      input: { main: resolve(import.meta.dirname, 'index.html'), public: resolve(import.meta.dirname, 'public.html') },
      output: {
        // The chart library and its dependencies in one chunk that only chart views load. React gets its own
        // chunk explicitly: a manual chunk otherwise swallows the unassigned modules it depends on.
        manualChunks(id) {
          if (!id.includes('node_modules')) return undefined;
          // MapLibre (and the PMTiles reader) only for views with a map.
          if (/node_modules\/(maplibre-gl|pmtiles|fflate)\//.test(id)) return 'map';
          return /node_modules\/(react|react-dom|scheduler)\//.test(id) ? 'react' : 'charts';
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
