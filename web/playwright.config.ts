import { defineConfig } from "@playwright/test";

// The browser tests drive Debian's Chromium (apt install chromium), not a browser
// Playwright downloads. make test-web starts a healthcore dev stack on free ports and
// passes its address in HEALTHCORE_URL (and the PIX sandbox's in HEALTHCORE_PIX_SANDBOX).
export default defineConfig({
  testDir: "tests",
  outputDir: "test-results/output",
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [["list"]],
  projects: [
    { name: "unit", testMatch: /unit\.spec\.ts/ },
    {
      name: "chromium",
      testIgnore: /unit\.spec\.ts/,
      use: {
        baseURL: process.env.HEALTHCORE_URL ?? "http://127.0.0.1:8080",
        locale: "pt-BR",
        timezoneId: "America/Sao_Paulo",
        trace: "retain-on-failure",
        launchOptions: {
          executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // The Chime room asks for the camera and microphone: granted without a
            // prompt, and Chromium's fake devices answer (a test pattern and a tone).
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
          ],
        },
      },
    },
  ],
});
