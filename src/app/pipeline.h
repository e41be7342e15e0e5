/* The pipeline: the one place that creates camrig's parts and connects them
 * (cameras -> JPEG stages -> HTTP server), and takes them down again in
 * reverse order. */
#ifndef CR_APP_PIPELINE_H
#define CR_APP_PIPELINE_H

#include "config/config.h"
#include "app/status.h"
#include "control/command.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cr_pipeline;

/* Checks what only the parts know of config (encoder names libavcodec
 * has, the GPIO click map's rules). Returns 0, or -EINVAL with *error an allocated "FILE:LINE: KEY:
 * problem (expected ...)". */
int cr_pipeline_check(const struct cr_config *config, char **error);

/* Starts everything config describes. A part that cannot start (no such
 * device, port taken) is logged with its reason, everything already started
 * is stopped again, and a negative error returned. config must outlive the
 * pipeline. */
int cr_pipeline_start(const struct cr_config *config, struct cr_pipeline **out);

/* Reloads what can change without a restart (SIGHUP): HTTP credentials and
 * the TLS certificate. Failures are logged; the old state stays. */
void cr_pipeline_reload(struct cr_pipeline *pipeline);

/* Queues a line of the command grammar from trigger on the control thread
 * without waiting (signals, keyboard). Returns 0 or -EINVAL (logged). */
int cr_pipeline_post(struct cr_pipeline *pipeline, const char *line, enum cr_trigger trigger);

/* What the status model reads of the running pipeline (app/status.h);
 * valid until cr_pipeline_stop(). */
const struct cr_status_source *cr_pipeline_status(struct cr_pipeline *pipeline);

/* Stops every part in reverse order of start and frees. NULL-safe; sets
 * *pipeline to NULL. */
void cr_pipeline_stop(struct cr_pipeline **pipeline);

#ifdef __cplusplus
}
#endif

#endif
