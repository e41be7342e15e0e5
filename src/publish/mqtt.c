/* MQTT client (see mqtt.h for the topics; mqtt_discovery.c writes the Home
 * Assistant configs and reads command messages).
 *
 * Design. libmosquitto (MQTT 5) does the protocol; camrig drives it from
 * two threads of its own, so both are named and stop at once:
 *
 * - "mqtt", the network thread, owns the connection. It polls the socket
 *   and an eventfd and calls mosquitto_loop_read/_write/_misc (libmosquitto's
 *   own mosquitto_loop() uses select(), which cannot take a descriptor past
 *   1023, and camrig may have more open). libmosquitto runs its callbacks
 *   here: on CONNACK camrig subscribes (again: a restarted broker may have
 *   forgotten the session), publishes availability "online", the discovery
 *   configs and every camera's state; a command message runs right in the
 *   callback with cr_control_run(), so commands from MQTT run one at a time
 *   and in order, and its reply is published. A lost connection is tried
 *   again after a backoff of 1 s doubling up to 60 s (back to 1 s once a
 *   connection was accepted).
 * - "mqtt-pub" takes events from its own event-bus subscription (EVENT_DEPTH;
 *   the bus drops the oldest and counts when it falls behind) and publishes
 *   each on BASE/events, the state of the camera it names, and a still for a
 *   snapshot, timelapse shot or motion start; every state_interval s it
 *   publishes every camera's state and telemetry. Publishing never waits on
 *   the network: libmosquitto queues the message and the eventfd wakes the
 *   network thread to send it. Capture and the control thread never wait on
 *   MQTT.
 *
 * Connecting. libmosquitto's connect call that takes MQTT 5 properties
 * (session expiry) connects its socket blocking, and a black-holed broker
 * address would hold it for minutes, stop included. So the network thread
 * first opens a TCP connection of its own to the broker, without blocking
 * and for at most 10 s, watching the eventfd (a stop ends the wait); only
 * when that succeeds does libmosquitto connect, which is then quick. (The
 * broker logs that probe as a client that closed before CONNECT.) The name
 * lookup itself still blocks.
 *
 * Each command runs once, and never an old one:
 * - the first connection of a run starts clean (clean_start), so commands
 *   queued for an earlier camrig are dropped; it asks the broker to keep
 *   the session SESSION_EXPIRY_S after a disconnect, and every later
 *   connection resumes it (clean_start false): QoS 1 commands sent while
 *   camrig was cut off arrive, once, when it is back;
 * - a retained message on the command topic is never run (it would run on
 *   every connect; the subscription keeps the flag as published);
 * - a command with an id (MQTT 5 correlation data, else the JSON "id") that
 *   is among the last RUN_IDS run is skipped: QoS 1 may deliver a message
 *   twice (a PUBACK lost with the connection), and so may a publisher that
 *   sends again.
 *
 * Bounds: at most WAITING_MAX messages handed to libmosquitto and not yet
 * sent (QoS 0) or acknowledged (QoS 1); past it, and while disconnected,
 * messages are dropped and counted (dropped), never queued without end; a
 * command message at most MQTT_PAYLOAD_MAX bytes, a still IMAGE_MAX.
 *
 * Locking: m->lock guards m->mosq (the network thread replaces the object
 * once, after the first connection ends, to resume sessions from then on),
 * m->connected and m->stats, and is held across mosquitto_publish_v5(),
 * which only queues. It is taken with no lock of ours held, and never
 * while libmosquitto holds one of its own that mosquitto_publish_v5() takes
 * (libmosquitto runs its callbacks with only its callback lock held, and
 * we never publish from on_publish). m->state_lock orders state snapshots:
 * one is taken and published at a time, so the retained state is the newest. */
#include "publish/mqtt_internal.h"

#include "base/error.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/lazy.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqtt_protocol.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVENT_DEPTH 64                     /* events queued for mqtt-pub */
#define WAITING_MAX 256                    /* messages handed to libmosquitto, not yet sent or acknowledged */
#define IMAGE_MAX (16 * 1024 * 1024)       /* bytes of a still */
#define PASSWORD_FILE_MAX 1024             /* bytes of a password file */
#define RUN_IDS 64                         /* command ids remembered (the size of run_ids) */
#define SESSION_EXPIRY_S 3600              /* s the broker keeps our session (and QoS 1 commands) */
#define PROBE_TIMEOUT_MS 10000             /* a TCP connection to the broker must open within it */
#define OFFLINE_WAIT_NS (2 * CR_NS_PER_SEC) /* for the broker to take "offline" at a stop */
#define TICK_MS 1000                       /* keepalive checks */
#define BACKOFF_MIN_NS (1 * CR_NS_PER_SEC)
#define BACKOFF_MAX_NS (60 * CR_NS_PER_SEC)
#define STILL_TIMEOUT_NS (2 * CR_NS_PER_SEC) /* for the still of a motion event */

