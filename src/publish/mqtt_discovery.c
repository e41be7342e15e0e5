/* MQTT: what camrig says to Home Assistant, and how it reads a command
 * message (see mqtt.h for the topics).
 *
 * Home Assistant MQTT discovery (home-assistant.io/integrations/mqtt/,
 * "MQTT Discovery", and the pages of each platform: camera.mqtt,
 * switch.mqtt, button.mqtt, sensor.mqtt, binary_sensor.mqtt): a retained
 * JSON config at DISCOVERY_PREFIX/COMPONENT/NODE_ID/OBJECT_ID/config per
 * entity, where NODE_ID and OBJECT_ID are [a-zA-Z0-9_-]; an empty retained
 * message at the same topic removes the entity. Every entity has a
 * unique_id, the one device camrig is ("device": {"identifiers": [NODE_ID],
 * ...}) and availability_topic (payloads "online" / "offline", Home
 * Assistant's defaults). The entities that act send lines of camrig's
 * command grammar to BASE/command (switch payload_on / payload_off, button
 * payload_press), so Home Assistant controls camrig through the one path
 * every other client uses; states come from the camera's state topic (the
 * switch) and its telemetry (the sensors), read with value_template. */
#include "publish/mqtt_internal.h"

#include "base/json.h"
#include "base/mem.h"
#include "camrig-version.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cr_mqtt_object_id(const char *text, char *out, size_t len)
{
	size_t n = 0;

	for (; *text && n + 1 < len; text++)
		out[n++] = isalnum((unsigned char)*text) || *text == '_' || *text == '-' ? *text : '_';
	if (n == 0 && len > 1)
		out[n++] = '_';
	out[n] = '\0';
}

/* ---- command messages ------------------------------------------------- */

int cr_mqtt_parse_command(const void *payload, size_t len, char *line, size_t line_len, char *id, size_t id_len,
			  char *why, size_t why_len)
{
	const char *text = payload;
	json_t *obj, *cmd, *jid;
	size_t start = 0;
	int ret = 0;

	*line = '\0';
	*id = '\0';
	if (len > MQTT_PAYLOAD_MAX) {
		snprintf(why, why_len, "a command message of %zu bytes (expected at most %d)", len, MQTT_PAYLOAD_MAX);
		return -EINVAL;
	}
	if (memchr(text, '\0', len) || !cr_utf8_valid(text, len)) {
		snprintf(why, why_len, "not a command: the message is not UTF-8 text (expected a command line or "
			 "{\"command\": LINE, \"id\": ID})");
		return -EINVAL;
	}
	while (start < len && isspace((unsigned char)text[start]))
		start++;
	if (start == len || text[start] != '{') {
		if (len - start >= line_len) {
			snprintf(why, why_len, "a command line of %zu bytes (expected at most %zu)", len - start,
				 line_len - 1);
			return -EINVAL;
		}
		memcpy(line, text + start, len - start);
		line[len - start] = '\0';
		return 0;
	}
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	cmd = json_object_get(obj, "command");
	jid = json_object_get(obj, "id");
	if (!json_is_object(obj) || !json_is_string(cmd)) {
		snprintf(why, why_len, "not a command: a JSON message needs a \"command\" string (expected "
			 "{\"command\": LINE, \"id\": ID})");
		ret = -EINVAL;
	} else if (json_string_length(cmd) >= line_len) {
		snprintf(why, why_len, "a command line of %zu bytes (expected at most %zu)", json_string_length(cmd),
			 line_len - 1);
		ret = -EINVAL;
	} else if (jid && !json_is_string(jid) && !json_is_integer(jid)) {
		snprintf(why, why_len, "\"id\" is neither a string nor an integer (expected {\"command\": LINE, "
			 "\"id\": ID})");
		ret = -EINVAL;
	} else if (json_is_string(jid) && (json_string_length(jid) == 0 || json_string_length(jid) >= id_len)) {
		snprintf(why, why_len, "\"id\" of %zu bytes (expected 1 to %zu)", json_string_length(jid), id_len - 1);
		ret = -EINVAL;
	} else {
		snprintf(line, line_len, "%s", json_string_value(cmd));
		if (json_is_string(jid))
			snprintf(id, id_len, "%s", json_string_value(jid));
		else if (jid)
			snprintf(id, id_len, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
	}
	json_decref(obj);
	return ret;
}

/* ---- discovery -------------------------------------------------------- */

/* Where the page is, for the device's configuration_url; NULL when the
 * listen address is not one a browser can use as it is. */
static char *page_url(const struct cr_config *config)
{
	const char *listen = config->http.listen, *colon = listen ? strrchr(listen, ':') : NULL;
	const char *scheme = config->http.tls_cert ? "https" : "http";
	char host[256];

	if (!colon)
		return NULL;
	if (strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5) == 0) {
		if (gethostname(host, sizeof(host)) < 0)
			return NULL;
		host[sizeof(host) - 1] = '\0';
		return cr_asprintf("%s://%s%s/", scheme, host, colon);
	}
	return cr_asprintf("%s://%s/", scheme, listen);
}

