import { randomBytes, randomUUID } from "node:crypto";
import { chromium, expect, test, type Page, type WebSocketRoute } from "@playwright/test";
import signalling from "amazon-chime-sdk-js/build/signalingprotocol/SignalingProtocol.js";
import { check, logIn, newPatient, watchCSP } from "./helpers";

const { SdkSignalFrame } = signalling; // a CommonJS module: its exports are its default
// The consultation room when the meetings service runs Amazon Chime. The dev stack runs
// the local (Jitsi) driver, so the join route's answer is replaced, in the browser, by a
// Chime-shaped one: the Meeting and Attendee objects as the meetings adapter passes
// them on (the shape of its Chime emulator, services/meetings/meetingstest), with a
// fresh meeting id and join token. The page hands them to the real amazon-chime-sdk-js,
// and the Chime side is played by the test through Playwright's routeWebSocket: it
// receives the SDK's signalling connection and checks the meeting id in its URL, the
// join token in its WebSocket protocols and the JOIN frame the SDK sends first.

function chimeJoin(appt: string) {
  const meetingId = randomUUID();
  const joinToken = randomBytes(96).toString("base64").replace(/=+$/, ""); // Chime's ^[a-zA-Z0-9+/]+$
  const mr = "sa-east-1";
  const meeting = {
    MeetingId: meetingId,
    MeetingArn: `arn:aws:chime:us-east-1:123456789012:meeting/${meetingId}`,
    ExternalMeetingId: appt,
    MediaRegion: mr,
    MediaPlacement: {
      AudioHostUrl: `${meetingId.slice(0, 8)}.k.m3.${mr}.app.chime.aws:3478`,
      AudioFallbackUrl: `wss://haxrp.m3.${mr}.app.chime.aws:443/calls/${meetingId}`,
      SignalingUrl: `wss://signal.m3.${mr}.app.chime.aws/control/${meetingId}`,
      TurnControlUrl: `https://2713.cell.${mr}.meetings.chime.aws/v2/turn_sessions`,
      ScreenDataUrl: `wss://bitpw.m3.${mr}.app.chime.aws:443/v2/screen/${meetingId}`,
      ScreenSharingUrl: `wss://bitpw.m3.${mr}.app.chime.aws:443/v2/screen/${meetingId}`,
      ScreenViewingUrl: `wss://bitpw.m3.${mr}.app.chime.aws:443/ws/connect?passcode=null&viewer_uuid=null&X-BitHub-Call-Id=${meetingId}`,
      EventIngestionUrl: `https://data.svc.${mr}.ingest.chime.aws/v1/client-events`,
    },
  };
  const attendee = {
    AttendeeId: randomUUID(),
    ExternalUserId: randomUUID(),
    JoinToken: joinToken,
    Capabilities: { Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive" },
  };
  const start = new Date(Date.now() + 5 * 60_000);
  const answer = {
    provider: "chime",
    meetingJson: JSON.stringify(meeting),
    attendeeJson: JSON.stringify(attendee),
    windowStartTime: new Date(start.getTime() - 10 * 60_000).toISOString(),
    startTime: start.toISOString(),
    windowEndTime: new Date(start.getTime() + 30 * 60_000).toISOString(),
  };
  return { meetingId, joinToken, answer };
}

interface Signal {
  url: string;
  protocols: string[];
  frames: Buffer[];
}

// playChime answers the room's join route with a Chime meeting and records every
// WebSocket the page opens to Chime, and the frames it sends; HTTPS calls to Chime
// (TURN, client events) are refused, as nothing of Chime is reachable from the tests.
async function playChime(page: Page, appt: string, answer: object) {
  const signals: Signal[] = [];
  await page.route(`**/v1/appointments/${appt}/join`, (r) => r.fulfill({ json: answer }));
  await page.route(/^https:\/\/[^/]*\.chime\.aws\//, (r) => r.abort());
  await page.routeWebSocket(/^wss:\/\/[^/]*\.chime\.aws\//, (ws: WebSocketRoute) => {
    const s: Signal = { url: ws.url(), protocols: ws.protocols(), frames: [] };
    signals.push(s);
    ws.onMessage((m) => s.frames.push(Buffer.isBuffer(m) ? m : Buffer.from(m)));
  });
  return signals;
}

test("with Amazon Chime the room joins the platform's meeting with the Chime SDK in the page", async ({ page, request }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  const chunks: string[] = [];
  page.on("request", (r) => {
    if (/\/assets\/chime-[^/]+\.js$/.test(r.url())) chunks.push(r.url());
  });
  await newPatient(page, request, "Clara Câmera");
  // The SDK is a chunk of its own: the pages so far did not load it.
  expect(chunks).toEqual([]);

  const appt = randomUUID();
  const { meetingId, joinToken, answer } = chimeJoin(appt);
  const signals = await playChime(page, appt, answer);
  await page.goto(`/app/appointments/${appt}/room`);
  await expect(page.getByRole("heading", { name: "Vídeo" })).toBeVisible();
  await expect(page.locator("#call-state")).toHaveText("Conectando à sala…");
  expect(chunks).toHaveLength(1);

  // The SDK opened the signalling WebSocket of the meeting's MediaPlacement, with the
  // attendee's join token, and sent its JOIN.
  await expect.poll(() => signals.length).toBe(1);
  const signal = signals[0];
  const url = new URL(signal.url);
  expect(url.origin + url.pathname).toBe(`wss://signal.m3.sa-east-1.app.chime.aws/control/${meetingId}`);
  expect(url.searchParams.get("X-Chime-Control-Protocol-Version")).toBe("3");
  expect(signal.protocols).toEqual(["_aws_wt_session", joinToken]);
  // Each frame is the SDK's RTC frame type (5), then an SdkSignalFrame.
  const frames = () => signal.frames.map((f) => (f[0] === 0x5 ? SdkSignalFrame.decode(f.subarray(1)) : null));
  await expect.poll(() => frames().some((f) => f?.type === SdkSignalFrame.Type.JOIN)).toBe(true);
  expect(frames()).not.toContain(null);
  const join = frames().find((f) => f?.type === SdkSignalFrame.Type.JOIN)!;
  expect(join.join?.protocolVersion).toBe(2);

  // The camera (Chromium's fake device) went to the SDK, which shows it in the page;
  // turned off, it is gone from there, and back when turned on.
  const self = page.locator("video[aria-label='Sua câmera']");
  const showing = () =>
    self.evaluate((v) => {
      const s = (v as HTMLVideoElement).srcObject;
      return s instanceof MediaStream ? s.getVideoTracks().filter((t) => t.readyState === "live").length : 0;
    });
  await expect.poll(showing).toBe(1);
  const mute = page.getByRole("button", { name: "Silenciar microfone" });
  await mute.click();
  await expect(page.getByRole("button", { name: "Ativar microfone" })).toBeVisible();
  await expect(mute).toHaveCount(0);
  await page.getByRole("button", { name: "Desligar câmera" }).click();
  await expect(page.getByRole("button", { name: "Ligar câmera" })).toBeVisible();
  await expect.poll(showing).toBe(0);
  await page.getByRole("button", { name: "Ligar câmera" }).click();
  await expect(page.getByRole("button", { name: "Desligar câmera" })).toBeVisible();
  await expect.poll(showing).toBe(1);
  await check(page, "34-room-chime");

  // Leaving stops the camera and the microphone at once (the SDK hangs up once its join
  // has an answer: this Chime never sends one, so that waits for the SDK's own 15 s
  // timeout, which the test does not wait for) and offers to enter again, which opens
  // a new signalling connection with the same token.
  await page.getByRole("button", { name: "Sair da sala" }).click();
  await expect(page.locator("#call-state")).toHaveText("Você saiu da sala.");
  await expect.poll(showing).toBe(0);
  await expect(page.locator("#call-error")).toHaveCount(0);
  await page.getByRole("button", { name: "Entrar de novo" }).click();
  await expect(page.locator("#call-state")).toHaveText("Conectando à sala…");
  await expect.poll(() => signals.length).toBeGreaterThanOrEqual(2);
  expect(signals.at(-1)!.url).toBe(signal.url);
  expect(signals.at(-1)!.protocols).toEqual(["_aws_wt_session", joinToken]);
  await expect.poll(showing).toBe(1);
  // The one violation: a bundled library (long.js, under the SDK's protobufjs) probes
  // WebAssembly and, refused, uses its JavaScript path; the policy keeps wasm out.
  expect(csp.filter((m) => !/WebAssembly/.test(m)), "Content-Security-Policy violations").toEqual([]);
});

// A camera and microphone the person refuses, and a device without any: the room says
// so in words, and never reaches Chime. Each needs a browser of its own (the fake media
// UI denies, or there is no fake device).
test("with Amazon Chime a refused or missing camera and microphone are told, and nothing reaches Chime", async ({ request, baseURL }) => {
  const email = await (async () => {
    const b = await chromium.launch(test.info().project.use.launchOptions);
    const p = await (await b.newContext({ baseURL })).newPage();
    const e = await newPatient(p, request, "Davi Sem Câmera");
    await b.close();
    return e;
  })();
  const args = (test.info().project.use.launchOptions?.args ?? []).filter((a) => !a.startsWith("--use-fake-"));
  const cases = [
    { name: "denied", args: [...args, "--use-fake-ui-for-media-stream=deny", "--use-fake-device-for-media-stream"], text: /não deu acesso à câmera e ao microfone/ },
    { name: "no device", args: [...args, "--use-fake-ui-for-media-stream"], text: /Nenhum microfone foi encontrado/ },
  ];
  for (const c of cases) {
    const b = await chromium.launch({ ...test.info().project.use.launchOptions, args: c.args });
    const page = await (await b.newContext({ baseURL, locale: "pt-BR", timezoneId: "America/Sao_Paulo" })).newPage();
    await logIn(page, email);
    const appt = randomUUID();
    const signals = await playChime(page, appt, chimeJoin(appt).answer);
    await page.goto(`/app/appointments/${appt}/room`);
    await expect(page.locator("#call-error"), c.name).toHaveText(c.text);
    await expect(page.locator("#call-state")).toHaveText("Você não está na sala.");
    await expect(page.getByRole("button", { name: "Sair da sala" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Entrar de novo" })).toBeVisible();
    expect(signals, c.name).toEqual([]);
    if (c.name === "denied") await check(page, "35-room-chime-denied");
    await b.close();
  }
});