_Static_assert(RUN_IDS == sizeof(((struct cr_mqtt *)0)->run_ids) / MQTT_ID_MAX, "run_ids holds RUN_IDS ids");

static void wake(struct cr_mqtt *m)
{
	uint64_t one = 1;

	(void)!write(m->wake_fd, &one, sizeof(one));
}

static void set_error(struct cr_mqtt *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct cr_mqtt *m, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	va_start(ap, fmt);
	vsnprintf(m->stats.last_error, sizeof(m->stats.last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&m->lock);
}

/* ---- publishing ------------------------------------------------------- */

/* Hands a message to libmosquitto (props: MQTT 5 properties, may be NULL).
 * Returns 0, or -EAGAIN (not connected, or WAITING_MAX waiting: dropped and
 * counted), -EIO. Any thread, no lock of ours held. */
static int publish(struct cr_mqtt *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
		   const mosquitto_property *props)
{
	int rc = MOSQ_ERR_NO_CONN;

	pthread_mutex_lock(&m->lock);
	if (m->connected && atomic_load(&m->waiting) < WAITING_MAX)
		rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, payload, qos, retain, props);
	if (rc == MOSQ_ERR_SUCCESS) {
		atomic_fetch_add(&m->waiting, 1);
		m->stats.published++;
	} else {
		m->stats.dropped++;
	}
	pthread_mutex_unlock(&m->lock);
	if (rc != MOSQ_ERR_SUCCESS) {
		cr_debug("mqtt: %s not published: %s", topic, mosquitto_strerror(rc));
		return rc == MOSQ_ERR_NO_CONN ? -EAGAIN : -EIO;
	}
	wake(m);
	return 0;
}

/* Publishes json (taken) as compact text. */
static int publish_json(struct cr_mqtt *m, const char *topic, json_t *json, int qos, bool retain)
{
	char *text = json_dumps(json, JSON_COMPACT);
	int ret = text ? publish(m, topic, text, strlen(text), qos, retain, NULL) : -ENOMEM;

	free(text);
	json_decref(json);
	return ret;
}

/* Camera i's state (retained) and, with telemetry, its telemetry; every
 * camera and the machine's telemetry when i < 0. */
static void publish_states(struct cr_mqtt *m, int camera, bool telemetry)
{
	json_t *cameras;

	pthread_mutex_lock(&m->state_lock);
	cameras = m->model.cameras(m->model.ctx);
	for (unsigned i = 0; i < m->ncameras && i < json_array_size(cameras); i++) {
		json_t *c = json_array_get(cameras, i);

		if (camera >= 0 && (unsigned)camera != i)
			continue;
		publish_json(m, m->cameras[i].t_state, json_incref(json_object_get(c, "state")), 1, true);
		if (telemetry)
			publish_json(m, m->cameras[i].t_telemetry, json_incref(json_object_get(c, "telemetry")), 0,
				     false);
	}
	json_decref(cameras);
	if (camera < 0 && telemetry && m->model.host) {
		json_t *host = m->model.host(m->model.ctx);

		if (host)
			publish_json(m, m->t_telemetry, host, 0, false);
	}
	pthread_mutex_unlock(&m->state_lock);
}

static void publish_discovery(struct cr_mqtt *m)
{
	json_t *configs = cr_mqtt_discovery(m), *payload;
	const char *topic;

	if (!m->mc->discovery) {
		json_decref(configs);
		return;
	}
	json_object_foreach(configs, topic, payload)
		publish_json(m, topic, json_incref(payload), 1, true);
	json_decref(configs);
}

/* ---- commands --------------------------------------------------------- */

static bool id_seen(struct cr_mqtt *m, const char *id)
{
	for (unsigned i = 0; i < RUN_IDS; i++)
		if (strcmp(m->run_ids[i], id) == 0)
			return true;
	return false;
}

static void count_skipped(struct cr_mqtt *m)
{
	pthread_mutex_lock(&m->lock);
	m->stats.commands_skipped++;
	pthread_mutex_unlock(&m->lock);
}

/* Runs one message of the command topic and publishes its reply. On the
 * network thread, in libmosquitto's callback. */
