// Builds the /dashboard page into api/assets/dashboard/, which is committed and embedded in
// the binary (the Rust build never runs npm). Fixed file names, one JS and one CSS file, no
// source maps: the server knows every file by name and the diff of a rebuild stays readable.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/dashboard/',
  build: {
    outDir: '../api/assets/dashboard',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    target: 'es2022',
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/dashboard.js',
        chunkFileNames: 'assets/dashboard-[name].js',
        assetFileNames: 'assets/dashboard[extname]',
        inlineDynamicImports: true,
      },
    },
  },
});
