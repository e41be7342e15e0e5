/* MQTT without a broker: what a command message says (a line, JSON with a
 * command and an id, and every refusal), discovery object ids, {host} in
 * the client id and topics, and the Home Assistant configs of two cameras
 * (the entities, their topics and the one device). */
#include "../../src/publish/mqtt.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static int parse(const char *payload, char *line, char *id, char *why)
{
	return cr_mqtt_parse_command(payload, strlen(payload), line, MQTT_LINE_MAX + 1, id, MQTT_ID_MAX, why, 256);
}

static void test_command_messages(void **state)
{
	char line[MQTT_LINE_MAX + 1], id[MQTT_ID_MAX], why[256], big[MQTT_PAYLOAD_MAX + 2];

	assert_int_equal(parse("  start_recording 5", line, id, why), 0);
	assert_string_equal(line, "start_recording 5");
	assert_string_equal(id, "");
	assert_int_equal(parse("{\"command\": \"snapshot camera=a\", \"id\": \"x-1\"}", line, id, why), 0);
	assert_string_equal(line, "snapshot camera=a");
	assert_string_equal(id, "x-1");
	assert_int_equal(parse("{\"command\": \"status\", \"id\": 42}", line, id, why), 0);
	assert_string_equal(id, "42");
	assert_int_equal(parse("{\"command\": \"status\"}", line, id, why), 0);
	assert_string_equal(id, "");

	assert_int_equal(parse("{\"id\": 1}", line, id, why), -EINVAL);
	assert_non_null(strstr(why, "\"command\" string"));
	assert_int_equal(parse("{\"command\": 5}", line, id, why), -EINVAL);
	assert_int_equal(parse("{not json", line, id, why), -EINVAL);
	assert_int_equal(parse("{\"command\": \"status\", \"id\": [1]}", line, id, why), -EINVAL);
	assert_non_null(strstr(why, "\"id\""));
	assert_int_equal(parse("{\"command\": \"status\", \"id\": \"\"}", line, id, why), -EINVAL);
	assert_int_equal(parse("{\"command\": \"a\", \"command\": \"b\"}", line, id, why), -EINVAL);
	assert_int_equal(cr_mqtt_parse_command("snap\0shot", 9, line, sizeof(line), id, sizeof(id), why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "UTF-8"));
	assert_int_equal(cr_mqtt_parse_command("\xff\xfe", 2, line, sizeof(line), id, sizeof(id), why, sizeof(why)),
			 -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[MQTT_LINE_MAX + 1] = '\0';
	assert_int_equal(parse(big, line, id, why), -EINVAL);
	assert_non_null(strstr(why, "at most 1024"));
	big[MQTT_LINE_MAX + 1] = 'a';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, line, id, why), -EINVAL);
	assert_non_null(strstr(why, "at most 4096"));
}

static void test_names(void **state)
{
	char out[16], *s;

	cr_mqtt_object_id("cam.left-1_x", out, sizeof(out));
	assert_string_equal(out, "cam_left-1_x");
	cr_mqtt_object_id("", out, sizeof(out));
	assert_string_equal(out, "_");
	cr_mqtt_object_id("abcdefghijklmnopqrstuvwxyz", out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmno");
	s = expand_host("camrig/{host}/x{host}", "pi4");
	assert_string_equal(s, "camrig/pi4/xpi4");
	free(s);
	s = expand_host("plain", "pi4");
	assert_string_equal(s, "plain");
	free(s);
}

static json_t *model_cameras(void *ctx)
{
	return json_array();
}

static void test_discovery(void **state)
{
	struct cr_config config = { 0 };
	const struct cr_mqtt_camera cams[] = { { .name = "front" }, { .name = "back.door", .motion = true } };
	const struct cr_mqtt_model model = { .cameras = model_cameras };
	struct cr_mqtt *m = NULL;
	json_t *configs, *c;
	const char *topic;
	size_t n = 0;

	config.http.listen = "127.0.0.1:8080";
	config.mqtt = (struct cr_mqtt_config){ .enabled = true, .broker = "127.0.0.1:1883", .client_id = "camrig-{host}",
					       .base_topic = "lab/{host}", .keepalive = 60, .state_interval = 30,
					       .discovery = true, .discovery_prefix = "homeassistant" };
	assert_int_equal(cr_mqtt_new(&config, cams, 2, &model, NULL, NULL, &m), 0);
	assert_string_equal(m->t_command + strlen(m->t_command) - strlen("/command"), "/command");
	assert_true(strncmp(m->base, "lab/", 4) == 0 && !strchr(m->base, '{'));
	configs = cr_mqtt_discovery(m);
	json_object_foreach(configs, topic, c) {
		char prefix[256];

		n++;
		snprintf(prefix, sizeof(prefix), "homeassistant/");
		assert_true(strncmp(topic, prefix, strlen(prefix)) == 0);
		assert_non_null(strstr(topic, m->node));
		assert_string_equal(json_string_value(json_object_get(c, "availability_topic")), m->t_availability);
		assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(c, "device"),
									       "identifiers"), 0)), m->node);
		assert_string_equal(json_string_value(json_object_get(json_object_get(c, "device"), "configuration_url")),
				    "http://127.0.0.1:8080/");
	}
	assert_int_equal(n, 7 + 8); /* the second camera has motion */
	{
		char t[256];

		snprintf(t, sizeof(t), "homeassistant/binary_sensor/%s/back_door_motion/config", m->node);
		c = json_object_get(configs, t);
		assert_non_null(c);
		assert_string_equal(json_string_value(json_object_get(c, "device_class")), "motion");
		snprintf(t, sizeof(t), "homeassistant/switch/%s/back_door_recording/config", m->node);
		c = json_object_get(configs, t);
		assert_string_equal(json_string_value(json_object_get(c, "payload_on")), "start_recording camera=back.door");
		assert_string_equal(json_string_value(json_object_get(c, "name")), "back.door recording");
	}
	json_decref(configs);
	cr_mqtt_free(&m);
	assert_null(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_messages),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_discovery),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