static void on_command(struct cr_mqtt *m, const struct mosquitto_message *msg, const mosquitto_property *props)
{
	char line[MQTT_LINE_MAX + 1], jid[MQTT_ID_MAX], id[MQTT_ID_MAX] = "", why[256];
	mosquitto_property *reply_props = NULL;
	char *response_topic = NULL;
	void *corr = NULL;
	uint16_t corr_len = 0;
	json_t *reply;

	if (msg->payloadlen == 0) {
		count_skipped(m); /* a retained command cleared, or nothing */
		return;
	}
	if (msg->retain) {
		count_skipped(m);
		cr_warn("mqtt: a retained message on %s is not run (commands are sent without retain; clear it with "
			"mosquitto_pub -r -n -t %s)", m->t_command, m->t_command);
		return;
	}
	mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
	mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &response_topic, false);
	if (response_topic && mosquitto_pub_topic_check(response_topic) != MOSQ_ERR_SUCCESS) {
		free(response_topic);
		response_topic = NULL;
	}
	if (corr && corr_len > 0 && (size_t)corr_len * 2 < sizeof(id)) {
		for (uint16_t i = 0; i < corr_len; i++)
			snprintf(id + 2 * i, 3, "%02x", ((const unsigned char *)corr)[i]);
		mosquitto_property_add_binary(&reply_props, MQTT_PROP_CORRELATION_DATA, corr, corr_len);
	}
	if (cr_mqtt_parse_command(msg->payload, (size_t)msg->payloadlen, line, sizeof(line), jid, sizeof(jid), why,
				  sizeof(why)) < 0) {
		count_skipped(m);
		cr_warn("mqtt: %s: %s", m->t_command, why);
		reply = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", why, "status", 400);
	} else {
		if (!id[0])
			snprintf(id, sizeof(id), "%s", jid);
		if (id[0] && id_seen(m, id)) {
			count_skipped(m);
			cr_info("mqtt: command %s was run already; not again", id);
			goto end;
		}
		if (id[0]) {
			snprintf(m->run_ids[m->run_next], MQTT_ID_MAX, "%s", id);
			m->run_next = (m->run_next + 1) % RUN_IDS;
		}
		pthread_mutex_lock(&m->lock);
		m->stats.commands_run++;
		pthread_mutex_unlock(&m->lock);
		cr_info("mqtt: running \"%.200s\"", line);
		reply = cr_control_run(m->control, line, CR_TRIGGER_MQTT);
	}
	if (id[0])
		json_object_set_new(reply, "id", cr_json_str(id));
	{
		char *text = json_dumps(reply, JSON_COMPACT);

		if (text)
			publish(m, response_topic ? response_topic : m->t_reply, text, strlen(text), 1, false,
				reply_props);
		free(text);
	}
	json_decref(reply);
end:
	free(corr);
	free(response_topic);
	mosquitto_property_free_all(&reply_props);
}

/* ---- libmosquitto's callbacks (the network thread) --------------------- */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
	struct cr_mqtt *m = obj;
	bool resumed = flags & 1; /* CONNACK "session present" */

	if (rc != 0) {
		set_error(m, "the broker refused the connection: %s", mosquitto_reason_string(rc));
		if (m->refusal_logged)
			return;
		m->refusal_logged = true;
		cr_err("mqtt: %s refused the connection: %s%s", m->mc->broker, mosquitto_reason_string(rc),
		       rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD || rc == MQTT_RC_NOT_AUTHORIZED
			       ? " (check mqtt.username and mqtt.password_file)" : "");
		return;
	}
	pthread_mutex_lock(&m->lock);
	m->connected = true;
	m->stats.connected = true;
	m->stats.connects++;
	m->stats.last_error[0] = '\0';
	pthread_mutex_unlock(&m->lock);
	m->ever_connected = true;
	m->refusal_logged = false;
	cr_info("mqtt: connected to %s as %s (%s session)", m->mc->broker, m->client_id, resumed ? "resumed" : "new");
	/* Retain as published: a retained command is seen as one, and skipped. */
	mosquitto_subscribe_v5(mosq, NULL, m->t_command, 1, MQTT_SUB_OPT_NO_LOCAL | MQTT_SUB_OPT_RETAIN_AS_PUBLISHED,
			       NULL);
	mosquitto_subscribe_v5(mosq, NULL, m->t_ha_status, 1, MQTT_SUB_OPT_NO_LOCAL, NULL);
	/* Our own configs, retained: any that camrig no longer has is cleared. */
	mosquitto_subscribe_v5(mosq, NULL, m->t_ha_configs, 1, 0, NULL);
	publish(m, m->t_availability, "online", 6, 1, true, NULL);
	publish_discovery(m);
	publish_states(m, -1, true);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct cr_mqtt *m = obj;

	pthread_mutex_lock(&m->lock);
	m->connected = false;
	m->stats.connected = false;
	pthread_mutex_unlock(&m->lock);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props)
{
	struct cr_mqtt *m = obj;
	int n = atomic_load(&m->waiting);

	/* At most once per message; a resent one after a reconnect (the
	 * counter started again at 0) must not take it below 0. */
	while (n > 0 && !atomic_compare_exchange_weak(&m->waiting, &n, n - 1))
		;
}

