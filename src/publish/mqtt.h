/* MQTT: camrig as a client of an MQTT broker (libmosquitto, MQTT 5), for
 * Home Assistant and any script that speaks MQTT (see mqtt.c for the design).
 *
 * Topics, under BASE (mqtt.base_topic, "camrig/{host}"):
 *   BASE/availability      "online" / "offline", retained; "offline" is the
 *                          last will, so the broker says so when camrig dies
 *   BASE/CAMERA/state      the camera's /status object, retained; on every
 *                          event of the camera and every state_interval s
 *   BASE/CAMERA/telemetry  {"fps", "frames", "dropped", "clients",
 *                          "recording", "disk_free_mb"} every state_interval s
 *   BASE/telemetry         the machine's: {"cpu_percent", "load1",
 *                          "memory_available_mb", "sensors": {NAME: VALUE}}
 *                          every state_interval s (when telemetry runs)
 *   BASE/CAMERA/image      a JPEG: each snapshot, timelapse shot and motion
 *                          start (retained: the latest)
 *   BASE/CAMERA/motion     "ON" / "OFF" (retained), when motion analysis runs
 *   BASE/events            every event of the bus, as /api/events sends it
 *   BASE/command           commands in the grammar of control/command.h,
 *                          QoS 1: the text line, or {"command": LINE, "id": ID}
 *   BASE/reply             the reply of each command (or the MQTT 5 response
 *                          topic the command names), with its id and
 *                          correlation data
 * A command with an id (MQTT 5 correlation data, else the JSON "id") runs
 * at most once: QoS 1 delivers at least once, and a repeat is skipped.
 *
 * Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt/,
 * "MQTT Discovery"): retained configs at
 * PREFIX/COMPONENT/NODE/OBJECT/config for one device NODE (the client id)
 * with, per camera, a camera (BASE/CAMERA/image), a switch for recording,
 * buttons for snapshot and timelapse shot, sensors for fps, dropped frames
 * and disk free, and a binary_sensor for motion when analysis runs; per
 * configured sensor (temperature, humidity, ...) a sensor of BASE/telemetry;
 * all
 * with BASE/availability. Configs of NODE that camrig no longer has (a
 * camera taken out of the config) are cleared with an empty retained
 * message, which removes the entity. When Home Assistant says it started
 * (PREFIX/status "online") the configs and states are sent again. */
#ifndef CR_PUBLISH_MQTT_H
#define CR_PUBLISH_MQTT_H

#include "base/events.h"
#include "config/config.h"
#include "control/control.h"
#include "encode/jpeg.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_mqtt;

/* One camera as MQTT sees it; config order. */
struct cr_mqtt_camera {
	const char *name;            /* the camera's name (config) */
	struct cr_jpeg_stage *jpeg;  /* stills for motion events; NULL: none */
	bool motion;                 /* motion analysis runs: a binary_sensor, and stills on motion_started */
};

/* One configured sensor (the `sensors` list), for its discovery config. */
struct cr_mqtt_sensor {
	const char *name;            /* as in the list: the key in BASE/telemetry's "sensors" */
	const char *unit;            /* "celsius", "percent", ... (telemetry.h, struct cr_sensor_reading); "" none */
};

/* The status model as MQTT publishes it (app/status.c renders it). */
struct cr_mqtt_model {
	/* A new JSON array of one object per camera, config order:
	 * {"state": the camera's /status object, "telemetry": {...}}. Called
	 * on the client's threads with none of its locks held. */
	json_t *(*cameras)(void *ctx);
	/* A new JSON object for BASE/telemetry (see above), or NULL when the
	 * host is not sampled; NULL function: no BASE/telemetry. The same
	 * threads and locks as cameras. */
	json_t *(*host)(void *ctx);
	void *ctx;
	const struct cr_mqtt_sensor *sensors; /* nsensors of them, copied by cr_mqtt_new() */
	unsigned nsensors;
};

struct cr_mqtt_stats {
	char broker[128];            /* HOST:PORT */
	char client_id[80];          /* as sent ({host} filled in) */
	char base_topic[256];
	bool connected;              /* the broker accepted us and the connection holds */
	uint64_t connects;           /* connections the broker accepted */
	uint64_t connect_errors;     /* attempts that failed, and connections lost */
	uint64_t commands_run;       /* command messages run */
	uint64_t commands_skipped;   /* not run: a repeated id, retained, not a command message */
	uint64_t published;          /* messages handed to the connection */
	uint64_t dropped;            /* messages not published: disconnected, or too many waiting */
	uint64_t discovery_removed;  /* stale discovery configs cleared */
	char last_error[160];        /* why the last attempt failed or the connection ended; "" none */
};

/* Checks config->mqtt (reads password_file now; files others can read are
 * refused), expands {host}, and creates the client for cameras (ncameras,
 * copied) with model; nothing connects before cr_mqtt_start(). control
 * runs the commands (trigger "mqtt") and events feeds the event and state
 * messages; config, model's ctx, control and events must outlive the
 * client. Returns 0, or a negative errno after logging what is wrong,
 * naming the key ("mqtt.password_file: ..."). No secret is ever logged. */
int cr_mqtt_new(const struct cr_config *config, const struct cr_mqtt_camera *cameras, unsigned ncameras,
		const struct cr_mqtt_model *model, struct cr_control *control, struct cr_events *events,
		struct cr_mqtt **out);

/* Starts the network thread ("mqtt": connects, reconnects with backoff of
 * 1 s doubling to 60 s, runs commands) and the publisher ("mqtt-pub":
 * events, states, telemetry, stills). Returns 0 or a negative errno. */
int cr_mqtt_start(struct cr_mqtt *mqtt);

/* Publishes availability "offline" when connected (waiting at most 2 s for
 * the broker to take it), disconnects and joins both threads; the
 * counters stay readable. Idempotent. */
void cr_mqtt_stop(struct cr_mqtt *mqtt);

/* Stops (if not yet) and frees. NULL-safe; sets *mqtt to NULL. */
void cr_mqtt_free(struct cr_mqtt **mqtt);

/* A copy of the counters; thread-safe. */
void cr_mqtt_stats(struct cr_mqtt *mqtt, struct cr_mqtt_stats *stats);

/* What a command message says: payload (len bytes, not NUL-terminated) is
 * a command line, or a JSON object {"command": LINE, "id": STRING or
 * NUMBER}. Writes the line into line (line_len bytes) and the id, if any,
 * into id (id_len bytes; "" when none). Returns 0, or -EINVAL with a
 * one-line reason in why (why_len bytes): not UTF-8 text, a NUL byte, JSON
 * without a "command" string, a line or id too long. For tests and the
 * network thread. */
int cr_mqtt_parse_command(const void *payload, size_t len, char *line, size_t line_len, char *id, size_t id_len,
			  char *why, size_t why_len);

/* The Home Assistant discovery configs of m as a JSON object mapping each
 * config topic to its payload (a JSON object). For tests and the network
 * thread. */
json_t *cr_mqtt_discovery(struct cr_mqtt *mqtt);

#ifdef __cplusplus
}
#endif

#endif