/* Adds the entity OBJECT of camera c as component: the members every
 * entity has, then those of fields (taken). */
static void add(struct cr_mqtt *m, json_t *configs, json_t *device, const char *component,
		const struct mqtt_camera *c, const char *object, const char *name, json_t *fields)
{
	char *topic = cr_asprintf("%s/%s/%s/%s_%s/config", m->mc->discovery_prefix, component, m->node, c->object,
				  object);
	char *uid = cr_asprintf("%s_%s_%s", m->node, c->object, object);
	char *full = name ? cr_asprintf("%s %s", c->name, name) : cr_strdup(c->name);

	json_object_set_new(fields, "name", cr_json_str(full));
	json_object_set_new(fields, "unique_id", cr_json_str(uid));
	json_object_set_new(fields, "availability_topic", cr_json_str(m->t_availability));
	json_object_set(fields, "device", device);
	json_object_set_new(configs, topic, fields);
	free(topic);
	free(uid);
	free(full);
}

/* A line of the grammar addressed to camera c: "VERB camera=NAME". */
static json_t *line(const struct mqtt_camera *c, const char *verb)
{
	return cr_json_sprintf("%s camera=%s", verb, c->name);
}

static json_t *sensor(const struct mqtt_camera *c, const char *template, const char *unit, const char *state_class,
		      const char *device_class)
{
	json_t *s = json_pack("{s:o, s:s, s:s, s:s}", "state_topic", cr_json_str(c->t_telemetry), "value_template",
			      template, "state_class", state_class, "entity_category", "diagnostic");

	if (unit)
		json_object_set_new(s, "unit_of_measurement", json_string(unit));
	if (device_class)
		json_object_set_new(s, "device_class", json_string(device_class));
	return s;
}

/* Home Assistant's unit and device class of a sensor unit of camrig's
 * (telemetry.h); NULL: none that fits. */
static void ha_unit(const char *unit, const char **ha, const char **device_class)
{
	static const struct {
		const char *unit, *ha, *device_class;
	} units[] = {
		{ "celsius", "°C", "temperature" }, { "percent", "%", "humidity" },   { "volts", "V", "voltage" },
		{ "amperes", "A", "current" },      { "kilopascals", "kPa", "pressure" },
		{ "lux", "lx", "illuminance" },     { "rpm", "rpm", NULL },           { "watts", "W", "power" },
		{ "joules", "J", "energy" },
	};

	*ha = *device_class = NULL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(units[i].unit, unit) == 0) {
			*ha = units[i].ha;
			*device_class = units[i].device_class;
		}
}

