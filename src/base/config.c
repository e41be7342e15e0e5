/* Configuration (stub, being written): the built-in default only. */
#include "base/config.h"

#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cr_config *cr_config_load(const char *path, char **error)
{
	struct cr_config *c = CR_NEW(c);

	c->log_level = cr_strdup("info");
	c->http.listen = cr_strdup("127.0.0.1:8080");
	c->http.max_clients = 64;
	c->ncameras = 1;
	c->cameras = cr_calloc(1, sizeof(*c->cameras));
	c->cameras[0].name = cr_strdup("camera");
	c->cameras[0].source = cr_strdup("auto");
	c->cameras[0].loop = true;
	c->cameras[0].buffers = 4;
	c->cameras[0].jpeg.quality = 80;
	return c;
}

int cr_config_parse_size(const char *text, int *width, int *height)
{
	char tail;

	if (sscanf(text, "%dx%d%c", width, height, &tail) != 2 || *width <= 0 || *height <= 0)
		return -EINVAL;
	return 0;
}

int cr_config_set(struct cr_config *c, const char *key, const char *value, char **error)
{
	struct cr_camera_config *cam = &c->cameras[0];

	if (strcmp(key, "camera.source") == 0) {
		free(cam->source);
		cam->source = cr_strdup(value);
	} else if (strcmp(key, "camera.name") == 0) {
		free(cam->name);
		cam->name = cr_strdup(value);
	} else if (strcmp(key, "camera.size") == 0) {
		if (cr_config_parse_size(value, &cam->width, &cam->height) < 0)
			goto bad;
	} else if (strcmp(key, "camera.fps") == 0) {
		cam->fps = atof(value);
	} else if (strcmp(key, "http.listen") == 0) {
		free(c->http.listen);
		c->http.listen = cr_strdup(value);
	} else {
		goto bad;
	}
	return 0;
bad:
	*error = cr_asprintf("%s: bad value \"%s\"", key, value);
	return -EINVAL;
}

int cr_config_check(const struct cr_config *c, char **error)
{
	return 0;
}

void cr_config_free(struct cr_config **pc)
{
	struct cr_config *c = *pc;

	if (!c)
		return;
	*pc = NULL;
	for (unsigned i = 0; i < c->ncameras; i++) {
		free(c->cameras[i].name);
		free(c->cameras[i].source);
	}
	free(c->cameras);
	free(c->http.listen);
	free(c->log_level);
	free(c->path);
	free(c);
}
