/* `camrig monitor` and `camrig status`: a terminal view of a running
 * daemon, drawn from its /status (polled once a second) and its
 * /api/events (a Server-Sent Events stream), so it shows what every other
 * reader of the status model shows. */
#ifndef CR_APP_MONITOR_H
#define CR_APP_MONITOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* `camrig monitor [--listen HOST:PORT] [--credentials FILE]`: a full-screen
 * ncurses view (usable at 80x24; redrawn on a resize) with keys to start and
 * stop a recording, take a snapshot or a timelapse shot; it keeps trying
 * while the daemon is away. argv[0] is "monitor". Returns the exit status:
 * 0 after q, 1 when the terminal cannot be used, 2 on a usage error. */
int cr_monitor_main(int argc, char **argv);

/* `camrig status [--json] [--listen HOST:PORT] [--credentials FILE]`: the
 * monitor's view printed once (the terminal's width, else 80 columns), or
 * with --json the daemon's /status as it is. Returns 0, 1 when the daemon
 * does not answer 200, 2 on a usage error. */
int cr_status_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
