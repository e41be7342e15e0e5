/* What each verb of the command grammar (control/command.h) does to the
 * rigs: the control thread's handlers (see commands.c). */
#ifndef CR_APP_COMMANDS_H
#define CR_APP_COMMANDS_H

#include "app/rig.h"
#include "app/status.h"
#include "base/events.h"
#include "config/config.h"
#include "control/control.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the handlers act on; the pipeline owns it. */
struct cr_commands {
	const struct cr_config *config;
	struct cr_rig *rigs;                   /* config->ncameras */
	struct cr_events *events;
	struct cr_control *control;
	const struct cr_status_source *status; /* status, get_stats, the timelapse reply */
};

/* Registers a handler for every verb, and the LSL outlets' trigger hook,
 * on cmds->control (before it starts). cmds must outlive the control. */
void cr_commands_register(struct cr_commands *cmds);

#ifdef __cplusplus
}
#endif

#endif