/* A retained config of our node that camrig does not have any more. */
static void on_config(struct cr_mqtt *m, const struct mosquitto_message *msg)
{
	json_t *configs;
	bool ours;

	if (!msg->retain || msg->payloadlen == 0)
		return;
	configs = cr_mqtt_discovery(m);
	ours = m->mc->discovery && json_object_get(configs, msg->topic);
	json_decref(configs);
	if (ours)
		return;
	if (publish(m, msg->topic, "", 0, 1, true, NULL) == 0) {
		pthread_mutex_lock(&m->lock);
		m->stats.discovery_removed++;
		pthread_mutex_unlock(&m->lock);
		cr_info("mqtt: removed the Home Assistant entity %s: camrig no longer has it", msg->topic);
	}
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct cr_mqtt *m = obj;
	bool match = false;

	if (strcmp(msg->topic, m->t_command) == 0) {
		on_command(m, msg, props);
	} else if (strcmp(msg->topic, m->t_ha_status) == 0) {
		if (msg->payloadlen == 6 && memcmp(msg->payload, "online", 6) == 0 && !msg->retain) {
			cr_info("mqtt: Home Assistant started; sending the discovery configs again");
			publish_discovery(m);
			publish_states(m, -1, true);
		}
	} else if (mosquitto_topic_matches_sub(m->t_ha_configs, msg->topic, &match) == MOSQ_ERR_SUCCESS && match) {
		on_config(m, msg);
	}
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
	cr_debug("mqtt: libmosquitto: %s", text);
}

/* ---- the connection --------------------------------------------------- */

/* (Re)makes the libmosquitto object with every setting; clean: start a new
 * session. Network thread. */
static int client_setup(struct cr_mqtt *m, bool clean)
{
	const struct cr_mqtt_config *mc = m->mc;
	struct mosquitto *mosq;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (m->mosq) {
		rc = mosquitto_reinitialise(m->mosq, m->client_id, clean, m);
	} else {
		m->mosq = mosquitto_new(m->client_id, clean, m);
		rc = m->mosq ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOMEM;
	}
	mosq = m->mosq;
	atomic_store(&m->waiting, 0);
	pthread_mutex_unlock(&m->lock);
	if (rc != MOSQ_ERR_SUCCESS)
		return -ENOMEM;
	mosquitto_threaded_set(mosq, true);
	mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
	mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_will_set_v5(mosq, m->t_availability, 7, "offline", 1, true, NULL);
	if (mc->username)
		mosquitto_username_pw_set(mosq, mc->username, m->password);
	if (mc->tls) {
		if (!mc->ca_file)
			mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		rc = mosquitto_tls_set(mosq, mc->ca_file, mc->ca_file ? NULL : "/etc/ssl/certs", mc->cert_file,
				       mc->key_file, NULL);
		if (rc != MOSQ_ERR_SUCCESS)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "mqtt: cannot set up TLS with mqtt.ca_file, "
					  "cert_file and key_file: %s", mosquitto_strerror(rc));
	}
	mosquitto_connect_v5_callback_set(mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(mosq, on_disconnect);
	mosquitto_publish_v5_callback_set(mosq, on_publish);
	mosquitto_message_v5_callback_set(mosq, on_message);
	mosquitto_log_callback_set(mosq, on_log);
	return 0;
}

/* Opens and closes a TCP connection to the broker, for at most
 * PROBE_TIMEOUT_MS, watching the eventfd. Returns 0, -ECANCELED (a stop),
 * -ETIMEDOUT, or the connect error. */
static int probe(struct cr_mqtt *m)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai = NULL, *a;
	char port[8];
	int ret, err;

	snprintf(port, sizeof(port), "%d", m->broker_port);
	err = getaddrinfo(m->broker_host, port, &hints, &ai);
	if (err)
		return cr_log_ret(-EHOSTUNREACH, CR_LOG_DEBUG, "mqtt: %s: %s", m->broker_host, gai_strerror(err));
	ret = -EHOSTUNREACH;
	for (a = ai; a && ret < 0 && ret != -ECANCELED; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLOUT }, { .fd = m->wake_fd, .events = POLLIN } };
		socklen_t len = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ret = 0;
		} else if (errno != EINPROGRESS) {
			ret = -errno;
		} else if (poll(pfd, 2, PROBE_TIMEOUT_MS) == 0) {
			ret = -ETIMEDOUT;
		} else if (atomic_load(&m->stop)) {
			ret = -ECANCELED;
		} else if (pfd[0].revents) {
			err = 0;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
			ret = -err;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ret;
}

/* One attempt to connect. Returns 0 when the CONNECT is on its way, or a
 * negative errno with why (len bytes) set. */
