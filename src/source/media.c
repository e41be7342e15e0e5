/* Media-controller graphs (see media.h): MEDIA_IOC_G_TOPOLOGY on each
 * /dev/mediaN until one has an interface whose device number is the V4L2
 * node's, then entities, pads and links from that one reply. Sub-device
 * nodes are named through sysfs (/sys/dev/char/MAJOR:MINOR/uevent DEVNAME),
 * so a node renamed by udev rules is still found. */
#include "source/media.h"

#include "base/error.h"
#include "base/log.h"
#include "base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/media.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The most media devices looked at, and steps walked upstream. */
#define MAX_MEDIA 64
#define MAX_HOPS 16

struct graph {
	char path[300];
	struct media_v2_topology topo;
	struct media_v2_entity *entities;
	struct media_v2_interface *interfaces;
	struct media_v2_pad *pads;
	struct media_v2_link *links;
};

static void graph_fini(struct graph *g)
{
	free(g->entities);
	free(g->interfaces);
	free(g->pads);
	free(g->links);
	memset(g, 0, sizeof(*g));
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

/* Reads the whole topology of the media device at path. */
static int graph_load(const char *path, struct graph *g)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), ret;

	memset(g, 0, sizeof(*g));
	if (fd < 0)
		return -errno;
	snprintf(g->path, sizeof(g->path), "%s", path);
	/* Twice: the counts first, then the arrays (a graph that changed in
	 * between is read again). */
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t version;

		ret = xioctl(fd, MEDIA_IOC_G_TOPOLOGY, &g->topo);
		if (ret < 0)
			break;
		version = g->topo.topology_version;
		g->entities = cr_calloc(g->topo.num_entities + 1, sizeof(*g->entities));
		g->interfaces = cr_calloc(g->topo.num_interfaces + 1, sizeof(*g->interfaces));
		g->pads = cr_calloc(g->topo.num_pads + 1, sizeof(*g->pads));
		g->links = cr_calloc(g->topo.num_links + 1, sizeof(*g->links));
		g->topo.ptr_entities = (uintptr_t)g->entities;
		g->topo.ptr_interfaces = (uintptr_t)g->interfaces;
		g->topo.ptr_pads = (uintptr_t)g->pads;
		g->topo.ptr_links = (uintptr_t)g->links;
		ret = xioctl(fd, MEDIA_IOC_G_TOPOLOGY, &g->topo);
		if (ret == 0 && g->topo.topology_version == version)
			break;
		free(g->entities);
		free(g->interfaces);
		free(g->pads);
		free(g->links);
		memset(&g->topo, 0, sizeof(g->topo));
		g->entities = NULL;
		g->interfaces = NULL;
		g->pads = NULL;
		g->links = NULL;
		if (ret < 0)
			break;
		ret = -EAGAIN;
	}
	close(fd);
	if (ret < 0)
		graph_fini(g);
	return ret;
}

static const struct media_v2_interface *interface_of_devnum(const struct graph *g, dev_t dev)
{
	for (uint32_t i = 0; i < g->topo.num_interfaces; i++)
		if (g->interfaces[i].devnode.major == major(dev) && g->interfaces[i].devnode.minor == minor(dev))
			return &g->interfaces[i];
	return NULL;
}

/* The entity an interface link ties to interface id (or the interface of
 * entity id, with want_entity false). */
static uint32_t linked(const struct graph *g, uint32_t id, bool want_entity)
{
	for (uint32_t i = 0; i < g->topo.num_links; i++) {
		const struct media_v2_link *l = &g->links[i];

		if ((l->flags & MEDIA_LNK_FL_LINK_TYPE) != MEDIA_LNK_FL_INTERFACE_LINK)
			continue;
		if (want_entity && l->source_id == id)
			return l->sink_id;
		if (!want_entity && l->sink_id == id)
			return l->source_id;
	}
	return 0;
}

static const struct media_v2_entity *entity(const struct graph *g, uint32_t id)
{
	for (uint32_t i = 0; i < g->topo.num_entities; i++)
		if (g->entities[i].id == id)
			return &g->entities[i];
	return NULL;
}

static const struct media_v2_pad *pad(const struct graph *g, uint32_t id)
{
	for (uint32_t i = 0; i < g->topo.num_pads; i++)
		if (g->pads[i].id == id)
			return &g->pads[i];
	return NULL;
}

/* Loads the graph that holds the V4L2 node at path; *node_entity is the
 * node's entity id. Returns 0, -ENOENT when no media device holds it. */
