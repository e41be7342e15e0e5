// A real MCP client for tests/integration/test_mcp.py: the official MCP
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in package.json) drives
// camrig over stdio (`camrig mcp`) or Streamable HTTP (the daemon's /mcp),
// and prints what it saw as one JSON object on stdout for the Python test
// to judge.
//
//   node client.mjs http URL [TOKEN] SNAPSHOT_FILE
//   node client.mjs stdio CAMRIG LISTEN CREDENTIALS_FILE|- SNAPSHOT_FILE
//   node client.mjs http-noauth URL       (expects the connection to be refused)
import { writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, ...args] = process.argv.slice(2);
const out = { mode };

function text(result) {
  return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

async function main() {
  let transport, snapshotFile;
  if (mode === "http" || mode === "http-noauth") {
    const headers = args[1] && mode === "http" ? { Authorization: `Bearer ${args[1]}` } : {};
    transport = new StreamableHTTPClientTransport(new URL(args[0]), { requestInit: { headers } });
    snapshotFile = args[2];
  } else {
    const [camrig, listen, creds, snap] = args;
    transport = new StdioClientTransport({
      command: camrig,
      args: ["mcp", "--listen", listen, ...(creds !== "-" ? ["--credentials", creds] : [])],
      stderr: "inherit",
    });
    snapshotFile = snap;
  }
  const client = new Client({ name: "camrig-test", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (e) {
    out.connectError = String(e && e.message ? e.message : e);
    return;
  }
  if (mode === "http-noauth") {
    out.connected = true;
    return;
  }
  out.server = client.getServerVersion();
  out.protocolVersion = transport.protocolVersion ?? null;
  out.capabilities = client.getServerCapabilities();

  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => ({ name: t.name, schema: t.inputSchema, description: t.description }));

  const cams = await client.callTool({ name: "list_cameras", arguments: {} });
  out.cameras = cams.structuredContent;

  // Record through tools; stop once the daemon's own counter says frames were written.
  const start = await client.callTool({ name: "start_recording", arguments: {} });
  out.start = { isError: !!start.isError, reply: start.structuredContent, text: text(start) };
  let written = 0;
  for (let i = 0; i < 200 && written < 10; i++) {
    const st = await client.callTool({ name: "get_status", arguments: {} });
    written = st.structuredContent?.status?.cameras?.[0]?.recording?.frames?.written ?? 0;
    if (written < 10) await new Promise((r) => setTimeout(r, 100));
  }
  out.written = written;
  const stop = await client.callTool({ name: "stop_recording", arguments: {} });
  out.stop = { isError: !!stop.isError, reply: stop.structuredContent };
  // The file is finalized once the recorder says idle.
  for (let i = 0; i < 200; i++) {
    const st = await client.callTool({ name: "get_status", arguments: {} });
    if (st.structuredContent?.status?.cameras?.[0]?.recording?.state === "idle") break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const snap = await client.callTool({ name: "snapshot", arguments: {} });
  const image = (snap.content || []).find((c) => c.type === "image");
  out.snapshot = { isError: !!snap.isError, mimeType: image?.mimeType, bytes: image ? Buffer.from(image.data, "base64").length : 0 };
  if (image) writeFileSync(snapshotFile, Buffer.from(image.data, "base64"));

  const bad = await client.callTool({ name: "start_recording", arguments: { duration: "abc" } });
  out.badDuration = { isError: !!bad.isError, text: text(bad) };
  const unknownArg = await client.callTool({ name: "stop_recording", arguments: { force: true } });
  out.unknownArg = { isError: !!unknownArg.isError, text: text(unknownArg) };
  const missing = await client.callTool({ name: "set_control", arguments: { name: "brightness" } });
  out.missingArg = { isError: !!missing.isError, text: text(missing) };
  try {
    await client.callTool({ name: "no_such_tool", arguments: {} });
    out.unknownTool = { threw: false };
  } catch (e) {
    out.unknownTool = { threw: true, code: e.code, message: e.message };
  }

  const recs = await client.callTool({ name: "list_recordings", arguments: {} });
  out.recordings = recs.structuredContent?.recordings ?? [];
  if (out.stop.reply?.files?.[0]) {
    const file = out.recordings.find((r) => r.file === out.stop.reply.files[0]);
    const v = await client.callTool({ name: "verify_recording", arguments: { file: file ? file.file : out.stop.reply.files[0] } });
    out.verify = { isError: !!v.isError, reply: v.structuredContent, text: text(v) };
  }
  const outside = await client.callTool({ name: "verify_recording", arguments: { file: "/etc/passwd" } });
  out.verifyOutside = { isError: !!outside.isError, text: text(outside) };

  const doctor = await client.callTool({ name: "check_runtime_requirements", arguments: {} });
  out.doctor = { isError: !!doctor.isError, ok: doctor.structuredContent?.ok, checks: doctor.structuredContent?.checks?.length ?? 0 };

  const res = await client.listResources();
  out.resources = res.resources.map((r) => ({ uri: r.uri, mimeType: r.mimeType }));
  const status = await client.readResource({ uri: "camrig://status" });
  out.statusResource = JSON.parse(status.contents[0].text).version ?? null;
  const shot = out.resources.find((r) => r.mimeType === "image/jpeg");
  if (shot) {
    const r = await client.readResource({ uri: shot.uri });
    out.snapshotResource = { mimeType: r.contents[0].mimeType, bytes: Buffer.from(r.contents[0].blob, "base64").length };
  }
  await client.close();
}

main()
  .catch((e) => {
    out.fatal = String(e && e.stack ? e.stack : e);
  })
  .finally(() => {
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  });