static int connect_once(struct cr_mqtt *m, char *why, size_t len)
{
	mosquitto_property *props = NULL;
	int ret, rc;

	/* Resume the session once a connection of this run was accepted. */
	ret = client_setup(m, !m->ever_connected);
	if (ret == 0)
		ret = probe(m);
	if (ret < 0) {
		snprintf(why, len, "%s", cr_strerror(ret));
		return ret;
	}
	mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, SESSION_EXPIRY_S);
	rc = mosquitto_connect_bind_v5(m->mosq, m->broker_host, m->broker_port, (int)m->mc->keepalive, NULL, props);
	ret = rc == MOSQ_ERR_ERRNO ? -errno : rc == MOSQ_ERR_SUCCESS ? 0 : -EIO;
	mosquitto_property_free_all(&props);
	if (ret < 0)
		snprintf(why, len, "%s%s", rc == MOSQ_ERR_ERRNO ? strerror(-ret) : mosquitto_strerror(rc),
			 rc == MOSQ_ERR_TLS ? " (check mqtt.ca_file, and that the broker's certificate names it)" : "");
	return ret;
}

/* Waits until deadline (CLOCK_MONOTONIC ns) or a wake. */
static void wait_wake(struct cr_mqtt *m, int64_t deadline)
{
	int64_t left = deadline - cr_time_mono_ns();
	struct pollfd pfd = { .fd = m->wake_fd, .events = POLLIN };
	uint64_t v;

	if (left > 0 && poll(&pfd, 1, (int)(left / CR_NS_PER_MS) + 1) > 0)
		(void)!read(m->wake_fd, &v, sizeof(v));
}

/* Serves the connection once: poll, read, write, keepalive. Returns a
 * libmosquitto code; not MOSQ_ERR_SUCCESS: the connection is gone. */
static int serve(struct cr_mqtt *m, int timeout_ms)
{
	struct pollfd pfd[2] = { { .fd = mosquitto_socket(m->mosq), .events = POLLIN },
				 { .fd = m->wake_fd, .events = POLLIN } };
	int rc = MOSQ_ERR_SUCCESS;
	uint64_t v;

	if (pfd[0].fd < 0)
		return MOSQ_ERR_NO_CONN;
	if (mosquitto_want_write(m->mosq))
		pfd[0].events |= POLLOUT;
	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR)
		return MOSQ_ERR_ERRNO;
	if (pfd[1].revents & POLLIN)
		(void)!read(m->wake_fd, &v, sizeof(v));
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
		rc = mosquitto_loop_read(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m->mosq))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_loop_misc(m->mosq);
	return rc;
}

/* At a stop: "offline", retained, before the DISCONNECT (a clean
 * disconnect does not send the will). */