static int graph_of_node(const char *path, struct graph *g, uint32_t *node_entity)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;
	int ret = -ENOENT, seen = 0;

	if (stat(path, &st) < 0)
		return -errno;
	dir = opendir("/dev");
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && ret == -ENOENT && seen < MAX_MEDIA) {
		char media[300];
		const struct media_v2_interface *intf;

		if (strncmp(e->d_name, "media", 5) != 0 || strspn(e->d_name + 5, "0123456789") != strlen(e->d_name + 5) ||
		    !e->d_name[5])
			continue;
		seen++;
		snprintf(media, sizeof(media), "/dev/%s", e->d_name);
		if (graph_load(media, g) < 0)
			continue;
		intf = interface_of_devnum(g, st.st_rdev);
		if (intf && (*node_entity = linked(g, intf->id, true)) != 0) {
			ret = 0;
			break;
		}
		graph_fini(g);
	}
	closedir(dir);
	return ret;
}

/* The sub-device node of entity id ("/dev/v4l-subdev0") into buf. */
static int subdev_path(const struct graph *g, uint32_t id, char *buf, size_t len)
{
	uint32_t intf_id = linked(g, id, false);
	char sys[96], line[160];
	FILE *f;

	for (uint32_t i = 0; intf_id && i < g->topo.num_interfaces; i++) {
		const struct media_v2_interface *intf = &g->interfaces[i];

		if (intf->id != intf_id || intf->intf_type != MEDIA_INTF_T_V4L_SUBDEV)
			continue;
		snprintf(sys, sizeof(sys), "/sys/dev/char/%u:%u/uevent", intf->devnode.major, intf->devnode.minor);
		f = fopen(sys, "re");
		while (f && fgets(line, sizeof(line), f)) {
			if (strncmp(line, "DEVNAME=", 8) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(buf, len, "/dev/%.*s", (int)(len > 6 ? len - 6 : 0), line + 8);
				fclose(f);
				return 0;
			}
		}
		if (f)
			fclose(f);
	}
	return -ENODEV;
}

/* The first source pad of entity id (its index), 0 if it has none. */
static unsigned source_pad(const struct graph *g, uint32_t id)
{
	for (uint32_t i = 0; i < g->topo.num_pads; i++)
		if (g->pads[i].entity_id == id && (g->pads[i].flags & MEDIA_PAD_FL_SOURCE))
			return g->pads[i].index;
	return 0;
}

/* Walks data links upstream from entity id to the first camera sensor.
 * Enabled links first, so the sensor streaming into the node is the one
 * found where a switch offers several. Returns its id or 0. */
static uint32_t upstream_sensor(const struct graph *g, uint32_t id)
{
	for (int hop = 0; hop < MAX_HOPS; hop++) {
		uint32_t next = 0;

		for (int enabled = 1; enabled >= 0 && !next; enabled--) {
			for (uint32_t i = 0; i < g->topo.num_links && !next; i++) {
				const struct media_v2_link *l = &g->links[i];
				const struct media_v2_pad *sink, *src;

				if ((l->flags & MEDIA_LNK_FL_LINK_TYPE) != MEDIA_LNK_FL_DATA_LINK ||
				    (enabled && !(l->flags & MEDIA_LNK_FL_ENABLED)))
					continue;
				sink = pad(g, l->sink_id);
				src = pad(g, l->source_id);
				if (sink && src && sink->entity_id == id)
					next = src->entity_id;
			}
		}
		if (!next)
			return 0;
		const struct media_v2_entity *e = entity(g, next);

		if (e && e->function == MEDIA_ENT_F_CAM_SENSOR)
			return next;
		id = next;
	}
	return 0;
}

static bool name_matches(const char *entity_name, const char *want)
{
	size_t n = strlen(want);

	return strcmp(entity_name, want) == 0 || (strncmp(entity_name, want, n) == 0 && entity_name[n] == ' ');
}

