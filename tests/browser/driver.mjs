// A thin remote control of Debian's chromium for camrig's integration
// tests (tests/integration/browser.py is the other end): puppeteer-core
// (pinned in package.json, installed by scripts/install-deps.sh test)
// launches the system browser headless and speaks the DevTools protocol.
//
// It reads one JSON request per line on stdin and answers one JSON line on
// stdout, {"ok": true, "value": ...} or {"ok": false, "error": "..."}, so the
// test itself stays in Python beside the daemon it checks:
//   {"op": "goto", "url": URL}                 loads a page (waits for "load")
//   {"op": "eval", "js": "async () => ..."}    runs a function in the page, returns its JSON value
//   {"op": "wait", "js": "() => ...", "timeout": S}  until it returns something true; its value
//   {"op": "click", "selector": CSS}           a real mouse click on the element
//   {"op": "press", "selector": CSS, "key": K} focuses the element and presses K (e.g. "End")
//   {"op": "select", "selector": CSS, "value": V}  picks an option of a <select>, as a user does
//   {"op": "screenshot", "path": FILE}         the viewport as PNG
//   {"op": "viewport", "width": W, "height": H, "mobile": bool}
//   {"op": "auth", "user": U, "password": P}   answers HTTP Basic challenges
//   {"op": "dialogs", "accept": bool}          confirm() etc. are answered so
//   {"op": "responses"}                        responses seen since the last call: [{url, status, headers}]
//   {"op": "console"}                          console messages and page errors since the last call
//   {"op": "quit"}
import puppeteer from "puppeteer-core";
import readline from "node:readline";

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--disable-features=MediaRouter"],
});
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 900 });
let accept = true;
let responses = [];
let console_ = [];
page.on("dialog", (d) => (accept ? d.accept() : d.dismiss()));
page.on("response", (r) => {
  responses.push({ url: r.url(), status: r.status(), headers: r.headers(), method: r.request().method() });
  if (responses.length > 2000) responses.shift();
});
page.on("console", (m) => console_.push(m.type() + ": " + m.text()));
page.on("pageerror", (e) => console_.push("pageerror: " + e.message));

async function handle(req) {
  switch (req.op) {
  case "goto":
    await page.goto(req.url, { waitUntil: "load", timeout: (req.timeout || 30) * 1000 });
    return null;
  case "eval":
    return await page.evaluate(`(${req.js})()`);
  case "wait": {
    const h = await page.waitForFunction(`(${req.js})()`, { timeout: (req.timeout || 20) * 1000, polling: 100 });
    return await h.jsonValue();
  }
  case "click":
    await page.waitForSelector(req.selector, { visible: true, timeout: (req.timeout || 20) * 1000 });
    await page.click(req.selector);
    return null;
  case "press":
    await page.waitForSelector(req.selector, { visible: true, timeout: (req.timeout || 20) * 1000 });
    await page.focus(req.selector);
    await page.keyboard.press(req.key);
    return null;
  case "select":
    return await page.select(req.selector, req.value);
  case "screenshot":
    await page.screenshot({ path: req.path, fullPage: !!req.full });
    return req.path;
  case "viewport":
    await page.setViewport({ width: req.width, height: req.height, isMobile: !!req.mobile,
      hasTouch: !!req.mobile, deviceScaleFactor: req.scale || 1 });
    return null;
  case "auth":
    await page.authenticate({ username: req.user, password: req.password });
    return null;
  case "dialogs":
    accept = !!req.accept;
    return null;
  case "responses": {
    const r = responses;
    responses = [];
    return r;
  }
  case "console": {
    const c = console_;
    console_ = [];
    return c;
  }
  case "version":
    return await browser.version();
  case "quit":
    await browser.close();
    process.exit(0);
  default:
    throw new Error("unknown op " + req.op);
  }
}

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write(JSON.stringify({ ok: true, value: await browser.version() }) + "\n");
for await (const line of rl) {
  let reply;
  try {
    reply = { ok: true, value: await handle(JSON.parse(line)) };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message || e) };
  }
  process.stdout.write(JSON.stringify(reply ?? null) + "\n");
}
await browser.close();
