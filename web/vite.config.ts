/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The control plane serves web/dist at "/" with an SPA fallback, and the API under
// /api/v1 on the same origin. In `npm run dev`, TURNOUT_API points the proxy at a
// running control plane.
const apiTarget = process.env.TURNOUT_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  // JSX through esbuild's automatic runtime: no Babel plugin needed for a build.
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    sourcemap: true,
    target: "es2022",
    rollupOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" for server components; irrelevant in an SPA.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        // Follows from the directive above: rollup cannot map the stripped line back.
        if (warning.code === "SOURCEMAP_ERROR" && warning.id?.includes("node_modules")) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: { "/api": { target: apiTarget, changeOrigin: false } },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // Whole-page tests render the app several times; generous on a loaded machine.
    testTimeout: 20_000,
  },
});