static void say_offline(struct cr_mqtt *m)
{
	int64_t deadline = cr_time_mono_ns() + OFFLINE_WAIT_NS;
	bool connected;

	pthread_mutex_lock(&m->lock);
	connected = m->connected;
	pthread_mutex_unlock(&m->lock);
	if (!connected)
		return;
	if (publish(m, m->t_availability, "offline", 7, 1, true, NULL) == 0)
		while (atomic_load(&m->waiting) > 0 && cr_time_mono_ns() < deadline &&
		       serve(m, (int)((deadline - cr_time_mono_ns()) / CR_NS_PER_MS) + 1) == MOSQ_ERR_SUCCESS)
			;
	mosquitto_disconnect_v5(m->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
	while (mosquitto_want_write(m->mosq) && cr_time_mono_ns() < deadline && serve(m, 100) == MOSQ_ERR_SUCCESS)
		;
}

static void *network_main(void *arg)
{
	struct cr_mqtt *m = arg;
	int64_t backoff = BACKOFF_MIN_NS, retry_at = 0;
	unsigned failures = 0;
	bool up = false;

	pthread_setname_np(pthread_self(), "mqtt");
	while (!atomic_load(&m->stop)) {
		char why[160];
		int ret, rc;

		if (!up) {
			if (cr_time_mono_ns() < retry_at) {
				wait_wake(m, retry_at);
				continue;
			}
			ret = connect_once(m, why, sizeof(why));
			if (ret == -ECANCELED || atomic_load(&m->stop))
				break;
			if (ret < 0) {
				pthread_mutex_lock(&m->lock);
				m->stats.connect_errors++;
				snprintf(m->stats.last_error, sizeof(m->stats.last_error), "%s", why);
				pthread_mutex_unlock(&m->lock);
				if (failures++ == 0)
					cr_warn("mqtt: cannot connect to %s: %s; retrying with backoff", m->mc->broker, why);
				else
					cr_debug("mqtt: %s: attempt %u failed: %s", m->mc->broker, failures, why);
				retry_at = cr_time_mono_ns() + backoff;
				backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
				continue;
			}
			up = true;
		}
		rc = serve(m, TICK_MS);
		if (rc == MOSQ_ERR_SUCCESS) {
			pthread_mutex_lock(&m->lock);
			if (m->connected) {
				backoff = BACKOFF_MIN_NS;
				failures = 0;
			}
			pthread_mutex_unlock(&m->lock);
			continue;
		}
		/* The connection is gone (or the broker refused it). */
		up = false;
		pthread_mutex_lock(&m->lock);
		if (m->connected || !m->stats.last_error[0])
			snprintf(m->stats.last_error, sizeof(m->stats.last_error), "connection lost: %s",
				 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		m->connected = m->stats.connected = false;
		m->stats.connect_errors++;
		pthread_mutex_unlock(&m->lock);
		if (atomic_load(&m->stop))
			break;
		if (failures++ == 0)
			cr_warn("mqtt: the connection to %s ended (%s); reconnecting", m->mc->broker,
				rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		retry_at = cr_time_mono_ns() + backoff;
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
	}
	if (up)
		say_offline(m);
	pthread_mutex_lock(&m->lock);
	m->connected = m->stats.connected = false;
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- the publisher ---------------------------------------------------- */

static int camera_index(struct cr_mqtt *m, json_t *event)
{
	const char *name = json_string_value(json_object_get(event, "camera"));

	for (unsigned i = 0; name && i < m->ncameras; i++)
		if (strcmp(m->cameras[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The still a snapshot or timelapse shot wrote. */
static void publish_file(struct cr_mqtt *m, const struct mqtt_camera *c, const char *path)
{
	struct stat st;
	uint8_t *data;
	ssize_t n = -1;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > IMAGE_MAX) {
		if (fd >= 0)
			close(fd);
		cr_debug("mqtt: %s: no still to publish from %s", c->name, path ? path : "(none)");
		return;
	}
	data = cr_malloc((size_t)st.st_size);
	n = read(fd, data, (size_t)st.st_size);
	close(fd);
	if (n == st.st_size)
		publish(m, c->t_image, data, (size_t)n, 0, true, NULL);
	free(data);
}

/* A still of a frame captured from now on, from the camera's JPEG stage. */
static void publish_current(struct cr_mqtt *m, const struct mqtt_camera *c)
{
	struct cr_jpeg_params params;
	struct cr_jpeg *jpeg = NULL;

	if (!c->info.jpeg)
		return;
	params = cr_jpeg_stage_params(c->info.jpeg, NULL);
	if (cr_jpeg_stage_take(c->info.jpeg, &params, cr_jpeg_stage_next_index(c->info.jpeg), STILL_TIMEOUT_NS,
			       &m->stop, &jpeg) == 0)
		publish(m, c->t_image, jpeg->data, jpeg->size, 0, true, NULL);
	cr_jpeg_unref(&jpeg);
}

static void on_event(struct cr_mqtt *m, json_t *event)
{
	const char *type = json_string_value(json_object_get(event, "type"));
	int i = camera_index(m, event);
	const struct mqtt_camera *c = i >= 0 ? &m->cameras[i] : NULL;

	publish_json(m, m->t_events, json_incref(event), 0, false);
	if (!type)
		return;
	if (c && (strcmp(type, "snapshot") == 0 || strcmp(type, "timelapse_shot") == 0))
		publish_file(m, c, json_string_value(json_object_get(event, "file")));
	if (c && c->info.motion && strcmp(type, "motion_started") == 0) {
		publish(m, c->t_motion, "ON", 2, 1, true, NULL);
		publish_current(m, c);
	}
	if (c && c->info.motion && strcmp(type, "motion_ended") == 0)
		publish(m, c->t_motion, "OFF", 3, 1, true, NULL);
	if (strcmp(type, "command") != 0)
		publish_states(m, i, false);
}

static void *pub_main(void *arg)
{
	struct cr_mqtt *m = arg;
	int64_t interval = (int64_t)m->mc->state_interval * CR_NS_PER_SEC, next = cr_time_mono_ns() + interval;

	pthread_setname_np(pthread_self(), "mqtt-pub");
	while (!atomic_load(&m->stop)) {
		json_t *event = NULL;
		int64_t now = cr_time_mono_ns();
		int ret;

		if (now >= next) {
			publish_states(m, -1, true);
			next = now + interval;
		}
		ret = cr_event_sub_pop(m->sub, &event, next - now);
		if (ret == -EPIPE)
			break;
		if (ret == 0) {
			on_event(m, event);
			json_decref(event);
		}
	}
	return NULL;
}

/* ---- lifetime --------------------------------------------------------- */

/* This machine's name for {host}: up to the first '.', [A-Za-z0-9_-]. */
static void host_name(char *out, size_t len)
{
	char name[256] = "";

	if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
		snprintf(name, sizeof(name), "localhost");
	name[strcspn(name, ".")] = '\0';
	cr_mqtt_object_id(name, out, len);
}

/* tmpl with every {host} replaced, allocated. */
static char *expand_host(const char *tmpl, const char *host)
{
	char *out = cr_strdup("");

	while (*tmpl) {
		const char *at = strstr(tmpl, "{host}");
		size_t n = at ? (size_t)(at - tmpl) : strlen(tmpl);
		char *next = cr_asprintf("%s%.*s%s", out, (int)n, tmpl, at ? host : "");

		free(out);
		out = next;
		tmpl += n + (at ? strlen("{host}") : 0);
	}
	return out;
}

static int read_password(struct cr_mqtt *m, const char *path)
{
	char why[PATH_MAX + 128], *buf;
	int ret = cr_fs_read_secret("mqtt.password_file", path, PASSWORD_FILE_MAX, &buf, why, sizeof(why));
	size_t len;

	if (ret < 0)
		return cr_log_ret(ret == -EFBIG ? -EINVAL : ret, CR_LOG_ERROR, "%s", why);
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len == 0) {
		explicit_bzero(buf, PASSWORD_FILE_MAX);
		free(buf);
		return cr_log_ret(-EINVAL, CR_LOG_ERROR, "mqtt.password_file %s: empty (expected the password on the "
				  "first line)", path);
	}
	m->password = buf;
	return 0;
}

/* A file the TLS set-up will read: there and readable (key: ours alone). */
static int check_file(const char *key, const char *path, bool secret)
{
	char why[PATH_MAX + 128], *buf = NULL;
	int ret;

	if (!path)
		return 0;
	if (secret) {
		ret = cr_fs_read_secret(key, path, 1024 * 1024, &buf, why, sizeof(why));
		if (buf) {
			explicit_bzero(buf, strlen(buf));
			free(buf);
		}
		return ret < 0 ? cr_log_ret(ret, CR_LOG_ERROR, "%s", why) : 0;
	}
	if (access(path, R_OK) < 0) {
		ret = -errno;
		return cr_log_ret(ret, CR_LOG_ERROR, "%s %s: cannot read: %s", key, path, cr_strerror(ret));
	}
	return 0;
}

int cr_mqtt_new(const struct cr_config *config, const struct cr_mqtt_camera *cameras, unsigned ncameras,
		const struct cr_mqtt_model *model, struct cr_control *control, struct cr_events *events,
		struct cr_mqtt **out)
{
	const struct cr_mqtt_config *mc = &config->mqtt;
	struct cr_mqtt *m;
	const char *colon;
	char why[512];
	int ret;

	*out = NULL;
	if (cr_lazy_load(&cr_lazy_libmosquitto, why, sizeof(why)) != 0)
		return cr_log_ret(-ELIBACC, CR_LOG_ERROR, "mqtt: %s", why);
	mosquitto_lib_init();
	m = CR_NEW(m);
	m->config = config;
	m->mc = mc;
	m->model = *model;
	m->control = control;
	m->events = events;
	m->wake_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->state_lock, NULL);
	host_name(m->host, sizeof(m->host));
	m->client_id = expand_host(mc->client_id, m->host);
	m->base = expand_host(mc->base_topic, m->host);
	m->node = cr_strdup(m->client_id);
	colon = strrchr(mc->broker, ':');
	m->broker_host = mc->broker[0] == '[' ? cr_asprintf("%.*s", (int)(colon - mc->broker - 2), mc->broker + 1)
					      : cr_asprintf("%.*s", (int)(colon - mc->broker), mc->broker);
	m->broker_port = atoi(colon + 1);
	m->t_availability = cr_asprintf("%s/availability", m->base);
	m->t_events = cr_asprintf("%s/events", m->base);
	m->t_command = cr_asprintf("%s/command", m->base);
	m->t_reply = cr_asprintf("%s/reply", m->base);
	m->t_telemetry = cr_asprintf("%s/telemetry", m->base);
	m->t_ha_status = cr_asprintf("%s/status", mc->discovery_prefix);
	m->t_ha_configs = cr_asprintf("%s/+/%s/+/config", mc->discovery_prefix, m->node);
	m->cameras = cr_calloc(ncameras, sizeof(*m->cameras));
	m->ncameras = ncameras;
	for (unsigned i = 0; i < ncameras; i++) {
		struct mqtt_camera *c = &m->cameras[i];
		char object[128];

		c->info = cameras[i];
		c->name = cr_strdup(cameras[i].name);
		cr_mqtt_object_id(c->name, object, sizeof(object));
		c->object = cr_strdup(object);
		c->t_state = cr_asprintf("%s/%s/state", m->base, c->name);
		c->t_telemetry = cr_asprintf("%s/%s/telemetry", m->base, c->name);
		c->t_image = cr_asprintf("%s/%s/image", m->base, c->name);
		c->t_motion = cr_asprintf("%s/%s/motion", m->base, c->name);
	}
	m->sensors = cr_calloc(model->nsensors, sizeof(*m->sensors));
	m->nsensors = model->nsensors;
	for (unsigned i = 0; i < model->nsensors; i++) {
		char object[128];

		m->sensors[i].name = cr_strdup(model->sensors[i].name);
		m->sensors[i].unit = cr_strdup(model->sensors[i].unit ? model->sensors[i].unit : "");
		cr_mqtt_object_id(m->sensors[i].name, object, sizeof(object));
		m->sensors[i].object = cr_strdup(object);
	}
	m->model.sensors = NULL; /* the copy above is m->sensors */
	snprintf(m->stats.broker, sizeof(m->stats.broker), "%s", mc->broker);
	snprintf(m->stats.client_id, sizeof(m->stats.client_id), "%s", m->client_id);
	snprintf(m->stats.base_topic, sizeof(m->stats.base_topic), "%s", m->base);
	if (strlen(m->client_id) > 64 || mosquitto_pub_topic_check(m->t_availability) != MOSQ_ERR_SUCCESS) {
		cr_err("mqtt.client_id, mqtt.base_topic: \"%s\", \"%s\" with {host} filled in are not a client id and "
		       "a topic (expected at most 64 bytes and no wildcard)", m->client_id, m->base);
		ret = -EINVAL;
		goto fail;
	}
	ret = check_file("mqtt.ca_file", mc->ca_file, false);
	if (ret == 0)
		ret = check_file("mqtt.cert_file", mc->cert_file, false);
	if (ret == 0)
		ret = check_file("mqtt.key_file", mc->key_file, true);
	if (ret == 0 && mc->password_file)
		ret = read_password(m, mc->password_file);
	if (ret < 0)
		goto fail;
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0) {
		ret = -errno;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	cr_mqtt_free(&m);
	return ret;
}

int cr_mqtt_start(struct cr_mqtt *m)
{
	int ret;

	m->sub = cr_events_subscribe(m->events, EVENT_DEPTH);
	ret = -pthread_create(&m->pub_thread, NULL, pub_main, m);
	m->pub_started = ret == 0;
	if (ret == 0) {
		ret = -pthread_create(&m->thread, NULL, network_main, m);
		m->started = ret == 0;
	}
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "mqtt: cannot start a thread: %s", cr_strerror(ret));
	cr_info("mqtt: connecting to %s as %s, topics under %s/", m->mc->broker, m->client_id, m->base);
	return 0;
}

void cr_mqtt_stop(struct cr_mqtt *m)
{
	if (!m)
		return;
	atomic_store(&m->stop, true);
	if (m->sub)
		cr_event_sub_close(m->sub);
	if (m->pub_started)
		pthread_join(m->pub_thread, NULL);
	m->pub_started = false;
	if (m->wake_fd >= 0)
		wake(m);
	if (m->started)
		pthread_join(m->thread, NULL);
	m->started = false;
	if (m->sub) {
		pthread_mutex_lock(&m->lock);
		m->stats.dropped += cr_event_sub_dropped(m->sub);
		pthread_mutex_unlock(&m->lock);
		cr_events_unsubscribe(m->events, &m->sub);
	}
}

void cr_mqtt_free(struct cr_mqtt **pm)
{
	struct cr_mqtt *m = *pm;

	if (!m)
		return;
	*pm = NULL;
	cr_mqtt_stop(m);
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	mosquitto_lib_cleanup();
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	for (unsigned i = 0; i < m->ncameras; i++) {
		struct mqtt_camera *c = &m->cameras[i];

		free(c->name);
		free(c->object);
		free(c->t_state);
		free(c->t_telemetry);
		free(c->t_image);
		free(c->t_motion);
	}
	free(m->cameras);
	for (unsigned i = 0; i < m->nsensors; i++) {
		free(m->sensors[i].name);
		free(m->sensors[i].unit);
		free(m->sensors[i].object);
	}
	free(m->sensors);
	if (m->password) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->client_id);
	free(m->base);
	free(m->node);
	free(m->broker_host);
	free(m->t_availability);
	free(m->t_events);
	free(m->t_command);
	free(m->t_reply);
	free(m->t_telemetry);
	free(m->t_ha_status);
	free(m->t_ha_configs);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->state_lock);
	free(m);
}

void cr_mqtt_stats(struct cr_mqtt *m, struct cr_mqtt_stats *stats)
{
	pthread_mutex_lock(&m->lock);
	*stats = m->stats;
	if (m->sub)
		stats->dropped += cr_event_sub_dropped(m->sub);
	pthread_mutex_unlock(&m->lock);
}
