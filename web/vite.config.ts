import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The dev server (make web-dev) proxies the API and the edge's own pages to make run's
// gateway, so the app and the API share one origin as in production and the session
// cookie works unchanged.
const edge = process.env.HEALTHCORE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  // amazon-chime-sdk-js reads Node's `global` (its event registry); in the browser that
  // is globalThis.
  define: { global: "globalThis" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No inline scripts or styles: the Content-Security-Policy allows neither.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // amazon-chime-sdk-js is a chunk of its own, about 1.3 MB (300 kB gzipped), that only
    // the consultation room with Chime imports; the app's own chunk stays far below.
    chunkSizeWarningLimit: 1400,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: {
      "/v1": { target: edge, changeOrigin: false },
      "/dev": { target: edge },
    },
  },
});
