// Browser test of the docs page: headless Chromium (Debian's package) loads
// /api/openadr/v1/docs from a freshly started server with every other origin blocked, finds the
// operations listed, authorizes with a bearer token from /auth/token through the "Authorize"
// dialog, runs "Try it out" on GET /programs and sees a 200. Run by .ci/run:
//
//   cargo build && (cd tests/browser && npm ci && node docs-page.test.mjs)
//
// Environment: VTN_BIN (default ../../target/debug/openadr3-vtn), CHROMIUM (default
// /usr/bin/chromium). Exits non-zero on any failure, and when the browser cannot start.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.VTN_BIN ?? resolve(here, "../../target/debug/openadr3-vtn");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CLIENT_ID = "admin";
const CLIENT_SECRET = "browser-test-secret";

let passed = 0;
const failed = [];
function check(ok, what) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${what}`);
  } else {
    failed.push(what);
    console.log(`not ok - ${what}`);
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

async function waitForHealth(root, server) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    try {
      if ((await fetch(`${root}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the server did not become healthy within 30 s");
}

async function main() {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "vtn-browser-"));
  const port = await freePort();
  const root = `http://127.0.0.1:${port}`;
  const base = `${root}/api/openadr/v1`;
  const server = spawn(binary, ["serve"], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, "vtn.db")}`,
      VTN_BIND: `127.0.0.1:${port}`,
      VTN_BOOTSTRAP_CLIENT_ID: CLIENT_ID,
      VTN_BOOTSTRAP_CLIENT_SECRET: CLIENT_SECRET,
      VTN_LOG: "warn",
      VTN_WORKERS: "2",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  let browser;
  try {
    await waitForHealth(root, server);

    // The token a user would get with the curl line that `serve` prints.
    const tokenResponse = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: {
        Authorization: "Basic " + Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64"),
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    check(tokenResponse.status === 200, "POST /auth/token gives a token");
    const { access_token: token } = await tokenResponse.json();

    const page_response = await fetch(`${base}/docs`);
    const csp = page_response.headers.get("content-security-policy") ?? "";
    check(page_response.ok && csp.includes("default-src 'none'") && !/https?:/.test(csp),
      "the docs page has a strict Content-Security-Policy naming no other origin");

    browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
    const context = await browser.newContext();
    // Offline: any request to another origin is refused and recorded.
    const foreign = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(root + "/") || url.startsWith("data:")) return route.continue();
      foreign.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    const programCalls = [];
    page.on("request", (r) => {
      if (r.url().startsWith(`${base}/programs`)) programCalls.push(r.headers()["authorization"] ?? "");
    });

    await page.goto(`${base}/docs`, { waitUntil: "load" });
    await page.waitForSelector(".opblock", { timeout: 20_000 });
    const operations = await page.$$eval(".opblock-summary", (els) =>
      els.map((e) => `${e.querySelector(".opblock-summary-method")?.textContent} ${e.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`));
    check(operations.includes("GET /programs"), `GET /programs is listed (${operations.length} operations)`);
    check(operations.includes("POST /events") && operations.includes("GET /vens/{venID}/resources"),
      "other OpenADR operations are listed");

    // Authorize with the bearer token through the dialog.
    await page.click("button.authorize");
    const bearer = page.locator(".auth-container", { hasText: "bearerAuth" });
    await bearer.locator("input").fill(token);
    await bearer.locator("button.authorize").click();
    const accepted = await bearer.locator("h6", { hasText: "Authorized" }).waitFor({ timeout: 5_000 }).then(() => true, () => false);
    check(accepted, "the bearer token is accepted by the Authorize dialog");
    await page.click("button.close-modal");

    // Try it out: GET /programs.
    const operation = page.locator("#operations-programs-searchAllPrograms");
    await operation.locator(".opblock-summary").click();
    await operation.locator("button.try-out__btn").click();
    await operation.locator("button.execute").click();
    const status = operation.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ timeout: 15_000 });
    const code = (await status.textContent()).trim();
    check(code === "200", `try-it-out on GET /programs answers 200 (got ${code})`);
    check(programCalls.length > 0 && programCalls.every((a) => a === `Bearer ${token}`),
      "the try-it-out request carried the bearer token");

    check(foreign.length === 0, `no request left the server (${foreign.join(", ")})`);
    check(problems.length === 0, `no console errors, CSP violations or failed requests (${problems.join("; ")})`);
  } finally {
    if (browser) await browser.close();
    server.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`browser test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  await main();
} catch (e) {
  failed.push(`the browser test could not run: ${e.stack ?? e}`);
  console.log(`not ok - ${failed[failed.length - 1]}`);
}
console.log(`browser: ${passed} passed, ${failed.length} failed`);
process.exit(failed.length === 0 ? 0 : 1);
