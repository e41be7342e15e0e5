/* `camrig doctor`: what this machine can do for a configuration.
 *
 * Each check is one line: what was checked, whether it works (✔/✘), what
 * was found and, when it does not work, what to do. A check is "needed"
 * when the configuration cannot work without it (the configured encoder,
 * camera, ports, recording root, GPIO chip, ntfy server, MQTT broker,
 * RTSP media servers, Janus, OpenCV and the face models when analysis is
 * on); the others
 * (encoders and cameras the configuration does not use, the clock's
 * synchronization) only inform. */
#ifndef CR_APP_DOCTOR_H
#define CR_APP_DOCTOR_H

#include "config/config.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs every check for config (it opens the configured cameras and
 * encoders, binds the configured ports for a moment, asks the ntfy server
 * and Janus, connects to the MQTT broker and RTSP servers without sending;
 * with running, inside the daemon that config runs, it leaves out the
 * ports, the GenICam cameras and opening the configured cameras, which the
 * daemon holds itself)
 * and prints the results to out: one line per check, or with json one
 * object {"ok": all needed checks pass, "checks": [{"check", "name", "ok",
 * "needed", "detail", "fix"}]}. Returns 0 when every needed check passes,
 * 1 otherwise. */
int cr_doctor_run(const struct cr_config *config, bool json, bool running, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
