/* What mqtt.c (the client: threads, connection, commands, publishing) and
 * mqtt_discovery.c (topics, Home Assistant configs, command messages)
 * share. Not for other modules. */
#ifndef CR_PUBLISH_MQTT_INTERNAL_H
#define CR_PUBLISH_MQTT_INTERNAL_H

#include "publish/mqtt.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>

#define MQTT_TOPIC_MAX 512                 /* bytes of one topic */
#define MQTT_ID_MAX 128                    /* bytes of a command id (hex of correlation data, or JSON "id") */
#define MQTT_LINE_MAX 1024                 /* bytes of a command line (the grammar's own limit) */
#define MQTT_PAYLOAD_MAX 4096              /* bytes of a command message */

/* One camera's topics. */
struct mqtt_camera {
	struct cr_mqtt_camera info;
	char *name;                        /* a copy of info.name */
	char *object;                      /* the name as a discovery object id: [A-Za-z0-9_-] */
	char *t_state, *t_telemetry, *t_image, *t_motion;
};

/* One configured sensor (a copy of struct cr_mqtt_sensor). */
struct mqtt_sensor {
	char *name, *unit;
	char *object;                      /* the name as a discovery object id */
};

struct cr_mqtt {
	const struct cr_config *config;
	const struct cr_mqtt_config *mc;
	struct cr_mqtt_model model;
	struct cr_control *control;
	struct cr_events *events;
	struct mqtt_camera *cameras;
	unsigned ncameras;
	struct mqtt_sensor *sensors;       /* model.sensors, copied */
	unsigned nsensors;
	char host[64];                     /* this machine's name as {host}: [A-Za-z0-9_-] */
	char *client_id, *base, *node;     /* node: the discovery node id (the client id) */
	char *broker_host;
	int broker_port;
	char *password;                    /* NULL: none; never logged */
	char *t_availability, *t_events, *t_command, *t_reply, *t_ha_status, *t_ha_configs;
	char *t_telemetry;                 /* BASE/telemetry: the machine's */
	int wake_fd;                       /* eventfd: stop, and a message to send */
	atomic_bool stop;

	/* the network thread */
	pthread_t thread;
	bool started;
	bool ever_connected;               /* a connection of this run was accepted: resume its session */
	bool refusal_logged;               /* the broker's refusal was logged; not again until a connection */
	char run_ids[64][MQTT_ID_MAX];     /* ids of the commands run last */
	unsigned run_next;

	/* the publisher thread */
	pthread_t pub_thread;
	bool pub_started;
	struct cr_event_sub *sub;
	pthread_mutex_t state_lock;        /* one state snapshot published at a time, in order */

	/* Guards mosq (the pointer and publishing: the network thread replaces
	 * the object once), connected and stats. Taken with no other of ours
	 * held; libmosquitto's own locks are taken inside it, never around. */
	pthread_mutex_t lock;
	struct mosquitto *mosq;
	bool connected;
	struct cr_mqtt_stats stats;
	atomic_int waiting;                /* messages handed over and not yet sent or acknowledged */
};

/* [A-Za-z0-9_-] of text into out (len bytes), others as '_'; "_" when empty. */
void cr_mqtt_object_id(const char *text, char *out, size_t len);

#endif
