/* Fuzz target: command messages from an MQTT broker
 * (cr_mqtt_parse_command(), publish/mqtt_discovery.c), the bytes anyone
 * who may publish on the command topic sends.
 *
 * Properties: it returns 0 or -EINVAL and nothing else; on 0 the line and
 * the id are NUL-terminated within their buffers, valid UTF-8, and the line
 * then parses (or is refused) by the command grammar without harm; on
 * -EINVAL the reason is a non-empty line; with buffers one byte long
 * nothing is written past them. */
#include "fuzz.h"

#include "base/json.h"
#include "control/command.h"
#include "publish/mqtt.h"

#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1025], id[128], why[256], tiny_line[1], tiny_id[1], tiny_why[1];
	struct cr_command cmd;
	char *error = NULL;
	int ret = cr_mqtt_parse_command(data, size, line, sizeof(line), id, sizeof(id), why, sizeof(why));

	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret == 0) {
		FUZZ_CHECK(memchr(line, '\0', sizeof(line)) && memchr(id, '\0', sizeof(id)));
		FUZZ_CHECK(cr_utf8_valid(line, strlen(line)) && cr_utf8_valid(id, strlen(id)));
		if (cr_command_parse(line, CR_TRIGGER_MQTT, &cmd, &error) < 0)
			FUZZ_CHECK(error && *error);
		free(error);
	} else {
		FUZZ_CHECK(why[0] && !strchr(why, '\n'));
	}
	ret = cr_mqtt_parse_command(data, size, tiny_line, sizeof(tiny_line), tiny_id, sizeof(tiny_id), tiny_why,
				    sizeof(tiny_why));
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	FUZZ_CHECK(tiny_why[0] == '\0' || ret == 0);
	return 0;
}
