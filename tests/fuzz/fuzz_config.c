/* Fuzz target: the configuration loader (config/), the YAML file laid over
 * the embedded default and the command-line setter behind `camrig KEY=VALUE`.
 *
 * The first byte picks the mode:
 *   '!'      the rest is lines KEY=VALUE (a line without '=' is a key with an
 *            empty value), each given to cr_config_set() on the default
 *            configuration, in order;
 *   other    the whole input is a config file: written to a temporary
 *            directory and given to cr_config_load().
 * Both end with cr_config_check(). Properties: every call either succeeds
 * with no message or fails with -EINVAL (NULL for the loader) and a
 * message; a loaded configuration has 1..CR_CONFIG_MAX_CAMERAS cameras, each
 * with a name and a source; a failed set leaves the camera count as it was;
 * nothing leaks. */
#include "fuzz.h"

#include "base/log.h"
#include "config/config.h"

#include <errno.h>

#define SET_MODE '!'

static char path[FUZZ_DIR_MAX + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cr_log_set_level(CR_LOG_ERROR);
	snprintf(path, sizeof(path), "%s/config.yaml", fuzz_tmpdir());
	return 0;
}

static void check_config(const struct cr_config *config)
{
	FUZZ_CHECK(config->ncameras >= 1 && config->ncameras <= CR_CONFIG_MAX_CAMERAS);
	FUZZ_CHECK(config->log_level && config->http.listen);
	for (unsigned i = 0; i < config->ncameras; i++) {
		const struct cr_camera_config *cam = &config->cameras[i];

		FUZZ_CHECK(cam->name && cam->source);
		FUZZ_CHECK(cam->ncontrols <= CR_CONFIG_MAX_CONTROLS);
		for (unsigned c = 0; c < cam->ncontrols; c++)
			FUZZ_CHECK(cam->controls[c].name && cam->controls[c].value);
		FUZZ_CHECK(cam->upload.nfields <= CR_CONFIG_MAX_PAIRS && cam->upload.nheaders <= CR_CONFIG_MAX_PAIRS);
	}
}

static void check(struct cr_config *config)
{
	char *error = (char *)"unset";
	int ret;

	check_config(config);
	ret = cr_config_check(config, &error);
	if (ret == 0) {
		FUZZ_CHECK(error == NULL);
	} else {
		FUZZ_CHECK(ret == -EINVAL);
		FUZZ_CHECK(error && error[0]);
		free(error);
	}
}

static void load_file(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	struct cr_config *config;
	char *error = (char *)"unset";

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		abort();
	}
	config = cr_config_load(path, &error);
	if (!config) {
		FUZZ_CHECK(error && error[0]);
		free(error);
		return;
	}
	FUZZ_CHECK(error == NULL);
	FUZZ_CHECK(config->path && strcmp(config->path, path) == 0);
	check(config);
	cr_config_free(&config);
	FUZZ_CHECK(config == NULL);
}

static void set_lines(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size), *save = NULL, *error = NULL;
	struct cr_config *config = cr_config_load(NULL, &error);

	FUZZ_CHECK(config && !error);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '='), *value = (char *)"";
		unsigned ncameras = config->ncameras;
		int ret;

		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		error = (char *)"unset";
		ret = cr_config_set(config, line, value, &error);
		if (ret == 0) {
			FUZZ_CHECK(error == NULL);
		} else {
			FUZZ_CHECK(ret == -EINVAL);
			FUZZ_CHECK(error && error[0]);
			FUZZ_CHECK(config->ncameras == ncameras);
			free(error);
		}
	}
	check(config);
	cr_config_free(&config);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == SET_MODE)
		set_lines(data + 1, size - 1);
	else
		load_file(data, size);
	return 0;
}