/* The entity of configured sensor s: a sensor of BASE/telemetry. */
static void add_sensor(struct cr_mqtt *m, json_t *configs, json_t *device, const struct mqtt_sensor *s)
{
	char *topic = cr_asprintf("%s/sensor/%s/sensor_%s/config", m->mc->discovery_prefix, m->node, s->object);
	char *uid = cr_asprintf("%s_sensor_%s", m->node, s->object);
	const char *unit, *device_class;
	json_t *fields = json_pack("{s:o, s:o, s:o, s:s, s:o, s:O}", "name", cr_json_str(s->name), "unique_id",
				   cr_json_str(uid), "state_topic", cr_json_str(m->t_telemetry), "state_class",
				   "measurement", "availability_topic", cr_json_str(m->t_availability), "device",
				   device);

	/* Sensor names are [A-Za-z0-9_.-] (config.h): safe in quotes. A sensor
	 * whose last read failed is null, which Home Assistant shows unknown. */
	json_object_set_new(fields, "value_template", cr_json_sprintf("{{ value_json.sensors['%s'] }}", s->name));
	ha_unit(s->unit, &unit, &device_class);
	if (unit)
		json_object_set_new(fields, "unit_of_measurement", json_string(unit));
	if (device_class)
		json_object_set_new(fields, "device_class", json_string(device_class));
	json_object_set_new(configs, topic, fields);
	free(topic);
	free(uid);
}

json_t *cr_mqtt_discovery(struct cr_mqtt *m)
{
	json_t *configs = json_object(), *device;
	char *url = page_url(m->config);

	device = json_pack("{s:[o], s:o, s:s, s:s, s:s}", "identifiers", cr_json_str(m->node), "name",
			   cr_json_str(m->client_id), "manufacturer", "camrig", "model", "camrig", "sw_version",
			   CAMRIG_VERSION);
	if (url)
		json_object_set_new(device, "configuration_url", cr_json_str(url));
	free(url);
	for (unsigned i = 0; i < m->ncameras; i++) {
		const struct mqtt_camera *c = &m->cameras[i];

		add(m, configs, device, "camera", c, "camera", NULL,
		    json_pack("{s:o}", "topic", cr_json_str(c->t_image)));
		add(m, configs, device, "switch", c, "recording", "recording",
		    json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s}", "command_topic", cr_json_str(m->t_command),
			      "payload_on", line(c, "start_recording"), "payload_off", line(c, "stop_recording"),
			      "state_topic", cr_json_str(c->t_state), "value_template",
			      "{{ 'ON' if value_json.recording.recording else 'OFF' }}", "state_on", "ON", "state_off",
			      "OFF", "icon", "mdi:record-rec"));
		add(m, configs, device, "button", c, "snapshot", "snapshot",
		    json_pack("{s:o, s:o, s:s}", "command_topic", cr_json_str(m->t_command), "payload_press",
			      line(c, "snapshot"), "icon", "mdi:camera"));
		add(m, configs, device, "button", c, "timelapse_shot", "timelapse shot",
		    json_pack("{s:o, s:o, s:s}", "command_topic", cr_json_str(m->t_command), "payload_press",
			      line(c, "timelapse shot"), "icon", "mdi:timelapse"));
		add(m, configs, device, "sensor", c, "fps", "fps",
		    sensor(c, "{{ value_json.fps | round(1) }}", "fps", "measurement", NULL));
		add(m, configs, device, "sensor", c, "dropped", "dropped frames",
		    sensor(c, "{{ value_json.dropped }}", "frames", "total_increasing", NULL));
		add(m, configs, device, "sensor", c, "disk_free", "disk free",
		    sensor(c, "{{ value_json.disk_free_mb | round(0) }}", "MiB", "measurement", "data_size"));
		if (c->info.motion)
			add(m, configs, device, "binary_sensor", c, "motion", "motion",
			    json_pack("{s:o, s:s, s:s, s:s}", "state_topic", cr_json_str(c->t_motion), "device_class",
				      "motion", "payload_on", "ON", "payload_off", "OFF"));
	}
	for (unsigned i = 0; i < m->nsensors; i++)
		add_sensor(m, configs, device, &m->sensors[i]);
	json_decref(device);
	return configs;
}