int cr_media_find_subdev(const char *video_path, const char *want, struct cr_media_subdev *out, char *why,
			 size_t len)
{
	struct graph g;
	uint32_t node, id = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = graph_of_node(video_path, &g, &node);
	if (ret == -ENOENT) {
		snprintf(why, len, "%s is in no media-controller graph (no /dev/mediaN holds it)", video_path);
		return ret;
	}
	if (ret < 0) {
		snprintf(why, len, "cannot read the media graphs: %s", cr_strerror(ret));
		return ret;
	}
	if (want) {
		for (uint32_t i = 0; i < g.topo.num_entities && !id; i++)
			if (name_matches(g.entities[i].name, want))
				id = g.entities[i].id;
	} else {
		id = upstream_sensor(&g, node);
	}
	if (!id) {
		size_t n = 0;

		if (want)
			n += (size_t)snprintf(why, len, "%s has no entity \"%s\" (it has: ", g.path, want);
		else
			n += (size_t)snprintf(why, len, "%s: no camera sensor feeds %s (its entities: ", g.path, video_path);
		for (uint32_t i = 0; i < g.topo.num_entities && n + 4 < len; i++)
			n += (size_t)snprintf(why + n, len - n, "%s\"%s\"", i ? ", " : "", g.entities[i].name);
		if (n + 2 < len)
			snprintf(why + n, len - n, ")");
		graph_fini(&g);
		return -ENOENT;
	}
	const struct media_v2_entity *e = entity(&g, id);

	snprintf(out->media, sizeof(out->media), "%s", g.path);
	snprintf(out->entity, sizeof(out->entity), "%s", e->name);
	out->pad = source_pad(&g, id);
	out->is_sensor = e->function == MEDIA_ENT_F_CAM_SENSOR;
	ret = subdev_path(&g, id, out->path, sizeof(out->path));
	if (ret < 0)
		snprintf(why, len, "%s: entity \"%s\" has no sub-device node (the driver does not expose /dev/v4l-subdevN)",
			 g.path, e->name);
	graph_fini(&g);
	return ret;
}

int cr_media_downstream(const struct cr_media_subdev *sd, struct cr_media_subdev *out, int max)
{
	struct graph g;
	uint32_t id = 0;
	int ret = graph_load(sd->media, &g), n = 0;

	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < g.topo.num_entities && !id; i++)
		if (strcmp(g.entities[i].name, sd->entity) == 0)
			id = g.entities[i].id;
	for (uint32_t i = 0; id && i < g.topo.num_links && n < max; i++) {
		const struct media_v2_link *l = &g.links[i];
		const struct media_v2_pad *src, *sink;
		const struct media_v2_entity *e;

		if ((l->flags & MEDIA_LNK_FL_LINK_TYPE) != MEDIA_LNK_FL_DATA_LINK || !(l->flags & MEDIA_LNK_FL_ENABLED))
			continue;
		src = pad(&g, l->source_id);
		sink = pad(&g, l->sink_id);
		if (!src || !sink || src->entity_id != id || src->index != sd->pad)
			continue;
		e = entity(&g, sink->entity_id);
		if (!e || subdev_path(&g, e->id, out[n].path, sizeof(out[n].path)) < 0)
			continue; /* a video node, or no sub-device node */
		snprintf(out[n].media, sizeof(out[n].media), "%s", g.path);
		snprintf(out[n].entity, sizeof(out[n].entity), "%s", e->name);
		out[n].pad = sink->index;
		out[n].is_sensor = e->function == MEDIA_ENT_F_CAM_SENSOR;
		n++;
	}
	graph_fini(&g);
	return n;
}

int cr_media_has_sensor(const char *video_path)
{
	struct graph g;
	uint32_t node;
	int ret = graph_of_node(video_path, &g, &node), found = 0;

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < g.topo.num_entities; i++)
		found = found || g.entities[i].function == MEDIA_ENT_F_CAM_SENSOR;
	graph_fini(&g);
	return found;
}

/* Whether the media device at path is a USB webcam's (uvcvideo's), -errno
 * when it cannot be asked. */
static int is_usb_webcam(const char *path)
{
	struct media_device_info info = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = xioctl(fd, MEDIA_IOC_DEVICE_INFO, &info);
	close(fd);
	return ret < 0 ? ret : strcmp(info.driver, "uvcvideo") == 0;
}

int cr_media_any_board_sensor(void)
{
	DIR *dir = opendir("/dev");
	struct dirent *e;
	int found = 0, seen = 0;

	if (!dir)
		return 1;
	while (!found && (e = readdir(dir)) && seen < MAX_MEDIA) {
		char media[300];
		struct graph g;

		if (strncmp(e->d_name, "media", 5) != 0 || strspn(e->d_name + 5, "0123456789") != strlen(e->d_name + 5) ||
		    !e->d_name[5])
			continue;
		seen++;
		snprintf(media, sizeof(media), "/dev/%s", e->d_name);
		if (is_usb_webcam(media) == 1)
			continue;
		if (graph_load(media, &g) < 0) {
			found = 1; /* cannot tell: say maybe */
			break;
		}
		for (uint32_t i = 0; i < g.topo.num_entities; i++)
			found = found || g.entities[i].function == MEDIA_ENT_F_CAM_SENSOR;
		graph_fini(&g);
	}
	closedir(dir);
	return found;
}
