/* The MCP server: camrig's commands and state for AI agents, over the Model
 * Context Protocol (JSON-RPC 2.0; modelcontextprotocol.io/specification).
 *
 * One handler of one message at a time, independent of the transport: the
 * daemon's POST /mcp (Streamable HTTP, http/mcp.c) feeds it, and `camrig
 * mcp` (stdio) relays to that endpoint. Tools are generated from the
 * command grammar's table (control/command.h: name, description, argument
 * schema) and run as command lines with trigger type 7, "mcp"; a few more
 * read the status model, the recordings and the doctor's checks. Resources:
 * the status, each camera's current snapshot and each recording's sidecar.
 *
 * Versions: revision 2026-07-28 (stateless: every request says its version
 * in _meta; server/discover) and, through the initialize handshake,
 * 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05. The server keeps no
 * session: every request stands alone, whichever era it is from. */
#ifndef CR_APP_MCP_H
#define CR_APP_MCP_H

#include "config/config.h"
#include "control/control.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_catalog;
struct cr_status_source;
struct cr_mcp;

/* The protocol versions, newest first, as one comma-separated line. */
#define CR_MCP_VERSIONS "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05"

/* Creates the server for the running daemon's config, control thread,
 * status model and catalogue of files written (record/catalog.h: what
 * list_recordings, verify_recording and the recording resources may reach;
 * none copied, they outlive it). Never NULL. */
struct cr_mcp *cr_mcp_new(const struct cr_config *config, struct cr_control *control,
			  const struct cr_status_source *status, const struct cr_catalog *catalog);

/* NULL-safe; sets *mcp to NULL. */
void cr_mcp_free(struct cr_mcp **mcp);

/* Whether version is one the server speaks ("2025-11-25"). */
bool cr_mcp_version_supported(const char *version);

/* Handles one JSON-RPC message (borrowed) and returns the response to send
 * (a new reference), or NULL when there is none: a notification, or a
 * client's response. A malformed message gets a JSON-RPC error response
 * (-32600 invalid request, -32601 unknown method, -32602 bad parameters,
 * -32022 unsupported protocol version). A tool that fails answers a result
 * with isError and the command's one-line reason, as the HTTP API words it.
 * Runs on the caller's thread; tools wait for the control thread (at most
 * 10 s) and snapshots for a frame. Thread-safe. */
json_t *cr_mcp_handle(struct cr_mcp *mcp, json_t *message);

#ifdef __cplusplus
}
#endif

#endif
