import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The dev server (make web-dev) proxies the API and the edge's own pages to make run's
// gateway, so the app and the API share one origin as in production and the session
// cookie works unchanged.
const edge = process.env.HEALTHCORE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // No inline scripts or styles: the Content-Security-Policy allows neither.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
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
