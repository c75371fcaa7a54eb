// Opens GraphiQL (/graphql) and Swagger UI (/api/v1/docs/) in the distribution's headless
// Chromium with every request to another host refused (as on a machine without internet),
// runs one GraphQL query and one REST call with an API key through the pages themselves, and
// saves screenshots. GraphiQL is loaded under a strict Content-Security-Policy (scripts and
// styles from 'self' only), which the page must satisfy.
// Usage: node check.mjs BASE_URL API_KEY CUSTOMER_CODE OUT_DIR
import { chromium } from "playwright-core";

const [base, key, customer, out] = process.argv.slice(2);
const origin = new URL(base).origin;
// What a strict policy for the explorer allows: GraphiQL's stylesheet embeds fonts and icons as
// data: URLs; React and CodeMirror set styles through the DOM, which style-src does not govern.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const problems = [];
const fail = (what) => {
  problems.push(what);
  console.error(`browser_check: ${what}`);
};

async function openPage(browser, path, { csp }) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const seen = [];
  page.on("console", (m) => {
    // The browser logs every 401 as a console error without saying which request it was; the
    // response handler below tells the expected ones (no key entered yet) from real refusals.
    if (m.type() === "error" && !m.text().includes("status of 401")) seen.push(`console: ${m.text()}`);
  });
  page.on("response", async (r) => {
    if (r.status() !== 401) return;
    // The explorer's headers editor starts with a placeholder (assets/graphiql/graphiql-boot.js):
    // requests with it, or with no credentials, are refused as they should be.
    const auth = (await r.request().headerValue("authorization")) || "";
    if (auth && !auth.includes("<your API key")) {
      seen.push(`401 with credentials: ${r.request().method()} ${r.url()}`);
    }
  });
  page.on("pageerror", (e) => seen.push(`page error: ${e.message}`));
  await page.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== origin) {
      seen.push(`request to another host refused: ${url.href}`);
      return route.abort("internetdisconnected");
    }
    if (csp && route.request().resourceType() === "document") {
      const response = await route.fetch();
      return route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": CSP } });
    }
    return route.continue();
  });
  const response = await page.goto(base + path, { waitUntil: "load" });
  if (!response || response.status() !== 200) fail(`${path}: status ${response && response.status()}`);
  return { page, seen };
}

async function graphiql(browser) {
  const { page, seen } = await openPage(browser, "/graphql", { csp: true });
  await page.locator(".graphiql-container").waitFor({ timeout: 20000 });
  // The explorer loads the schema by introspection; the docs pane can then list the query type.
  await page.locator(".graphiql-execute-button").waitFor();
  // Without credentials the server refuses introspection (the default policy, docs/security.md):
  // the explorer's schema fetches answer 401 until a key is entered (openPage ignores those, and
  // only those: a 401 to a request that carried credentials is reported).
  // The headers editor is open by default (boot script); put the API key in it.
  await page.evaluate((auth) => {
    const editors = [...document.querySelectorAll(".graphiql-editor-tool .graphiql-editor")];
    const headers = editors.find((e) => !e.classList.contains("hidden"));
    headers.querySelector(".CodeMirror").CodeMirror.setValue(JSON.stringify({ Authorization: auth }, null, 2));
  }, `Bearer ${key}`);
  await page.locator(".graphiql-execute-button").click();
  const result = page.locator(".result-window");
  await result.getByText(customer).first().waitFor({ timeout: 15000 });
  const text = await result.innerText();
  if (!text.includes('"customers"') || text.includes('"errors"')) fail(`GraphiQL result: ${text.slice(0, 500)}`);
  await page.screenshot({ path: `${out}/graphiql.png` });
  // A CSP violation or a refused script shows up as a console error.
  for (const s of seen) fail(`GraphiQL ${s}`);
  await page.close();
  console.log("browser_check: GraphiQL rendered and ran a query with the API key header");
}

async function swagger(browser) {
  const { page, seen } = await openPage(browser, "/api/v1/docs/", { csp: false });
  await page.locator(".swagger-ui .information-container").waitFor({ timeout: 20000 });
  // Authorize with the API key (the "bearer" scheme).
  await page.locator(".auth-wrapper .authorize").click();
  const dialog = page.locator(".dialog-ux");
  await dialog.locator("input").first().fill(key);
  await dialog.locator("button.authorize").first().click();
  await dialog.locator("button.btn-done").first().click();
  // Try out GET /customers. Swagger UI renders operations as they scroll into view: scroll as a
  // reader would until it is there.
  const op = page.locator("#operations-customers-listCustomers");
  for (let i = 0; i < 80 && (await op.count()) === 0; i++) {
    await page.mouse.wheel(0, 600);
    await page.waitForTimeout(150);
  }
  await op.waitFor();
  await op.scrollIntoViewIfNeeded();
  await op.locator(".opblock-summary").click();
  await op.locator(".try-out__btn").click();
  await op.locator("button.execute").click();
  const live = op.locator(".live-responses-table .response");
  await live.first().waitFor({ timeout: 15000 });
  const status = (await live.first().locator(".response-col_status").innerText()).trim();
  const body = await live.first().locator(".response-col_description").innerText();
  if (status !== "200" || !body.includes(customer)) fail(`Swagger UI call: ${status} ${body.slice(0, 300)}`);
  await op.locator(".live-responses-table").scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${out}/swagger-ui.png` });
  for (const s of seen) fail(`Swagger UI ${s}`);
  await page.close();
  console.log("browser_check: Swagger UI rendered and ran GET /customers with the API key");
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
try {
  await graphiql(browser);
  await swagger(browser);
} catch (e) {
  fail(String(e && e.stack ? e.stack : e));
} finally {
  await browser.close();
}
if (problems.length) process.exit(1);
console.log(`browser_check: screenshots in ${out}`);
